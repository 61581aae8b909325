//! Organisations as stored: the org, its roles for users, and its roster.
//!
//! The roster is stored as the importer read it ([`kolokol_domain::roster::Roster`]), matched on
//! each person's key so a re-import keeps ids; what leaves the roster is archived, not deleted,
//! so a person's link to their account and a class's chats survive a mistaken import.

use std::collections::HashMap;

use kolokol_domain::roster::{Place, Roster, RosterPerson, RosterRole};
use kolokol_proto::{ChatId, HoldReason, Keyboard, Markup, Millis, OrgPolicy, Poll, Seq, UserId};

use crate::NewUser;

pub type OrgId = i64;

#[derive(Debug, Clone)]
pub struct NewOrg {
    pub name: String,
    /// An IANA time zone name, for quiet hours.
    pub time_zone: String,
    /// The account that owns the org's chats, so no person's account does.
    pub service_user: NewUser,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub time_zone: String,
    pub service_user_id: UserId,
    pub created_at: Millis,
    pub policy: OrgPolicy,
}

/// A role a user holds across a whole org, given by its admins rather than by the roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OrgRole {
    Admin,
    SafeguardingLead,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Admin => "admin",
            OrgRole::SafeguardingLead => "safeguarding_lead",
        }
    }

    pub fn parse(text: &str) -> Option<OrgRole> {
        match text {
            "admin" => Some(OrgRole::Admin),
            "safeguarding_lead" => Some(OrgRole::SafeguardingLead),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUnit {
    pub id: i64,
    pub name: String,
    pub archived: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgPerson {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub student: bool,
    /// The account that claimed this place in the roster, once claimed.
    pub user_id: Option<UserId>,
    pub archived: bool,
}

/// A role in a class, by ids.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrgPlace {
    pub person_id: i64,
    pub unit_id: i64,
    pub role: RosterRole,
    pub detail: String,
}

/// What a chat the org keeps for itself is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChatPurpose {
    /// A class's guardians and its class teacher.
    Parents,
    /// A class's students and its teachers.
    Class,
    /// The org's announcement channel: everyone reads, staff post.
    Announcements,
    /// All staff.
    StaffRoom,
}

impl ChatPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            ChatPurpose::Parents => "parents",
            ChatPurpose::Class => "class",
            ChatPurpose::Announcements => "announcements",
            ChatPurpose::StaffRoom => "staff_room",
        }
    }

    pub fn parse(text: &str) -> Option<ChatPurpose> {
        Some(match text {
            "parents" => ChatPurpose::Parents,
            "class" => ChatPurpose::Class,
            "announcements" => ChatPurpose::Announcements,
            "staff_room" => ChatPurpose::StaffRoom,
            _ => return None,
        })
    }
}

/// A chat the org keeps: per class (`unit_id`) or for the whole org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgChat {
    pub unit_id: Option<i64>,
    pub purpose: ChatPurpose,
    pub chat_id: ChatId,
}

/// A current roster place that an account has claimed: what safeguarding rules look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPlace {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub unit_id: i64,
    pub role: RosterRole,
    /// As in [`OrgPlace::detail`]: a guardian's child's key, a teacher's subjects.
    pub detail: String,
    /// The key of the person the account claimed.
    pub person_key: String,
    /// The class's name, e.g. "5Б".
    pub unit_name: String,
}

/// A message to hold back until `release_at`.
#[derive(Debug, Clone)]
pub struct NewHeldMessage {
    pub chat_id: ChatId,
    pub sender_id: UserId,
    pub client_msg_id: String,
    pub text: String,
    pub reply_to: Option<Seq>,
    pub request_ack: bool,
    pub poll: Option<Poll>,
    pub thread_of: Option<Seq>,
    pub keyboard: Keyboard,
    pub markup: Vec<Markup>,
    /// Files, by id, checked as for a send.
    pub attachments: Vec<i64>,
    pub reason: HoldReason,
    pub release_at: Millis,
}

/// A class's new name, and whether it leaves the current roster for the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRename {
    pub unit_id: i64,
    pub name: String,
    pub archive: bool,
}

/// A message a member reports to the org that keeps the chat.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub org_id: OrgId,
    pub chat_id: ChatId,
    pub seq: Seq,
    pub reporter_id: UserId,
    pub author_id: UserId,
    pub text: String,
    pub reason: String,
}

/// A claim code to store: only its hash.
#[derive(Debug, Clone)]
pub struct NewClaimCode {
    pub person_id: i64,
    pub code_hash: [u8; 32],
    pub expires_at: Millis,
}

/// The person an account became by a claim code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub org_id: OrgId,
    pub person_id: i64,
    pub name: String,
}

/// Everything the org's roster holds, archived entries included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredRoster {
    pub units: Vec<OrgUnit>,
    pub people: Vec<OrgPerson>,
    pub places: Vec<OrgPlace>,
    pub chats: Vec<OrgChat>,
}

/// Lookups into a [`StoredRoster`]: a school's roster has thousands of people and places, so
/// nothing that walks it may search it once per entry.
pub struct RosterIndex<'a> {
    pub units: HashMap<i64, &'a OrgUnit>,
    pub people: HashMap<i64, &'a OrgPerson>,
    pub people_by_key: HashMap<&'a str, &'a OrgPerson>,
    pub places_by_person: HashMap<i64, Vec<&'a OrgPlace>>,
    pub places_by_unit: HashMap<i64, Vec<&'a OrgPlace>>,
}

impl<'a> RosterIndex<'a> {
    pub fn places_of_person(&self, person_id: i64) -> &[&'a OrgPlace] {
        self.places_by_person
            .get(&person_id)
            .map_or(&[], Vec::as_slice)
    }

    pub fn places_in_unit(&self, unit_id: i64) -> &[&'a OrgPlace] {
        self.places_by_unit.get(&unit_id).map_or(&[], Vec::as_slice)
    }
}

impl StoredRoster {
    pub fn index(&self) -> RosterIndex<'_> {
        let mut index = RosterIndex {
            units: self.units.iter().map(|unit| (unit.id, unit)).collect(),
            people: self
                .people
                .iter()
                .map(|person| (person.id, person))
                .collect(),
            people_by_key: self
                .people
                .iter()
                .map(|person| (person.key.as_str(), person))
                .collect(),
            places_by_person: HashMap::new(),
            places_by_unit: HashMap::new(),
        };
        for place in &self.places {
            index
                .places_by_person
                .entry(place.person_id)
                .or_default()
                .push(place);
            index
                .places_by_unit
                .entry(place.unit_id)
                .or_default()
                .push(place);
        }
        index
    }

    /// The roster as an importer would have read it: current entries only.
    pub fn current(&self) -> Roster {
        let index = self.index();
        let unit_name = |id: i64| {
            index
                .units
                .get(&id)
                .map(|unit| unit.name.clone())
                .unwrap_or_default()
        };
        let mut roster = Roster {
            units: self
                .units
                .iter()
                .filter(|unit| !unit.archived)
                .map(|unit| unit.name.clone())
                .collect(),
            people: Default::default(),
        };
        for person in self.people.iter().filter(|person| !person.archived) {
            let places = index
                .places_of_person(person.id)
                .iter()
                .map(|place| Place {
                    unit: unit_name(place.unit_id),
                    role: place.role,
                    detail: place.detail.clone(),
                })
                .collect();
            roster.people.insert(
                person.key.clone(),
                RosterPerson {
                    key: person.key.clone(),
                    name: person.name.clone(),
                    student: person.student,
                    places,
                },
            );
        }
        roster
    }
}

/// The row changes that make `roster` an org's current roster, decided once for every backend.
/// Places are not part of it: a backend replaces all of the org's places with the new ones.
#[derive(Debug, Default)]
pub struct RosterWrites<'a> {
    pub insert_units: Vec<&'a str>,
    pub restore_units: Vec<i64>,
    pub archive_units: Vec<i64>,
    pub insert_people: Vec<&'a RosterPerson>,
    /// Existing people whose name or kind changed, or who come back from the archive.
    pub update_people: Vec<(i64, &'a RosterPerson)>,
    pub archive_people: Vec<i64>,
}

impl<'a> RosterWrites<'a> {
    pub fn plan(stored: &StoredRoster, roster: &'a Roster) -> RosterWrites<'a> {
        let index = stored.index();
        let mut writes = RosterWrites::default();
        for name in &roster.units {
            match stored.units.iter().find(|unit| &unit.name == name) {
                Some(unit) if unit.archived => writes.restore_units.push(unit.id),
                Some(_) => {}
                None => writes.insert_units.push(name),
            }
        }
        writes.archive_units = stored
            .units
            .iter()
            .filter(|unit| !unit.archived && !roster.units.contains(&unit.name))
            .map(|unit| unit.id)
            .collect();
        for person in roster.people.values() {
            match index.people_by_key.get(person.key.as_str()) {
                Some(stored)
                    if stored.archived
                        || stored.name != person.name
                        || stored.student != person.student =>
                {
                    writes.update_people.push((stored.id, person));
                }
                Some(_) => {}
                None => writes.insert_people.push(person),
            }
        }
        writes.archive_people = stored
            .people
            .iter()
            .filter(|person| !person.archived && !roster.people.contains_key(&person.key))
            .map(|person| person.id)
            .collect();
        writes
    }
}

/// The places of `roster` by ids, once every unit and person has one.
pub fn places_by_id(
    roster: &Roster,
    unit_ids: &HashMap<String, i64>,
    person_ids: &HashMap<String, i64>,
) -> Vec<OrgPlace> {
    roster
        .people
        .values()
        .flat_map(|person| {
            person.places.iter().map(|place| OrgPlace {
                person_id: person_ids[&person.key],
                unit_id: unit_ids[&place.unit],
                role: place.role,
                detail: place.detail.clone(),
            })
        })
        .collect()
}
