//! Settings for `kolokol serve`: flags, `KOLOKOL_*` environment variables and a TOML file.
//! A flag or variable wins over the file, and the file over the defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::Deserialize;

use crate::clock::Clock;

/// Every setting of the server. Each one may also be set in the TOML file under the same name
/// (with underscores), e.g. `listen = "0.0.0.0:8080"`.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeArgs {
    /// TOML file with any of the settings below.
    #[arg(long, env = "KOLOKOL_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Address to listen on; port 0 picks a free port (the chosen address is printed).
    /// [default: 127.0.0.1:8080]
    #[arg(long, env = "KOLOKOL_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// Folder for the embedded database; created on first start. [default: ./data]
    #[arg(long, env = "KOLOKOL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// PostgreSQL for a scale-out deployment, e.g. `postgres://kolokol@db/kolokol`; migrations
    /// run at start. Without it, the embedded SQLite file in the data folder is used.
    #[arg(long, env = "KOLOKOL_DATABASE")]
    pub database: Option<String>,

    /// Connections this node keeps to PostgreSQL at most; size it so that nodes × pool stays
    /// under the server's `max_connections`. [default: 32]
    #[arg(long, env = "KOLOKOL_DATABASE_POOL")]
    pub database_pool: Option<u32>,

    /// NATS server that joins several nodes, e.g. `nats://127.0.0.1:4222`. Without it, events
    /// stay inside this process (one node).
    #[arg(long, env = "KOLOKOL_BUS")]
    pub bus: Option<String>,

    /// Subject prefix on the NATS server; deployments sharing one NATS server need different
    /// ones. [default: kolokol]
    #[arg(long, env = "KOLOKOL_BUS_SUBJECT")]
    pub bus_subject: Option<String>,

    /// Folder with the built web client (`npm run build` in web/), served at /. [default: ./web/dist]
    #[arg(long, env = "KOLOKOL_WEB_DIR")]
    pub web_dir: Option<PathBuf>,

    /// Days a missed event can still be resumed; older cursors get `resync`. [default: 7]
    #[arg(long, env = "KOLOKOL_EVENT_RETENTION_DAYS")]
    pub event_retention_days: Option<u32>,

    /// Largest accepted request body in bytes. [default: 65536]
    #[arg(long, env = "KOLOKOL_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,

    /// Events that may wait for one WebSocket client before it is disconnected as too slow
    /// (it then resumes from its cursor). [default: 1024]
    #[arg(long, env = "KOLOKOL_WS_QUEUE")]
    pub ws_queue: Option<usize>,

    /// Seconds between WebSocket heartbeats; a client that has not answered one by the next is
    /// disconnected. [default: 20]
    #[arg(long, env = "KOLOKOL_WS_PING_SECONDS")]
    pub ws_ping_seconds: Option<u64>,

    /// Registrations allowed per client address per hour (held in memory only). [default: 20]
    #[arg(long, env = "KOLOKOL_REGISTER_PER_IP_PER_HOUR")]
    pub register_per_ip_per_hour: Option<u32>,

    /// Registration attempts allowed per username per hour (in memory only). [default: 10]
    #[arg(long, env = "KOLOKOL_REGISTER_PER_USERNAME_PER_HOUR")]
    pub register_per_username_per_hour: Option<u32>,

    /// Login attempts allowed per client address per minute (in memory only). [default: 30]
    #[arg(long, env = "KOLOKOL_LOGIN_PER_IP_PER_MINUTE")]
    pub login_per_ip_per_minute: Option<u32>,

    /// Login attempts allowed per username per minute (in memory only). [default: 10]
    #[arg(long, env = "KOLOKOL_LOGIN_PER_USERNAME_PER_MINUTE")]
    pub login_per_username_per_minute: Option<u32>,

    /// Claim-code attempts allowed per account per hour, so codes cannot be guessed (in memory
    /// only). [default: 10]
    #[arg(long, env = "KOLOKOL_CLAIMS_PER_USER_PER_HOUR")]
    pub claims_per_user_per_hour: Option<u32>,

    /// Claim-code attempts allowed per client address per hour (in memory only). [default: 30]
    #[arg(long, env = "KOLOKOL_CLAIMS_PER_IP_PER_HOUR")]
    pub claims_per_ip_per_hour: Option<u32>,

    /// Bot API requests allowed per bot per second, as on Max (in memory only). [default: 30]
    #[arg(long, env = "KOLOKOL_BOT_REQUESTS_PER_SECOND")]
    pub bot_requests_per_second: Option<u32>,

    /// Presses of bots' callback buttons allowed per person per minute (in memory only).
    /// [default: 60]
    #[arg(long, env = "KOLOKOL_BUTTON_PRESSES_PER_MINUTE")]
    pub button_presses_per_minute: Option<u32>,

    /// Let bots' webhooks use plain http and addresses on this machine or a private network
    /// (for tests, and bots beside the server on a closed network). Otherwise only https to
    /// public addresses. [default: false]
    #[arg(long, env = "KOLOKOL_BOT_WEBHOOKS_ALLOW_PRIVATE", num_args = 0..=1, default_missing_value = "true")]
    pub bot_webhooks_allow_private: Option<bool>,

    /// Where uploaded files are kept. [default: media/ in the data folder]
    #[arg(long, env = "KOLOKOL_MEDIA_DIR")]
    pub media_dir: Option<PathBuf>,

    /// Keep uploaded files in this S3 bucket instead of a folder (any S3-compatible service;
    /// keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). [default: none]
    #[arg(long, env = "KOLOKOL_MEDIA_S3_BUCKET")]
    pub media_s3_bucket: Option<String>,

    /// The S3 service's address, such as https://storage.yandexcloud.net. [default: AWS]
    #[arg(long, env = "KOLOKOL_MEDIA_S3_ENDPOINT")]
    pub media_s3_endpoint: Option<String>,

    /// The bucket's region. [default: us-east-1]
    #[arg(long, env = "KOLOKOL_MEDIA_S3_REGION")]
    pub media_s3_region: Option<String>,

    /// The largest file accepted, in MiB. [default: 2048]
    #[arg(long, env = "KOLOKOL_MEDIA_MAX_MB")]
    pub media_max_mb: Option<u64>,

    /// The largest image accepted, in MiB; images are decoded in memory to strip EXIF and GPS.
    /// [default: 50]
    #[arg(long, env = "KOLOKOL_MEDIA_IMAGE_MAX_MB")]
    pub media_image_max_mb: Option<u64>,

    /// Room for the files sent in an org's chats, in MiB, unless its policy says otherwise.
    /// [default: 102400]
    #[arg(long, env = "KOLOKOL_MEDIA_ORG_QUOTA_MB")]
    pub media_org_quota_mb: Option<u64>,

    /// Room for each person's (and bot's) files outside orgs' chats, in MiB. [default: 2048]
    #[arg(long, env = "KOLOKOL_MEDIA_USER_QUOTA_MB")]
    pub media_user_quota_mb: Option<u64>,

    /// ClamAV's daemon, host:port: every upload is scanned, infected ones are set aside in
    /// quarantine/ and refused, and uploads fail while it cannot be reached. [default: none]
    #[arg(long, env = "KOLOKOL_CLAMD")]
    pub clamd: Option<String>,

    /// This server's address as bots and browsers reach it, for example
    /// https://kolokol.school.example (behind a proxy, set it). [default: each request's Host]
    #[arg(long, env = "KOLOKOL_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Usernames of the instance's administrators: they may create organisations. Repeat the
    /// flag, or separate names with commas. [default: none]
    #[arg(long = "admin", env = "KOLOKOL_ADMINS", value_delimiter = ',')]
    pub admins: Option<Vec<String>>,
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database: Database,
    pub bus: BusChoice,
    pub web_dir: PathBuf,
    pub event_retention_days: u32,
    pub max_body_bytes: usize,
    pub ws_queue: usize,
    pub ws_ping_interval: std::time::Duration,
    pub register_per_ip_per_hour: u32,
    pub register_per_username_per_hour: u32,
    pub login_per_ip_per_minute: u32,
    pub login_per_username_per_minute: u32,
    pub claims_per_user_per_hour: u32,
    pub claims_per_ip_per_hour: u32,
    pub bot_requests_per_second: u32,
    pub button_presses_per_minute: u32,
    pub bot_webhooks_allow_private: bool,
    /// Where media files live; `None` is `media/` in the data folder.
    pub media_store: Option<kolokol_media::Location>,
    /// The largest file accepted, in bytes.
    pub media_max_bytes: u64,
    /// The largest image accepted, in bytes (images are decoded in memory).
    pub media_image_max_bytes: u64,
    /// This server's address as others reach it (`https://kolokol.school.example`): the base of
    /// the links bots get. Without it, a request's `Host`.
    pub public_url: Option<String>,
    /// ClamAV's daemon (`host:port`), when uploads are scanned.
    pub clamd: Option<String>,
    /// An org's room for files, in bytes, unless its policy sets one.
    pub media_org_quota_bytes: u64,
    /// Each person's room for files outside orgs' chats, in bytes.
    pub media_user_quota_bytes: u64,
    /// How long a file nothing shows is kept after its upload or last use (an upload's token
    /// must outlive its sending).
    pub media_grace: std::time::Duration,
    /// How often each node deletes expired uploads and files nothing shows.
    pub media_sweep_every: std::time::Duration,
    /// Lower-cased usernames.
    pub admins: Vec<String>,
    /// Real time, except in tests.
    pub clock: Clock,
}

/// Where data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `kolokol.db` in the data folder.
    Embedded,
    Postgres {
        url: String,
        pool: u32,
    },
}

/// How nodes hear each other's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusChoice {
    InProcess,
    Nats { url: String, subject: String },
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database: Database::Embedded,
            bus: BusChoice::InProcess,
            web_dir: PathBuf::from("web/dist"),
            event_retention_days: 7,
            max_body_bytes: 64 * 1024,
            ws_queue: 1024,
            ws_ping_interval: std::time::Duration::from_secs(20),
            register_per_ip_per_hour: 20,
            register_per_username_per_hour: 10,
            login_per_ip_per_minute: 30,
            login_per_username_per_minute: 10,
            claims_per_user_per_hour: 10,
            claims_per_ip_per_hour: 30,
            bot_requests_per_second: 30,
            button_presses_per_minute: 60,
            bot_webhooks_allow_private: false,
            media_store: None,
            media_max_bytes: 2 << 30,
            media_image_max_bytes: 50 << 20,
            public_url: None,
            clamd: None,
            media_org_quota_bytes: 102_400 << 20,
            media_user_quota_bytes: 2048 << 20,
            media_grace: std::time::Duration::from_secs(24 * 3600),
            media_sweep_every: std::time::Duration::from_secs(600),
            admins: Vec::new(),
            clock: Clock::system(),
        }
    }
}

impl ServeArgs {
    /// Resolves flags and environment over the config file over the defaults.
    pub fn resolve(self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => ServeArgs::default(),
        };
        let defaults = Settings::default();
        let database = match self.database.or(file.database) {
            None => Database::Embedded,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::Postgres {
                    url,
                    pool: self
                        .database_pool
                        .or(file.database_pool)
                        .unwrap_or(kolokol_store_postgres::DEFAULT_MAX_CONNECTIONS)
                        .max(1),
                }
            }
            Some(_) => anyhow::bail!("--database takes a postgres:// or postgresql:// URL"),
        };
        let bus = match self.bus.or(file.bus) {
            None => BusChoice::InProcess,
            Some(url) if url.starts_with("nats://") => BusChoice::Nats {
                url,
                subject: self
                    .bus_subject
                    .or(file.bus_subject)
                    .unwrap_or_else(|| "kolokol".into()),
            },
            Some(_) => anyhow::bail!("--bus takes a nats:// URL"),
        };
        Ok(Settings {
            listen: self.listen.or(file.listen).unwrap_or(defaults.listen),
            data_dir: self.data_dir.or(file.data_dir).unwrap_or(defaults.data_dir),
            database,
            bus,
            web_dir: self.web_dir.or(file.web_dir).unwrap_or(defaults.web_dir),
            event_retention_days: self
                .event_retention_days
                .or(file.event_retention_days)
                .unwrap_or(defaults.event_retention_days),
            max_body_bytes: self
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(defaults.max_body_bytes),
            ws_queue: self
                .ws_queue
                .or(file.ws_queue)
                .unwrap_or(defaults.ws_queue)
                .max(16),
            ws_ping_interval: self
                .ws_ping_seconds
                .or(file.ws_ping_seconds)
                .map_or(defaults.ws_ping_interval, |seconds| {
                    std::time::Duration::from_secs(seconds.max(1))
                }),
            register_per_ip_per_hour: self
                .register_per_ip_per_hour
                .or(file.register_per_ip_per_hour)
                .unwrap_or(defaults.register_per_ip_per_hour),
            register_per_username_per_hour: self
                .register_per_username_per_hour
                .or(file.register_per_username_per_hour)
                .unwrap_or(defaults.register_per_username_per_hour),
            login_per_ip_per_minute: self
                .login_per_ip_per_minute
                .or(file.login_per_ip_per_minute)
                .unwrap_or(defaults.login_per_ip_per_minute),
            login_per_username_per_minute: self
                .login_per_username_per_minute
                .or(file.login_per_username_per_minute)
                .unwrap_or(defaults.login_per_username_per_minute),
            claims_per_user_per_hour: self
                .claims_per_user_per_hour
                .or(file.claims_per_user_per_hour)
                .unwrap_or(defaults.claims_per_user_per_hour),
            claims_per_ip_per_hour: self
                .claims_per_ip_per_hour
                .or(file.claims_per_ip_per_hour)
                .unwrap_or(defaults.claims_per_ip_per_hour),
            bot_requests_per_second: self
                .bot_requests_per_second
                .or(file.bot_requests_per_second)
                .unwrap_or(defaults.bot_requests_per_second),
            button_presses_per_minute: self
                .button_presses_per_minute
                .or(file.button_presses_per_minute)
                .unwrap_or(defaults.button_presses_per_minute),
            bot_webhooks_allow_private: self
                .bot_webhooks_allow_private
                .or(file.bot_webhooks_allow_private)
                .unwrap_or(defaults.bot_webhooks_allow_private),
            media_store: media_store(
                self.media_dir.or(file.media_dir),
                self.media_s3_bucket.or(file.media_s3_bucket),
                self.media_s3_endpoint.or(file.media_s3_endpoint),
                self.media_s3_region.or(file.media_s3_region),
            )?,
            media_max_bytes: self
                .media_max_mb
                .or(file.media_max_mb)
                .map_or(defaults.media_max_bytes, |mb| mb << 20),
            media_image_max_bytes: self
                .media_image_max_mb
                .or(file.media_image_max_mb)
                .map_or(defaults.media_image_max_bytes, |mb| mb << 20),
            public_url: self
                .public_url
                .or(file.public_url)
                .map(|url| url.trim_end_matches('/').to_owned()),
            clamd: self.clamd.or(file.clamd),
            media_org_quota_bytes: self
                .media_org_quota_mb
                .or(file.media_org_quota_mb)
                .map_or(defaults.media_org_quota_bytes, |mb| mb << 20),
            media_user_quota_bytes: self
                .media_user_quota_mb
                .or(file.media_user_quota_mb)
                .map_or(defaults.media_user_quota_bytes, |mb| mb << 20),
            media_grace: defaults.media_grace,
            media_sweep_every: defaults.media_sweep_every,
            admins: self
                .admins
                .or(file.admins)
                .unwrap_or_default()
                .iter()
                .map(|name| name.trim().to_ascii_lowercase())
                .filter(|name| !name.is_empty())
                .collect(),
            clock: Clock::system(),
        })
    }
}

impl Settings {
    /// The base of the absolute links bots get: `--public-url`, else the request's `Host` (a
    /// forged one only changes the links its own sender gets, and only a plain host name or
    /// address passes), else the address the server listens on.
    pub fn public_base(&self, host: Option<&str>) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let plain = |host: &&str| {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        };
        match host.filter(plain) {
            Some(host) => format!("http://{host}"),
            None => format!("http://{}", self.listen),
        }
    }

    pub fn media_location(&self) -> kolokol_media::Location {
        self.media_store
            .clone()
            .unwrap_or_else(|| kolokol_media::Location::Folder(self.data_dir.join("media")))
    }
}

/// A folder, or a bucket (with the keys from the environment, never from a flag: flags show in
/// the process list).
fn media_store(
    dir: Option<PathBuf>,
    bucket: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
) -> anyhow::Result<Option<kolokol_media::Location>> {
    let Some(bucket) = bucket else {
        return Ok(dir.map(kolokol_media::Location::Folder));
    };
    anyhow::ensure!(
        dir.is_none(),
        "--media-dir and --media-s3-bucket exclude each other"
    );
    let key =
        |name: &str| std::env::var(name).with_context(|| format!("--media-s3-bucket needs {name}"));
    Ok(Some(kolokol_media::Location::S3 {
        bucket,
        endpoint,
        region: region.unwrap_or_else(|| "us-east-1".into()),
        access_key_id: key("AWS_ACCESS_KEY_ID")?,
        secret_access_key: key("AWS_SECRET_ACCESS_KEY")?,
    }))
}

fn read_file(path: &Path) -> anyhow::Result<ServeArgs> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bots_links_use_the_public_url_or_a_plain_host() {
        let mut settings = Settings::default();
        assert_eq!(
            settings.public_base(Some("school.example:8080")),
            "http://school.example:8080"
        );
        for forged in ["evil.example/path", "a b", "x@y", "", "host\"\""] {
            assert_eq!(settings.public_base(Some(forged)), "http://127.0.0.1:8080");
        }
        assert_eq!(settings.public_base(None), "http://127.0.0.1:8080");
        settings.public_url = Some("https://kolokol.school.example".into());
        assert_eq!(
            settings.public_base(Some("other.example")),
            "https://kolokol.school.example"
        );
    }

    /// Resolves `args` with a settings file holding `text`.
    fn with_file(text: &str, args: ServeArgs) -> anyhow::Result<Settings> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kolokol.toml");
        std::fs::write(&path, text).unwrap();
        ServeArgs {
            config: Some(path),
            ..args
        }
        .resolve()
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let args = ServeArgs {
            ws_queue: Some(128),
            ..ServeArgs::default()
        };
        let settings = with_file("listen = \"127.0.0.1:9000\"\nws_queue = 64\n", args).unwrap();
        assert_eq!(settings.listen.port(), 9000);
        assert_eq!(settings.ws_queue, 128);
        assert_eq!(settings.event_retention_days, 7);
    }

    #[test]
    fn admins_are_lower_cased_from_the_file_or_flags() {
        let settings =
            with_file("admins = [\"Alice\", \" bob \"]\n", ServeArgs::default()).unwrap();
        assert_eq!(settings.admins, ["alice", "bob"]);
        let args = ServeArgs {
            admins: Some(vec!["Carol".into()]),
            ..ServeArgs::default()
        };
        assert_eq!(
            with_file("admins = [\"alice\"]\n", args).unwrap().admins,
            ["carol"]
        );
        assert!(ServeArgs::default().resolve().unwrap().admins.is_empty());
    }

    #[test]
    fn database_and_bus_come_from_urls() {
        let args = ServeArgs {
            bus_subject: Some("city".into()),
            ..ServeArgs::default()
        };
        let file = "database = \"postgres://db/kolokol\"\nbus = \"nats://nats:4222\"\n";
        let settings = with_file(file, args).unwrap();
        assert_eq!(
            settings.database,
            Database::Postgres {
                url: "postgres://db/kolokol".into(),
                pool: kolokol_store_postgres::DEFAULT_MAX_CONNECTIONS
            }
        );
        assert_eq!(
            settings.bus,
            BusChoice::Nats {
                url: "nats://nats:4222".into(),
                subject: "city".into()
            }
        );
        let defaults = ServeArgs::default().resolve().unwrap();
        assert_eq!(defaults.database, Database::Embedded);
        assert_eq!(defaults.bus, BusChoice::InProcess);
        for wrong in [
            ServeArgs {
                database: Some("mysql://db".into()),
                ..ServeArgs::default()
            },
            ServeArgs {
                bus: Some("redis://x".into()),
                ..ServeArgs::default()
            },
        ] {
            assert!(wrong.resolve().is_err());
        }
    }

    #[test]
    fn heartbeats_are_at_least_a_second_apart_and_not_a_word() {
        let every = |seconds| {
            ServeArgs {
                ws_ping_seconds: seconds,
                ..ServeArgs::default()
            }
            .resolve()
            .unwrap()
            .ws_ping_interval
        };
        assert_eq!(every(None), std::time::Duration::from_secs(20));
        assert_eq!(every(Some(5)), std::time::Duration::from_secs(5));
        // Zero would ping without pause and cut off every client at once.
        assert_eq!(every(Some(0)), std::time::Duration::from_secs(1));
        assert!(with_file("ws_ping_seconds = \"often\"\n", ServeArgs::default()).is_err());
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        assert!(with_file("listne = \"127.0.0.1:9000\"\n", ServeArgs::default()).is_err());
    }
}
