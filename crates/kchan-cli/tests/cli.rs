//! The `kchan` command against the driver, under Wine (layer `e2e`): every
//! command's output is parsed and checked, not only its exit code.
#![cfg(windows)]

use kchan::proto::Record;
use kchan::{Device, SubscribeOptions};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

/// `kchan.exe`, built next to this test's `deps/` directory.
fn kchan_exe() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|deps| deps.parent()).unwrap().join("kchan.exe")
}

fn kchan(args: &[&str]) -> Output {
    Command::new(kchan_exe()).args(args).output().expect("kchan.exe runs")
}

fn ok(args: &[&str]) -> String {
    let out = kchan(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "kchan {args:?} failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Runs `kchan ARGS`, which must fail with one stderr line containing `hint`.
fn fails_with_one_line(args: &[&str], hint: &str) {
    let out = kchan(args);
    assert!(!out.status.success(), "{args:?} must fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(hint), "{args:?}: {stderr}");
}

#[test]
fn stats_json_has_the_channel_counters() {
    let v: Value = serde_json::from_str(ok(&["stats", "--json"]).trim()).expect("one JSON object");
    for key in
        ["published", "dropped", "dropped_at_close", "subscribers", "pending_receives", "pool_bytes", "gen_running"]
    {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    // `kchan stats` only reads: its handle never subscribes, so it may see 0.
    assert!(v["subscribers"].is_u64(), "{v}");
    let text = ok(&["stats"]);
    assert!(text.contains("published") && text.contains("generator"), "{text}");
    assert!(text.contains("left unread by handles that closed"), "{text}");
}

#[test]
fn inject_publishes_what_it_is_given() {
    let device = Device::open().unwrap();
    let mut sub = device.subscribe(SubscribeOptions::new().kinds(1 << 9)).unwrap();
    let out = ok(&["inject", "--kind", "9", "--data", "hello", "--count", "5"]);
    assert!(out.contains("injected 5 event(s) of kind 9, 5 bytes each"), "{out}");
    let mut got = Vec::new();
    while got.len() < 5 {
        let batch = sub.next_batch_timeout(Duration::from_secs(5)).unwrap().expect("events arrive");
        for r in batch.records() {
            if let Record::Event { kind, payload, .. } = r {
                got.push((kind, payload.to_vec()));
            }
        }
    }
    assert!(got.iter().all(|(k, p)| *k == 9 && p == b"hello"), "{got:?}");
}

#[test]
fn gen_runs_for_a_while_and_reports_what_it_produced() {
    let out = ok(&["gen", "--rate", "5000", "--size", "16", "--seconds", "0.5"]);
    let produced: u64 = out
        .split("stopped after")
        .nth(1)
        .and_then(|rest| rest.split(':').nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {out}"));
    assert!(produced > 0, "{out}");
    let v: Value = serde_json::from_str(ok(&["stats", "--json"]).trim()).unwrap();
    assert_eq!(v["gen_running"], false, "the generator was stopped");
}

#[test]
fn monitor_json_streams_numbers_and_ends_with_a_summary() {
    let out = ok(&["monitor", "--json", "--seconds", "2", "--gen-rate", "2000", "--refresh", "4"]);
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert!(lines.len() >= 3, "refreshed several times: {out}");
    let summary = lines.last().unwrap();
    assert_eq!(summary["summary"], true);
    assert!(summary["events"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(summary["dropped_ring_full"], 0, "{summary}");
    assert!(summary["p50_us"].as_u64().unwrap() > 0, "{summary}");
    for line in &lines[..lines.len() - 1] {
        assert!(line.get("events_per_s").is_some() && line.get("p99_us").is_some(), "{line}");
    }
}

#[test]
fn monitor_text_shows_rates_and_a_summary() {
    let out = ok(&["monitor", "--seconds", "1", "--gen-rate", "1000"]);
    assert!(out.contains("ev/s") && out.contains("latency p50"), "{out}");
    assert!(out.contains("summary:") && out.contains("events in"), "{out}");
}

#[test]
fn bad_arguments_get_one_line_naming_the_fix() {
    for (args, hint) in [
        (&["monitor", "--kinds", "99"][..], "0 to 63"),
        (&["inject", "--kind", "1"][..], "--data"),
        (&["gen", "--rate", "fast"][..], "invalid value"),
    ] {
        fails_with_one_line(args, hint);
    }
}

#[test]
fn more_receives_in_flight_than_the_driver_allows_get_one_line_naming_its_limit() {
    let limit = Device::open().unwrap().version().max_in_flight;
    let out = kchan(&["monitor", "--in-flight", &(limit + 36).to_string(), "--seconds", "1"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("receives in flight") && stderr.contains(&format!("1 to {limit}")), "{stderr}");
}

/// Stops and starts the driver through the Service Control Manager; the
/// guard restarts it even if an assertion fails, for the tests after this.
#[test]
fn driver_stop_status_start_through_the_service_manager() {
    struct Restart;
    impl Drop for Restart {
        fn drop(&mut self) {
            let _ = kchan(&["driver", "start"]);
        }
    }
    let _restart = Restart;
    let status = ok(&["driver", "status"]);
    assert!(status.contains("service kchan: running") && status.contains("opens"), "{status}");
    assert!(ok(&["driver", "stop"]).contains("stopped"));
    let out = kchan(&["driver", "status"]);
    assert!(!out.status.success(), "no device while stopped");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kchan driver install"), "a missing driver gets the command that installs it: {stderr}");
    assert!(ok(&["driver", "start"]).contains("running"));
    assert!(ok(&["driver", "status"]).contains("service kchan: running"));
}

#[test]
fn device_is_reached_by_name_with_or_without_its_prefix() {
    for device in ["kchan", r"\\.\kchan"] {
        let v: Value = serde_json::from_str(ok(&["stats", "--json", "--device", device]).trim()).unwrap();
        assert!(v["protocol_version"].as_u64().unwrap() > 0, "{device}: {v}");
    }
    assert!(ok(&["--device", "kchan", "stats"]).contains(r"kchan driver at \\.\kchan"));
    for (args, hint) in [
        (&["stats", "--device", "nosuch"][..], r"no device \\.\nosuch"),
        (&["tail", "--device", "nosuch"][..], r"no device \\.\nosuch"),
        (&["monitor", "--device", "a/b"][..], "not a device name"),
        (&["driver", "status", "--service", "nosuch"][..], "nosuch service is not installed"),
        (&["driver", "install", "--sys", r"C:\no\such.sys"][..], "no driver image"),
    ] {
        fails_with_one_line(args, hint);
    }
}

/// Installs a copy of kchan.sys under a service of another name (kchan's
/// own service stopped, since both create `\\.\kchan`), reaches it, and
/// puts everything back; the guard restores kchan even if an assertion fails.
#[test]
fn driver_install_takes_an_image_and_a_service_name() {
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = kchan(&["driver", "uninstall", "--service", "kchan-copy"]);
            let _ = kchan(&["driver", "start"]);
        }
    }
    let _restore = Restore;
    let copy = std::env::temp_dir().join("kchan-copy.sys");
    std::fs::copy(kchan_exe().with_file_name("kchan.sys"), &copy).unwrap();
    let copy = copy.to_string_lossy();
    assert!(ok(&["driver", "stop"]).contains("kchan driver stopped"));
    // No --service: the service is named after the image.
    let out = ok(&["driver", "install", "--sys", &copy]);
    assert!(out.contains("service kchan-copy created for") && out.contains("kchan-copy driver running"), "{out}");
    let status = ok(&["driver", "status", "--service", "kchan-copy", "--device", "kchan"]);
    assert!(status.contains("service kchan-copy: running") && status.contains(r"\\.\kchan opens"), "{status}");
    assert!(ok(&["driver", "status", "--service", "kchan"]).contains("service kchan: stopped"));
    assert!(ok(&["driver", "stop", "--service", "kchan-copy"]).contains("kchan-copy driver stopped"));
    assert!(ok(&["driver", "start", "--service", "kchan-copy"]).contains("kchan-copy driver running"));
    assert!(ok(&["driver", "uninstall", "--service", "kchan-copy"]).contains("kchan-copy service deleted"));
    assert!(ok(&["driver", "start"]).contains("kchan driver running"));
    assert!(ok(&["driver", "status"]).contains("service kchan: running"));
}
