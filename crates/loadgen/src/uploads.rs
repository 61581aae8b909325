//! The media benchmark: many large files uploaded at once through the people's resumable API,
//! then downloaded at once through signed links, while the server's memory is sampled. Memory
//! must stay flat: it may grow with the number of uploads in flight, never with file size.

use std::time::{Duration, Instant};

use kolokol_client::Client;
use kolokol_proto::{AttachmentKind, ChatKind, CreateChatRequest, RegisterRequest, UploadRequest};
use serde::Serialize;

use crate::machine::sample;
use crate::scenario::{Options, command, start_server};

/// One size's run.
#[derive(Debug, Clone, Serialize)]
pub struct UploadRun {
    pub files: usize,
    pub file_mib: u64,
    pub upload_mib_per_s: f64,
    pub download_mib_per_s: f64,
    pub rss_idle_mib: f64,
    pub rss_peak_uploading_mib: f64,
    pub rss_peak_downloading_mib: f64,
}

/// Samples the server's RSS every 100 ms until dropped; the peak in MiB.
struct RssWatch {
    peak_kib: std::sync::Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssWatch {
    fn start(pid: u32) -> RssWatch {
        let peak_kib = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let peak = peak_kib.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Ok(now) = sample(pid) {
                    peak.fetch_max(now.rss_kib, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        RssWatch { peak_kib, task }
    }

    fn stop(self) -> f64 {
        self.task.abort();
        self.peak_kib.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1024.0
    }
}

/// The bytes of piece `index` of a file: a PDF header first, so the file is a document, then a
/// pattern that differs per file (nothing compresses or deduplicates it away).
fn piece(file: usize, index: u64, piece_bytes: u64, total: u64) -> Vec<u8> {
    let start = index * piece_bytes;
    let end = (start + piece_bytes).min(total);
    let mut bytes: Vec<u8> = (start..end)
        .map(|at| {
            (at.wrapping_mul(2_654_435_761)
                .wrapping_add(file as u64 * 97)
                >> 7) as u8
        })
        .collect();
    if index == 0 {
        bytes[..9].copy_from_slice(b"%PDF-1.4\n");
    }
    bytes
}

/// Uploads `files` files of `file_mib` MiB at once in `piece_mib` MiB pieces (0: 256 KiB), then
/// downloads them all at once, against a fresh server.
pub async fn run(
    options: &Options,
    files: usize,
    file_mib: u64,
    piece_mib: u64,
) -> anyhow::Result<UploadRun> {
    let data = tempfile::tempdir()?;
    let mut server = command(&options.server_bin, Some(0), options.pin);
    server
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env(
            "KOLOKOL_MEDIA_USER_QUOTA_MB",
            (files as u64 * file_mib * 2).to_string(),
        );
    let (server, base) = start_server(server)?;
    let pid = server.0.id();

    let mut client = Client::new(base.clone());
    client
        .register(&RegisterRequest {
            username: "uploader".into(),
            password: "correct horse battery".into(),
            display_name: "Uploader".into(),
            device_name: None,
        })
        .await?;
    let (chat, _) = client
        .create_chat(&CreateChatRequest {
            kind: ChatKind::Group,
            title: Some("Files".into()),
            member_ids: None,
            privacy: kolokol_proto::ChatPrivacy::Community,
        })
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle_mib = sample(pid)?.rss_kib as f64 / 1024.0;

    let total = file_mib << 20;
    let piece_bytes = if piece_mib == 0 {
        256 << 10
    } else {
        piece_mib << 20
    };
    let watch = RssWatch::start(pid);
    let started = Instant::now();
    let uploads = (0..files).map(|file| {
        let client = client.clone();
        async move {
            let request = UploadRequest {
                kind: AttachmentKind::File,
                size: total,
                name: Some(format!("file-{file}.pdf")),
                duration_ms: None,
                waveform: Vec::new(),
            };
            let upload = client.begin_upload(chat.id, &request).await?;
            let pieces = total.div_ceil(piece_bytes);
            for index in 0..pieces {
                let bytes = piece(file, index, piece_bytes, total);
                if let Ok(done) = client
                    .put_upload_piece(upload.id, index * piece_bytes, bytes, total)
                    .await?
                {
                    return Ok::<_, anyhow::Error>(done.id);
                }
            }
            anyhow::bail!("upload {} never completed", upload.id)
        }
    });
    let ids: Vec<i64> = futures_util::future::try_join_all(uploads).await?;
    let upload_seconds = started.elapsed().as_secs_f64();
    let rss_peak_uploading_mib = watch.stop();

    // A message shows at most 10 files; the rest go in further messages.
    let mut links = Vec::new();
    for (n, batch) in ids.chunks(kolokol_store::MAX_ATTACHMENTS).enumerate() {
        let request = kolokol_proto::SendMessageRequest {
            client_msg_id: format!("files-{n}"),
            attachments: batch.to_vec(),
            ..Default::default()
        };
        client.send_message(chat.id, &request).await?;
        links.extend(client.media_links(chat.id, batch.to_vec()).await?);
    }
    let watch = RssWatch::start(pid);
    let started = Instant::now();
    let http = reqwest::Client::new();
    let downloads = links.iter().map(|link| {
        let url = format!("{base}{}", link.url);
        let http = http.clone();
        async move {
            let mut response = http.get(url).send().await?.error_for_status()?;
            let mut received = 0u64;
            while let Some(chunk) = response.chunk().await? {
                received += chunk.len() as u64;
            }
            Ok::<_, anyhow::Error>(received)
        }
    });
    let received: u64 = futures_util::future::try_join_all(downloads)
        .await?
        .into_iter()
        .sum();
    let download_seconds = started.elapsed().as_secs_f64();
    let rss_peak_downloading_mib = watch.stop();
    anyhow::ensure!(
        received == total * files as u64,
        "downloaded {received} bytes of {}",
        total * files as u64
    );
    drop(server);
    let mib = (total * files as u64) as f64 / (1u64 << 20) as f64;
    Ok(UploadRun {
        files,
        file_mib,
        upload_mib_per_s: mib / upload_seconds,
        download_mib_per_s: mib / download_seconds,
        rss_idle_mib,
        rss_peak_uploading_mib,
        rss_peak_downloading_mib,
    })
}
