//! What MLS costs on this machine with openmls (release build, in process, no server): adding
//! members in one commit, joining, and encrypting and decrypting a message. The browser's
//! figures come from web/bench/mls.mjs; both go into docs/PERFORMANCE.md.
//!
//! `cargo run --release -p kolokol-e2ee --example mls-bench -- [--members 30,500] [--messages 1000]`

use std::time::{Duration, Instant};

use kolokol_domain::mls::group_id;
use kolokol_e2ee::{DeviceIdentity, Incoming, MlsClient, content};

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

fn main() {
    let sizes: Vec<usize> = arg("--members", "30,500")
        .split(',')
        .map(|n| n.parse().expect("--members takes numbers"))
        .collect();
    let messages: usize = arg("--messages", "1000")
        .parse()
        .expect("--messages takes a number");
    let text = "Родительское собрание в четверг в 18:00, кабинет 21. Просьба подтвердить участие \
                и принести заполненные анкеты; вопросы по экскурсии обсудим там же.";
    println!(
        "openmls 0.9.2, ciphersuite 0x0001, release build; {messages} messages of {} bytes",
        text.len()
    );
    println!(
        "| members | key packages made | commit adding all | commit size | Welcome size | join by the last | key update (commit / process) | encrypt / decrypt per message |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for members in sizes {
        let creator = MlsClient::new(DeviceIdentity {
            user_id: 1,
            device_id: 1,
        })
        .unwrap();
        let others: Vec<MlsClient> = (2..=members as i64)
            .map(|id| {
                MlsClient::new(DeviceIdentity {
                    user_id: id,
                    device_id: id,
                })
                .unwrap()
            })
            .collect();
        let started = Instant::now();
        let packages: Vec<Vec<u8>> = others
            .iter()
            .map(|other| other.key_package(false).unwrap())
            .collect();
        let made = started.elapsed();

        let mut group = creator.create_group(&group_id(1, 1)).unwrap();
        let started = Instant::now();
        let added = group.commit(&creator, &packages, &[]).unwrap();
        group.merge_pending(&creator).unwrap();
        let commit_time = started.elapsed();
        let welcome = added.welcome.unwrap();

        let last = others.last().unwrap();
        let started = Instant::now();
        let mut joined = last.join(&welcome).unwrap();
        let join_time = started.elapsed();

        let started = Instant::now();
        let update = joined.commit(last, &[], &[]).unwrap();
        joined.merge_pending(last).unwrap();
        let update_time = started.elapsed();
        let started = Instant::now();
        group.process(&creator, &update.commit).unwrap();
        let process_time = started.elapsed();

        let mut encrypt = Duration::ZERO;
        let mut decrypt = Duration::ZERO;
        for n in 0..messages {
            let framed = content::frame(content::Content::Text {
                text: format!("{text} {n}"),
                reply_to: None,
            });
            let started = Instant::now();
            let sealed = group
                .encrypt(&creator, &framed.authenticated_data, &framed.bytes)
                .unwrap();
            encrypt += started.elapsed();
            let started = Instant::now();
            let Incoming::Application {
                data,
                authenticated_data,
                ..
            } = joined.process(last, &sealed).unwrap()
            else {
                panic!("an application message");
            };
            content::open(&data, &authenticated_data).unwrap();
            decrypt += started.elapsed();
        }
        assert_eq!(group.epoch_authenticator(), joined.epoch_authenticator());
        println!(
            "| {members} | {} in {:.0} ms | {:.0} ms | {:.1} KB | {:.1} KB | {:.0} ms | {:.1} ms / {:.1} ms | {:.3} ms / {:.3} ms |",
            members - 1,
            ms(made),
            ms(commit_time),
            added.commit.len() as f64 / 1000.0,
            welcome.len() as f64 / 1000.0,
            ms(join_time),
            ms(update_time),
            ms(process_time),
            ms(encrypt) / messages as f64,
            ms(decrypt) / messages as f64,
        );
    }
}
