//! Bots' files: the official Max clients' upload-and-send bots (photo, document, video in
//! `Content-Range` pieces, audio from a buffer, a received photo sent back by its token) on
//! SQLite and PostgreSQL, read back by a person through signed links; and each refusal of the
//! upload flow in Max's words.

use std::path::Path;

use kolokol_client::proto::{AttachmentKind, ErrorCode, Message, SendMessageRequest};
use kolokol_client::{Client, Page};
use kolokol_media::fixtures;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::bots::{BACKENDS, ClientBot, bot_messages, call, clients, person_with_bot};
use super::common::{self, Backend, TestServer, assert_refused};

pub(super) const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// An MP4 header and 200 KiB of `mdat`: enough for every sniffer, and four 64 KiB pieces.
pub(super) fn mp4() -> Vec<u8> {
    let mut video = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    video.extend_from_slice(&(200 * 1024 + 8u32).to_be_bytes());
    video.extend_from_slice(b"mdat");
    video.extend((0..200 * 1024).map(|i| (i % 251) as u8));
    video
}

/// An ID3v2.4 tag and MPEG audio frames.
fn mp3() -> Vec<u8> {
    let mut audio = b"ID3\x04\0\0\0\0\0\0".to_vec();
    for _ in 0..40 {
        audio.extend_from_slice(b"\xFF\xFB\x90\x64");
        audio.extend_from_slice(&[0u8; 413]);
    }
    audio
}

/// The files the bots send, written where they read them.
fn write_files(dir: &Path) -> Vec<(&'static str, String)> {
    let files = [
        ("PHOTO", "photo.jpg", fixtures::jpeg_with_gps()),
        ("DOC", "homework.pdf", PDF.to_vec()),
        ("VIDEO", "clip.mp4", mp4()),
        ("VOICE", "voice.mp3", mp3()),
    ];
    files
        .into_iter()
        .map(|(key, name, bytes)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            (key, path.display().to_string())
        })
        .collect()
}

/// The bytes of a message's only file, as a member reads them.
async fn file_of(person: &Client, message: &Message) -> Vec<u8> {
    assert_eq!(message.attachments.len(), 1, "{message:?}");
    let links = person
        .media_links(message.chat_id, vec![message.attachments[0].id])
        .await
        .unwrap();
    person.download(&links[0].url).await.unwrap()
}

/// Runs one of the official clients' upload bots: the person asks for each kind of file and
/// reads it back, then sends the bot's photo on, and the bot sends it back by its token.
async fn upload_bot_answers(client: &str, program: &[String], backend: Backend) {
    let server = common::start_on(backend, |_| {}).await;
    let client = &format!("{client} on {backend:?}");
    let files = tempfile::tempdir().unwrap();
    let env = write_files(files.path());
    let (anna, created) = person_with_bot(&server, "anna", "media_bot").await;
    let mut bot = ClientBot::start(&server, client, program, &created.token, &env).await;
    let chat = anna.start_bot("media_bot", None).await.unwrap();
    let mut last_seq = 0;
    let mut answer = async |command: &str, bot: &mut ClientBot| -> Message {
        common::send(&anna, chat.id, &format!("c-{}", &command[1..]), command)
            .await
            .unwrap();
        let reply = bot
            .wait_for(&format!("no answer to {command}"), async || {
                bot_messages(&anna, chat.id, created.bot.id)
                    .await
                    .pop()
                    .filter(|message| message.seq > last_seq)
            })
            .await;
        last_seq = reply.seq;
        reply
    };

    let photo = answer("/photo", &mut bot).await;
    assert_eq!(photo.text, "Фото", "{client}");
    let image = &photo.attachments[0];
    assert_eq!(
        (image.kind, image.mime.as_str(), image.width, image.height),
        (AttachmentKind::Image, "image/jpeg", Some(48), Some(64)),
        "{client}: re-encoded, turned as its EXIF said"
    );
    let bytes = file_of(&anna, &photo).await;
    assert!(!fixtures::contains(&bytes, b"Exif"), "{client}: no EXIF");
    assert!(
        !fixtures::contains(&bytes, fixtures::SECRET_PLACE),
        "{client}"
    );
    assert!(
        !fixtures::contains(&bytes, &fixtures::GPS_LATITUDE),
        "{client}: no GPS"
    );

    let doc = answer("/doc", &mut bot).await;
    assert_eq!(doc.text, "", "{client}: a file needs no text");
    let pdf = &doc.attachments[0];
    assert_eq!(
        (pdf.kind, pdf.name.as_deref(), pdf.size),
        (AttachmentKind::File, Some("homework.pdf"), PDF.len() as u64),
        "{client}"
    );
    assert_eq!(file_of(&anna, &doc).await, PDF, "{client}");

    let video = answer("/video", &mut bot).await;
    assert_eq!(video.text, "Видео", "{client}: GET /videos gave a link");
    assert_eq!(video.attachments[0].kind, AttachmentKind::Video);
    assert_eq!(file_of(&anna, &video).await, mp4(), "{client}");

    let voice = answer("/voice", &mut bot).await;
    assert_eq!(voice.text, "Голос", "{client}");
    assert_eq!(
        (
            voice.attachments[0].kind,
            voice.attachments[0].mime.as_str()
        ),
        (AttachmentKind::Audio, "audio/mpeg"),
        "{client}"
    );
    assert_eq!(file_of(&anna, &voice).await, mp3(), "{client}");

    // Anna sends the bot's photo on; the bot sends it back by the token it received.
    let forward = SendMessageRequest {
        client_msg_id: "forward".into(),
        text: String::new(),
        attachments: vec![image.id],
        ..Default::default()
    };
    anna.send_message(chat.id, &forward).await.unwrap();
    let back = bot
        .wait_for("the photo did not come back", async || {
            bot_messages(&anna, chat.id, created.bot.id)
                .await
                .pop()
                .filter(|message| message.text == "Ваше фото")
        })
        .await;
    assert_eq!(back.attachments[0].id, image.id, "{client}: the same file");
    bot.finish("updates");
}

#[tokio::test]
async fn the_official_typescript_client_runs_an_upload_bot() {
    let Some((dir, _)) = clients() else { return };
    let program = ["node".to_owned(), format!("{dir}/ts/upload.js")];
    for backend in BACKENDS {
        upload_bot_answers("@maxhub/max-bot-api", &program, backend).await;
    }
}

#[tokio::test]
async fn the_python_maxapi_client_runs_an_upload_bot() {
    let Some((dir, python)) = clients() else {
        return;
    };
    let program = [python, format!("{dir}/py/upload.py")];
    for backend in BACKENDS {
        upload_bot_answers("maxapi", &program, backend).await;
    }
}

/// `POST /uploads?type=` and the upload of `bytes` (as the form field `data`) to its URL:
/// the URL's answer.
async fn upload(server: &TestServer, token: &str, kind: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let (status, endpoint) = call(
        server,
        token,
        Method::POST,
        &format!("uploads?type={kind}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{endpoint}");
    post_file(endpoint["url"].as_str().unwrap(), bytes).await
}

async fn post_file(url: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("file.bin");
    let form = reqwest::multipart::Form::new().part("data", part);
    let response = reqwest::Client::new()
        .post(url)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(json!({"text": text})),
    )
}

#[track_caller]
fn assert_max_error(answer: (StatusCode, Value), status: u16, code: &str) {
    assert_eq!(
        (answer.0.as_u16(), answer.1["code"].as_str()),
        (status, Some(code)),
        "{}",
        answer.1
    );
}

/// What the upload flow refuses, each as Max says it; and nothing refused is kept.
#[tokio::test]
async fn uploads_refuse_what_they_cannot_keep() {
    let server = common::start().await;
    let (anna, created) = person_with_bot(&server, "anna", "media_bot").await;
    let token = &created.token;
    let refused = call(&server, token, Method::POST, "uploads?type=photo", None).await;
    assert_max_error(refused, 400, "proto.payload");

    // A PDF is not a photo; a decompression bomb and garbage that starts like a JPEG are not
    // readable images. None of them leaves a file behind.
    for bytes in [PDF.to_vec(), fixtures::png_bomb(), b"\xFF\xD8\xFF\xE0 not an image at all, only its first bytes, padded to be long enough for the sniffer".to_vec()] {
        assert_max_error(upload(&server, token, "image", &bytes).await, 400, "proto.payload");
    }
    assert_eq!(server.stored_files().await, Vec::<String>::new());

    // An upload URL takes one file; an unknown one is not found.
    let (_, endpoint) = call(&server, token, Method::POST, "uploads?type=file", None).await;
    let url = endpoint["url"].as_str().unwrap();
    let (status, first) = post_file(url, PDF).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_max_error(post_file(url, PDF).await, 400, "proto.payload");
    let unknown = format!("{}/bot-api/upload/not-a-real-secret", server.base);
    assert_max_error(post_file(&unknown, PDF).await, 404, "not.found");
    assert_eq!(server.stored_files().await.len(), 1, "only the one file");

    // The token works for its bot only; images come by upload, not by address; a file goes
    // alone.
    let chat = anna.start_bot("media_bot", None).await.unwrap();
    let in_chat = format!("messages?user_id={}", anna.me().await.unwrap().user.id);
    let (_, other) = person_with_bot(&server, "boris", "other_bot").await;
    let file_token = first["token"].as_str().unwrap();
    let attach = |attachments: Value| json!({"text": "x", "attachments": attachments}).to_string();
    let foreign = call(
        &server,
        &other.token,
        Method::POST,
        &format!("messages?chat_id={}", chat.id),
        Some(&attach(
            json!([{"type": "file", "payload": {"token": file_token}}]),
        )),
    )
    .await;
    assert!(foreign.0.is_client_error(), "{}", foreign.1);
    for body in [
        json!([{"type": "image", "payload": {"url": "https://example.org/a.jpg"}}]),
        json!([{"type": "file", "payload": {"token": "forged-token-000000000000000000000"}}]),
        json!([{"type": "file", "payload": {"token": file_token}}, {"type": "image", "payload": {"token": file_token}}]),
        json!([{"type": "sticker", "payload": {"code": "x"}}]),
    ] {
        let refused = call(&server, token, Method::POST, &in_chat, Some(&attach(body))).await;
        assert_max_error(refused, 400, "proto.payload");
    }
    // A video whose bytes have not arrived is not ready yet (the clients wait and retry).
    let (_, video) = call(&server, token, Method::POST, "uploads?type=video", None).await;
    let video_token = video["token"].as_str().unwrap();
    let not_ready = json!([{"type": "video", "payload": {"token": video_token}}]);
    let refused = call(
        &server,
        token,
        Method::POST,
        &in_chat,
        Some(&attach(not_ready)),
    )
    .await;
    assert_max_error(refused, 400, "attachment.not.ready");
    // Nothing was sent by any of those.
    let messages = anna.messages(chat.id, Page::default()).await.unwrap();
    assert!(
        messages.iter().all(|m| m.sender_id != created.bot.id),
        "{messages:?}"
    );
}

/// Signed links: only members get them; a tampered or expired one is refused; ranges work and
/// documents always download.
#[tokio::test]
async fn media_links_are_for_members_and_serve_ranges() {
    let server = common::start().await;
    let (anna, created) = person_with_bot(&server, "anna", "media_bot").await;
    let (boris, _) = server.user("boris").await;
    let chat = anna.start_bot("media_bot", None).await.unwrap();
    let (_, answer) = upload(&server, &created.token, "file", PDF).await;
    let body = json!({"attachments": [{"type": "file", "payload": {"token": answer["token"]}}]});
    let in_chat = format!("messages?user_id={}", anna.me().await.unwrap().user.id);
    let (status, sent) = call(
        &server,
        &created.token,
        Method::POST,
        &in_chat,
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert!(
        sent["message"]["body"]["attachments"][0]["payload"]["url"]
            .as_str()
            .unwrap()
            .starts_with(&server.base)
    );
    let message = bot_messages(&anna, chat.id, created.bot.id)
        .await
        .pop()
        .unwrap();
    let id = message.attachments[0].id;

    assert_refused(
        boris.media_links(chat.id, vec![id]).await,
        ErrorCode::NotMember,
        403,
    );
    let links = anna
        .media_links(chat.id, vec![id, id + 1000])
        .await
        .unwrap();
    assert_eq!(links.len(), 1, "unknown ids are left out");
    let url = format!("{}{}", server.base, links[0].url);

    let http = reqwest::Client::new();
    let whole = http.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    let headers = whole.headers().clone();
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(whole.bytes().await.unwrap(), PDF);

    let part = http
        .get(&url)
        .header("Range", "bytes=0-7")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 0-7/{}", PDF.len())
    );
    assert_eq!(part.bytes().await.unwrap(), &PDF[..8]);
    let tail = http
        .get(&url)
        .header("Range", "bytes=-6")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.bytes().await.unwrap(), &PDF[PDF.len() - 6..]);
    let past = http
        .get(&url)
        .header("Range", "bytes=9999-")
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    let tampered = url.replace("&s=", "&s=A");
    assert_eq!(
        http.get(&tampered).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let other_file = url.replace(&format!("/media/{id}?"), &format!("/media/{}?", id + 1));
    assert_eq!(
        http.get(&other_file).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    // A sent message's files stay as they are: an edit naming another file is refused, and
    // only a video's token describes a video.
    let mid = sent["message"]["body"]["mid"].as_str().unwrap();
    let (_, other) = upload(&server, &created.token, "file", PDF).await;
    let other_file =
        json!({"attachments": [{"type": "file", "payload": {"token": other["token"]}}]});
    let refused = call(
        &server,
        &created.token,
        Method::PUT,
        &format!("messages?message_id={mid}"),
        Some(&other_file.to_string()),
    )
    .await;
    assert_max_error(refused, 400, "proto.payload");
    let not_video = call(
        &server,
        &created.token,
        Method::GET,
        &format!("videos/{}", answer["token"].as_str().unwrap()),
        None,
    )
    .await;
    assert_max_error(not_video, 404, "not.found");

    // Deleting the message takes the file out of the chat.
    let (status, _) = call(
        &server,
        &created.token,
        Method::DELETE,
        &format!("messages?message_id={mid}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        anna.media_links(chat.id, vec![id])
            .await
            .unwrap()
            .is_empty()
    );
}
