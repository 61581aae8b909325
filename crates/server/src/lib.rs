//! The Kolokol server: the HTTP API and WebSocket gateway over a [`Store`] and a [`Bus`].
//!
//! Handlers (in [`routes`]) are thin: validate with `kolokol_domain`, call the store, publish the
//! events the store committed, answer. The gateway ([`gateway`]) turns published events into
//! WebSocket frames. The binary (`main.rs`) only parses settings and calls [`start`].

pub mod admin;
pub mod auth;
pub mod botapi;
pub mod clock;
pub mod config;
pub mod error;
pub mod gateway;
pub mod media;
pub mod mls;
pub mod openapi;
pub mod orgs;
pub mod quiet;
pub mod routes;
pub mod safeguarding;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use kolokol_bus::{Bus, LocalBus, NatsBus, Received, Subscription};
use kolokol_proto::{ErrorCode, Millis};
use kolokol_store::Store;
use kolokol_store_postgres::PostgresStore;
use kolokol_store_sqlite::SqliteStore;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;

use crate::auth::SessionCache;
use crate::config::{BusChoice, Database, Settings};
use crate::error::ApiError;
use crate::gateway::{Hub, connection};
use crate::quiet::QuietIndex;
use crate::routes::{
    accounts, bots, chats, messages, moderation, orgs as org_routes,
    safeguarding as safeguarding_routes,
};
use crate::state::{AppState, Limits};

/// Envelopes the in-process bus holds for a slow gateway before telling it that it lagged.
const LOCAL_BUS_CAPACITY: usize = 1 << 16;
/// How often stored events past the retention window are pruned.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/register", post(accounts::register))
        .route("/auth/login", post(accounts::login))
        .route("/auth/logout", post(accounts::logout))
        .route("/auth/password", post(accounts::change_password))
        .route("/me", get(accounts::me).patch(accounts::update_profile))
        .route(
            "/me/dnd",
            get(accounts::do_not_disturb).put(accounts::set_do_not_disturb),
        )
        .route("/users/{user_id}", get(accounts::user))
        .route(
            "/users/by-username/{username}",
            get(accounts::user_by_username),
        )
        .route("/sessions", get(accounts::sessions))
        .route(
            "/sessions/{session_id}",
            axum::routing::delete(accounts::revoke_session),
        )
        .route(
            "/sessions/revoke-others",
            post(accounts::revoke_other_sessions),
        )
        .route("/ws/ticket", post(accounts::ws_ticket))
        .route("/ws", get(connection::ws))
        .route("/chats", post(chats::create_chat).get(chats::chats))
        .route(
            "/chats/{chat_id}",
            get(chats::chat)
                .patch(chats::rename_chat)
                .delete(chats::delete_chat),
        )
        .route(
            "/chats/{chat_id}/members",
            get(chats::members).post(chats::add_members),
        )
        .route(
            "/chats/{chat_id}/members/{user_id}",
            axum::routing::delete(chats::remove_member).patch(chats::set_role),
        )
        .route("/chats/{chat_id}/leave", post(chats::leave))
        .route(
            "/chats/{chat_id}/settings",
            axum::routing::patch(chats::set_settings),
        )
        .route(
            "/chats/{chat_id}/members/{user_id}/mute",
            axum::routing::put(chats::mute),
        )
        .route("/chats/{chat_id}/pin", get(chats::pinned).put(chats::pin))
        .route("/chats/{chat_id}/transfer", post(chats::transfer_ownership))
        .route(
            "/chats/{chat_id}/invites",
            post(chats::create_invite).get(chats::invites),
        )
        .route(
            "/chats/{chat_id}/invites/{code}",
            axum::routing::delete(chats::revoke_invite),
        )
        .route("/invites/{code}", get(chats::invite_preview))
        .route("/invites/{code}/join", post(chats::join_by_invite))
        .route(
            "/chats/{chat_id}/messages",
            post(messages::send_message).get(messages::messages),
        )
        .route(
            "/chats/{chat_id}/messages/{seq}",
            axum::routing::patch(messages::edit_message).delete(messages::delete_message),
        )
        .route(
            "/chats/{chat_id}/messages/{seq}/reactions",
            post(messages::toggle_reaction),
        )
        .route(
            "/chats/{chat_id}/messages/{seq}/read-by",
            get(messages::read_by),
        )
        .route("/chats/{chat_id}/read", post(messages::mark_read))
        .route("/chats/{chat_id}/typing", post(messages::typing))
        .route("/orgs", post(org_routes::create_org).get(org_routes::orgs))
        .route(
            "/orgs/{org_id}/roster",
            get(org_routes::roster)
                .put(org_routes::import_roster)
                .layer(DefaultBodyLimit::max(org_routes::MAX_ROSTER_BYTES)),
        )
        .route(
            "/orgs/{org_id}/claim-codes",
            post(org_routes::issue_claim_codes),
        )
        .route("/claim", post(org_routes::claim))
        .route(
            "/chats/{chat_id}/uploads",
            post(media::routes::begin_upload),
        )
        .route(
            "/uploads/{id}",
            get(media::routes::upload_progress)
                .put(media::routes::put_upload)
                .delete(media::routes::cancel_upload)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/media/links", post(media::routes::links))
        .route("/media/{id}", get(media::routes::download))
        .route(
            "/chats/{chat_id}/messages/{seq}/reach",
            get(org_routes::message_reach),
        )
        .route(
            "/orgs/{org_id}/policy",
            axum::routing::put(org_routes::set_policy),
        )
        .route("/orgs/{org_id}/rollover", post(org_routes::rollover))
        .route(
            "/orgs/{org_id}/roles",
            get(safeguarding_routes::roles).post(safeguarding_routes::grant_role),
        )
        .route(
            "/orgs/{org_id}/roles/{user_id}/{role}",
            axum::routing::delete(safeguarding_routes::revoke_role),
        )
        .route(
            "/orgs/{org_id}/safeguarding/chats",
            get(safeguarding_routes::reviewed_chats),
        )
        .route(
            "/orgs/{org_id}/safeguarding/chats/{chat_id}/messages",
            get(safeguarding_routes::review_chat),
        )
        .route("/orgs/{org_id}/reports", get(moderation::reports))
        .route(
            "/orgs/{org_id}/reports/{report_id}/resolve",
            post(moderation::resolve_report),
        )
        .route("/orgs/{org_id}/audit", get(moderation::audit_log))
        .route(
            "/chats/{chat_id}/messages/{seq}/report",
            post(moderation::report),
        )
        .route(
            "/chats/{chat_id}/messages/{seq}/remind",
            post(org_routes::remind),
        )
        .route("/chats/{chat_id}/held", get(messages::held_messages))
        .route("/chats/{chat_id}/polls", get(messages::polls))
        .route("/chats/{chat_id}/threads", get(messages::threads))
        .route("/chats/{chat_id}/threads/{root}", get(messages::thread))
        .route("/chats/{chat_id}/messages/{seq}/vote", post(messages::vote))
        .route(
            "/chats/{chat_id}/held/{held_id}",
            axum::routing::delete(messages::cancel_held),
        )
        .route("/chats/{chat_id}/acks", get(messages::ack_requests))
        .route(
            "/chats/{chat_id}/messages/{seq}/ack",
            post(messages::acknowledge),
        )
        .route("/bots", get(bots::bots).post(bots::create_bot))
        .route("/bots/{bot_id}", axum::routing::patch(bots::update_bot))
        .route("/bots/{bot_id}/token", post(bots::reset_token))
        .route(
            "/bots/by-username/{username}/web-app",
            post(bots::open_web_app),
        )
        .route("/bots/by-username/{username}/start", post(bots::start_bot))
        .route("/chats/{chat_id}/commands", get(bots::chat_commands))
        .route(
            "/chats/{chat_id}/messages/{seq}/callback",
            post(bots::press_button),
        )
        .route(
            "/chats/{chat_id}/messages/{seq}/chat-button",
            post(bots::press_chat_button),
        )
        .route("/orgs/{org_id}/bots", get(bots::allowed_bots))
        .route(
            "/orgs/{org_id}/bots/{bot}",
            axum::routing::put(bots::allow_bot).delete(bots::disallow_bot),
        )
        .route(
            "/mls/key-packages",
            get(mls::routes::key_package_status).post(mls::routes::publish_key_packages),
        )
        .route("/users/{user_id}/devices", get(mls::routes::devices))
        .route("/chats/{chat_id}/mls", get(mls::routes::group))
        .route(
            "/chats/{chat_id}/mls/key-packages/claim",
            post(mls::routes::claim_key_packages),
        )
        .route(
            "/chats/{chat_id}/mls/commits",
            post(mls::routes::commit)
                .layer(DefaultBodyLimit::max(mls::routes::MAX_COMMIT_BODY_BYTES)),
        )
        .route("/mls/welcomes", get(mls::routes::welcomes))
        .route(
            "/mls/devices/me",
            axum::routing::delete(mls::routes::forget_device),
        )
        .route(
            "/mls/welcomes/{welcome_id}",
            axum::routing::delete(mls::routes::forget_welcome),
        )
        .route("/openapi.json", get(openapi_json))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(log_request));
    let body_limit = state.settings.max_body_bytes;
    let web = web_client(&state.settings.web_dir);
    // Everything under /api answers in JSON, unknown paths included; every other path belongs
    // to the web client.
    let api = Router::new().nest("/v1", api).fallback(not_found);
    Router::new()
        .nest("/api", api)
        .nest("/bot-api", botapi::router())
        .route("/health", get(|| async { "ok" }))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback_service(web)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state)
}

/// At debug level, one line per API request: the method, the route's pattern (never the path,
/// which may carry a name or an invite code), the status and the time taken. Never who asked or
/// from where.
async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        %method,
        route = route.as_deref().unwrap_or("-"),
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

/// Scripts, styles and connections only from this server: even if some text slipped past the
/// client's escaping, it could not load or run anything. Inline style attributes carry avatar
/// colours.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The built web client, with every unknown path answered by its `index.html` so that links such
/// as `/join/<code>` open the app. Without a build, a short page says where the API is.
fn web_client(dir: &std::path::Path) -> axum::routing::MethodRouter {
    let index = dir.join("index.html");
    if index.is_file() {
        axum::routing::get_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
    } else {
        get(no_web_client)
    }
}

async fn no_web_client() -> Html<&'static str> {
    Html(include_str!("index.html"))
}

async fn openapi_json() -> impl IntoResponse {
    axum::Json(openapi::ApiDoc::openapi())
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "method not allowed on this endpoint",
    )
}

/// A running server.
pub struct Running {
    /// The address actually bound (useful with port 0).
    pub addr: SocketAddr,
    pub hub: Arc<Hub>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Serves until the listener fails.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("server task")?.context("serving")
    }
}

/// Opens the store, joins the bus, starts the gateway and begins serving on `settings.listen`.
pub async fn start(settings: Settings) -> anyhow::Result<Running> {
    let store = open_store(&settings).await?;
    let bus: Arc<dyn Bus> = match &settings.bus {
        BusChoice::InProcess => Arc::new(LocalBus::new(LOCAL_BUS_CAPACITY)),
        BusChoice::Nats { url, subject } => Arc::new(NatsBus::connect(url, subject).await?),
    };
    let sessions = Arc::new(SessionCache::default());
    let hub = Hub::new(store.clone(), sessions.clone());
    let limits = Arc::new(Limits::new(&settings));
    tokio::spawn(follow_bus(bus.subscribe(), hub.clone(), limits.clone()));
    tokio::spawn(prune_old_events(
        store.clone(),
        settings.event_retention_days,
        settings.clock.clone(),
    ));
    tokio::spawn(heartbeats(hub.clone(), settings.ws_ping_interval));

    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let quiet = Arc::new(QuietIndex::default());
    quiet
        .refresh(store.as_ref(), settings.clock.now())
        .await
        .context("reading quiet hours")?;
    let media = media::Media::open(&settings, store.as_ref())
        .await
        .context("opening the media store")?;
    let state = AppState {
        media,
        store,
        bus,
        hub: hub.clone(),
        sessions,
        limits,
        typing: Arc::default(),
        provisioning: Arc::default(),
        quiet,
        poll_updates: Arc::default(),
        settings: Arc::new(settings),
    };
    tokio::spawn(quiet::refresh_index(state.clone()));
    tokio::spawn(quiet::release_held(state.clone()));
    tokio::spawn(botapi::webhooks::run(state.clone()));
    tokio::spawn(media::sweep::run(state.clone()));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    // Every frame and reply is meant to leave now: without TCP_NODELAY a frame that follows
    // another closely waits for the client's (possibly delayed) acknowledgement.
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Running { addr, hub, task })
}

async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match &settings.database {
        Database::Embedded => {
            std::fs::create_dir_all(&settings.data_dir)
                .with_context(|| format!("creating {}", settings.data_dir.display()))?;
            Arc::new(SqliteStore::open(&settings.data_dir.join("kolokol.db"))?)
        }
        Database::Postgres { url, pool } => Arc::new(
            PostgresStore::connect_with(url, *pool)
                .await
                .context("opening the PostgreSQL database")?,
        ),
    })
}

/// Routes what the bus brings: events to this node's connections, rate-limit units spent
/// elsewhere to this node's limiters.
async fn follow_bus(mut subscription: Box<dyn Subscription>, hub: Arc<Hub>, limits: Arc<Limits>) {
    while let Some(received) = subscription.next().await {
        match received {
            Received::Event(envelope) => hub.dispatch(envelope).await,
            Received::Lagged => hub.drop_everyone(),
            Received::Charge(charge) => limits.apply(charge),
        }
    }
}

/// Every interval, every connection pings its client (see `Outgoing::Ping`). The pings go out
/// a share at a time: all at once, tens of thousands of pings and pongs would hold up the
/// messages behind them for a tenth of a second.
async fn heartbeats(hub: Arc<Hub>, every: std::time::Duration) {
    const SHARES: u64 = 20;
    let mut tick = tokio::time::interval(every / SHARES as u32);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    for round in 0u64.. {
        tick.tick().await;
        hub.ping_share(round % SHARES, SHARES);
    }
}

async fn prune_old_events(store: Arc<dyn Store>, retention_days: u32, clock: clock::Clock) {
    let retention = i64::from(retention_days) * 86_400_000;
    let mut every = tokio::time::interval(PRUNE_INTERVAL);
    loop {
        every.tick().await;
        match store.prune_events(clock.now() - retention).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "pruned events past the retention window"),
            Err(error) => tracing::error!(%error, "pruning events failed"),
        }
    }
}
