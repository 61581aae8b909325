//! Organisations, their roles and rosters.

use std::collections::HashMap;

use kolokol_domain::Rejection;
use kolokol_domain::roster::{Roster, RosterRole};
use kolokol_proto::{ChatId, ErrorCode, OrgPolicy, Seq, UserId};
use kolokol_store::Actor;
use kolokol_store::orgs::{OrgPerson, OrgPlace, OrgUnit, RosterWrites, places_by_id};
use kolokol_store::{
    ChatPurpose, Claimed, NewClaimCode, NewOrg, Org, OrgChat, OrgId, OrgRole, StoredRoster,
    UnitRename, UserPlace,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::engine::{OpError, OpResult};

const ORG_COLUMNS: &str = "id, name, time_zone, service_user_id, created_at, policy";

fn org_row(row: &Row) -> rusqlite::Result<Org> {
    let policy: String = row.get(5)?;
    Ok(Org {
        id: row.get(0)?,
        name: row.get(1)?,
        time_zone: row.get(2)?,
        service_user_id: row.get(3)?,
        created_at: row.get(4)?,
        policy: serde_json::from_str(&policy).map_err(|error| {
            rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, error.into())
        })?,
    })
}

pub fn create_org(conn: &Connection, org: NewOrg, admin: UserId, now: i64) -> OpResult<Org> {
    let user = &org.service_user;
    let service_user_id: Option<UserId> = conn
        .prepare_cached(
            // The org's own account is public: its username shows, unlike a person's.
            "INSERT INTO users (username, display_name, password_hash, created_at, show_username)
             VALUES (?1, ?2, ?3, ?4, 1) ON CONFLICT (username) DO NOTHING RETURNING id",
        )?
        .query_row(
            params![user.username, user.display_name, user.password_hash, now],
            |row| row.get(0),
        )
        .optional()?;
    let service_user_id = service_user_id.ok_or_else(Rejection::username_taken)?;
    let org = conn
        .prepare_cached(&format!(
            "INSERT INTO orgs (name, time_zone, service_user_id, created_at) VALUES (?1, ?2, ?3, ?4)
             RETURNING {ORG_COLUMNS}"
        ))?
        .query_row(
            params![org.name, org.time_zone, service_user_id, now],
            org_row,
        )?;
    grant_org_role(conn, org.id, admin, OrgRole::Admin)?;
    Ok(org)
}

pub fn org(conn: &Connection, org_id: OrgId) -> OpResult<Option<Org>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {ORG_COLUMNS} FROM orgs WHERE id = ?1"))?
        .query_row([org_id], org_row)
        .optional()?)
}

pub fn orgs_of(conn: &Connection, user_id: UserId) -> OpResult<Vec<Org>> {
    let sql = format!(
        "SELECT {ORG_COLUMNS} FROM orgs WHERE id IN (
             SELECT org_id FROM org_roles WHERE user_id = ?1
             UNION SELECT org_id FROM org_people WHERE user_id = ?1 AND archived_at IS NULL)
         ORDER BY id"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let orgs = statement.query_map([user_id], org_row)?;
    Ok(orgs.collect::<Result<_, _>>()?)
}

pub fn org_roles(conn: &Connection, org_id: OrgId, user_id: UserId) -> OpResult<Vec<OrgRole>> {
    let mut statement = conn.prepare_cached(
        "SELECT role FROM org_roles WHERE org_id = ?1 AND user_id = ?2 ORDER BY role",
    )?;
    let roles = statement.query_map([org_id, user_id], |row| row.get::<_, String>(0))?;
    roles
        .map(|role| {
            let role = role?;
            OrgRole::parse(&role).ok_or_else(|| OpError::Internal(format!("org role {role}")))
        })
        .collect()
}

pub fn grant_org_role(
    conn: &Connection,
    org_id: OrgId,
    user_id: UserId,
    role: OrgRole,
) -> OpResult<()> {
    conn.prepare_cached(
        "INSERT INTO org_roles (org_id, user_id, role) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    )?
    .execute(params![org_id, user_id, role.as_str()])?;
    Ok(())
}

pub fn roster(conn: &Connection, org_id: OrgId) -> OpResult<StoredRoster> {
    let mut units = conn.prepare_cached(
        "SELECT id, name, archived_at IS NOT NULL FROM org_units WHERE org_id = ?1 ORDER BY id",
    )?;
    let units = units
        .query_map([org_id], |row| {
            Ok(OrgUnit {
                id: row.get(0)?,
                name: row.get(1)?,
                archived: row.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut people = conn.prepare_cached(
        "SELECT id, key, name, student, user_id, archived_at IS NOT NULL FROM org_people
         WHERE org_id = ?1 ORDER BY id",
    )?;
    let people = people
        .query_map([org_id], |row| {
            Ok(OrgPerson {
                id: row.get(0)?,
                key: row.get(1)?,
                name: row.get(2)?,
                student: row.get(3)?,
                user_id: row.get(4)?,
                archived: row.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut places = conn.prepare_cached(
        "SELECT p.person_id, p.unit_id, p.role, p.detail FROM org_places p
         JOIN org_people o ON o.id = p.person_id WHERE o.org_id = ?1
         ORDER BY p.person_id, p.unit_id, p.role, p.detail",
    )?;
    let places = places
        .query_map([org_id], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get::<_, String>(2)?,
                row.get(3)?,
            ))
        })?
        .map(|place| {
            let (person_id, unit_id, role, detail) = place?;
            let role = RosterRole::parse(&role)
                .ok_or_else(|| OpError::Internal(format!("roster role {role}")))?;
            Ok(OrgPlace {
                person_id,
                unit_id,
                role,
                detail,
            })
        })
        .collect::<OpResult<_>>()?;
    let mut chats = conn.prepare_cached(
        "SELECT unit_id, purpose, chat_id FROM org_chats WHERE org_id = ?1 ORDER BY chat_id",
    )?;
    let chats = chats
        .query_map([org_id], |row| {
            Ok((row.get(0)?, row.get::<_, String>(1)?, row.get(2)?))
        })?
        .map(|chat| {
            let (unit_id, purpose, chat_id) = chat?;
            let purpose = ChatPurpose::parse(&purpose)
                .ok_or_else(|| OpError::Internal(format!("org chat purpose {purpose}")))?;
            Ok(OrgChat {
                unit_id,
                purpose,
                chat_id,
            })
        })
        .collect::<OpResult<_>>()?;
    Ok(StoredRoster {
        units,
        people,
        places,
        chats,
    })
}

pub fn save_roster(conn: &Connection, org_id: OrgId, roster: &Roster, now: i64) -> OpResult<()> {
    let stored = self::roster(conn, org_id)?;
    let writes = RosterWrites::plan(&stored, roster);
    for name in &writes.insert_units {
        conn.prepare_cached("INSERT INTO org_units (org_id, name) VALUES (?1, ?2)")?
            .execute(params![org_id, name])?;
    }
    for id in &writes.restore_units {
        conn.prepare_cached("UPDATE org_units SET archived_at = NULL WHERE id = ?1")?
            .execute([id])?;
    }
    for id in &writes.archive_units {
        conn.prepare_cached("UPDATE org_units SET archived_at = ?2 WHERE id = ?1")?
            .execute([id, &now])?;
    }
    for person in &writes.insert_people {
        conn.prepare_cached(
            "INSERT INTO org_people (org_id, key, name, student) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![org_id, person.key, person.name, person.student])?;
    }
    for (id, person) in &writes.update_people {
        conn.prepare_cached(
            "UPDATE org_people SET name = ?2, student = ?3, archived_at = NULL WHERE id = ?1",
        )?
        .execute(params![id, person.name, person.student])?;
    }
    for id in &writes.archive_people {
        conn.prepare_cached("UPDATE org_people SET archived_at = ?2 WHERE id = ?1")?
            .execute([id, &now])?;
    }
    conn.prepare_cached(
        "DELETE FROM org_places WHERE person_id IN (SELECT id FROM org_people WHERE org_id = ?1)",
    )?
    .execute([org_id])?;
    let ids = |sql: &str| -> OpResult<HashMap<String, i64>> {
        let mut statement = conn.prepare_cached(sql)?;
        let rows = statement.query_map([org_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    let unit_ids = ids("SELECT name, id FROM org_units WHERE org_id = ?1")?;
    let person_ids = ids("SELECT key, id FROM org_people WHERE org_id = ?1")?;
    for place in places_by_id(roster, &unit_ids, &person_ids) {
        conn.prepare_cached(
            "INSERT INTO org_places (person_id, unit_id, role, detail) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            place.person_id,
            place.unit_id,
            place.role.as_str(),
            place.detail
        ])?;
    }
    Ok(())
}

pub fn add_org_chat(conn: &Connection, org_id: OrgId, chat: OrgChat) -> OpResult<()> {
    conn.prepare_cached(
        "INSERT INTO org_chats (chat_id, org_id, unit_id, purpose) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        chat.chat_id,
        org_id,
        chat.unit_id,
        chat.purpose.as_str()
    ])?;
    Ok(())
}

pub fn issue_claim_codes(
    conn: &Connection,
    org_id: OrgId,
    codes: Vec<NewClaimCode>,
    now: i64,
) -> OpResult<()> {
    for code in codes {
        let in_org = conn
            .prepare_cached("SELECT 1 FROM org_people WHERE id = ?1 AND org_id = ?2")?
            .exists([code.person_id, org_id])?;
        if !in_org {
            return Err(Rejection::new(ErrorCode::NotFound, "no such person in this org").into());
        }
        conn.prepare_cached("DELETE FROM claim_codes WHERE person_id = ?1")?
            .execute([code.person_id])?;
        conn.prepare_cached(
            "INSERT INTO claim_codes (code_hash, person_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![&code.code_hash[..], code.person_id, code.expires_at, now])?;
    }
    Ok(())
}

pub fn redeem_claim_code(
    conn: &Connection,
    code_hash: [u8; 32],
    user_id: UserId,
    now: i64,
) -> OpResult<Claimed> {
    let found = conn
        .prepare_cached(
            "SELECT c.expires_at, p.id, p.org_id, p.name FROM claim_codes c
             JOIN org_people p ON p.id = c.person_id
             WHERE c.code_hash = ?1 AND p.archived_at IS NULL",
        )?
        .query_row([&code_hash[..]], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                Claimed {
                    person_id: row.get(1)?,
                    org_id: row.get(2)?,
                    name: row.get(3)?,
                },
            ))
        })
        .optional()?;
    let (expires_at, claimed) = found.ok_or_else(Rejection::claim_code_not_found)?;
    if now >= expires_at {
        return Err(Rejection::claim_code_expired().into());
    }
    conn.prepare_cached("UPDATE org_people SET user_id = ?2 WHERE id = ?1")?
        .execute([claimed.person_id, user_id])?;
    conn.prepare_cached("DELETE FROM claim_codes WHERE person_id = ?1")?
        .execute([claimed.person_id])?;
    Ok(claimed)
}

pub fn places_of_users(conn: &Connection, user_ids: &[UserId]) -> OpResult<Vec<UserPlace>> {
    let mut statement = conn.prepare_cached(
        "SELECT o.user_id, o.org_id, p.unit_id, p.role, p.detail, o.key, u.name FROM org_people o
         JOIN org_places p ON p.person_id = o.id
         JOIN org_units u ON u.id = p.unit_id
         WHERE o.user_id = ?1 AND o.archived_at IS NULL AND u.archived_at IS NULL
         ORDER BY o.org_id, p.unit_id, p.role",
    )?;
    let mut places = Vec::new();
    for user_id in user_ids {
        let rows = statement.query_map([user_id], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get::<_, String>(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
            ))
        })?;
        for row in rows {
            let (user_id, org_id, unit_id, role, detail, person_key, unit_name) = row?;
            let role = RosterRole::parse(&role)
                .ok_or_else(|| OpError::Internal(format!("roster role {role}")))?;
            places.push(UserPlace {
                user_id,
                org_id,
                unit_id,
                role,
                detail,
                person_key,
                unit_name,
            });
        }
    }
    Ok(places)
}

pub fn request_ack(conn: &Connection, chat_id: ChatId, seq: Seq, now: i64) -> OpResult<()> {
    conn.prepare_cached(
        "INSERT INTO ack_requests (chat_id, seq, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    )?
    .execute([chat_id, seq, now])?;
    Ok(())
}

pub fn ack_requests(conn: &Connection, chat_id: ChatId) -> OpResult<Vec<Seq>> {
    Ok(conn
        .prepare_cached("SELECT seq FROM ack_requests WHERE chat_id = ?1 ORDER BY seq")?
        .query_map([chat_id], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn acknowledge(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
    now: i64,
) -> OpResult<()> {
    crate::chats::membership(conn, actor.user_id, chat_id)?;
    let requested = conn
        .prepare_cached("SELECT 1 FROM ack_requests WHERE chat_id = ?1 AND seq = ?2")?
        .exists([chat_id, seq])?;
    if !requested {
        return Err(Rejection::no_ack_request().into());
    }
    conn.prepare_cached(
        "INSERT INTO acks (chat_id, seq, user_id, acked_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )?
    .execute([chat_id, seq, actor.user_id, now])?;
    Ok(())
}

pub fn acks(conn: &Connection, chat_id: ChatId, seq: Seq) -> OpResult<Vec<(UserId, i64)>> {
    Ok(conn
        .prepare_cached(
            "SELECT user_id, acked_at FROM acks WHERE chat_id = ?1 AND seq = ?2 ORDER BY user_id",
        )?
        .query_map([chat_id, seq], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn org_of_chat(conn: &Connection, chat_id: ChatId) -> OpResult<Option<(OrgId, OrgChat)>> {
    let found = conn
        .prepare_cached("SELECT org_id, unit_id, purpose FROM org_chats WHERE chat_id = ?1")?
        .query_row([chat_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get::<_, String>(2)?))
        })
        .optional()?;
    found
        .map(|(org_id, unit_id, purpose)| {
            let purpose = ChatPurpose::parse(&purpose)
                .ok_or_else(|| OpError::Internal(format!("org chat purpose {purpose}")))?;
            Ok((
                org_id,
                OrgChat {
                    unit_id,
                    purpose,
                    chat_id,
                },
            ))
        })
        .transpose()
}

pub fn set_org_policy(conn: &Connection, org_id: OrgId, policy: &OrgPolicy) -> OpResult<()> {
    let changed = conn
        .prepare_cached("UPDATE orgs SET policy = ?2 WHERE id = ?1")?
        .execute(params![org_id, serde_json::to_string(policy)?])?;
    if changed == 0 {
        return Err(Rejection::new(ErrorCode::NotFound, "no such org").into());
    }
    Ok(())
}

pub fn orgs_with_policies(conn: &Connection) -> OpResult<Vec<Org>> {
    let sql = format!("SELECT {ORG_COLUMNS} FROM orgs WHERE policy <> '{{}}' ORDER BY id");
    let mut statement = conn.prepare_cached(&sql)?;
    let orgs = statement.query_map([], org_row)?;
    Ok(orgs.collect::<Result<_, _>>()?)
}

pub fn rename_units(
    conn: &Connection,
    org_id: OrgId,
    renames: &[UnitRename],
    now: i64,
) -> OpResult<()> {
    for rename in renames {
        let archived_at = rename.archive.then_some(now);
        let changed = conn
            .prepare_cached(
                "UPDATE org_units SET name = ?3, archived_at = COALESCE(?4, archived_at)
                 WHERE id = ?1 AND org_id = ?2",
            )?
            .execute(params![rename.unit_id, org_id, rename.name, archived_at])?;
        if changed == 0 {
            return Err(Rejection::new(ErrorCode::NotFound, "no such class in this org").into());
        }
    }
    Ok(())
}

pub fn revoke_org_role(
    conn: &Connection,
    org_id: OrgId,
    user_id: UserId,
    role: OrgRole,
) -> OpResult<()> {
    conn.prepare_cached("DELETE FROM org_roles WHERE org_id = ?1 AND user_id = ?2 AND role = ?3")?
        .execute(params![org_id, user_id, role.as_str()])?;
    Ok(())
}

pub fn org_role_holders(conn: &Connection, org_id: OrgId, role: OrgRole) -> OpResult<Vec<UserId>> {
    Ok(conn
        .prepare_cached(
            "SELECT user_id FROM org_roles WHERE org_id = ?1 AND role = ?2 ORDER BY user_id",
        )?
        .query_map(params![org_id, role.as_str()], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}
