//! People's files: resumable uploads into a chat, sending them, reading them back through
//! signed links; and what uploads refuse (outsiders, others' uploads, lying and oversized
//! files, decompression bombs), each leaving nothing behind.

use kolokol_client::Client;
use kolokol_client::proto::{
    Attachment, AttachmentKind, ErrorCode, Message, SendMessageRequest, UploadRequest,
};
use std::time::Duration;

use kolokol_media::fixtures;
use kolokol_server::clock::Clock;
use tokio::io::AsyncWriteExt;

use super::bot_media::{PDF, mp4};
use super::common::{self, Backend, MediaStore, TestServer, assert_refused};

fn request(kind: AttachmentKind, bytes: &[u8], name: &str) -> UploadRequest {
    UploadRequest {
        kind,
        size: bytes.len() as u64,
        name: Some(name.into()),
        duration_ms: None,
        waveform: Vec::new(),
    }
}

/// An 8×8 PNG, fully transparent.
fn transparent_png() -> Vec<u8> {
    let picture = image::RgbaImage::from_pixel(8, 8, image::Rgba([0, 0, 0, 0]));
    let mut png = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut png, image::ImageFormat::Png).unwrap();
    png.into_inner()
}

fn with_files(id: &str, text: &str, files: &[&Attachment]) -> SendMessageRequest {
    SendMessageRequest {
        client_msg_id: id.into(),
        text: text.into(),
        attachments: files.iter().map(|file| file.id).collect(),
        ..Default::default()
    }
}

/// The bytes of each of a message's files, as `reader` downloads them.
async fn downloads(reader: &Client, message: &Message) -> Vec<Vec<u8>> {
    let ids = message.attachments.iter().map(|file| file.id).collect();
    let links = reader.media_links(message.chat_id, ids).await.unwrap();
    let mut files = Vec::new();
    for file in &message.attachments {
        let link = links.iter().find(|link| link.id == file.id).unwrap();
        files.push(reader.download(&link.url).await.unwrap());
    }
    files
}

async fn pair(server: &TestServer) -> (Client, Client, i64) {
    let (anna, _) = server.user("anna").await;
    let (boris, boris_user) = server.user("boris").await;
    let chat = common::group(&anna, "5Б родители", &[boris_user.id]).await;
    (anna, boris, chat.id)
}

/// Every kind goes up (in pieces, one resent, out of order) and comes down the same; a photo
/// comes down re-encoded without its EXIF and GPS.
/// Each media test runs on SQLite with a folder and on PostgreSQL with S3.
const RUNS: [(Backend, MediaStore); 2] = [
    (Backend::Sqlite, MediaStore::Folder),
    (Backend::Postgres, MediaStore::S3),
];

#[tokio::test]
async fn files_of_every_kind_round_trip() {
    for (backend, store) in RUNS {
        if let Some(server) = media_server(backend, store, |_| {}).await {
            round_trip(&server).await;
        }
    }
}

/// A server keeping its files in `store`; `None` when that store cannot run here.
async fn media_server(
    backend: Backend,
    store: MediaStore,
    configure: impl FnOnce(&mut kolokol_server::config::Settings),
) -> Option<TestServer> {
    let location = store.location().await?;
    Some(
        common::start_on(backend, |settings| {
            settings.media_store = location;
            configure(settings);
        })
        .await,
    )
}

async fn round_trip(server: &TestServer) {
    let (anna, boris, chat_id) = pair(server).await;

    let photo = fixtures::jpeg_with_gps();
    let image = anna
        .upload(
            chat_id,
            &request(AttachmentKind::Image, &photo, "IMG_0001.jpg"),
            &photo,
            1000,
        )
        .await
        .unwrap();
    assert_eq!(
        (image.width, image.height, image.thumb),
        (Some(48), Some(64), true)
    );

    let pdf = anna
        .upload(
            chat_id,
            &request(AttachmentKind::File, PDF, "Расписание 5Б.pdf"),
            PDF,
            1 << 20,
        )
        .await
        .unwrap();
    assert_eq!(
        (pdf.name.as_deref(), pdf.mime.as_str()),
        (Some("Расписание 5Б.pdf"), "application/octet-stream")
    );

    // A video in pieces sent last-first, one of them twice; the upload says how far it got.
    let video = mp4();
    let begun = anna
        .begin_upload(chat_id, &request(AttachmentKind::Video, &video, "clip.mp4"))
        .await
        .unwrap();
    let total = video.len() as u64;
    let half = video.len() / 2;
    let waiting = anna
        .put_upload_piece(begun.id, half as u64, video[half..].to_vec(), total)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(waiting.received, 0, "nothing from the start yet");
    let resent = anna
        .put_upload_piece(begun.id, half as u64, video[half..].to_vec(), total)
        .await
        .unwrap();
    assert!(resent.is_err());
    assert_eq!(anna.upload_state(begun.id).await.unwrap().received, 0);
    let clip = anna
        .put_upload_piece(begun.id, 0, video[..half].to_vec(), total)
        .await
        .unwrap()
        .unwrap();
    // A client that lost that answer finds the file by asking again.
    let asked = anna.upload_state(begun.id).await.unwrap();
    assert_eq!(
        (asked.received, asked.attachment),
        (total, Some(clip.clone()))
    );
    let again = anna
        .put_upload_piece(begun.id, 0, video[..half].to_vec(), total)
        .await
        .unwrap();
    assert_eq!(again, Ok(clip.clone()));
    assert_eq!(
        (clip.kind, clip.mime.as_str(), clip.size),
        (AttachmentKind::Video, "video/mp4", total)
    );

    let mut voice_request = request(AttachmentKind::Voice, &video, "voice.m4a");
    voice_request.duration_ms = Some(1500);
    voice_request.waveform = vec![0, 90, 255, 30];
    let voice = anna
        .upload(chat_id, &voice_request, &video, 1 << 20)
        .await
        .unwrap();
    assert_eq!(
        (voice.duration_ms, voice.waveform.clone()),
        (Some(1500), vec![0, 90, 255, 30])
    );
    assert_eq!(voice.mime, "audio/mp4");

    let (sent, _) = anna
        .send_message(
            chat_id,
            &with_files("files", "", &[&image, &pdf, &clip, &voice]),
        )
        .await
        .unwrap();
    assert_eq!(sent.attachments, [image.clone(), pdf, clip, voice]);
    let files = downloads(&boris, &sent).await;
    assert!(!fixtures::contains(&files[0], b"Exif"));
    assert!(!fixtures::contains(&files[0], &fixtures::GPS_LATITUDE));
    assert_eq!(image::load_from_memory(&files[0]).unwrap().width(), 48);
    assert_eq!(
        (
            files[1].as_slice(),
            files[2].as_slice(),
            files[3].as_slice()
        ),
        (PDF, &video[..], &video[..])
    );
    // Thumbnails come as their images are encoded: JPEG, or PNG where there is transparency.
    // Links asked for twice in a row are the same, so the browser's cache serves the second.
    let clear = transparent_png();
    let sticker = anna
        .upload(
            chat_id,
            &request(AttachmentKind::Image, &clear, "sticker.png"),
            &clear,
            1 << 20,
        )
        .await
        .unwrap();
    let (shown, _) = anna
        .send_message(chat_id, &with_files("sticker", "", &[&sticker]))
        .await
        .unwrap();
    let ids = vec![image.id, sticker.id];
    let links = boris.media_links(chat_id, ids.clone()).await.unwrap();
    assert_eq!(boris.media_links(chat_id, ids).await.unwrap(), links);
    let http = reqwest::Client::new();
    for (link, mime) in links.iter().zip(["image/jpeg", "image/png"]) {
        let thumb = link.thumb_url.as_ref().unwrap();
        let response = http
            .get(format!("{}{thumb}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-type"], mime);
        let bytes = response.bytes().await.unwrap();
        assert!(image::load_from_memory(&bytes).is_ok());
    }
    assert_eq!(shown.attachments[0].mime, "image/png");
    // Only objects the blobs name are kept: no pieces, no originals.
    assert_eq!(
        server.stored_files().await.len(),
        7,
        "{:?}",
        server.stored_files().await
    );
}

/// What uploads refuse; a refused or cut-off upload keeps nothing.
#[tokio::test]
async fn uploads_refuse_cleanly_and_keep_nothing_of_what_they_refuse() {
    for (backend, store) in RUNS {
        if let Some(server) = media_server(backend, store, |_| {}).await {
            refusals(&server).await;
        }
    }
}

async fn refusals(server: &TestServer) {
    let (anna, boris, chat_id) = pair(server).await;
    let (carol, _) = server.user("carol").await;

    assert_refused(
        carol
            .begin_upload(chat_id, &request(AttachmentKind::File, PDF, "x.pdf"))
            .await,
        ErrorCode::NotMember,
        403,
    );
    let mut empty = request(AttachmentKind::File, PDF, "empty.txt");
    empty.size = 0;
    assert_refused(
        anna.begin_upload(chat_id, &empty).await,
        ErrorCode::BadRequest,
        400,
    );
    let mut noisy = request(AttachmentKind::Voice, PDF, "voice.ogg");
    noisy.waveform = vec![7; 101];
    assert_refused(
        anna.begin_upload(chat_id, &noisy).await,
        ErrorCode::BadRequest,
        400,
    );
    assert_refused(
        anna.media_links(chat_id, (1..=101).collect()).await,
        ErrorCode::BadRequest,
        400,
    );
    let mut huge = request(AttachmentKind::File, PDF, "big.iso");
    huge.size = 3 << 30;
    assert_refused(
        anna.begin_upload(chat_id, &huge).await,
        ErrorCode::PayloadTooLarge,
        413,
    );

    // A PDF sent as a photo, and a decompression bomb, are refused for what they are.
    assert_refused(
        anna.upload(
            chat_id,
            &request(AttachmentKind::Image, PDF, "photo.jpg"),
            PDF,
            1 << 20,
        )
        .await,
        ErrorCode::InvalidMedia,
        400,
    );
    let bomb = fixtures::png_bomb();
    assert_refused(
        anna.upload(
            chat_id,
            &request(AttachmentKind::Image, &bomb, "bomb.png"),
            &bomb,
            1 << 20,
        )
        .await,
        ErrorCode::InvalidMedia,
        400,
    );
    assert_eq!(server.stored_files().await, Vec::<String>::new());
    // The first piece is enough to tell: the rest of a PDF sent as a photo is never asked for;
    // and a photo larger than images may be is refused before any byte.
    let mut long_pdf = PDF.to_vec();
    long_pdf.resize(4096, b' ');
    let lying = anna
        .begin_upload(
            chat_id,
            &request(AttachmentKind::Image, &long_pdf, "photo.jpg"),
        )
        .await
        .unwrap();
    assert_refused(
        anna.put_upload_piece(lying.id, 0, long_pdf[..1024].to_vec(), 4096)
            .await,
        ErrorCode::InvalidMedia,
        400,
    );
    let mut huge_photo = request(AttachmentKind::Image, PDF, "huge.jpg");
    huge_photo.size = 60 << 20;
    assert_refused(
        anna.begin_upload(chat_id, &huge_photo).await,
        ErrorCode::PayloadTooLarge,
        413,
    );
    assert_eq!(server.stored_files().await, Vec::<String>::new());

    // Someone else's upload is not found; a piece that does not match its range is refused.
    let begun = anna
        .begin_upload(chat_id, &request(AttachmentKind::File, PDF, "x.pdf"))
        .await
        .unwrap();
    assert_refused(boris.upload_state(begun.id).await, ErrorCode::NotFound, 404);
    assert_refused(
        boris
            .put_upload_piece(begun.id, 0, PDF.to_vec(), PDF.len() as u64)
            .await,
        ErrorCode::NotFound,
        404,
    );
    assert_refused(
        anna.put_upload_piece(begun.id, 0, PDF.to_vec(), PDF.len() as u64 + 5)
            .await,
        ErrorCode::BadRequest,
        400,
    );

    // A body cut off halfway keeps nothing; the upload can go on, or be cancelled.
    let mut socket = tokio::net::TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "PUT /api/v1/uploads/{} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Range: bytes 0-{}/{}\r\nContent-Length: {}\r\n\r\n",
        begun.id,
        anna.token().unwrap(),
        PDF.len() - 1,
        PDF.len(),
        PDF.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&PDF[..20]).await.unwrap();
    drop(socket);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(server.stored_files().await, Vec::<String>::new());
    assert_eq!(anna.upload_state(begun.id).await.unwrap().received, 0);
    let first = anna
        .put_upload_piece(begun.id, 0, PDF[..20].to_vec(), PDF.len() as u64)
        .await
        .unwrap();
    assert_eq!(first.unwrap_err().received, 20);
    assert_eq!(server.stored_files().await.len(), 1, "one piece");
    anna.cancel_upload(begun.id).await.unwrap();
    assert_eq!(
        server.stored_files().await,
        Vec::<String>::new(),
        "cancelled: nothing left"
    );
    assert_refused(anna.upload_state(begun.id).await, ErrorCode::NotFound, 404);

    // A file of Anna's cannot be sent by Boris until a chat he is in shows it.
    let pdf = anna
        .upload(
            chat_id,
            &request(AttachmentKind::File, PDF, "x.pdf"),
            PDF,
            1 << 20,
        )
        .await
        .unwrap();
    assert_refused(
        boris
            .send_message(chat_id, &with_files("taken", "", &[&pdf]))
            .await,
        ErrorCode::NotFound,
        404,
    );
    let too_many: Vec<&Attachment> = std::iter::repeat_n(&pdf, 11).collect();
    assert_refused(
        anna.send_message(chat_id, &with_files("many", "", &too_many))
            .await,
        ErrorCode::BadRequest,
        400,
    );
    assert_refused(
        anna.send_message(chat_id, &with_files("empty", "", &[]))
            .await,
        ErrorCode::TextEmpty,
        400,
    );
}

/// Files nothing shows any more go once their grace is over: a deleted message's, and an upload
/// never sent; so do uploads left unfinished. On both stores.
#[tokio::test]
async fn files_nothing_shows_are_collected() {
    for (backend, store) in RUNS {
        let start = 1_800_000_000_000;
        let clock = Clock::manual(start);
        let Some(server) = media_server(backend, store, |settings| {
            settings.clock = clock.clone();
            settings.media_sweep_every = Duration::from_millis(50);
        })
        .await
        else {
            continue;
        };
        let (anna, boris, chat_id) = pair(&server).await;
        let kept = anna
            .upload(
                chat_id,
                &request(AttachmentKind::File, PDF, "kept.pdf"),
                PDF,
                1 << 20,
            )
            .await
            .unwrap();
        let dropped = anna
            .upload(
                chat_id,
                &request(AttachmentKind::File, PDF, "dropped.pdf"),
                PDF,
                1 << 20,
            )
            .await
            .unwrap();
        anna.upload(
            chat_id,
            &request(AttachmentKind::File, PDF, "never.pdf"),
            PDF,
            1 << 20,
        )
        .await
        .unwrap();
        let unfinished = anna
            .begin_upload(chat_id, &request(AttachmentKind::File, PDF, "half.pdf"))
            .await
            .unwrap();
        anna.put_upload_piece(unfinished.id, 0, PDF[..10].to_vec(), PDF.len() as u64)
            .await
            .unwrap()
            .unwrap_err();
        anna.send_message(chat_id, &with_files("kept", "", &[&kept]))
            .await
            .unwrap();
        let (gone, _) = anna
            .send_message(chat_id, &with_files("gone", "", &[&dropped]))
            .await
            .unwrap();
        anna.delete_message(chat_id, gone.seq).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            server.stored_files().await.len(),
            4,
            "{backend:?}: all within their grace"
        );

        clock.set(start + 25 * 3_600_000);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while server.stored_files().await.len() > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            server.stored_files().await.len(),
            1,
            "{backend:?}: only the shown file"
        );
        let links = boris
            .media_links(chat_id, vec![kept.id, dropped.id])
            .await
            .unwrap();
        assert_eq!(links.len(), 1, "{backend:?}");
        assert_eq!(
            boris.download(&links[0].url).await.unwrap(),
            PDF,
            "{backend:?}"
        );
    }
}

/// With ClamAV's daemon set, an infected upload is set aside in quarantine and refused, a clean
/// one passes; while the daemon cannot be reached, uploads fail rather than pass unscanned.
#[tokio::test]
async fn a_virus_scanner_sets_infected_uploads_aside() {
    let Ok(clamd) = std::env::var("KOLOKOL_TEST_CLAMD") else {
        eprintln!("skipped: run ./scripts/services and set KOLOKOL_TEST_CLAMD");
        return;
    };
    let server = common::start_with(|settings| settings.clamd = Some(clamd)).await;
    let (anna, _, chat_id) = pair(&server).await;
    let mut infected = PDF.to_vec();
    infected.extend_from_slice(b"% KOLOKOL-TEST-VIRUS-7f3a\n");
    let as_file = |bytes: &[u8]| request(AttachmentKind::File, bytes, "homework.pdf");
    assert_refused(
        anna.upload(chat_id, &as_file(&infected), &infected, 1 << 20)
            .await,
        ErrorCode::Infected,
        422,
    );
    let kept = server.stored_files().await;
    assert!(
        kept.len() == 1 && kept[0].starts_with("quarantine/"),
        "{kept:?}"
    );
    anna.upload(chat_id, &as_file(PDF), PDF, 1 << 20)
        .await
        .unwrap();

    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = gone.local_addr().unwrap().to_string();
    drop(gone);
    let server = common::start_with(|settings| settings.clamd = Some(nobody)).await;
    let (anna, _, chat_id) = pair(&server).await;
    assert_refused(
        anna.upload(chat_id, &as_file(PDF), PDF, 1 << 20).await,
        ErrorCode::ScannerUnavailable,
        503,
    );
    assert_eq!(server.stored_files().await, Vec::<String>::new());
}

/// Under files the text may be empty, when sent and when edited; without files it may not.
#[tokio::test]
async fn a_caption_may_be_emptied_only_under_files() {
    let server = common::start().await;
    let (anna, _, chat_id) = pair(&server).await;
    let pdf = anna
        .upload(
            chat_id,
            &request(AttachmentKind::File, PDF, "x.pdf"),
            PDF,
            1 << 20,
        )
        .await
        .unwrap();
    let (captioned, _) = anna
        .send_message(chat_id, &with_files("captioned", "Домашка", &[&pdf]))
        .await
        .unwrap();
    anna.edit_message(chat_id, captioned.seq, "").await.unwrap();
    let plain = common::send(&anna, chat_id, "plain", "Привет")
        .await
        .unwrap();
    assert_refused(
        anna.edit_message(chat_id, plain.seq, " ").await,
        ErrorCode::TextEmpty,
        400,
    );
    // A thumbnail of a file that has none, and a variant that does not exist, are refused.
    let link = &anna.media_links(chat_id, vec![pdf.id]).await.unwrap()[0];
    let http = reqwest::Client::new();
    let no_thumb = format!("{}{}", server.base, link.url.replace("v=o", "v=t"));
    let status = http.get(&no_thumb).send().await.unwrap().status();
    assert_eq!(status.as_u16(), 403, "a link is signed for its variant");
    let unknown = format!("{}{}", server.base, link.url.replace("v=o", "v=x"));
    assert_eq!(
        http.get(&unknown).send().await.unwrap().status().as_u16(),
        403
    );
}
