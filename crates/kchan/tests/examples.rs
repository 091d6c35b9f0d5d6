//! The crate's examples, run against the driver (layer `e2e`): each must
//! exit successfully and print what it received.
#![cfg(windows)]

use std::path::PathBuf;
use std::process::Command;

/// `target/<triple>/<profile>/examples/<name>.exe`, next to this test's `deps/`.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    profile_dir.join("examples").join(format!("{name}.exe"))
}

fn run(name: &str, arg: &str) -> String {
    let out = Command::new(example(name)).arg(arg).output().unwrap_or_else(|e| panic!("running {name}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{name} failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn roundtrip_example_receives_every_event() {
    let out = run("roundtrip", "1234");
    assert!(out.contains("received 1234 events; last: event 1233"), "{out}");
}

#[test]
fn stream_example_receives_every_event() {
    let out = run("stream", "700");
    assert!(out.contains("received 700 events in"), "{out}");
}
