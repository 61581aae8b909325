//! Reports of messages to an org's moderation queue, and the org's audit log.

use kolokol_domain::Rejection;
use kolokol_proto::{AuditEntry, ErrorCode, Report};
use kolokol_store::{NewReport, OrgId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::engine::OpResult;

macro_rules! report_columns {
    () => {
        "id, chat_id, seq, reporter_id, author_id, text, reason, created_at, resolution, \
         resolved_by, resolved_at"
    };
}

fn report_row(row: &PgRow) -> OpResult<Report> {
    Ok(Report {
        id: row.try_get(0)?,
        chat_id: row.try_get(1)?,
        seq: row.try_get(2)?,
        reporter_id: row.try_get(3)?,
        author_id: row.try_get(4)?,
        text: row.try_get(5)?,
        reason: row.try_get(6)?,
        created_at: row.try_get(7)?,
        resolution: row.try_get(8)?,
        resolved_by: row.try_get(9)?,
        resolved_at: row.try_get(10)?,
    })
}

pub async fn report(conn: &mut PgConnection, report: NewReport, now: i64) -> OpResult<Report> {
    sqlx::query(
        "INSERT INTO reports (org_id, chat_id, seq, reporter_id, author_id, text, reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (chat_id, seq, reporter_id) DO NOTHING",
    )
    .bind(report.org_id)
    .bind(report.chat_id)
    .bind(report.seq)
    .bind(report.reporter_id)
    .bind(report.author_id)
    .bind(&report.text)
    .bind(&report.reason)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(concat!(
        "SELECT ",
        report_columns!(),
        " FROM reports WHERE chat_id = $1 AND seq = $2 AND reporter_id = $3"
    ))
    .bind(report.chat_id)
    .bind(report.seq)
    .bind(report.reporter_id)
    .fetch_one(conn)
    .await?;
    report_row(&row)
}

pub async fn reports(conn: &mut PgConnection, org_id: OrgId, all: bool) -> OpResult<Vec<Report>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        report_columns!(),
        " FROM reports WHERE org_id = $1 AND ($2 OR resolved_at IS NULL) ORDER BY id DESC"
    ))
    .bind(org_id)
    .bind(all)
    .fetch_all(conn)
    .await?;
    rows.iter().map(report_row).collect()
}

pub async fn resolve_report(
    conn: &mut PgConnection,
    org_id: OrgId,
    id: i64,
    resolver: i64,
    resolution: String,
    now: i64,
) -> OpResult<Report> {
    sqlx::query(
        "UPDATE reports SET resolution = $3, resolved_by = $4, resolved_at = $5
         WHERE id = $1 AND org_id = $2 AND resolved_at IS NULL",
    )
    .bind(id)
    .bind(org_id)
    .bind(&resolution)
    .bind(resolver)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(concat!(
        "SELECT ",
        report_columns!(),
        " FROM reports WHERE id = $1 AND org_id = $2"
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(conn)
    .await?;
    match row {
        Some(row) => report_row(&row),
        None => Err(Rejection::new(ErrorCode::NotFound, "no such report").into()),
    }
}

pub async fn audit(
    conn: &mut PgConnection,
    org_id: OrgId,
    actor: i64,
    action: String,
    detail: String,
    now: i64,
) -> OpResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (org_id, actor_id, action, detail, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(org_id)
    .bind(actor)
    .bind(action)
    .bind(detail)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn audit_log(
    conn: &mut PgConnection,
    org_id: OrgId,
    before: Option<i64>,
    limit: u32,
) -> OpResult<Vec<AuditEntry>> {
    let rows: Vec<(i64, i64, String, String, i64)> = sqlx::query_as(
        "SELECT id, actor_id, action, detail, at FROM audit_log
         WHERE org_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(org_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, actor_id, action, detail, at)| AuditEntry {
            id,
            actor_id,
            action,
            detail,
            at,
        })
        .collect())
}
