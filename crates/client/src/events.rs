//! The WebSocket event stream: [`EventStream`] is one connection, [`ResumingStream`] a stream
//! that reconnects from its last cursor when the connection drops.

use std::net::IpAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kolokol_proto::event::close_code;
use kolokol_proto::{ChatId, ClientFrame, ServerFrame};
use reqwest::Url;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header::AUTHORIZATION};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{Client, ClientError};

/// The text of a frame, shared with the connection's buffer rather than copied.
pub use tokio_tungstenite::tungstenite::Utf8Bytes as FrameText;

/// The read buffer of each connection. tungstenite allocates 128 KiB by default, which adds up
/// to gigabytes over the tens of thousands of connections of a load test; events are small.
const READ_BUFFER_SIZE: usize = 4 * 1024;

impl Client {
    /// Opens the event stream (`GET /api/v1/ws`), signed in with this client's token in the
    /// `Authorization` header. With `since`, the server first replays every event after that
    /// cursor. A refused handshake is a [`ClientError::Api`], e.g. `unauthorized`.
    pub async fn connect_events(&self, since: Option<String>) -> Result<EventStream, ClientError> {
        let mut request = self.ws_request(None, since.as_deref())?;
        if let Some(token) = self.token() {
            let bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|err| {
                ClientError::WebSocket(format!("the token cannot be sent as a header: {err}"))
            })?;
            request.headers_mut().insert(AUTHORIZATION, bearer);
        }
        EventStream::connect(request, since, self.local_address()).await
    }

    /// Opens the event stream the way a browser does, with a one-time ticket from
    /// [`ws_ticket`](Self::ws_ticket) in the URL (`?ticket=…&since=…`) instead of a header.
    pub async fn connect_events_with_ticket(
        &self,
        ticket: &str,
        since: Option<String>,
    ) -> Result<EventStream, ClientError> {
        let request = self.ws_request(Some(ticket), since.as_deref())?;
        EventStream::connect(request, since, self.local_address()).await
    }

    /// Opens a [`ResumingStream`]: like [`connect_events`](Self::connect_events), but it
    /// reconnects by itself. Fails if the first connection fails.
    pub async fn connect_resuming(
        &self,
        since: Option<String>,
        reconnect: Reconnect,
    ) -> Result<ResumingStream, ClientError> {
        let stream = self.connect_events(since.clone()).await?;
        Ok(ResumingStream {
            client: self.clone(),
            reconnect,
            stream: Some(stream),
            cursor: since,
            reconnects: 0,
            done: false,
        })
    }

    /// The handshake request for `ws[s]://<base>/api/v1/ws?ticket=…&since=…`.
    fn ws_request(
        &self,
        ticket: Option<&str>,
        since: Option<&str>,
    ) -> Result<Request, ClientError> {
        let base = self.base();
        let ws_base = if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else {
            return Err(ClientError::WebSocket(format!(
                "the base URL {base} is neither http:// nor https://"
            )));
        };
        let mut url = Url::parse(&format!("{ws_base}/api/v1/ws"))
            .map_err(|err| ClientError::WebSocket(format!("bad base URL {base}: {err}")))?;
        let params = [("ticket", ticket), ("since", since)];
        if params.iter().any(|(_, value)| value.is_some()) {
            let mut query = url.query_pairs_mut();
            for (name, value) in params {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
        }
        url.as_str().into_client_request().map_err(ws_error)
    }
}

/// A TCP connection from `address` to the host of a `ws://` request.
async fn connect_from(address: IpAddr, request: &Request) -> Result<TcpStream, ClientError> {
    let uri = request.uri();
    if uri.scheme_str() != Some("ws") {
        return Err(ClientError::WebSocket(
            "a local address works with ws:// servers only".into(),
        ));
    }
    let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
    let server = tokio::net::lookup_host((host, uri.port_u16().unwrap_or(80)))
        .await
        .map_err(|err| ClientError::WebSocket(format!("resolving {host}: {err}")))?
        .next()
        .ok_or_else(|| ClientError::WebSocket(format!("{host} has no address")))?;
    let socket = match address {
        IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .and_then(|socket| {
        defer_port_choice(&socket)?;
        socket.bind(std::net::SocketAddr::new(address, 0))?;
        Ok(socket)
    })
    .map_err(|err| ClientError::WebSocket(format!("binding {address}: {err}")))?;
    let stream = socket
        .connect(server)
        .await
        .map_err(|err| ClientError::WebSocket(format!("connecting to {server}: {err}")))?;
    stream
        .set_nodelay(true)
        .map_err(|err| ClientError::WebSocket(err.to_string()))?;
    Ok(stream)
}

/// Lets `connect` pick the local port rather than `bind`. Binding to port 0 makes Linux search
/// its table of bound ports for a free one, which with tens of thousands of connections from one
/// address takes longer than everything else a load generator does (seen in a profile: 80 % of
/// its CPU during a reconnect storm); `connect` can reuse a port towards another destination.
#[cfg(target_os = "linux")]
fn defer_port_choice(socket: &tokio::net::TcpSocket) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: a valid socket descriptor and a pointer to an int that lives through the call.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn defer_port_choice(_socket: &tokio::net::TcpSocket) -> std::io::Result<()> {
    Ok(())
}

/// One WebSocket connection delivering [`ServerFrame`]s.
///
/// Pings are answered by themselves. The stream remembers the last cursor it saw (or the `since`
/// it was opened with) for reconnecting; [`ResumingStream`] does that for you.
#[derive(Debug)]
pub struct EventStream {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    last_cursor: Option<String>,
}

impl EventStream {
    async fn connect(
        request: Request,
        since: Option<String>,
        local_address: Option<IpAddr>,
    ) -> Result<Self, ClientError> {
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_SIZE);
        let connected = match local_address {
            None => tokio_tungstenite::connect_async_with_config(request, Some(config), true).await,
            Some(address) => {
                let tcp = connect_from(address, &request).await?;
                tokio_tungstenite::client_async_with_config(
                    request,
                    MaybeTlsStream::Plain(tcp),
                    Some(config),
                )
                .await
            }
        };
        let (ws, _response) = connected.map_err(|err| match err {
            tungstenite::Error::Http(response) => ClientError::from_response(
                response.status().as_u16(),
                response.body().as_deref().unwrap_or_default(),
            ),
            err => ws_error(err),
        })?;
        Ok(Self {
            ws,
            last_cursor: since,
        })
    }

    /// The next frame, or `None` once the connection is gone. A close frame from the server is
    /// returned as [`ClientError::Closed`], after which the stream ends. Cancel-safe: dropping
    /// the future (say, in `tokio::select!` or a timeout) loses no frame.
    pub async fn next(&mut self) -> Option<Result<ServerFrame, ClientError>> {
        Some(match self.next_text().await? {
            Ok(text) => self.parse(&text),
            Err(err) => Err(err),
        })
    }

    /// The next frame as the server sent it, undecoded, for tools that read many frames and need
    /// only a part of each (a load generator). Unlike [`next`](Self::next) it does not track the
    /// cursor. Cancel-safe.
    pub async fn next_text(&mut self) -> Option<Result<FrameText, ClientError>> {
        loop {
            let message = match self.ws.next().await? {
                Ok(message) => message,
                Err(err) => return Some(Err(ws_error(err))),
            };
            match message {
                Message::Text(text) => return Some(Ok(text)),
                Message::Close(frame) => return Some(Err(closed(frame))),
                Message::Binary(_) => {
                    return Some(Err(ClientError::Decode("a binary WebSocket frame".into())));
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// The cursor of the last frame that had one, or the `since` the stream was opened with.
    pub fn last_cursor(&self) -> Option<&str> {
        self.last_cursor.as_deref()
    }

    /// Sends `{"type":"typing","chat_id":…}`.
    pub async fn send_typing(&mut self, chat_id: ChatId) -> Result<(), ClientError> {
        let frame = serde_json::to_string(&ClientFrame::Typing { chat_id })
            .expect("a ClientFrame always serializes");
        self.ws.send(Message::text(frame)).await.map_err(ws_error)
    }

    /// Closes the connection politely (a close frame with code 1000) rather than just dropping
    /// it.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.ws.close(None).await.map_err(ws_error)
    }

    fn parse(&mut self, text: &str) -> Result<ServerFrame, ClientError> {
        let frame: ServerFrame = serde_json::from_str(text)
            .map_err(|err| ClientError::Decode(format!("{err} in frame {text}")))?;
        if let Some(cursor) = &frame.cursor {
            self.last_cursor = Some(cursor.clone());
        }
        Ok(frame)
    }
}

/// How a [`ResumingStream`] reconnects: after a delay that starts at `initial_delay` and doubles
/// up to `max_delay`, at most `max_attempts` times in a row without receiving a frame.
#[derive(Debug, Clone, Copy)]
pub struct Reconnect {
    pub initial_delay: Duration,
    pub max_delay: Duration,
    pub max_attempts: u32,
}

impl Default for Reconnect {
    /// 50 ms doubling to 2 s, 10 attempts (about 8 s in all).
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            max_attempts: 10,
        }
    }
}

/// An event stream that survives dropped connections, as a device does: when the connection
/// fails or the server closes it, it reconnects with `since=<last cursor>` and goes on, so every
/// durable event arrives exactly once (typing events sent while disconnected are lost).
///
/// It yields every frame of every connection, so each reconnection brings another `ready`
/// frame after the missed events, and possibly a `resync` before them (the cursor was too old:
/// re-read over REST). Its errors are final — the stream then ends — except
/// [`ClientError::Decode`] for one bad frame. It gives up when the session is revoked (close
/// 4001 or a handshake refused with `unauthorized`), the cursor is refused (close 4004 or
/// another 4xx handshake), or `max_attempts` reconnections in a row fail; the last of those
/// failures is returned.
#[derive(Debug)]
pub struct ResumingStream {
    client: Client,
    reconnect: Reconnect,
    stream: Option<EventStream>,
    cursor: Option<String>,
    reconnects: u64,
    done: bool,
}

impl ResumingStream {
    /// The next frame, or `None` after a final error. Cancel-safe like [`EventStream::next`];
    /// a reconnection cut short is started again by the next call.
    pub async fn next(&mut self) -> Option<Result<ServerFrame, ClientError>> {
        let mut failures = 0;
        let mut last_error = None;
        while !self.done {
            if let Some(stream) = &mut self.stream {
                match stream.next().await {
                    Some(Ok(frame)) => {
                        if frame.cursor.is_some() {
                            self.cursor.clone_from(&frame.cursor);
                        }
                        return Some(Ok(frame));
                    }
                    Some(Err(err @ ClientError::Decode(_))) => return Some(Err(err)),
                    Some(Err(err)) => {
                        self.stream = None;
                        if is_final(&err) {
                            self.done = true;
                            return Some(Err(err));
                        }
                        tracing::debug!(%err, "event stream dropped; resuming");
                        last_error = Some(err);
                    }
                    None => {
                        tracing::debug!("event stream ended; resuming");
                        self.stream = None;
                    }
                }
            }
            if failures == self.reconnect.max_attempts {
                self.done = true;
                return Some(Err(last_error.unwrap_or_else(|| {
                    ClientError::WebSocket("the connection keeps ending; gave up".into())
                })));
            }
            let delay = self
                .reconnect
                .initial_delay
                .saturating_mul(1 << failures.min(16))
                .min(self.reconnect.max_delay);
            failures += 1;
            tokio::time::sleep(delay).await;
            match self.client.connect_events(self.cursor.clone()).await {
                Ok(stream) => {
                    self.reconnects += 1;
                    self.stream = Some(stream);
                }
                Err(err) if is_final(&err) => {
                    self.done = true;
                    return Some(Err(err));
                }
                Err(err) => {
                    tracing::debug!(%err, attempt = failures, "reconnecting the event stream failed");
                    last_error = Some(err);
                }
            }
        }
        None
    }

    /// The cursor of the last frame that had one, or the `since` the stream was opened with.
    pub fn last_cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// How many times the stream has reconnected.
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// Sends a typing frame on the current connection; fails while disconnected.
    pub async fn send_typing(&mut self, chat_id: ChatId) -> Result<(), ClientError> {
        match &mut self.stream {
            Some(stream) => stream.send_typing(chat_id).await,
            None => Err(ClientError::WebSocket("not connected".into())),
        }
    }
}

/// Whether reconnecting cannot help: the session is gone or the cursor is refused.
fn is_final(err: &ClientError) -> bool {
    match err {
        ClientError::Closed { code, .. } => {
            matches!(*code, close_code::SESSION_REVOKED | close_code::BAD_CURSOR)
        }
        ClientError::Api { status, .. } => (400..500).contains(status) && *status != 429,
        _ => false,
    }
}

fn closed(frame: Option<CloseFrame>) -> ClientError {
    match frame {
        Some(frame) => ClientError::Closed {
            code: frame.code.into(),
            reason: frame.reason.as_str().to_owned(),
        },
        // 1005: the close frame carried no status code.
        None => ClientError::Closed {
            code: 1005,
            reason: String::new(),
        },
    }
}

fn ws_error(err: tungstenite::Error) -> ClientError {
    ClientError::WebSocket(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws_url(base: &str, ticket: Option<&str>, since: Option<&str>) -> String {
        let request = Client::new(base).ws_request(ticket, since).unwrap();
        request.uri().to_string()
    }

    #[test]
    fn ws_url_follows_the_base_url() {
        assert_eq!(
            ws_url("http://127.0.0.1:8080/", None, None),
            "ws://127.0.0.1:8080/api/v1/ws"
        );
        assert_eq!(
            ws_url("https://chat.example/kolokol", None, Some("AbC-_1")),
            "wss://chat.example/kolokol/api/v1/ws?since=AbC-_1"
        );
        assert_eq!(
            ws_url("http://[::1]:1", Some("t+/=&"), Some("c")),
            "ws://[::1]:1/api/v1/ws?ticket=t%2B%2F%3D%26&since=c"
        );
        assert!(Client::new("ftp://x").ws_request(None, None).is_err());
    }

    #[test]
    fn only_a_revoked_session_or_a_refused_cursor_is_final() {
        let closed = |code| ClientError::Closed {
            code,
            reason: String::new(),
        };
        assert!(is_final(&closed(close_code::SESSION_REVOKED)));
        assert!(is_final(&closed(close_code::BAD_CURSOR)));
        assert!(!is_final(&closed(close_code::TOO_SLOW)));
        assert!(!is_final(&closed(1001)));
        let api =
            |status| ClientError::from_response(status, br#"{"code":"internal","message":""}"#);
        assert!(is_final(&api(401)));
        assert!(!is_final(&api(429)));
        assert!(!is_final(&api(503)));
    }
}
