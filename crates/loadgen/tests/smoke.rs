//! The generator's smoke mode as a test: every scenario at a tiny scale against the real
//! `kolokol` binary (and the floor), failing unless every device connected and every
//! acknowledged message reached every member exactly once. The benchmarks themselves are not
//! part of the test run; this keeps the instrument honest between benchmark runs.

use std::process::Command;

#[test]
fn every_scenario_runs_clean_at_a_tiny_scale() {
    let loadgen = std::path::Path::new(env!("CARGO_BIN_EXE_kolokol-loadgen"));
    // `cargo test --workspace` builds the server's binary into the same folder.
    let server = loadgen.with_file_name("kolokol");
    assert!(
        server.is_file(),
        "no kolokol binary at {}: run `cargo build -p kolokol-server` (the workspace test run does)",
        server.display()
    );
    let output = Command::new(loadgen)
        .arg("smoke")
        .arg("--server-bin")
        .arg(&server)
        .output()
        .expect("run kolokol-loadgen smoke");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "smoke failed\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("smoke: every scenario ran clean"),
        "{stdout}"
    );
}
