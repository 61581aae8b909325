//! `kolokol`: the one binary. `kolokol serve` runs the server.

use clap::{Parser, Subcommand};
use kolokol_server::admin::AdminArgs;
use kolokol_server::config::ServeArgs;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "kolokol",
    version,
    about = "Kolokol: a private messenger server for schools and organisations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and WebSocket gateway.
    Serve(Box<ServeArgs>),
    /// Administer organisations on a running server: create one, import its roster, print
    /// claim codes.
    Admin(AdminArgs),
}

/// Allocations this large go straight to the operating system and back. glibc otherwise raises
/// this threshold after the first large free, and the 19 MiB that each Argon2 hash takes then
/// stays in its allocator arenas: 300 sign-ups left the server holding about 440 MB.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_allocations() {
    // SAFETY: mallopt only changes allocator tuning; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_allocations() {}

fn main() -> anyhow::Result<()> {
    return_large_allocations();
    // A node holds one socket per connected device.
    if kolokol_process::raise_open_file_limit().is_err() {
        eprintln!("could not raise the open-file limit; connections may be refused early");
    }
    kolokol_process::runtime()?.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    // RUST_LOG narrows or widens logging; nothing logged carries addresses, tokens or text.
    // axum's server logs each client's address as it connects (at trace): never let it through.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .add_directive("axum::serve=off".parse().expect("a valid directive"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => {
            let settings = args.resolve()?;
            let running = kolokol_server::start(settings).await?;
            // Tests and scripts read this line to learn the port.
            println!("kolokol listening on http://{}", running.addr);
            tokio::select! {
                result = running.wait() => result,
                _ = shutdown_signal() => Ok(()),
            }
        }
        Command::Admin(args) => kolokol_server::admin::run(args).await,
    }
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
