//! Webhooks: `GET/POST/DELETE /subscriptions`, and delivering each bot's updates to its
//! subscribed address.
//!
//! A bot has at most one subscription. Delivery reads the same updates long polling would, from
//! the cursor kept with the subscription: one `POST` per update, in order, and only a `200`
//! counts, as on Max. A failure is retried after 60 s, then ×2.5 each time (at most an hour
//! apart); after eight hours without a success the subscription is dropped. One node delivers a
//! bot's updates at a time, the one holding the subscription's lease; the hub wakes it for the
//! bot's events whichever node wrote them. Long polling is refused while a subscription exists,
//! and resumes where the webhook left off when it ends.
//!
//! Addresses must be `https` on public IP addresses (checked when subscribing, and again at
//! every connection, so a name that later resolves to a private address is not followed), unless
//! the server allows private webhooks (`--bot-webhooks-allow-private`). Redirects are not
//! followed.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use kolokol_botapi::wire;
use kolokol_domain::Cursor;
use kolokol_proto::{Millis, UserId};
use kolokol_store::{Delivery, NewSubscription, Subscription};
use parking_lot::Mutex;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{StatusCode, Url};

use super::convert::Lookup;
use super::request::{MaxJson, Params};
use super::updates::read_into;
use super::{Bot, BotError, BotResult};
use crate::state::AppState;

/// How often each node looks for subscriptions no node delivers.
const SCAN_EVERY: Duration = Duration::from_secs(2);
/// A delivering node renews its lease at least this often, and between deliveries; another
/// takes over once it lapses. It outlasts the longest delivery twice over, so no other node
/// posts the same update while one waits for an answer.
const TICK: Duration = Duration::from_secs(1);
const LEASE_MS: Millis = 90_000;
/// Max's limits: an answer within 30 s, retries from a minute apart, growing 2.5 times.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);
const FIRST_RETRY_MS: f64 = 60_000.0;
const RETRY_GROWTH: f64 = 2.5;
const LONGEST_RETRY_MS: f64 = 3_600_000.0;
/// Eight hours without a delivery end a subscription.
const GIVE_UP_MS: Millis = 8 * 3_600_000;
const SECRET_HEADER: &str = "X-Max-Bot-Api-Secret";

/// When to try again after `attempts` failures in a row (the first retry after one).
fn retry_delay_ms(attempts: u32) -> Millis {
    let exponent = i32::try_from(attempts.saturating_sub(1)).unwrap_or(i32::MAX);
    (FIRST_RETRY_MS * RETRY_GROWTH.powi(exponent)).min(LONGEST_RETRY_MS) as Millis
}

/// Whether an address is one a webhook may reach without `--bot-webhooks-allow-private`: not
/// this machine, a private or link-local network, nor a special-purpose range (IANA's
/// registries), and for IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64,
/// 6to4), not one whose IPv4 address is any of these.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            let [a, b, c, _] = ip.octets();
            let special = a == 0
                || (a == 100 && (b & 0xc0) == 64)
                || (a == 192 && b == 0 && c == 0)
                || (a == 192 && b == 88 && c == 99)
                || (a == 198 && (b & 0xfe) == 18)
                || a >= 240;
            !(special
                || ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_documentation()
                || ip.is_multicast())
        }
        IpAddr::V6(ip) => {
            let segments = ip.segments();
            let embedded = |high: u16, low: u16| {
                IpAddr::V4(Ipv4Addr::new(
                    (high >> 8) as u8,
                    high as u8,
                    (low >> 8) as u8,
                    low as u8,
                ))
            };
            if let Some(v4) = ip.to_ipv4() {
                // Mapped (`::ffff:a.b.c.d`) and compatible (`::a.b.c.d`, `::1` among them).
                return !ip.is_loopback() && !ip.is_unspecified() && is_public(IpAddr::V4(v4));
            }
            match segments {
                // NAT64 (64:ff9b::/96) reaches the IPv4 address it carries.
                [0x64, 0xff9b, 0, 0, 0, 0, high, low] => is_public(embedded(high, low)),
                // 6to4 (2002::/16) likewise.
                [0x2002, high, low, ..] => is_public(embedded(high, low)),
                // Local NAT64 (64:ff9b:1::/48), documentation (2001:db8::/32), discard (100::/64).
                [0x64, 0xff9b, 1, ..] | [0x2001, 0xdb8, ..] | [0x100, 0, 0, 0, ..] => false,
                // Site-local (fec0::/10), long deprecated but still routed by some.
                [first, ..] if first & 0xffc0 == 0xfec0 => false,
                _ => {
                    !(ip.is_loopback()
                        || ip.is_unspecified()
                        || ip.is_unique_local()
                        || ip.is_unicast_link_local()
                        || ip.is_multicast())
                }
            }
        }
    }
}

/// The ports a public webhook may use: https's own, and the alternative Telegram bots use.
const WEBHOOK_PORTS: [u16; 2] = [443, 8443];

/// The address of a webhook or a mini-app, if it may be used.
pub(crate) fn checked_url(url: &str, allow_private: bool) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|_| "url is not a valid address".to_owned())?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err("url must begin with https://".to_owned()),
    }
    if parsed.host_str().is_none_or(str::is_empty) || !parsed.username().is_empty() {
        return Err("url needs a host and no user name".to_owned());
    }
    if !allow_private {
        // Names are checked when connecting (see `PublicOnly`); addresses here.
        let host = parsed.host_str().unwrap_or_default();
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if literal.parse::<IpAddr>().is_ok_and(|ip| !is_public(ip)) {
            return Err("url must be a public address".to_owned());
        }
        if parsed
            .port_or_known_default()
            .is_none_or(|port| !WEBHOOK_PORTS.contains(&port))
        {
            return Err("url must use port 443 or 8443".to_owned());
        }
    }
    Ok(parsed)
}

/// Resolves names to public addresses only, so a webhook's name cannot be pointed at this
/// machine or its network after it was checked.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|addr| is_public(addr.ip())).collect();
            if public.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client webhooks are posted with.
pub fn client(allow_private: bool) -> reqwest::Client {
    // No proxy from the environment either: a proxy would reach what the resolver refuses.
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ANSWER_WITHIN)
        .user_agent(concat!("Kolokol/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder.build().expect("the webhook client builds")
}

fn view(subscription: Subscription) -> wire::Subscription {
    wire::Subscription {
        url: subscription.url,
        time: subscription.created_at,
        update_types: subscription.update_types,
        version: subscription.version,
    }
}

/// `GET /subscriptions`.
pub async fn subscriptions(
    State(state): State<AppState>,
    bot: Bot,
) -> BotResult<Json<wire::SubscriptionList>> {
    let found = state.store.bot_subscription(bot.actor.user_id).await?;
    Ok(Json(wire::SubscriptionList {
        subscriptions: found.into_iter().map(view).collect(),
    }))
}

/// `POST /subscriptions {url, update_types?, secret?, version?}`: replaces any subscription the
/// bot had. Delivery starts where long polling was acknowledged.
pub async fn subscribe(
    State(state): State<AppState>,
    bot: Bot,
    MaxJson(request): MaxJson<wire::SubscriptionRequest>,
) -> BotResult<Json<wire::SimpleResult>> {
    let allow_private = state.settings.bot_webhooks_allow_private;
    let url = checked_url(request.url.trim(), allow_private).map_err(BotError::payload)?;
    let secret_ok = |secret: &String| {
        (5..=256).contains(&secret.len())
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if request
        .secret
        .as_ref()
        .is_some_and(|secret| !secret_ok(secret))
    {
        return Err(BotError::payload(
            "secret is 5–256 of the characters A-Z, a-z, 0-9, - and _",
        ));
    }
    let bot_id = bot.actor.user_id;
    let subscription = NewSubscription {
        url: url.to_string(),
        secret: request.secret,
        update_types: request.update_types.filter(|types| !types.is_empty()),
        version: request.version,
        cursor: state.store.bot_cursor(bot_id, None).await?,
    };
    state
        .store
        .subscribe_bot(bot_id, subscription, state.now())
        .await?;
    Ok(Json(wire::SimpleResult::ok()))
}

/// `DELETE /subscriptions?url=`: ends the subscription (to that address, when given).
pub async fn unsubscribe(
    State(state): State<AppState>,
    bot: Bot,
    params: Params,
) -> BotResult<Json<wire::SimpleResult>> {
    // Compared as stored: parsed and written back (`https://h` is kept as `https://h/`).
    let url = params
        .text("url")
        .map(|url| Url::parse(url.trim()).map_or_else(|_| url.to_owned(), |url| url.to_string()));
    let found = state.store.bot_subscription(bot.actor.user_id).await?;
    if let Some(subscription) =
        found.filter(|found| url.as_ref().is_none_or(|url| *url == found.url))
    {
        end(&state, subscription).await?;
    }
    Ok(Json(wire::SimpleResult::ok()))
}

/// Ends a subscription; long polling resumes where delivery got to.
async fn end(state: &AppState, subscription: Subscription) -> BotResult<()> {
    let bot_id = subscription.bot_id;
    let removed = state
        .store
        .unsubscribe_bot(bot_id, Some(subscription.url))
        .await?;
    if removed && let Some(cursor) = subscription.cursor {
        let marker = state
            .store
            .save_bot_cursor(bot_id, cursor, state.now())
            .await?;
        state.store.bot_cursor(bot_id, Some(marker)).await?;
    }
    Ok(())
}

/// Long polling is refused while the bot has a subscription, as on Max.
pub async fn refuse_polling_while_subscribed(state: &AppState, bot_id: UserId) -> BotResult<()> {
    match state.store.bot_subscription(bot_id).await? {
        Some(_) => Err(BotError::not_allowed(
            "long polling is off while a webhook subscription exists",
        )),
        None => Ok(()),
    }
}

/// Delivers every subscribed bot's updates that no other node delivers. Runs for the life of
/// the server.
pub async fn run(state: AppState) {
    let holder = format!("{:016x}", rand::random::<u64>());
    let client = client(state.settings.bot_webhooks_allow_private);
    let running: Arc<Mutex<HashSet<UserId>>> = Arc::default();
    let mut every = tokio::time::interval(SCAN_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let leasable = state
            .store
            .leasable_subscriptions(holder.clone(), state.now());
        let bots = match leasable.await {
            Ok(bots) => bots,
            Err(error) => {
                tracing::error!(%error, "reading webhook subscriptions failed");
                continue;
            }
        };
        for bot_id in bots {
            if !running.lock().insert(bot_id) {
                continue;
            }
            let (state, client, holder, running) = (
                state.clone(),
                client.clone(),
                holder.clone(),
                running.clone(),
            );
            tokio::spawn(async move {
                if let Err(error) = deliver(&state, &client, &holder, bot_id).await {
                    tracing::warn!(?error, bot_id, "webhook delivery stopped");
                }
                running.lock().remove(&bot_id);
            });
        }
    }
}

/// Delivers one bot's updates for as long as this node holds the lease and the subscription
/// lasts.
async fn deliver(
    state: &AppState,
    client: &reqwest::Client,
    holder: &str,
    bot_id: UserId,
) -> BotResult<()> {
    const WAKE_QUEUE: usize = 16;
    let (mut waiter, mut wake) = state.hub.register(bot_id, WAKE_QUEUE);
    // Until when this node holds the lease: renewed once half of it has passed, not on every
    // turn, so an idle subscription costs a read a second rather than a write.
    let mut leased_until: Millis = 0;
    let result = async {
        loop {
            let now = state.now();
            let found = if now + LEASE_MS / 2 >= leased_until {
                leased_until = now + LEASE_MS;
                state
                    .store
                    .lease_subscription(bot_id, holder.to_owned(), now, leased_until)
                    .await?
            } else {
                state.store.bot_subscription(bot_id).await?
            };
            let Some(subscription) = found else {
                return Ok(());
            };
            if subscription
                .failing_since
                .is_some_and(|since| now - since >= GIVE_UP_MS)
            {
                tracing::info!(bot_id, "webhook failing for eight hours: unsubscribed");
                return end(state, subscription).await;
            }
            let due = subscription.next_attempt_at.is_none_or(|at| at <= now);
            if !due || !deliver_one(state, client, holder, subscription).await? {
                while wake.try_recv().is_ok() {}
                // Woken by the bot's events, or each tick for retries and the lease; the hub
                // gives up on a full queue, so listen again then.
                if let Ok(None) = tokio::time::timeout(TICK, wake.recv()).await {
                    (waiter, wake) = state.hub.register(bot_id, WAKE_QUEUE);
                }
            }
        }
    }
    .await;
    state.hub.unregister(bot_id, waiter);
    result
}

/// Posts the bot's next update, if there is one; true when one was delivered.
async fn deliver_one(
    state: &AppState,
    client: &reqwest::Client,
    holder: &str,
    subscription: Subscription,
) -> BotResult<bool> {
    let bot_id = subscription.bot_id;
    let start = subscription
        .cursor
        .as_deref()
        .and_then(|text| Cursor::decode(text).ok())
        .unwrap_or_default();
    let mut cursor = start.clone();
    let mut updates = Vec::new();
    let actor = kolokol_store::Actor {
        user_id: bot_id,
        session_id: 0,
    };
    // A webhook has no request to take a Host from.
    let mut lookup = Lookup::new(state, actor, state.settings.public_base(None));
    let types = subscription.update_types.clone().unwrap_or_default();
    read_into(state, &mut lookup, &mut cursor, &mut updates, 1, &types).await?;
    let Some(update) = updates.pop() else {
        // Events the bot does not hear still move the cursor along.
        if cursor != start {
            let moved = Delivery::Succeeded {
                cursor: cursor.encode(),
            };
            state
                .store
                .record_delivery(bot_id, holder.to_owned(), moved, state.now())
                .await?;
        }
        return Ok(false);
    };
    let body = serde_json::to_vec(&update).expect("updates serialize");
    let mut request = client
        .post(&subscription.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(secret) = &subscription.secret {
        request = request.header(SECRET_HEADER, secret);
    }
    // The time of the attempt, read before it: back-off and the eight hours count from when a
    // delivery was tried, however long the bot took to answer.
    let now = state.now();
    let answered = request.send().await;
    let delivered = matches!(&answered, Ok(response) if response.status() == StatusCode::OK);
    let delivery = if delivered {
        Delivery::Succeeded {
            cursor: cursor.encode(),
        }
    } else {
        // The status or the kind of failure only: never the address, which may carry a secret.
        let failure = match &answered {
            Ok(response) => response.status().to_string(),
            Err(error) if error.is_timeout() => "timeout".to_owned(),
            Err(_) => "no connection".to_owned(),
        };
        tracing::info!(bot_id, %failure, "webhook delivery failed");
        Delivery::Failed {
            retry_at: now + retry_delay_ms(subscription.attempts + 1),
        }
    };
    state
        .store
        .record_delivery(bot_id, holder.to_owned(), delivery, now)
        .await?;
    Ok(delivered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour() {
        let delays: Vec<Millis> = (1..=6).map(retry_delay_ms).collect();
        assert_eq!(
            delays,
            [60_000, 150_000, 375_000, 937_500, 2_343_750, 3_600_000]
        );
        assert_eq!(retry_delay_ms(100), 3_600_000);
    }

    #[test]
    fn webhooks_go_to_public_https_addresses_unless_allowed() {
        for good in [
            "https://bot.example.org/hook",
            "https://93.184.216.34/hook",
            "https://bot.example.org:8443/hook",
            "https://[64:ff9b::5db8:d822]/hook",
            "https://[2606:4700::1111]/hook",
        ] {
            assert!(checked_url(good, false).is_ok(), "{good}");
        }
        for bad in [
            "http://bot.example.org/hook",
            "ftp://bot.example.org/hook",
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://192.168.0.10/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/hook",
            "https://[::1]/hook",
            "https://[fd00::1]/hook",
            "https://[::ffff:127.0.0.1]/hook",
            "https://user:pass@bot.example.org/hook",
            "https://bot.example.org:22/hook",
            "https://[64:ff9b::a00:1]/hook",
            "https://[64:ff9b::5db8:d822]:8080/hook",
            "https://[2002:a00:1::]/hook",
            "https://[::a00:1]/hook",
            "https://[fec0::1]/hook",
            "https://198.18.0.1/hook",
            "https://240.0.0.1/hook",
            "https://192.0.0.8/hook",
            "https://0.0.0.0/hook",
            "not a url",
        ] {
            assert!(checked_url(bad, false).is_err(), "{bad}");
        }
        assert!(checked_url("http://127.0.0.1:8081/hook", true).is_ok());
        assert!(checked_url("ftp://127.0.0.1/hook", true).is_err());
    }

    #[tokio::test]
    async fn names_that_resolve_to_this_machine_are_not_followed() {
        let name: Name = "localhost".parse().unwrap();
        let resolved = PublicOnly.resolve(name).await;
        assert!(resolved.is_err(), "localhost resolved to a public address");
    }
}
