//! `kolokol-loadgen`: drives a real `kolokol serve` (or the bare WebSocket floor) with
//! thousands of devices over loopback and reports what it delivered, how fast, at what cost.
//!
//! ```sh
//! cargo build --release -p kolokol-server -p kolokol-loadgen
//! target/release/kolokol-loadgen run b3                  # one scenario against Kolokol
//! target/release/kolokol-loadgen run b3 --target floor   # the same against the floor
//! target/release/kolokol-loadgen run b3 --target synapse # and against Matrix Synapse
//! target/release/kolokol-loadgen smoke                   # every scenario, tiny and quick
//! ```
//!
//! The load is open loop: each send is due at its scheduled time whatever happened to the one
//! before, and latency counts from that time. See docs/PERFORMANCE.md for the scenarios.

mod floor;
mod machine;
mod matrix;
mod plan;
mod scenario;
mod seed;
mod uploads;
mod worker;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::plan::{Go, Job};
use crate::scenario::{Options, RunResult, Scenario, TargetKind};

#[derive(Parser)]
#[command(name = "kolokol-loadgen", about = "Load generator for Kolokol")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario and print (and save) its results.
    Run {
        scenario: Scenario,
        #[arg(long, value_enum, default_value = "kolokol")]
        target: TargetKind,
        /// Multiplies every count (devices, groups, pairs); 1 is the full scenario.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Seconds per step.
        #[arg(long, default_value_t = 5.0)]
        step_seconds: f64,
        /// B3's offered message rates per second, one step each.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "250,500,1000,1500,2000,2500,3000"
        )]
        rates: Vec<f64>,
        /// B3's and B5's number of 60-member groups, instead of 150 times the scale: a server
        /// that cannot hold 9,000 clients is measured on the same group shape with fewer.
        #[arg(long)]
        groups: Option<usize>,
        #[command(flatten)]
        common: Common,
        /// Also write the results as JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Media: `--files` files of each of `--sizes` MiB uploaded at once (in `--piece-mib`
    /// pieces), then downloaded at once; throughput and the server's memory.
    Uploads {
        #[arg(long, default_value_t = 50)]
        files: usize,
        #[arg(long, value_delimiter = ',', default_value = "10,100")]
        sizes: Vec<u64>,
        #[arg(long, default_value_t = 8)]
        piece_mib: u64,
        #[command(flatten)]
        common: Common,
        /// Also write the results as JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Every scenario at a tiny scale, checking that nothing is lost or repeated.
    Smoke {
        #[command(flatten)]
        common: Common,
    },
    /// The bare WebSocket broadcast server (the floor); prints its address.
    Floor {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
    /// Internal: one worker process, driven by the coordinator over stdin and stdout.
    #[command(hide = true)]
    Worker,
}

#[derive(clap::Args)]
struct Common {
    /// The `kolokol` binary. [default: next to this one]
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Do not pin the server to core 0 and the generator to core 1.
    #[arg(long)]
    no_pin: bool,
    /// The script that installs and starts Synapse, for `--target synapse`.
    #[arg(long, default_value = "scripts/bench-synapse")]
    synapse_script: PathBuf,
}

impl Common {
    fn options(
        &self,
        scale: f64,
        step_seconds: f64,
        rates: Vec<f64>,
        groups: Option<usize>,
    ) -> anyhow::Result<Options> {
        let server_bin = match &self.server_bin {
            Some(path) => path.clone(),
            None => std::env::current_exe()?.with_file_name("kolokol"),
        };
        if !server_bin.is_file() {
            bail!(
                "no kolokol binary at {} (build it, or pass --server-bin)",
                server_bin.display()
            );
        }
        Ok(Options {
            scale,
            step_seconds,
            rates,
            groups,
            server_bin,
            synapse_script: self.synapse_script.clone(),
            pin: !self.no_pin && kolokol_process::cores() >= 2,
        })
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    kolokol_process::raise_open_file_limit().context("raising the open-file limit")?;
    match cli.command {
        Command::Worker => worker(),
        Command::Floor { listen } => kolokol_process::runtime()?.block_on(floor::serve(listen)),
        Command::Run {
            scenario,
            target,
            scale,
            step_seconds,
            rates,
            groups,
            common,
            out,
        } => {
            let options = common.options(scale, step_seconds, rates, groups)?;
            let result =
                kolokol_process::runtime()?.block_on(scenario::run(scenario, target, &options))?;
            print_result(&result);
            if let Some(out) = out {
                std::fs::write(&out, serde_json::to_vec_pretty(&result)?)
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            Ok(())
        }
        Command::Uploads {
            files,
            sizes,
            piece_mib,
            common,
            out,
        } => {
            let options = common.options(1.0, 1.0, Vec::new(), None)?;
            let runtime = kolokol_process::runtime()?;
            let mut runs = Vec::new();
            println!(
                "{:>5} {:>8} {:>10} {:>10} {:>9} {:>11} {:>13}",
                "files",
                "MiB each",
                "up MiB/s",
                "down MiB/s",
                "RSS idle",
                "RSS up peak",
                "RSS down peak"
            );
            for size in sizes {
                let run = runtime.block_on(uploads::run(&options, files, size, piece_mib))?;
                println!(
                    "{:>5} {:>8} {:>10.0} {:>10.0} {:>8.1}M {:>10.1}M {:>12.1}M",
                    run.files,
                    run.file_mib,
                    run.upload_mib_per_s,
                    run.download_mib_per_s,
                    run.rss_idle_mib,
                    run.rss_peak_uploading_mib,
                    run.rss_peak_downloading_mib
                );
                runs.push(run);
            }
            if let Some(out) = out {
                std::fs::write(&out, serde_json::to_vec_pretty(&runs)?)
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            Ok(())
        }
        Command::Smoke { common } => smoke(&common),
    }
}

fn worker() -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let job: Job = serde_json::from_str(&line).context("the job")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (go_sender, go) = tokio::sync::oneshot::channel();
    // The start signal comes on stdin after "ready"; a thread waits for it.
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        let go: Go = serde_json::from_str(&line).unwrap_or(Go { start_ns: 0 });
        let _ = go_sender.send(go.start_ns);
    });
    let report = runtime.block_on(
        worker::Worker::new(job).run(|| println!("ready"), async { go.await.unwrap_or(0) }),
    );
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

fn print_result(result: &RunResult) {
    println!(
        "{:?} against {:?}: {} devices, {} connected, {} connect errors, {} dropped, {} duplicates, {} gaps",
        result.scenario,
        result.target,
        result.devices,
        result.connected,
        result.connect_errors,
        result.dropped,
        result.duplicates,
        result.gaps
    );
    if let Some(error) = &result.first_error {
        println!("first failure: {error}");
    }
    println!(
        "server RSS: {:.1} MiB idle, {:.1} MiB connected, {:.2} KiB per connection",
        result.server_rss_idle_mib, result.server_rss_connected_mib, result.rss_per_connection_kib
    );
    println!(
        "{:>4} {:>10} {:>10} {:>12} {:>8} {:>9} {:>9} {:>9} {:>10} {:>6}",
        "step",
        "offered/s",
        "acked/s",
        "delivered/s",
        "lost",
        "p50 ms",
        "p99 ms",
        "max ms",
        "cpu µs/dl",
        "cpu"
    );
    for step in &result.steps {
        println!(
            "{:>4} {:>10.0} {:>10.0} {:>12.0} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>10} {:>5.0}%",
            step.step,
            step.offered_per_s,
            step.acknowledged_per_s,
            step.delivered_per_s,
            step.lost,
            step.p50_ms,
            step.p99_ms,
            step.max_ms,
            step.server_cpu_us_per_delivery
                .map_or("-".into(), |us| format!("{us:.2}")),
            step.server_cpu_share * 100.0
        );
    }
    if let Some(all) = result.storm_all_caught_up_ms {
        println!(
            "storm: all caught up {all:.0} ms after the drop; catch-up per device p99 {:.0} ms, max {:.0} ms; {} reconnect errors",
            result.storm_catch_up_p99_ms.unwrap_or(0.0),
            result.storm_catch_up_max_ms.unwrap_or(0.0),
            result.storm_reconnect_errors
        );
    }
}

/// Every scenario, small and short, unpinned: fails unless every device connected and every
/// acknowledged message reached every member exactly once.
fn smoke(common: &Common) -> anyhow::Result<()> {
    let mut options = common.options(0.01, 1.0, vec![20.0, 40.0], None)?;
    options.pin = false;
    let runtime = kolokol_process::runtime()?;
    let runs = [
        (Scenario::B1, TargetKind::Kolokol),
        (Scenario::B2, TargetKind::Kolokol),
        (Scenario::B3, TargetKind::Kolokol),
        (Scenario::B3, TargetKind::Floor),
        (Scenario::B4, TargetKind::Kolokol),
        (Scenario::B5, TargetKind::Kolokol),
    ];
    let mut failures = Vec::new();
    for (scenario, target) in runs {
        let result = runtime.block_on(scenario::run(scenario, target, &options))?;
        print_result(&result);
        let lost: u64 = result.steps.iter().map(|s| s.lost + s.send_errors).sum();
        let sent: u64 = result.steps.iter().map(|s| s.expected).sum();
        let problems = [
            (
                result.connected as usize != result.devices,
                "not every device connected",
            ),
            (result.dropped > 0, "connections dropped"),
            (result.duplicates > 0, "duplicate deliveries"),
            (result.gaps > 0, "gaps in seqs"),
            (lost > 0, "lost messages or failed sends"),
            (scenario != Scenario::B1 && sent == 0, "nothing was sent"),
            (
                result.storm_reconnect_errors > 0,
                "resuming after the storm failed",
            ),
        ];
        for (failed, what) in problems {
            if failed {
                failures.push(format!("{scenario:?} against {target:?}: {what}"));
            }
        }
    }
    // The media benchmark, tiny: two files of 1 MiB in 256 KiB pieces, up and down whole.
    if let Err(error) = runtime.block_on(uploads::run(&options, 2, 1, 0)) {
        failures.push(format!("uploads: {error:#}"));
    }
    if failures.is_empty() {
        println!("smoke: every scenario ran clean");
        Ok(())
    } else {
        bail!("smoke failed:\n{}", failures.join("\n"))
    }
}
