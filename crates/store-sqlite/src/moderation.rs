//! Reports of messages to an org's moderation queue, and the org's audit log.

use kolokol_domain::Rejection;
use kolokol_proto::{AuditEntry, ErrorCode, Report};
use kolokol_store::{NewReport, OrgId};
use rusqlite::{Connection, Row, params};

use crate::engine::{OpError, OpResult};

const REPORT_COLUMNS: &str = "id, chat_id, seq, reporter_id, author_id, text, reason, created_at, \
                              resolution, resolved_by, resolved_at";

fn report_row(row: &Row) -> rusqlite::Result<Report> {
    Ok(Report {
        id: row.get(0)?,
        chat_id: row.get(1)?,
        seq: row.get(2)?,
        reporter_id: row.get(3)?,
        author_id: row.get(4)?,
        text: row.get(5)?,
        reason: row.get(6)?,
        created_at: row.get(7)?,
        resolution: row.get(8)?,
        resolved_by: row.get(9)?,
        resolved_at: row.get(10)?,
    })
}

fn report_where(
    conn: &Connection,
    condition: &str,
    values: impl rusqlite::Params,
) -> OpResult<Vec<Report>> {
    let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE {condition}");
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(values, report_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn report(conn: &Connection, report: NewReport, now: i64) -> OpResult<Report> {
    conn.prepare_cached(
        "INSERT INTO reports (org_id, chat_id, seq, reporter_id, author_id, text, reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (chat_id, seq, reporter_id) DO NOTHING",
    )?
    .execute(params![
        report.org_id,
        report.chat_id,
        report.seq,
        report.reporter_id,
        report.author_id,
        report.text,
        report.reason,
        now
    ])?;
    report_where(
        conn,
        "chat_id = ?1 AND seq = ?2 AND reporter_id = ?3",
        params![report.chat_id, report.seq, report.reporter_id],
    )?
    .pop()
    .ok_or_else(|| OpError::Internal("report vanished".into()))
}

pub fn reports(conn: &Connection, org_id: OrgId, all: bool) -> OpResult<Vec<Report>> {
    report_where(
        conn,
        "org_id = ?1 AND (?2 OR resolved_at IS NULL) ORDER BY id DESC",
        params![org_id, all],
    )
}

pub fn resolve_report(
    conn: &Connection,
    org_id: OrgId,
    id: i64,
    resolver: i64,
    resolution: &str,
    now: i64,
) -> OpResult<Report> {
    conn.prepare_cached(
        "UPDATE reports SET resolution = ?3, resolved_by = ?4, resolved_at = ?5
         WHERE id = ?1 AND org_id = ?2 AND resolved_at IS NULL",
    )?
    .execute(params![id, org_id, resolution, resolver, now])?;
    report_where(conn, "id = ?1 AND org_id = ?2", params![id, org_id])?
        .pop()
        .ok_or_else(|| Rejection::new(ErrorCode::NotFound, "no such report").into())
}

pub fn audit(
    conn: &Connection,
    org_id: OrgId,
    actor: i64,
    action: &str,
    detail: &str,
    now: i64,
) -> OpResult<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (org_id, actor_id, action, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![org_id, actor, action, detail, now])?;
    Ok(())
}

pub fn audit_log(
    conn: &Connection,
    org_id: OrgId,
    before: Option<i64>,
    limit: u32,
) -> OpResult<Vec<AuditEntry>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, actor_id, action, detail, at FROM audit_log
             WHERE org_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
        )?
        .query_map(params![org_id, before.unwrap_or(i64::MAX), limit], |row| {
            Ok(AuditEntry {
                id: row.get(0)?,
                actor_id: row.get(1)?,
                action: row.get(2)?,
                detail: row.get(3)?,
                at: row.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}
