//! Virus scanning through ClamAV's daemon: the file's bytes go to `clamd` with `zINSTREAM`, in
//! frames of a 4-byte big-endian length and the bytes, ended by an empty frame; clamd answers
//! one line, `stream: OK`, `stream: <signature> FOUND`, or an error.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest frame sent; clamd takes any size up to its `StreamMaxLength`.
const FRAME: usize = 64 * 1024;
/// The longest answer read.
const MAX_REPLY: usize = 1024;

/// What clamd said of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// The signature it matched.
    Infected(String),
    /// Longer than clamd's `StreamMaxLength`: not scanned.
    TooLarge,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("clamd: {0}")]
    Io(#[from] std::io::Error),
    #[error("clamd answered {0:?}")]
    Answer(String),
}

/// A clamd at `host:port`.
#[derive(Debug, Clone)]
pub struct Scanner {
    address: String,
}

impl Scanner {
    pub fn new(address: impl Into<String>) -> Scanner {
        Scanner {
            address: address.into(),
        }
    }

    /// Scans the bytes `body` yields.
    pub async fn scan<E>(
        &self,
        mut body: impl Stream<Item = Result<Bytes, E>> + Unpin,
    ) -> Result<Verdict, ScanError>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut socket = TcpStream::connect(&self.address).await?;
        socket.write_all(b"zINSTREAM\0").await?;
        let mut sent_all = true;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(std::io::Error::other)?;
            for frame in chunk.chunks(FRAME) {
                socket
                    .write_all(&(frame.len() as u32).to_be_bytes())
                    .await?;
                // clamd stops reading and answers once a stream passes its limit.
                if let Err(error) = socket.write_all(frame).await {
                    if error.kind() == std::io::ErrorKind::BrokenPipe
                        || error.kind() == std::io::ErrorKind::ConnectionReset
                    {
                        sent_all = false;
                        break;
                    }
                    return Err(error.into());
                }
            }
            if !sent_all {
                break;
            }
        }
        if sent_all {
            socket.write_all(&0u32.to_be_bytes()).await?;
        }
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        while reply.len() < MAX_REPLY && socket.read(&mut byte).await? == 1 && byte[0] != 0 {
            reply.push(byte[0]);
        }
        parse_reply(&String::from_utf8_lossy(&reply))
    }
}

/// Reads clamd's one-line answer.
pub fn parse_reply(reply: &str) -> Result<Verdict, ScanError> {
    let reply = reply.trim_end_matches(['\0', '\n']);
    if reply.contains("size limit exceeded") {
        return Ok(Verdict::TooLarge);
    }
    match reply.strip_prefix("stream: ") {
        Some("OK") => Ok(Verdict::Clean),
        Some(found) if found.ends_with(" FOUND") => Ok(Verdict::Infected(
            found.trim_end_matches(" FOUND").to_owned(),
        )),
        _ => Err(ScanError::Answer(reply.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_clamds_answers() {
        assert_eq!(parse_reply("stream: OK\0").unwrap(), Verdict::Clean);
        assert_eq!(
            parse_reply("stream: Eicar-Signature FOUND").unwrap(),
            Verdict::Infected("Eicar-Signature".into())
        );
        assert_eq!(
            parse_reply("INSTREAM size limit exceeded. ERROR").unwrap(),
            Verdict::TooLarge
        );
        assert!(parse_reply("UNKNOWN COMMAND").is_err());
        assert!(parse_reply("").is_err());
    }

    /// A clamd of one answer, on a free port; what it received.
    async fn fake_clamd(answer: &'static [u8]) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut received = Vec::new();
            let mut buffer = [0u8; 4096];
            // Up to the empty frame that ends the stream.
            while !received.ends_with(&[0, 0, 0, 0]) {
                let read = socket.read(&mut buffer).await.unwrap();
                if read == 0 {
                    break;
                }
                received.extend_from_slice(&buffer[..read]);
            }
            socket.write_all(answer).await.unwrap();
            received
        });
        (address, task)
    }

    #[tokio::test]
    async fn streams_the_file_in_frames() {
        let (address, received) = fake_clamd(b"stream: OK\0").await;
        let body = futures_util::stream::iter([
            Ok::<_, std::io::Error>(Bytes::from_static(b"hello ")),
            Ok(Bytes::from_static(b"world")),
        ]);
        let verdict = Scanner::new(address).scan(body).await.unwrap();
        assert_eq!(verdict, Verdict::Clean);
        let mut expected = b"zINSTREAM\0".to_vec();
        expected.extend_from_slice(&[0, 0, 0, 6]);
        expected.extend_from_slice(b"hello ");
        expected.extend_from_slice(&[0, 0, 0, 5]);
        expected.extend_from_slice(b"world");
        expected.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(received.await.unwrap(), expected);
    }

    #[tokio::test]
    async fn an_unreachable_clamd_is_an_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::new())]);
        assert!(Scanner::new(address).scan(body).await.is_err());
    }
}
