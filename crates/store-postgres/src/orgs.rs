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
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::engine::{OpError, OpResult};

macro_rules! org_columns {
    () => {
        "id, name, time_zone, service_user_id, created_at, policy"
    };
}

fn org_row(row: &PgRow) -> OpResult<Org> {
    Ok(Org {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        time_zone: row.try_get(2)?,
        service_user_id: row.try_get(3)?,
        created_at: row.try_get(4)?,
        policy: serde_json::from_str(row.try_get(5)?)?,
    })
}

pub async fn create_org(
    conn: &mut PgConnection,
    org: NewOrg,
    admin: UserId,
    now: i64,
) -> OpResult<Org> {
    let user = &org.service_user;
    let service_user_id: Option<UserId> = sqlx::query_scalar(
        // The org's own account is public: its username shows, unlike a person's.
        "INSERT INTO users (username, display_name, password_hash, created_at, show_username)
         VALUES ($1, $2, $3, $4, true) ON CONFLICT (username) DO NOTHING RETURNING id",
    )
    .bind(&user.username)
    .bind(&user.display_name)
    .bind(&user.password_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let service_user_id = service_user_id.ok_or_else(Rejection::username_taken)?;
    let row = sqlx::query(concat!(
        "INSERT INTO orgs (name, time_zone, service_user_id, created_at) VALUES ($1, $2, $3, $4)
         RETURNING ",
        org_columns!()
    ))
    .bind(&org.name)
    .bind(&org.time_zone)
    .bind(service_user_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let org = org_row(&row)?;
    grant_org_role(conn, org.id, admin, OrgRole::Admin).await?;
    Ok(org)
}

pub async fn org(conn: &mut PgConnection, org_id: OrgId) -> OpResult<Option<Org>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        org_columns!(),
        " FROM orgs WHERE id = $1"
    ))
    .bind(org_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(org_row).transpose()
}

pub async fn orgs_of(conn: &mut PgConnection, user_id: UserId) -> OpResult<Vec<Org>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        org_columns!(),
        " FROM orgs WHERE id IN (
             SELECT org_id FROM org_roles WHERE user_id = $1
             UNION SELECT org_id FROM org_people WHERE user_id = $1 AND archived_at IS NULL)
         ORDER BY id"
    ))
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(org_row).collect()
}

pub async fn org_roles(
    conn: &mut PgConnection,
    org_id: OrgId,
    user_id: UserId,
) -> OpResult<Vec<OrgRole>> {
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT role FROM org_roles WHERE org_id = $1 AND user_id = $2 ORDER BY role",
    )
    .bind(org_id)
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    roles
        .into_iter()
        .map(|role| {
            OrgRole::parse(&role).ok_or_else(|| OpError::Internal(format!("org role {role}")))
        })
        .collect()
}

pub async fn grant_org_role(
    conn: &mut PgConnection,
    org_id: OrgId,
    user_id: UserId,
    role: OrgRole,
) -> OpResult<()> {
    sqlx::query(
        "INSERT INTO org_roles (org_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(org_id)
    .bind(user_id)
    .bind(role.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn roster(conn: &mut PgConnection, org_id: OrgId) -> OpResult<StoredRoster> {
    let units = sqlx::query(
        "SELECT id, name, archived_at IS NOT NULL FROM org_units WHERE org_id = $1 ORDER BY id",
    )
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(OrgUnit {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            archived: row.try_get(2)?,
        })
    })
    .collect::<OpResult<_>>()?;
    let people = sqlx::query(
        "SELECT id, key, name, student, user_id, archived_at IS NOT NULL FROM org_people
         WHERE org_id = $1 ORDER BY id",
    )
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(OrgPerson {
            id: row.try_get(0)?,
            key: row.try_get(1)?,
            name: row.try_get(2)?,
            student: row.try_get(3)?,
            user_id: row.try_get(4)?,
            archived: row.try_get(5)?,
        })
    })
    .collect::<OpResult<_>>()?;
    let places = sqlx::query(
        "SELECT p.person_id, p.unit_id, p.role, p.detail FROM org_places p
         JOIN org_people o ON o.id = p.person_id WHERE o.org_id = $1
         ORDER BY p.person_id, p.unit_id, p.role, p.detail",
    )
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        let role: String = row.try_get(2)?;
        Ok(OrgPlace {
            person_id: row.try_get(0)?,
            unit_id: row.try_get(1)?,
            role: RosterRole::parse(&role)
                .ok_or_else(|| OpError::Internal(format!("roster role {role}")))?,
            detail: row.try_get(3)?,
        })
    })
    .collect::<OpResult<_>>()?;
    let chats = sqlx::query(
        "SELECT unit_id, purpose, chat_id FROM org_chats WHERE org_id = $1 ORDER BY chat_id",
    )
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        let purpose: String = row.try_get(1)?;
        Ok(OrgChat {
            unit_id: row.try_get(0)?,
            purpose: ChatPurpose::parse(&purpose)
                .ok_or_else(|| OpError::Internal(format!("org chat purpose {purpose}")))?,
            chat_id: row.try_get(2)?,
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

const ARCHIVE_UNITS: &str = "UPDATE org_units SET archived_at = $1 WHERE id = ANY($2)";
const ARCHIVE_PEOPLE: &str = "UPDATE org_people SET archived_at = $1 WHERE id = ANY($2)";

/// Locks the org's row first, so two imports of one org run one after the other.
pub async fn save_roster(
    conn: &mut PgConnection,
    org_id: OrgId,
    roster: Roster,
    now: i64,
) -> OpResult<()> {
    sqlx::query("SELECT id FROM orgs WHERE id = $1 FOR UPDATE")
        .bind(org_id)
        .fetch_optional(&mut *conn)
        .await?;
    let stored = self::roster(conn, org_id).await?;
    let writes = RosterWrites::plan(&stored, &roster);
    for name in &writes.insert_units {
        sqlx::query("INSERT INTO org_units (org_id, name) VALUES ($1, $2)")
            .bind(org_id)
            .bind(name)
            .execute(&mut *conn)
            .await?;
    }
    for (sql, archived_at, ids) in [
        (ARCHIVE_UNITS, None, &writes.restore_units),
        (ARCHIVE_UNITS, Some(now), &writes.archive_units),
        (ARCHIVE_PEOPLE, Some(now), &writes.archive_people),
    ] {
        sqlx::query(sql)
            .bind(archived_at)
            .bind(ids)
            .execute(&mut *conn)
            .await?;
    }
    for person in &writes.insert_people {
        sqlx::query("INSERT INTO org_people (org_id, key, name, student) VALUES ($1, $2, $3, $4)")
            .bind(org_id)
            .bind(&person.key)
            .bind(&person.name)
            .bind(person.student)
            .execute(&mut *conn)
            .await?;
    }
    for (id, person) in &writes.update_people {
        sqlx::query(
            "UPDATE org_people SET name = $2, student = $3, archived_at = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(&person.name)
        .bind(person.student)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "DELETE FROM org_places WHERE person_id IN (SELECT id FROM org_people WHERE org_id = $1)",
    )
    .bind(org_id)
    .execute(&mut *conn)
    .await?;
    let mut ids = Vec::new();
    for sql in [
        "SELECT name, id FROM org_units WHERE org_id = $1",
        "SELECT key, id FROM org_people WHERE org_id = $1",
    ] {
        let pairs: Vec<(String, i64)> = sqlx::query_as(sql)
            .bind(org_id)
            .fetch_all(&mut *conn)
            .await?;
        ids.push(pairs.into_iter().collect::<HashMap<_, _>>());
    }
    let places = places_by_id(&roster, &ids[0], &ids[1]);
    // One statement for all places: a school's roster has thousands.
    sqlx::query(
        "INSERT INTO org_places (person_id, unit_id, role, detail)
         SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[])",
    )
    .bind(
        places
            .iter()
            .map(|place| place.person_id)
            .collect::<Vec<_>>(),
    )
    .bind(places.iter().map(|place| place.unit_id).collect::<Vec<_>>())
    .bind(
        places
            .iter()
            .map(|place| place.role.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        places
            .iter()
            .map(|place| place.detail.clone())
            .collect::<Vec<_>>(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn add_org_chat(conn: &mut PgConnection, org_id: OrgId, chat: OrgChat) -> OpResult<()> {
    sqlx::query(
        "INSERT INTO org_chats (chat_id, org_id, unit_id, purpose) VALUES ($1, $2, $3, $4)",
    )
    .bind(chat.chat_id)
    .bind(org_id)
    .bind(chat.unit_id)
    .bind(chat.purpose.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn issue_claim_codes(
    conn: &mut PgConnection,
    org_id: OrgId,
    codes: Vec<NewClaimCode>,
    now: i64,
) -> OpResult<()> {
    for code in codes {
        let in_org: Option<i64> =
            sqlx::query_scalar("SELECT id FROM org_people WHERE id = $1 AND org_id = $2")
                .bind(code.person_id)
                .bind(org_id)
                .fetch_optional(&mut *conn)
                .await?;
        if in_org.is_none() {
            return Err(Rejection::new(ErrorCode::NotFound, "no such person in this org").into());
        }
        sqlx::query("DELETE FROM claim_codes WHERE person_id = $1")
            .bind(code.person_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO claim_codes (code_hash, person_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&code.code_hash[..])
        .bind(code.person_id)
        .bind(code.expires_at)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Locks the code's row, so two redeemers of one code cannot both succeed.
pub async fn redeem_claim_code(
    conn: &mut PgConnection,
    code_hash: [u8; 32],
    user_id: UserId,
    now: i64,
) -> OpResult<Claimed> {
    let row = sqlx::query(
        "SELECT c.expires_at, p.id, p.org_id, p.name FROM claim_codes c
         JOIN org_people p ON p.id = c.person_id
         WHERE c.code_hash = $1 AND p.archived_at IS NULL
         FOR UPDATE OF c",
    )
    .bind(&code_hash[..])
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(Rejection::claim_code_not_found)?;
    let expires_at: i64 = row.try_get(0)?;
    if now >= expires_at {
        return Err(Rejection::claim_code_expired().into());
    }
    let claimed = Claimed {
        person_id: row.try_get(1)?,
        org_id: row.try_get(2)?,
        name: row.try_get(3)?,
    };
    sqlx::query("UPDATE org_people SET user_id = $2 WHERE id = $1")
        .bind(claimed.person_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM claim_codes WHERE person_id = $1")
        .bind(claimed.person_id)
        .execute(conn)
        .await?;
    Ok(claimed)
}

pub async fn places_of_users(
    conn: &mut PgConnection,
    user_ids: Vec<UserId>,
) -> OpResult<Vec<UserPlace>> {
    let rows = sqlx::query(
        "SELECT o.user_id, o.org_id, p.unit_id, p.role, p.detail, o.key, u.name FROM org_people o
         JOIN org_places p ON p.person_id = o.id
         JOIN org_units u ON u.id = p.unit_id
         WHERE o.user_id = ANY($1) AND o.archived_at IS NULL AND u.archived_at IS NULL
         ORDER BY o.user_id, o.org_id, p.unit_id, p.role",
    )
    .bind(user_ids)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let role: String = row.try_get(3)?;
            Ok(UserPlace {
                user_id: row.try_get(0)?,
                org_id: row.try_get(1)?,
                unit_id: row.try_get(2)?,
                role: RosterRole::parse(&role)
                    .ok_or_else(|| OpError::Internal(format!("roster role {role}")))?,
                detail: row.try_get(4)?,
                person_key: row.try_get(5)?,
                unit_name: row.try_get(6)?,
            })
        })
        .collect()
}

pub async fn request_ack(
    conn: &mut PgConnection,
    chat_id: ChatId,
    seq: Seq,
    now: i64,
) -> OpResult<()> {
    sqlx::query(
        "INSERT INTO ack_requests (chat_id, seq, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(chat_id)
    .bind(seq)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn ack_requests(conn: &mut PgConnection, chat_id: ChatId) -> OpResult<Vec<Seq>> {
    Ok(
        sqlx::query_scalar("SELECT seq FROM ack_requests WHERE chat_id = $1 ORDER BY seq")
            .bind(chat_id)
            .fetch_all(conn)
            .await?,
    )
}

pub async fn acknowledge(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
    now: i64,
) -> OpResult<()> {
    crate::chats::membership(&mut *conn, actor.user_id, chat_id).await?;
    let inserted = sqlx::query(
        "INSERT INTO acks (chat_id, seq, user_id, acked_at)
         SELECT chat_id, seq, $3, $4 FROM ack_requests WHERE chat_id = $1 AND seq = $2
         ON CONFLICT DO NOTHING",
    )
    .bind(chat_id)
    .bind(seq)
    .bind(actor.user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        let requested: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM ack_requests WHERE chat_id = $1 AND seq = $2")
                .bind(chat_id)
                .bind(seq)
                .fetch_optional(conn)
                .await?;
        if requested.is_none() {
            return Err(Rejection::no_ack_request().into());
        }
    }
    Ok(())
}

pub async fn acks(
    conn: &mut PgConnection,
    chat_id: ChatId,
    seq: Seq,
) -> OpResult<Vec<(UserId, i64)>> {
    Ok(sqlx::query_as(
        "SELECT user_id, acked_at FROM acks WHERE chat_id = $1 AND seq = $2 ORDER BY user_id",
    )
    .bind(chat_id)
    .bind(seq)
    .fetch_all(conn)
    .await?)
}

pub async fn org_of_chat(
    conn: &mut PgConnection,
    chat_id: ChatId,
) -> OpResult<Option<(OrgId, OrgChat)>> {
    let found: Option<(OrgId, Option<i64>, String)> =
        sqlx::query_as("SELECT org_id, unit_id, purpose FROM org_chats WHERE chat_id = $1")
            .bind(chat_id)
            .fetch_optional(conn)
            .await?;
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

pub async fn set_org_policy(
    conn: &mut PgConnection,
    org_id: OrgId,
    policy: OrgPolicy,
) -> OpResult<()> {
    let changed = sqlx::query("UPDATE orgs SET policy = $2 WHERE id = $1")
        .bind(org_id)
        .bind(serde_json::to_string(&policy)?)
        .execute(conn)
        .await?;
    if changed.rows_affected() == 0 {
        return Err(Rejection::new(ErrorCode::NotFound, "no such org").into());
    }
    Ok(())
}

pub async fn orgs_with_policies(conn: &mut PgConnection) -> OpResult<Vec<Org>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        org_columns!(),
        " FROM orgs WHERE policy <> '{}' ORDER BY id"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter().map(org_row).collect()
}

pub async fn rename_units(
    conn: &mut PgConnection,
    org_id: OrgId,
    renames: Vec<UnitRename>,
    now: i64,
) -> OpResult<()> {
    for rename in renames {
        let changed = sqlx::query(
            "UPDATE org_units SET name = $3, archived_at = COALESCE($4, archived_at)
             WHERE id = $1 AND org_id = $2",
        )
        .bind(rename.unit_id)
        .bind(org_id)
        .bind(&rename.name)
        .bind(rename.archive.then_some(now))
        .execute(&mut *conn)
        .await?;
        if changed.rows_affected() == 0 {
            return Err(Rejection::new(ErrorCode::NotFound, "no such class in this org").into());
        }
    }
    Ok(())
}

pub async fn revoke_org_role(
    conn: &mut PgConnection,
    org_id: OrgId,
    user_id: UserId,
    role: OrgRole,
) -> OpResult<()> {
    sqlx::query("DELETE FROM org_roles WHERE org_id = $1 AND user_id = $2 AND role = $3")
        .bind(org_id)
        .bind(user_id)
        .bind(role.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn org_role_holders(
    conn: &mut PgConnection,
    org_id: OrgId,
    role: OrgRole,
) -> OpResult<Vec<UserId>> {
    Ok(sqlx::query_scalar(
        "SELECT user_id FROM org_roles WHERE org_id = $1 AND role = $2 ORDER BY user_id",
    )
    .bind(org_id)
    .bind(role.as_str())
    .fetch_all(conn)
    .await?)
}
