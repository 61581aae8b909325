//! Safeguarding: who may reach a student, and whom a student may reach.
//!
//! The rules come from the roster places accounts have claimed and the school's policy
//! (`StudentContacts`, by default `Staff`):
//! - a student can be reached (found, messaged directly, added to a chat) only by the staff of
//!   their school, their own guardians and, as the policy says, no other student (`Staff`, the
//!   default: students talk with each other in their class chat), their classmates (`Class`)
//!   or any student of the school (`School`);
//! - a student may reach only their own guardians, the teachers of their class (any staff of the
//!   school under `School`) and the students the policy allows as above.
//!
//! Accounts with no student place are not restricted by these rules. Chats the org provisions
//! are made by its service account and follow the roster, so they are not checked here.

use kolokol_domain::Rejection;
use kolokol_domain::roster::RosterRole;
use std::collections::HashMap;

use kolokol_proto::{Chat, ChatKind, ErrorCode, SafeguardingNotice, StudentContacts, UserId};
use kolokol_store::orgs::UserPlace;
use kolokol_store::{OrgId, OrgRole};

use crate::error::ApiResult;
use crate::state::AppState;

/// Whether `actor` (by their places) may reach `target`, each school's students as its policy
/// (`contacts`) says.
pub fn may_reach(
    actor: &[UserPlace],
    target: &[UserPlace],
    contacts: impl Fn(OrgId) -> StudentContacts,
) -> bool {
    // Another student of the school, by the school's policy.
    let fellow_student = |place: &UserPlace, student: &UserPlace| {
        place.role == RosterRole::Student
            && match contacts(student.org_id) {
                StudentContacts::Class => place.unit_id == student.unit_id,
                StudentContacts::Staff => false,
                StudentContacts::School => true,
            }
    };
    let own_guardian = |place: &UserPlace, student: &UserPlace| {
        place.role == RosterRole::Guardian && place.detail == student.person_key
    };
    let target_students = students(target);
    let reaches_student = |student: &&UserPlace| {
        actor.iter().any(|place| {
            place.org_id == student.org_id
                && (place.role.is_staff()
                    || fellow_student(place, student)
                    || own_guardian(place, student))
        })
    };
    if !target_students.is_empty() && !target_students.iter().any(reaches_student) {
        return false;
    }
    let actor_students = students(actor);
    let student_reaches = |student: &&UserPlace| {
        target.iter().any(|place| {
            let their_teacher = place.role.is_staff()
                && (place.unit_id == student.unit_id
                    || contacts(student.org_id) == StudentContacts::School);
            place.org_id == student.org_id
                && (their_teacher || fellow_student(place, student) || own_guardian(place, student))
        })
    };
    actor_students.is_empty() || actor_students.iter().any(student_reaches)
}

fn students(places: &[UserPlace]) -> Vec<&UserPlace> {
    places
        .iter()
        .filter(|place| place.role == RosterRole::Student)
        .collect()
}

fn refused() -> Rejection {
    Rejection::new(
        ErrorCode::Safeguarding,
        "safeguarding: students are reached only by their school's staff and their own guardians \
         (and other students as far as the school allows), and reach only those",
    )
}

/// Refuses unless `actor` may reach every one of `targets`.
pub async fn check_reach(state: &AppState, actor: UserId, targets: &[UserId]) -> ApiResult<()> {
    let mut ids = targets.to_vec();
    ids.push(actor);
    let places = state.store.places_of_users(ids).await?;
    let of = |user_id: UserId| -> Vec<UserPlace> {
        places
            .iter()
            .filter(|place| place.user_id == user_id)
            .cloned()
            .collect()
    };
    let actor_places = of(actor);
    let contacts = |org_id| state.quiet.student_contacts(org_id);
    for &target in targets.iter().filter(|&&target| target != actor) {
        if !may_reach(&actor_places, &of(target), contacts) {
            return Err(refused().into());
        }
    }
    Ok(())
}

/// Whether `actor` may see that `target` exists: a student is hidden from whoever may not
/// reach them, as if there were no such user.
pub async fn may_find(state: &AppState, actor: UserId, target: UserId) -> ApiResult<bool> {
    if actor == target {
        return Ok(true);
    }
    let places = state.store.places_of_users(vec![actor, target]).await?;
    let (actor_places, target_places): (Vec<UserPlace>, Vec<UserPlace>) =
        places.into_iter().partition(|place| place.user_id == actor);
    let target_is_student = target_places
        .iter()
        .any(|place| place.role == RosterRole::Student);
    let contacts = |org_id| state.quiet.student_contacts(org_id);
    if !target_is_student || may_reach(&actor_places, &target_places, contacts) {
        return Ok(true);
    }
    // The school's admins import its roster and so know its students already: they find them
    // (to read reports and the audit log by name), though they reach them only as staff do.
    for org_id in students(&target_places).iter().map(|place| place.org_id) {
        let roles = state.store.org_roles(org_id, actor).await?;
        if roles.contains(&OrgRole::Admin) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The school in which one of these accounts is staff and the other a student, if any: its
/// safeguarding lead may read a direct chat between them.
pub fn reviewing_org(one: &[UserPlace], other: &[UserPlace]) -> Option<OrgId> {
    let staff_and_student = |staff: &[UserPlace], student: &[UserPlace]| {
        staff.iter().find_map(|place| {
            let is_student = |theirs: &UserPlace| {
                theirs.org_id == place.org_id && theirs.role == RosterRole::Student
            };
            (place.role.is_staff() && student.iter().any(is_student)).then_some(place.org_id)
        })
    };
    staff_and_student(one, other).or_else(|| staff_and_student(other, one))
}

/// Tells the members of each direct chat between a school's staff member and one of its
/// students that the school's safeguarding lead may read it.
pub async fn mark_reviewable(state: &AppState, actor: UserId, chats: &mut [Chat]) -> ApiResult<()> {
    let peer_of = |chat: &Chat| {
        let direct = chat.kind == ChatKind::Direct;
        chat.peer.as_ref().filter(|_| direct).map(|peer| peer.id)
    };
    let mut ids: Vec<UserId> = chats.iter().filter_map(peer_of).collect();
    if ids.is_empty() {
        return Ok(());
    }
    ids.push(actor);
    let places = state.store.places_of_users(ids).await?;
    let of = |user_id: UserId| -> Vec<UserPlace> {
        let theirs = places.iter().filter(|place| place.user_id == user_id);
        theirs.cloned().collect()
    };
    let mine = of(actor);
    if mine.is_empty() {
        return Ok(());
    }
    let mut names: HashMap<OrgId, String> = HashMap::new();
    for chat in chats.iter_mut() {
        let Some(peer) = peer_of(chat) else { continue };
        let Some(org_id) = reviewing_org(&mine, &of(peer)) else {
            continue;
        };
        let org = match names.get(&org_id) {
            Some(name) => name.clone(),
            None => {
                let name = state.store.org(org_id).await?.map(|org| org.name);
                let name = name.unwrap_or_default();
                names.insert(org_id, name.clone());
                name
            }
        };
        chat.safeguarding = Some(SafeguardingNotice { org_id, org });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: i64 = 1;
    const CLASS_5B: i64 = 10;
    const CLASS_7A: i64 = 11;

    fn place(
        user_id: UserId,
        unit_id: i64,
        role: RosterRole,
        detail: &str,
        key: &str,
    ) -> UserPlace {
        UserPlace {
            user_id,
            org_id: ORG,
            unit_id,
            role,
            detail: detail.into(),
            person_key: key.into(),
            unit_name: format!("unit {unit_id}"),
        }
    }

    fn class(_: OrgId) -> StudentContacts {
        StudentContacts::Class
    }

    #[test]
    fn who_reaches_a_student_and_whom_a_student_reaches() {
        let artem = [place(1, CLASS_5B, RosterRole::Student, "", "name:artem")];
        let classmate = [place(2, CLASS_5B, RosterRole::Student, "", "name:alena")];
        let other_class = [place(3, CLASS_7A, RosterRole::Student, "", "name:maxim")];
        let his_mother = [place(
            4,
            CLASS_5B,
            RosterRole::Guardian,
            "name:artem",
            "name:ivanova",
        )];
        let other_parent = [place(
            5,
            CLASS_5B,
            RosterRole::Guardian,
            "name:alena",
            "name:petrova",
        )];
        let his_teacher = [place(
            6,
            CLASS_5B,
            RosterRole::Teacher,
            "математика",
            "name:kuznetsov",
        )];
        let other_teacher = [place(
            7,
            CLASS_7A,
            RosterRole::ClassTeacher,
            "",
            "name:volkov",
        )];
        let stranger: [UserPlace; 0] = [];
        let mut other_org_teacher = place(8, CLASS_5B, RosterRole::Teacher, "", "name:x");
        other_org_teacher.org_id = 2;

        // Reaching Артём.
        for (who, allowed) in [
            (&classmate[..], true),
            (&his_mother[..], true),
            (&his_teacher[..], true),
            (&other_teacher[..], true), // any staff of his school
            (&other_class[..], false),
            (&other_parent[..], false),
            (&stranger[..], false),
            (std::slice::from_ref(&other_org_teacher), false),
        ] {
            assert_eq!(may_reach(who, &artem, class), allowed, "{who:?} → Артём");
        }
        // Артём reaching others.
        for (whom, allowed) in [
            (&classmate[..], true),
            (&his_mother[..], true),
            (&his_teacher[..], true),
            (&other_teacher[..], false), // not his class's teacher
            (&other_class[..], false),
            (&other_parent[..], false),
            (&stranger[..], false),
        ] {
            assert_eq!(may_reach(&artem, whom, class), allowed, "Артём → {whom:?}");
        }
        // Adults without student places are not restricted among themselves.
        assert!(may_reach(&stranger, &other_parent, class));
        assert!(may_reach(&other_parent, &stranger, class));

        // A school that tightens: no student reaches another, teachers still do.
        let staff = |_| StudentContacts::Staff;
        assert!(!may_reach(&classmate, &artem, staff));
        assert!(!may_reach(&artem, &classmate, staff));
        assert!(may_reach(&artem, &his_teacher, staff));
        assert!(may_reach(&his_mother, &artem, staff));
        // A school that relaxes: the whole school, still no one from outside.
        let school = |_| StudentContacts::School;
        assert!(may_reach(&other_class, &artem, school));
        assert!(may_reach(&artem, &other_teacher, school));
        assert!(!may_reach(&other_parent, &artem, school));
        assert!(!may_reach(
            std::slice::from_ref(&other_org_teacher),
            &artem,
            school
        ));
    }
}
