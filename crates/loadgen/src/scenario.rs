//! The scenarios, and the coordinator that runs one: it seeds the data, starts the server
//! pinned to one core, spreads the devices over worker processes pinned to the other core and
//! over several loopback source addresses, starts them together, samples the server's CPU time
//! and memory at each step boundary, and combines the workers' reports.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{Context, bail};
use kolokol_proto::ChatKind;
use serde::Serialize;

use crate::machine::{ProcessSample, now_ns, sample};
use crate::plan::{Device, Go, Job, Report, Step, StepReport, Storm, Target};
use crate::seed::{ChatSpec, seed};

/// Devices per worker process: with their HTTP connections this stays far below the limit of
/// 20,000 open files a process may hold here.
const DEVICES_PER_WORKER: usize = 6_500;
/// Seconds between connecting and the first step, and of each step unless a scenario says.
const WARMUP_SECONDS: f64 = 1.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
pub enum Scenario {
    /// Idle authenticated connections with heartbeats: memory per connection.
    B1,
    /// Direct chats between pairs, one message per 10 s per pair: latency.
    B2,
    /// Class groups of 60 with random senders, offered rate stepped up: the highest clean rate.
    B3,
    /// One 2,000-member group and one 10,000-subscriber channel: time to the last member.
    B4,
    /// Everyone drops and reconnects within 10 s, resuming from their cursors.
    B5,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
pub enum TargetKind {
    Kolokol,
    Floor,
    /// Matrix Synapse, started by `scripts/bench-synapse` (B2 and B3 only).
    Synapse,
}

/// How big and how long; `scale` shrinks every count (a smoke run uses a small one).
#[derive(Debug, Clone)]
pub struct Options {
    pub scale: f64,
    pub step_seconds: f64,
    /// B3's offered rates in messages per second, one step each.
    pub rates: Vec<f64>,
    /// B3's and B5's number of 60-member groups instead of 150 (scaled).
    pub groups: Option<usize>,
    pub server_bin: PathBuf,
    pub synapse_script: PathBuf,
    /// Pin the server to core 0 and the generator to core 1 (with `taskset`).
    pub pin: bool,
}

/// Who exists and what happens, before it is split over workers.
struct Population {
    users: usize,
    chats: Vec<ChatSpec>,
    /// One device per user: the chats (by index) it sends into, if it sends.
    senders: Vec<(usize, Vec<usize>)>,
    /// A step's `chat`, when set, is the chat's index in `chats` until the chats exist.
    steps: Vec<Step>,
    drain_seconds: f64,
    storm: Option<Storm>,
}

fn count(full: usize, scale: f64) -> usize {
    ((full as f64 * scale).round() as usize).max(2)
}

/// 150 class groups of 60 (scaled, or `groups` of 60), everyone sending into their own class;
/// no steps yet.
fn class_groups(scale: f64, groups: Option<usize>) -> Population {
    let size = match groups {
        Some(_) => 60,
        None => 60.min(count(60, scale.sqrt())),
    };
    let users = groups.unwrap_or_else(|| count(150, scale)) * size;
    Population {
        users,
        chats: (0..users / size)
            .map(|g| ChatSpec {
                kind: ChatKind::Group,
                members: (g * size..(g + 1) * size).collect(),
            })
            .collect(),
        senders: (0..users).map(|u| (u, vec![u / size])).collect(),
        steps: Vec::new(),
        drain_seconds: 2.0,
        storm: None,
    }
}

fn population(scenario: Scenario, options: &Options) -> Population {
    let scale = options.scale;
    let step = |rate: f64| Step {
        rate,
        seconds: options.step_seconds,
        chat: None,
    };
    match scenario {
        Scenario::B1 => Population {
            users: count(19_000, scale),
            chats: Vec::new(),
            senders: Vec::new(),
            // Longer than the server's 20 s ping interval, so heartbeats are part of it.
            steps: vec![Step {
                rate: 0.0,
                seconds: options.step_seconds.max(25.0 * scale.min(1.0)),
                chat: None,
            }],
            drain_seconds: 0.0,
            storm: None,
        },
        Scenario::B2 => {
            let pairs = count(1_000, scale);
            Population {
                users: pairs * 2,
                chats: (0..pairs)
                    .map(|p| ChatSpec {
                        kind: ChatKind::Direct,
                        members: vec![2 * p, 2 * p + 1],
                    })
                    .collect(),
                senders: (0..pairs * 2).map(|u| (u, vec![u / 2])).collect(),
                // One message per 10 s per pair.
                steps: vec![step(pairs as f64 / 10.0)],
                drain_seconds: 2.0,
                storm: None,
            }
        }
        Scenario::B3 => Population {
            steps: options.rates.iter().map(|&rate| step(rate)).collect(),
            ..class_groups(scale, options.groups)
        },
        Scenario::B4 => {
            let (group, channel) = (count(2_000, scale), count(10_000, scale));
            Population {
                users: channel,
                chats: vec![
                    ChatSpec {
                        kind: ChatKind::Group,
                        members: (0..group).collect(),
                    },
                    ChatSpec {
                        kind: ChatKind::Channel,
                        members: (0..channel).collect(),
                    },
                ],
                // The owner posts, one message a second: into the group, then the channel.
                senders: vec![(0, vec![0, 1])],
                steps: vec![
                    Step {
                        chat: Some(0),
                        ..step(1.0)
                    },
                    Step {
                        chat: Some(1),
                        ..step(1.0)
                    },
                ],
                drain_seconds: 2.0,
                storm: None,
            }
        }
        Scenario::B5 => {
            let classes = class_groups(scale, options.groups);
            Population {
                steps: vec![Step {
                    // Each device sends about once every 30 s.
                    rate: (classes.users as f64 / 30.0).max(2.0),
                    seconds: 20.0 * scale.clamp(0.2, 1.0),
                    chat: None,
                }],
                drain_seconds: 3.0,
                storm: Some(Storm {
                    at_seconds: 3.0 * scale.clamp(0.3, 1.0),
                    spread_seconds: 10.0 * scale.clamp(0.1, 1.0),
                }),
                ..classes
            }
        }
    }
}

/// One row of results: a step of a scenario against a target.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub scenario: Scenario,
    pub target: TargetKind,
    pub step: usize,
    pub offered_per_s: f64,
    /// Offered messages times the deliveries each makes (its chat's size).
    pub offered_deliveries_per_s: f64,
    pub acknowledged_per_s: f64,
    pub delivered_per_s: f64,
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    pub send_errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub server_cpu_us_per_delivery: Option<f64>,
    pub server_cpu_share: f64,
    pub server_rss_mib: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub scenario: Scenario,
    pub target: TargetKind,
    pub devices: usize,
    pub connected: u64,
    pub connect_errors: u64,
    pub dropped: u64,
    /// The first failure any worker met, if one did.
    pub first_error: Option<String>,
    pub duplicates: u64,
    pub gaps: u64,
    pub server_rss_idle_mib: f64,
    pub server_rss_connected_mib: f64,
    pub rss_per_connection_kib: f64,
    pub steps: Vec<StepResult>,
    pub storm_all_caught_up_ms: Option<f64>,
    pub storm_catch_up_p99_ms: Option<f64>,
    pub storm_catch_up_max_ms: Option<f64>,
    pub storm_reconnect_errors: u64,
}

/// A child process killed when dropped.
pub(crate) struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn command(program: &Path, core: Option<u32>, pin: bool) -> Command {
    match core.filter(|_| pin) {
        Some(core) => {
            let mut command = Command::new("taskset");
            command.args(["-c", &core.to_string()]).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// Starts a server process and reads its address from the first line it prints.
pub(crate) fn start_server(mut command: Command) -> anyhow::Result<(Process, String)> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the server")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .context("reading the server's address")?;
    let base = line
        .split_once("listening on ")
        .map(|(_, base)| base.trim().to_owned())
        .with_context(|| format!("the server said {line:?}"))?;
    Ok((Process(child), base))
}

struct WorkerProcess {
    _process: Process,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl WorkerProcess {
    fn start(job: &Job, pin: bool) -> anyhow::Result<WorkerProcess> {
        let exe = std::env::current_exe()?;
        let mut child = command(&exe, Some(1), pin)
            .arg("worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting a worker")?;
        let mut stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        serde_json::to_writer(&mut stdin, job)?;
        stdin.write_all(b"\n")?;
        Ok(WorkerProcess {
            _process: Process(child),
            stdin,
            stdout,
        })
    }

    fn read_line(&mut self) -> anyhow::Result<String> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            bail!("a worker ended early");
        }
        Ok(line)
    }
}

pub async fn run(
    scenario: Scenario,
    target: TargetKind,
    options: &Options,
) -> anyhow::Result<RunResult> {
    if target == TargetKind::Synapse && !matches!(scenario, Scenario::B2 | Scenario::B3) {
        bail!("Synapse is measured under B2 and B3 only");
    }
    let population = population(scenario, options);
    let data = tempfile::tempdir()?;
    let mut rooms = Vec::new();
    let (server, base, chat_ids, tokens) = match target {
        TargetKind::Kolokol => {
            let seeded = seed(data.path(), population.users, &population.chats).await?;
            let mut server = command(&options.server_bin, Some(0), options.pin);
            server
                .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
                .arg(data.path())
                .env("KOLOKOL_WS_QUEUE", "4096");
            let (server, base) = start_server(server)?;
            (server, base, seeded.chat_ids, seeded.tokens)
        }
        TargetKind::Floor => {
            let exe = std::env::current_exe()?;
            let mut server = command(&exe, Some(0), options.pin);
            server.args(["floor", "--listen", "127.0.0.1:0"]);
            let (server, base) = start_server(server)?;
            let chat_ids: Vec<i64> = (1..=population.chats.len() as i64).collect();
            // On the floor a device joins the one group it is in; "floor:<group>" says which.
            let mut tokens = vec![String::new(); population.users];
            for (chat, spec) in population.chats.iter().enumerate() {
                for &member in &spec.members {
                    tokens[member] = format!("floor:{}", chat_ids[chat]);
                }
            }
            (server, base, chat_ids, tokens)
        }
        TargetKind::Synapse => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let mut server = Command::new(&options.synapse_script);
            server.arg(port.to_string()).arg(data.path());
            if !options.pin {
                server.env("BENCH_SYNAPSE_NO_PIN", "1");
            }
            let (server, base) = start_server(server)?;
            wait_for_synapse(&base).await?;
            let started = std::time::Instant::now();
            let (seeded, room_ids) =
                crate::matrix::seed(&base, population.users, &population.chats).await?;
            eprintln!(
                "seeded Synapse with {} users and {} rooms in {:.0} s",
                population.users,
                population.chats.len(),
                started.elapsed().as_secs_f64()
            );
            rooms = room_ids;
            settle(server.0.id()).await?;
            (server, base, seeded.chat_ids, seeded.tokens)
        }
    };
    let server_pid = server.0.id();
    let idle = sample(server_pid)?;

    let chat_sizes: HashMap<i64, u64> = population
        .chats
        .iter()
        .zip(&chat_ids)
        .map(|(spec, &id)| (id, spec.members.len() as u64))
        .collect();
    let sending: HashMap<usize, &Vec<usize>> = population
        .senders
        .iter()
        .map(|(user, chats)| (*user, chats))
        .collect();
    let devices: Vec<Device> = (0..population.users)
        .map(|user| Device {
            token: tokens[user].clone(),
            chats: sending
                .get(&user)
                .map(|chats| chats.iter().map(|&c| chat_ids[c]).collect())
                .unwrap_or_default(),
            sends: sending.contains_key(&user),
        })
        .collect();
    let total_senders = devices.iter().filter(|d| d.sends).count().max(1);
    let target_spec = match target {
        TargetKind::Kolokol => Target::Kolokol { base: base.clone() },
        TargetKind::Floor => Target::Floor { base: base.clone() },
        TargetKind::Synapse => Target::Synapse {
            base: base.clone(),
            rooms,
        },
    };
    let mut workers = Vec::new();
    for (index, share) in devices.chunks(DEVICES_PER_WORKER).enumerate() {
        let senders_here = share.iter().filter(|d| d.sends).count();
        let fraction = senders_here as f64 / total_senders as f64;
        let steps = population
            .steps
            .iter()
            .map(|step| Step {
                rate: step.rate * fraction,
                seconds: step.seconds,
                chat: step.chat.map(|index| chat_ids[index as usize]),
            })
            .collect();
        let job = Job {
            target: target_spec.clone(),
            local_address: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + index as u8)),
            devices: share.to_vec(),
            chat_sizes: chat_sizes.clone(),
            steps,
            drain_seconds: population.drain_seconds,
            storm: population.storm,
        };
        workers.push(WorkerProcess::start(&job, options.pin)?);
    }
    for worker in &mut workers {
        let line = worker.read_line()?;
        if line.trim() != "ready" {
            bail!("a worker said {line:?} instead of ready");
        }
    }
    let connected_sample = sample(server_pid)?;
    let start_ns = now_ns() + (WARMUP_SECONDS * 1e9) as u64;
    for worker in &mut workers {
        serde_json::to_writer(&mut worker.stdin, &Go { start_ns })?;
        worker.stdin.write_all(b"\n")?;
        worker.stdin.flush()?;
    }
    // The server's CPU time and memory at every step boundary.
    let mut samples = Vec::new();
    let mut boundary = start_ns;
    for step in &population.steps {
        sleep_until(boundary).await;
        samples.push(sample(server_pid)?);
        boundary += (step.seconds * 1e9) as u64;
    }
    sleep_until(boundary).await;
    samples.push(sample(server_pid)?);

    let mut reports = Vec::new();
    for worker in &mut workers {
        let line = worker.read_line()?;
        reports.push(serde_json::from_str::<Report>(&line).context("a worker's report")?);
    }
    drop(workers);
    drop(server);
    Ok(combine(
        scenario,
        target,
        &population,
        &reports,
        (idle, connected_sample),
        &samples,
    ))
}

/// Synapse listens a few seconds after it starts; its first line comes before that.
async fn wait_for_synapse(base: &str) -> anyhow::Result<()> {
    let versions = format!("{base}/_matrix/client/versions");
    for _ in 0..600 {
        if let Ok(response) = reqwest::get(&versions).await
            && response.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    bail!("Synapse did not answer at {versions} within a minute")
}

/// Waits until the server has been nearly idle for two seconds running: after thousands of
/// joins Synapse keeps working in the background (user directory, room statistics) for a while,
/// and a run measures delivery, not that.
async fn settle(pid: u32) -> anyhow::Result<()> {
    let mut quiet = 0;
    let mut last = sample(pid)?;
    for _ in 0..600 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let now = sample(pid)?;
        let busy = now.cpu_us.saturating_sub(last.cpu_us);
        last = now;
        quiet = if busy < 50_000 { quiet + 1 } else { 0 };
        if quiet == 2 {
            return Ok(());
        }
    }
    bail!("the server stayed busy for ten minutes after seeding")
}

async fn sleep_until(due_ns: u64) {
    let now = now_ns();
    if due_ns > now {
        tokio::time::sleep(std::time::Duration::from_nanos(due_ns - now)).await;
    }
}

fn combine(
    scenario: Scenario,
    target: TargetKind,
    population: &Population,
    reports: &[Report],
    (idle, connected_sample): (ProcessSample, ProcessSample),
    samples: &[ProcessSample],
) -> RunResult {
    let mut steps: Vec<StepReport> = population.steps.iter().map(|_| StepReport::new()).collect();
    for report in reports {
        for (total, part) in steps.iter_mut().zip(&report.steps) {
            total.add(part);
        }
    }
    let sum = |f: fn(&Report) -> u64| reports.iter().map(f).sum::<u64>();
    let connected = sum(|r| r.connected);
    let step_results = steps
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let seconds = population.steps[index].seconds;
            let cpu_us = samples[index + 1]
                .cpu_us
                .saturating_sub(samples[index].cpu_us);
            let ms = |q: f64| step.latency_us.value_at_quantile(q) as f64 / 1000.0;
            StepResult {
                scenario,
                target,
                step: index,
                offered_per_s: step.offered as f64 / seconds,
                offered_deliveries_per_s: step.offered as f64 / seconds
                    * (step.expected as f64 / step.acknowledged.max(1) as f64),
                acknowledged_per_s: step.acknowledged as f64 / seconds,
                delivered_per_s: step.delivered as f64 / seconds,
                expected: step.expected,
                delivered: step.delivered,
                lost: step.expected.saturating_sub(step.delivered),
                send_errors: step.send_errors,
                p50_ms: ms(0.5),
                p99_ms: ms(0.99),
                max_ms: step.latency_us.max() as f64 / 1000.0,
                server_cpu_us_per_delivery: (step.delivered > 0)
                    .then(|| cpu_us as f64 / step.delivered as f64),
                server_cpu_share: cpu_us as f64 / (seconds * 1e6),
                server_rss_mib: samples[index + 1].rss_kib as f64 / 1024.0,
            }
        })
        .collect();
    let since_drop: Vec<f64> = reports
        .iter()
        .flat_map(|r| r.storm_since_drop_ms.iter().copied())
        .collect();
    let mut catch_up: Vec<f64> = reports
        .iter()
        .flat_map(|r| r.storm_catch_up_ms.iter().copied())
        .collect();
    catch_up.sort_by(f64::total_cmp);
    let storm = population.storm.is_some();
    RunResult {
        scenario,
        target,
        devices: population.users,
        connected,
        connect_errors: sum(|r| r.connect_errors),
        dropped: sum(|r| r.dropped),
        first_error: reports.iter().find_map(|r| r.first_error.clone()),
        duplicates: sum(|r| r.duplicates),
        gaps: sum(|r| r.gaps),
        server_rss_idle_mib: idle.rss_kib as f64 / 1024.0,
        server_rss_connected_mib: connected_sample.rss_kib as f64 / 1024.0,
        rss_per_connection_kib: connected_sample.rss_kib.saturating_sub(idle.rss_kib) as f64
            / connected.max(1) as f64,
        steps: step_results,
        storm_all_caught_up_ms: storm.then(|| since_drop.iter().copied().fold(0.0, f64::max)),
        storm_catch_up_p99_ms: storm
            .then(|| {
                catch_up
                    .get((catch_up.len() * 99 / 100).min(catch_up.len().saturating_sub(1)))
                    .copied()
            })
            .flatten(),
        storm_catch_up_max_ms: storm.then(|| catch_up.last().copied()).flatten(),
        storm_reconnect_errors: sum(|r| r.storm_reconnect_errors),
    }
}
