//! Helpers for the end-to-end tests that drive the workspace's programs as a user would.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Path of the `mollify` binary in the same target directory as the running test.
///
/// Cargo builds binaries only for the package under test, so `scripts/test.sh` runs
/// `cargo build --workspace` first; a missing binary is reported with that instruction.
pub fn mollify_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/mollify
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile> directory");
    let bin = dir.join(format!("mollify{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace` before these tests",
        bin.display()
    );
    bin
}

/// Runs `mollify` with `args` and returns its output, failing with stderr if it exits non-zero.
pub fn run_mollify(args: &[&str]) -> Output {
    let out = Command::new(mollify_bin())
        .args(args)
        .output()
        .expect("spawn mollify");
    assert!(
        out.status.success(),
        "mollify {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
