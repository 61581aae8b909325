//! Quiet hours and do-not-disturb: which messages wait, until when, and their release.
//!
//! In an org's quiet hours, messages from its staff to families (in the parents' chats, class
//! chats, the announcement channel, or directly) and direct messages from families to staff are
//! held until the window ends. A family writing in a group chat is not held: the chat is the
//! other parents' too. Staff talking among themselves are not held. Direct messages to someone in
//! do-not-disturb wait until it ends. An org admin may mark a message urgent to send it anyway.
//!
//! Most sends happen when no org is quiet and nobody has do-not-disturb on, so each node keeps
//! the orgs' windows and everyone's do-not-disturb in memory ([`QuietIndex`], which also keeps
//! each school's safeguarding policy) and asks the store nothing more in that case. The copy is
//! refreshed every [`REFRESH`]: a change made on another node takes effect here within that time.

use std::collections::HashMap;
use std::time::Duration;

use jiff::tz::TimeZone;
use kolokol_domain::permissions;
use kolokol_domain::quiet::QuietWindow;
use kolokol_domain::roster::RosterRole;
use kolokol_proto::{
    Chat, ChatId, ChatKind, ErrorCode, HoldReason, Millis, StudentContacts, UserId,
};
use kolokol_store::{Actor, ChatPurpose, NewMessage, Org, OrgId, OrgRole, Store, StoreError};
use parking_lot::RwLock;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How often each node re-reads policies and do-not-disturb from the store.
pub const REFRESH: Duration = Duration::from_secs(30);
/// How often held messages that have come due are looked for.
const RELEASE_EVERY: Duration = Duration::from_secs(1);
/// Held messages released per look.
const RELEASE_BATCH: u32 = 200;

/// An org's quiet window with what is needed to apply it.
struct OrgQuiet {
    zone: TimeZone,
    window: QuietWindow,
    service_user_id: UserId,
}

/// This node's copy of every quiet window and do-not-disturb, and of each school's policy on
/// whom its students reach (which safeguarding checks on sends of new chats).
#[derive(Default)]
pub struct QuietIndex {
    orgs: RwLock<HashMap<OrgId, OrgQuiet>>,
    student_contacts: RwLock<HashMap<OrgId, StudentContacts>>,
    do_not_disturb: RwLock<HashMap<UserId, Millis>>,
}

impl QuietIndex {
    /// Replaces the copy with what the store holds now.
    pub async fn refresh(&self, store: &dyn Store, now: Millis) -> Result<(), StoreError> {
        let orgs = store.orgs_with_policies().await?;
        let do_not_disturb = store.do_not_disturb_all(now).await?;
        *self.orgs.write() = orgs.iter().filter_map(org_quiet).collect();
        *self.student_contacts.write() = orgs
            .iter()
            .map(|org| (org.id, org.policy.student_contacts))
            .collect();
        *self.do_not_disturb.write() = do_not_disturb.into_iter().collect();
        Ok(())
    }

    /// Takes in an org whose policy this node just changed.
    pub fn update_org(&self, org: &Org) {
        self.student_contacts
            .write()
            .insert(org.id, org.policy.student_contacts);
        let mut orgs = self.orgs.write();
        match org_quiet(org) {
            Some((id, quiet)) => orgs.insert(id, quiet),
            None => orgs.remove(&org.id),
        };
    }

    pub fn update_do_not_disturb(&self, user_id: UserId, until: Option<Millis>) {
        let mut all = self.do_not_disturb.write();
        match until {
            Some(until) => all.insert(user_id, until),
            None => all.remove(&user_id),
        };
    }

    /// The orgs in quiet hours at `now`, with when each one's quiet ends.
    fn quiet_now(&self, now: Millis) -> HashMap<OrgId, Millis> {
        self.orgs
            .read()
            .iter()
            .filter_map(|(&id, quiet)| Some((id, quiet.window.release_at(&quiet.zone, now)?)))
            .collect()
    }

    /// The school's policy on whom its students reach.
    pub fn student_contacts(&self, org_id: OrgId) -> StudentContacts {
        let all = self.student_contacts.read();
        all.get(&org_id).copied().unwrap_or_default()
    }

    fn service_user(&self, org_id: OrgId) -> Option<UserId> {
        self.orgs.read().get(&org_id).map(|q| q.service_user_id)
    }

    fn do_not_disturb_until(&self, user_id: UserId, now: Millis) -> Option<Millis> {
        let all = self.do_not_disturb.read();
        all.get(&user_id).copied().filter(|&until| until > now)
    }

    fn anyone_undisturbable(&self, now: Millis) -> bool {
        self.do_not_disturb
            .read()
            .values()
            .any(|&until| until > now)
    }
}

fn org_quiet(org: &Org) -> Option<(OrgId, OrgQuiet)> {
    let hours = org.policy.quiet_hours.as_ref()?;
    let quiet = OrgQuiet {
        zone: TimeZone::get(&org.time_zone).ok()?,
        window: QuietWindow::parse(hours).ok()?,
        service_user_id: org.service_user_id,
    };
    Some((org.id, quiet))
}

/// Why and until when a message waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    pub release_at: Millis,
    pub reason: HoldReason,
}

impl Hold {
    /// Of two holds, the one that ends later: the message waits for both.
    fn longer(self, other: Option<Hold>) -> Hold {
        match other {
            Some(other) if other.release_at > self.release_at => other,
            _ => self,
        }
    }
}

/// The org whose admin sends an urgent message to this chat, past quiet hours and
/// do-not-disturb; refused for anyone else.
pub async fn urgent_org(state: &AppState, actor: Actor, chat_id: ChatId) -> ApiResult<OrgId> {
    let chat = state.store.chat(actor, chat_id).await?;
    let peer = direct_peer(&chat);
    let org_id = state
        .store
        .org_of_chat(chat_id)
        .await?
        .map(|(org_id, _)| org_id);
    urgent_rights(state, actor.user_id, org_id, peer)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Forbidden,
                "only an admin of the chat's organisation sends urgent messages",
            )
        })
}

fn direct_peer(chat: &Chat) -> Option<UserId> {
    chat.peer
        .as_ref()
        .filter(|_| chat.kind == ChatKind::Direct)
        .map(|peer| peer.id)
}

/// Whether a message the actor sends to the chat now must wait, and until when.
pub async fn hold_for(state: &AppState, actor: Actor, chat_id: ChatId) -> ApiResult<Option<Hold>> {
    let now = state.now();
    let quiet_orgs = state.quiet.quiet_now(now);
    if quiet_orgs.is_empty() {
        // Someone on the instance is in do-not-disturb; it matters only if they are in this
        // chat, which the gateway's member cache usually knows without asking the store.
        let disturbs = |user_id| {
            user_id != actor.user_id && state.quiet.do_not_disturb_until(user_id, now).is_some()
        };
        if !state.quiet.anyone_undisturbable(now)
            || state.hub.any_cached_member(chat_id, disturbs) == Some(false)
        {
            return Ok(None);
        }
    }
    let chat = state.store.chat(actor, chat_id).await?;
    let peer = direct_peer(&chat);
    let org_chat = state.store.org_of_chat(chat_id).await?;

    let mut hold = peer
        .and_then(|peer| state.quiet.do_not_disturb_until(peer, now))
        .map(|release_at| Hold {
            release_at,
            reason: HoldReason::DoNotDisturb,
        });
    if quiet_orgs.is_empty() {
        return Ok(hold);
    }
    let quiet_hold = |release_at| Hold {
        release_at,
        reason: HoldReason::QuietHours,
    };
    if let Some((org_id, org_chat)) = org_chat {
        if let Some(&release_at) = quiet_orgs.get(&org_id)
            && org_chat.purpose != ChatPurpose::StaffRoom
            && is_staff(state, org_id, actor.user_id).await?
        {
            hold = Some(quiet_hold(release_at).longer(hold));
        }
    } else if let Some(peer) = peer {
        let places = state
            .store
            .places_of_users(vec![actor.user_id, peer])
            .await?;
        for (&org_id, &release_at) in &quiet_orgs {
            let holds = |user_id: UserId, role: fn(RosterRole) -> bool| {
                places.iter().any(|place| {
                    place.org_id == org_id && place.user_id == user_id && role(place.role)
                })
            };
            let staff_to_family =
                holds(actor.user_id, RosterRole::is_staff) && holds(peer, is_family);
            let family_to_staff =
                holds(actor.user_id, is_family) && holds(peer, RosterRole::is_staff);
            if staff_to_family || family_to_staff {
                hold = Some(quiet_hold(release_at).longer(hold));
            }
        }
    }
    // A message the sender may not post now is refused now, not held and dropped later.
    if hold.is_some() {
        permissions::post(chat.kind, chat.role, chat.posting)?;
    }
    Ok(hold)
}

fn is_family(role: RosterRole) -> bool {
    matches!(role, RosterRole::Guardian | RosterRole::Student)
}

/// Staff of the org: its service account, its admins, and teachers on its roster.
async fn is_staff(state: &AppState, org_id: OrgId, user_id: UserId) -> ApiResult<bool> {
    if state.quiet.service_user(org_id) == Some(user_id)
        || state
            .store
            .org_roles(org_id, user_id)
            .await?
            .contains(&OrgRole::Admin)
    {
        return Ok(true);
    }
    let places = state.store.places_of_users(vec![user_id]).await?;
    Ok(places
        .iter()
        .any(|place| place.org_id == org_id && place.role.is_staff()))
}

/// Urgent messages are for an org's admins, to its own people: in a chat the org keeps, or
/// directly to someone on its roster. An admin of one school cannot override the quiet of
/// another school's families, or of anyone else. The org whose admin the user is, if any.
async fn urgent_rights(
    state: &AppState,
    user_id: UserId,
    org_id: Option<OrgId>,
    peer: Option<UserId>,
) -> ApiResult<Option<OrgId>> {
    let orgs: Vec<OrgId> = match (org_id, peer) {
        (Some(org_id), _) => vec![org_id],
        (None, Some(peer)) => state
            .store
            .places_of_users(vec![peer])
            .await?
            .into_iter()
            .map(|place| place.org_id)
            .collect(),
        (None, None) => Vec::new(),
    };
    for org_id in orgs {
        if state
            .store
            .org_roles(org_id, user_id)
            .await?
            .contains(&OrgRole::Admin)
        {
            return Ok(Some(org_id));
        }
    }
    Ok(None)
}

/// Keeps this node's [`QuietIndex`] fresh.
pub async fn refresh_index(state: AppState) {
    let mut every = tokio::time::interval(REFRESH);
    loop {
        every.tick().await;
        if let Err(error) = state.quiet.refresh(state.store.as_ref(), state.now()).await {
            tracing::error!(%error, "reading quiet hours failed");
        }
    }
}

/// Delivers held messages as they come due, through the same path as any send. Every node
/// runs this; a message two nodes release at once is stored once (its `client_msg_id`).
pub async fn release_held(state: AppState) {
    let mut every = tokio::time::interval(RELEASE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let due = match state.store.due_held(state.now(), RELEASE_BATCH).await {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "reading held messages failed");
                continue;
            }
        };
        for held in due {
            let actor = Actor {
                user_id: held.sender_id,
                session_id: 0,
            };
            let message = NewMessage {
                client_msg_id: held.client_msg_id,
                text: held.text,
                reply_to: held.reply_to,
                poll: held.poll,
                thread_of: held.thread_of,
                keyboard: held.keyboard,
                markup: held.markup,
                attachments: held.attachments.iter().map(|file| file.id).collect(),
                mls: None,
            };
            let stored = crate::routes::messages::store_message(
                &state,
                actor,
                held.chat_id,
                message,
                held.request_ack,
            )
            .await;
            // Forgotten before it goes out, so whoever receives it no longer finds it held.
            let events = match stored {
                Ok(outcome) => outcome.events,
                // The sender left the chat, or it is gone: the message cannot go out.
                Err(error) if error.code != ErrorCode::Internal => {
                    tracing::info!(held = held.id, chat = held.chat_id, code = ?error.code, "a held message could not be delivered");
                    Vec::new()
                }
                Err(error) => {
                    tracing::error!(held = held.id, error = %error.message, "releasing a held message failed");
                    continue;
                }
            };
            if let Err(error) = state.store.forget_held(held.id).await {
                tracing::error!(held = held.id, %error, "forgetting a released message failed");
            }
            state.publish(events).await;
        }
    }
}
