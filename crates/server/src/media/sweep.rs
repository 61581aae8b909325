//! What each node does every few minutes: deletes uploads that expired before completing, and
//! files nothing shows any more (a deleted message's, a deleted chat's, an upload never sent).
//! Nodes do not coordinate: the store hands each file to one collector, and deleting an object
//! twice is harmless.

use crate::state::AppState;

/// Items taken per store call.
const BATCH: u32 = 100;

pub async fn run(state: AppState) {
    let mut every = tokio::time::interval(state.settings.media_sweep_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(error) = sweep(&state).await {
            tracing::error!(%error, "media sweep failed");
        }
    }
}

async fn sweep(state: &AppState) -> anyhow::Result<()> {
    let now = state.now();
    let (store, objects) = (&state.store, &state.media.store);
    loop {
        let expired = store.expired_uploads(now, BATCH).await?;
        for (upload_id, keys) in &expired {
            for key in keys {
                objects.delete(key).await?;
            }
            store.forget_upload(*upload_id).await?;
        }
        if expired.len() < BATCH as usize {
            break;
        }
    }
    // Quarantined uploads are named by when they were set aside.
    for key in objects.list("quarantine/").await? {
        let set_aside: Option<i64> = key
            .strip_prefix("quarantine/")
            .and_then(|name| name.split('-').next())
            .and_then(|ms| ms.parse().ok());
        if set_aside.is_some_and(|at| at < now - super::QUARANTINE_MS) {
            objects.delete(&key).await?;
        }
    }
    // Each org's retention takes old files out of its chats; the collector below deletes them.
    for org in store.orgs_with_policies().await? {
        if let Some(days) = org.policy.media_retention_days {
            let sent_before = now - i64::from(days) * 86_400_000;
            let taken = store.expire_media(org.id, sent_before).await?;
            if taken > 0 {
                tracing::info!(org = org.id, taken, "files past the org's retention");
            }
        }
    }
    let grace = i64::try_from(state.settings.media_grace.as_millis()).unwrap_or(i64::MAX);
    loop {
        let unused = store
            .collect_blobs(now, now.saturating_sub(grace), BATCH)
            .await?;
        if unused.is_empty() {
            break;
        }
        for blob in &unused {
            objects.delete(&blob.file.object_key).await?;
            if let Some(thumb) = &blob.file.thumb_key {
                objects.delete(thumb).await?;
            }
        }
        let collected = unused.len();
        store
            .forget_blobs(unused.into_iter().map(|blob| blob.id).collect())
            .await?;
        tracing::info!(collected, "deleted files nothing shows");
    }
    Ok(())
}
