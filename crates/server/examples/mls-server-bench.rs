//! What MLS costs through the server (release build, one process, SQLite in a temporary
//! directory, HTTP over loopback): devices publishing key packages (the server checks both
//! Ed25519 signatures of each), the creator claiming every member's key package, building the
//! commit and posting it (the server reads it, checks the path leaf's signature and that the
//! Welcome names exactly the added devices, and stores the Welcome for each), then every member
//! fetching the Welcome and joining, and one message read by all. Figures go into
//! docs/PERFORMANCE.md beside mls-bench's in-process ones.
//!
//! `cargo run --release -p kolokol-server --example mls-server-bench -- [--members 30,500]`

use std::time::{Duration, Instant};

use kolokol_client::Client;
use kolokol_client::proto::{
    Base64Bytes, ChatKind, ChatPrivacy, CommitRequest, CreateChatRequest,
    PublishKeyPackagesRequest, RegisterRequest,
};
use kolokol_e2ee::{Device, DeviceIdentity, MlsClient};
use kolokol_server::config::Settings;

const PASSWORD: &str = "correct horse battery";
/// Members added to the chat per request (the server's limit for one request is lower than 500).
const ADD_BATCH: usize = 100;

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

async fn register(base: &str, username: &str) -> (Client, i64) {
    let mut client = Client::new(base.to_owned());
    let auth = client
        .register(&RegisterRequest {
            username: username.into(),
            password: PASSWORD.into(),
            display_name: username.to_uppercase(),
            device_name: Some("bench".into()),
        })
        .await
        .expect("register");
    (client, auth.user.id)
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = arg("--members", "30,500")
        .split(',')
        .map(|n| n.parse().expect("--members takes numbers"))
        .collect();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let running = kolokol_server::start(Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        register_per_ip_per_hour: 1_000_000,
        login_per_ip_per_minute: 1_000_000,
        login_per_username_per_minute: 1_000_000,
        ..Settings::default()
    })
    .await
    .expect("the server starts");
    // It serves on its own task for as long as `running` lives.
    let base = format!("http://{}", running.addr);

    println!("openmls 0.9.2 devices through the server (SQLite), release build");
    println!(
        "| members | device opened (21 key packages made, published, checked) | claim of all | commit built | commit posted and checked | Welcome fetched and joined, per member | message sent / read by all |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (round, members) in sizes.into_iter().enumerate() {
        // The creator works below the Device, to time each step of its commit on its own.
        let (creator_api, creator_id) = register(&base, &format!("creator{round}")).await;
        let session = creator_api.sessions().await.unwrap();
        let device_id = session.iter().find(|s| s.current).unwrap().id;
        let creator = MlsClient::new(DeviceIdentity {
            user_id: creator_id,
            device_id,
        })
        .unwrap();
        creator_api
            .publish_key_packages(&PublishKeyPackagesRequest {
                key_packages: vec![Base64Bytes(creator.key_package(false).unwrap())],
                last_resort: Some(Base64Bytes(creator.key_package(true).unwrap())),
            })
            .await
            .unwrap();

        let mut devices = Vec::with_capacity(members - 1);
        let mut opening = Duration::ZERO;
        for n in 1..members {
            let (api, user_id) = register(&base, &format!("m{round}x{n}")).await;
            let started = Instant::now();
            devices.push(Device::open(api, user_id).await.unwrap());
            opening += started.elapsed();
        }
        let ids: Vec<i64> = devices.iter().map(|d| d.identity().user_id).collect();
        let (chat, _) = creator_api
            .create_chat(&CreateChatRequest {
                kind: ChatKind::Group,
                title: Some(format!("Школа, {members}")),
                member_ids: Some(ids[..ids.len().min(ADD_BATCH)].to_vec()),
                privacy: ChatPrivacy::Encrypted,
            })
            .await
            .unwrap();
        for batch in ids[ids.len().min(ADD_BATCH)..].chunks(ADD_BATCH) {
            creator_api.add_members(chat.id, batch).await.unwrap();
        }

        let state = creator_api.mls_group(chat.id).await.unwrap();
        // Everyone's devices wait to be added, the creator's own too: it starts the group.
        let others: Vec<i64> = state
            .pending_add
            .iter()
            .map(|device| device.device_id)
            .filter(|&id| id != device_id)
            .collect();
        let started = Instant::now();
        let claimed = creator_api
            .claim_key_packages(chat.id, Some(others))
            .await
            .unwrap();
        let claim = started.elapsed();
        assert_eq!(claimed.key_packages.len(), members - 1);
        let packages: Vec<Vec<u8>> = claimed
            .key_packages
            .into_iter()
            .map(|package| package.key_package.0)
            .collect();
        let mut group = creator.create_group(&state.group_id.0).unwrap();
        let started = Instant::now();
        let outgoing = group.commit(&creator, &packages, &[]).unwrap();
        let build = started.elapsed();
        let started = Instant::now();
        creator_api
            .commit(
                chat.id,
                &CommitRequest {
                    client_msg_id: format!("bench-{round}"),
                    commit: Base64Bytes(outgoing.commit),
                    welcome: outgoing.welcome.map(Base64Bytes),
                },
            )
            .await
            .unwrap();
        let post = started.elapsed();
        group.merge_pending(&creator).unwrap();

        let started = Instant::now();
        for device in &mut devices {
            assert_eq!(device.accept_welcomes().await.unwrap(), [chat.id]);
        }
        let joining = started.elapsed();

        // One message from a member, read by every other (each fetches and decrypts it).
        let started = Instant::now();
        devices[0]
            .send_text(chat.id, "Собрание в четверг в 18:00")
            .await
            .unwrap();
        let sent = started.elapsed();
        let started = Instant::now();
        for device in devices.iter_mut().skip(1) {
            assert_eq!(device.sync(chat.id).await.unwrap().len(), 1);
        }
        let read = started.elapsed();

        let others = (members - 1) as f64;
        println!(
            "| {members} | {:.1} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.1} ms | {:.1} ms / {:.0} ms ({:.2} ms each) |",
            ms(opening) / others,
            ms(claim),
            ms(build),
            ms(post),
            ms(joining) / others,
            ms(sent),
            ms(read),
            ms(read) / (others - 1.0).max(1.0),
        );
    }
}
