//! Organisations: keeping each org's chats in step with its roster, and claim codes.
//!
//! The roster is the truth; chats follow it. After every import and every claim, [`provision`]
//! creates the chats the roster calls for (per class: a parents' chat and a class chat; per org:
//! an announcement channel and a staff room), owned by the org's service account, and adds,
//! promotes and removes accounts until each chat holds exactly the claimed people the roster
//! puts there. It only ever moves towards the roster, so running it twice changes nothing, and
//! an interrupted run is finished by the next.

use std::collections::{BTreeMap, BTreeSet};

use kolokol_domain::roster::RosterRole;
use kolokol_proto::{ChatId, ChatKind, Role, UserId};
use kolokol_store::{Actor, ChatPurpose, NewChat, Org, OrgChat, OrgId, StoredRoster};
use rand::Rng;

use crate::error::ApiResult;
use crate::state::AppState;

/// Most accounts one store call adds (the store's batch limit for a request).
const ADD_BATCH: usize = 1000;

/// What provisioning changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Provisioned {
    pub chats_created: u32,
    pub members_added: u32,
    pub members_removed: u32,
}

/// Which chats one provisioning run looks at.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Every chat of the org: after an import.
    All,
    /// The org-wide chats and those of these units: after one person's claim.
    Units(BTreeSet<i64>),
}

/// Every chat the roster calls for, by (unit, purpose), with who belongs in it and as what.
type Plan = BTreeMap<(Option<i64>, ChatPurpose), BTreeMap<UserId, Role>>;

/// The chats and members the roster calls for. Archived classes and people get nothing new;
/// an archived class's chats are left as they are.
fn plan(roster: &StoredRoster) -> Plan {
    let mut plan = Plan::new();
    for unit in roster.units.iter().filter(|unit| !unit.archived) {
        plan.entry((Some(unit.id), ChatPurpose::Parents))
            .or_default();
        plan.entry((Some(unit.id), ChatPurpose::Class)).or_default();
    }
    plan.entry((None, ChatPurpose::Announcements)).or_default();
    plan.entry((None, ChatPurpose::StaffRoom)).or_default();

    let index = roster.index();
    let user_of = |person_id: i64| {
        index
            .people
            .get(&person_id)
            .filter(|person| !person.archived)
            .and_then(|person| person.user_id)
    };
    for place in &roster.places {
        let Some(user_id) = user_of(place.person_id) else {
            continue;
        };
        let unit = Some(place.unit_id);
        if !plan.contains_key(&(unit, ChatPurpose::Parents)) {
            continue; // an archived class
        }
        let seats: &[(Option<i64>, ChatPurpose, Role)] = match place.role {
            RosterRole::Student => &[
                (unit, ChatPurpose::Class, Role::Member),
                (None, ChatPurpose::Announcements, Role::Member),
            ],
            RosterRole::Guardian => &[
                (unit, ChatPurpose::Parents, Role::Member),
                (None, ChatPurpose::Announcements, Role::Member),
            ],
            RosterRole::ClassTeacher => &[
                (unit, ChatPurpose::Parents, Role::Admin),
                (unit, ChatPurpose::Class, Role::Admin),
                (None, ChatPurpose::Announcements, Role::Admin),
                (None, ChatPurpose::StaffRoom, Role::Member),
            ],
            RosterRole::Teacher => &[
                (unit, ChatPurpose::Class, Role::Member),
                (None, ChatPurpose::Announcements, Role::Admin),
                (None, ChatPurpose::StaffRoom, Role::Member),
            ],
        };
        for &(unit, purpose, role) in seats {
            let seat = plan
                .entry((unit, purpose))
                .or_default()
                .entry(user_id)
                .or_insert(role);
            // A teacher who is also a parent in the same class is seated as the higher role.
            if role == Role::Admin {
                *seat = Role::Admin;
            }
        }
    }
    plan
}

pub fn chat_title(
    org: &Org,
    roster: &StoredRoster,
    unit: Option<i64>,
    purpose: ChatPurpose,
) -> String {
    let unit_name = || {
        roster
            .units
            .iter()
            .find(|candidate| Some(candidate.id) == unit)
            .map_or("", |unit| unit.name.as_str())
    };
    match purpose {
        ChatPurpose::Parents => format!("{} · родители", unit_name()),
        ChatPurpose::Class => format!("{} · класс", unit_name()),
        ChatPurpose::Announcements => format!("{} · объявления", org.name),
        ChatPurpose::StaffRoom => format!("{} · учительская", org.name),
    }
}

/// Brings the org's chats in `scope` in step with its roster.
pub async fn provision(state: &AppState, org: &Org, scope: &Scope) -> ApiResult<Provisioned> {
    // One run at a time on this node: two runs could both create a class's missing chat.
    let _turn = state.provisioning.lock().await;
    let roster = state.store.roster(org.id).await?;
    let service = Actor {
        user_id: org.service_user_id,
        session_id: 0,
    };
    let mut done = Provisioned::default();
    for ((unit, purpose), seats) in plan(&roster) {
        if let (Scope::Units(units), Some(unit)) = (scope, unit)
            && !units.contains(&unit)
        {
            continue;
        }
        let existing = roster
            .chats
            .iter()
            .find(|chat| chat.unit_id == unit && chat.purpose == purpose)
            .map(|chat| chat.chat_id);
        let chat_id = match existing {
            Some(chat_id) => chat_id,
            None => {
                let chat_id = create_chat(state, org, &roster, service, unit, purpose).await?;
                done.chats_created += 1;
                chat_id
            }
        };
        seat_members(state, service, chat_id, &seats, &mut done).await?;
    }
    Ok(done)
}

async fn create_chat(
    state: &AppState,
    org: &Org,
    roster: &StoredRoster,
    service: Actor,
    unit: Option<i64>,
    purpose: ChatPurpose,
) -> ApiResult<ChatId> {
    let kind = match purpose {
        ChatPurpose::Announcements => ChatKind::Channel,
        _ => ChatKind::Group,
    };
    let chat = NewChat {
        kind,
        title: Some(chat_title(org, roster, unit, purpose)),
        member_ids: Vec::new(),
        privacy: match org
            .policy
            .encrypted_chats
            .iter()
            .any(|name| name == purpose.as_str())
        {
            true => kolokol_proto::ChatPrivacy::Encrypted,
            false => kolokol_proto::ChatPrivacy::Community,
        },
    };
    let outcome = state.store.create_chat(service, chat, state.now()).await?;
    state.publish(outcome.events).await;
    let (chat_id, _) = outcome.value;
    let record = OrgChat {
        unit_id: unit,
        purpose,
        chat_id,
    };
    state.store.add_org_chat(org.id, record).await?;
    Ok(chat_id)
}

/// Adds, promotes, demotes and removes until the chat's people are exactly `seats`.
async fn seat_members(
    state: &AppState,
    service: Actor,
    chat_id: ChatId,
    seats: &BTreeMap<UserId, Role>,
    done: &mut Provisioned,
) -> ApiResult<()> {
    let current: BTreeMap<UserId, Role> = state
        .store
        .members(service, chat_id)
        .await?
        .into_iter()
        // The roster seats people; bots its chats' admins added (the org approved them) stay
        // as they are.
        .filter(|member| member.user.id != service.user_id && !member.user.is_bot)
        .map(|member| (member.user.id, member.role))
        .collect();
    let missing: Vec<UserId> = seats
        .keys()
        .filter(|user_id| !current.contains_key(user_id))
        .copied()
        .collect();
    for batch in missing.chunks(ADD_BATCH) {
        let outcome = state
            .store
            .add_members(service, chat_id, batch.to_vec(), state.now())
            .await?;
        state.publish(outcome.events).await;
        done.members_added += batch.len() as u32;
    }
    for (&user_id, &role) in seats {
        if current.get(&user_id).copied().unwrap_or(Role::Member) != role {
            let outcome = state
                .store
                .set_role(service, chat_id, user_id, role, state.now())
                .await?;
            state.publish(outcome.events).await;
        }
    }
    for &user_id in current
        .keys()
        .filter(|user_id| !seats.contains_key(user_id))
    {
        let outcome = state
            .store
            .remove_member(service, chat_id, user_id, state.now())
            .await?;
        state.publish(outcome.events).await;
        done.members_removed += 1;
    }
    Ok(())
}

/// Letters and digits that cannot be mistaken for one another when printed or read aloud.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// 12 characters of 32: 60 bits.
const CODE_LENGTH: usize = 12;

/// A new claim code, in groups of four: `K7QX-M2PD-9RTA`.
pub fn new_claim_code() -> String {
    let mut rng = rand::rng();
    let mut code = String::with_capacity(CODE_LENGTH + 2);
    for i in 0..CODE_LENGTH {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char);
    }
    code
}

/// A typed code as it is hashed: upper case, without the dashes and spaces people add.
pub fn normalise_claim_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Records an admin or moderation action in the org's audit log (ids, never message text).
pub async fn audit(
    state: &AppState,
    org_id: OrgId,
    actor: UserId,
    action: &str,
    detail: String,
) -> ApiResult<()> {
    Ok(state
        .store
        .audit(org_id, actor, action, detail, state.now())
        .await?)
}

/// Records a moderation action taken in a chat, when an org keeps that chat.
pub async fn audit_in_chat(
    state: &AppState,
    chat_id: ChatId,
    actor: UserId,
    action: &str,
    detail: String,
) -> ApiResult<()> {
    match state.store.org_of_chat(chat_id).await? {
        Some((org_id, _)) => {
            let detail = match detail.is_empty() {
                true => format!("chat {chat_id}"),
                false => format!("chat {chat_id}: {detail}"),
            };
            audit(state, org_id, actor, action, detail).await
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use kolokol_store::orgs::{OrgPerson, OrgPlace, OrgUnit};

    use super::*;

    #[test]
    fn claim_codes_are_readable_and_normalise_as_typed() {
        let code = new_claim_code();
        assert_eq!(code.len(), 14);
        assert_eq!(code.matches('-').count(), 2);
        assert!(
            code.bytes()
                .all(|b| b == b'-' || CODE_ALPHABET.contains(&b))
        );
        let typed = format!(" {} ", code.to_lowercase().replace('-', " "));
        assert_eq!(normalise_claim_code(&typed), code.replace('-', ""));
        assert_ne!(new_claim_code(), new_claim_code());
    }

    fn person(id: i64, user_id: Option<UserId>, archived: bool) -> OrgPerson {
        OrgPerson {
            id,
            key: format!("name:{id}"),
            name: format!("person {id}"),
            student: false,
            user_id,
            archived,
        }
    }

    fn place(person_id: i64, unit_id: i64, role: RosterRole) -> OrgPlace {
        OrgPlace {
            person_id,
            unit_id,
            role,
            detail: String::new(),
        }
    }

    #[test]
    fn the_plan_seats_claimed_people_by_role() {
        let roster = StoredRoster {
            units: vec![
                OrgUnit {
                    id: 1,
                    name: "5Б".into(),
                    archived: false,
                },
                OrgUnit {
                    id: 2,
                    name: "11А".into(),
                    archived: true,
                },
            ],
            people: vec![
                person(10, Some(100), false), // class teacher of 5Б, guardian in 5Б
                person(11, Some(101), false), // student
                person(12, None, false),      // guardian who has not claimed
                person(13, Some(103), true),  // left the roster
                person(14, Some(104), false), // teacher of the archived class only
            ],
            places: vec![
                place(10, 1, RosterRole::ClassTeacher),
                place(10, 1, RosterRole::Guardian),
                place(11, 1, RosterRole::Student),
                place(12, 1, RosterRole::Guardian),
                place(13, 1, RosterRole::Guardian),
                place(14, 2, RosterRole::Teacher),
            ],
            chats: Vec::new(),
        };
        let plan = plan(&roster);
        let seats = |unit, purpose| -> Vec<(UserId, Role)> {
            plan[&(unit, purpose)]
                .iter()
                .map(|(&u, &r)| (u, r))
                .collect()
        };
        assert_eq!(
            plan.len(),
            4,
            "two chats for 5Б, none for the archived class, two org-wide"
        );
        assert_eq!(seats(Some(1), ChatPurpose::Parents), [(100, Role::Admin)]);
        assert_eq!(
            seats(Some(1), ChatPurpose::Class),
            [(100, Role::Admin), (101, Role::Member)]
        );
        assert_eq!(
            seats(None, ChatPurpose::Announcements),
            [(100, Role::Admin), (101, Role::Member)]
        );
        assert_eq!(seats(None, ChatPurpose::StaffRoom), [(100, Role::Member)]);
    }
}
