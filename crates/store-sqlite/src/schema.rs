//! Migrations, embedded in the binary and applied in order at start. `PRAGMA user_version`
//! records how many have run.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_core.sql"),
    include_str!("../migrations/0002_orgs.sql"),
    include_str!("../migrations/0003_quiet.sql"),
    include_str!("../migrations/0004_polls.sql"),
    include_str!("../migrations/0005_threads.sql"),
    include_str!("../migrations/0006_pins.sql"),
    include_str!("../migrations/0007_moderation.sql"),
    include_str!("../migrations/0008_posting.sql"),
    include_str!("../migrations/0009_contact_privacy.sql"),
    include_str!("../migrations/0010_bots.sql"),
    include_str!("../migrations/0011_keyboards.sql"),
    include_str!("../migrations/0012_webhooks.sql"),
    include_str!("../migrations/0013_markup.sql"),
    include_str!("../migrations/0014_web_apps.sql"),
    include_str!("../migrations/0015_button_chats.sql"),
    include_str!("../migrations/0016_media.sql"),
    include_str!("../migrations/0017_e2ee.sql"),
    include_str!("../migrations/0018_mls_leaves_of_device.sql"),
];

pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let applied: usize = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}
