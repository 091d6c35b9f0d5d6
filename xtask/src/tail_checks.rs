//! `kchan tail` seen from Linux, in the e2e layer: what a Windows test
//! program cannot set up from inside Wine.
//!
//! - A Linux pipe closed by its reader: `wine kchan.exe tail --json | head -5`
//!   must end with exit 0 and only the summary on stderr. (Wine reports the
//!   closed pipe as `ERROR_PIPE_NOT_CONNECTED`, not as a Windows pipe's
//!   `ERROR_NO_DATA`, so the Windows-side test does not cover it.)
//! - A real log shipper: rsyslog's `imfile` follows the NDJSON file that
//!   `kchan tail --json` writes under Wine, `mmjsonparse` parses each line,
//!   and events and gap records land in two files, field by field. rsyslogd
//!   runs in the foreground on a private config (never the system service),
//!   as `nobody` when we are root.
//!
//! Each check counts as one test in the layer's total.

use crate::test::Tally;
use crate::wine::Prefix;
use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs both checks against the loaded driver.
pub fn run(prefix: &Prefix) -> Tally {
    let mut tally = Tally::default();
    for (name, check) in [
        ("kchan tail | head -5 through a Linux pipe", closed_linux_pipe as fn(&Prefix) -> Result<()>),
        ("rsyslog imfile reads kchan tail --json", rsyslog_reads_the_ndjson),
    ] {
        let result = check(prefix);
        match &result {
            Ok(()) => eprintln!("xtask: check `{name}`: passed"),
            Err(err) => eprintln!("xtask: check `{name}`: FAILED: {err:#}"),
        }
        tally.passed += u64::from(result.is_ok());
        tally.failed += u64::from(result.is_err());
    }
    tally
}

/// A scratch directory under `target/`, emptied.
fn scratch(name: &str) -> Result<PathBuf> {
    let dir = crate::target_dir().join("tail-checks").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `wine kchan.exe ARGS`, which must succeed.
fn kchan(prefix: &Prefix, args: &[&str]) -> Result<()> {
    let exe = crate::build::cli_exe();
    let mut all = vec![exe.to_str().context("a UTF-8 path")?];
    all.extend_from_slice(args);
    let out = prefix.wine_output(&all)?;
    ensure!(
        out.status.success(),
        "kchan {args:?} ended with {}; stderr: {:?}; stdout: {:?}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
    Ok(())
}

/// `kchan gen --stop`, the clean-up after a check (not what it checks): a
/// failure is printed and the stop tried once more, so that one lost
/// `wine` start does not fail a check whose subject passed; a second
/// failure fails the check.
fn stop_generator(prefix: &Prefix) -> Result<()> {
    if let Err(first) = kchan(prefix, &["gen", "--stop"]) {
        eprintln!("xtask: warning: {first:#}; stopping the generator again");
        kchan(prefix, &["gen", "--stop"])?;
    }
    Ok(())
}

/// Waits for `child` until `limit`, killing it (it is ours) if it overruns.
fn wait_for(child: &mut Child, limit: Duration, what: &str) -> Result<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{what} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The one stderr line `kchan tail` prints: `kchan tail: E events, G gaps, L lost ...`.
fn summary_counts(stderr: &str) -> Result<(u64, u64, u64)> {
    let line = stderr.trim();
    ensure!(
        line.lines().count() == 1 && line.starts_with("kchan tail: "),
        "stderr is not one summary line: {stderr:?}"
    );
    let words: Vec<&str> = line.split_whitespace().collect();
    let n = |i: usize| words.get(i).and_then(|w| w.parse::<u64>().ok()).context("a count in the summary");
    Ok((n(2)?, n(4)?, n(6)?))
}

fn closed_linux_pipe(prefix: &Prefix) -> Result<()> {
    let dir = scratch("pipe")?;
    kchan(prefix, &["gen", "--rate", "20000", "--burst", "20", "--kind", "12"])?;
    // bash, for PIPESTATUS: kchan's own exit code, not head's.
    let script = r#""$0" "$1" tail --json --kinds 12 2>"$2/stderr" | head -5 >"$2/stdout"; echo "${PIPESTATUS[0]}" >"$2/status""#;
    let exe = crate::build::cli_exe();
    let mut child = prefix
        .command("bash")
        .args(["-c", script, "wine"])
        .arg(&exe)
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let waited = wait_for(&mut child, Duration::from_secs(30), "kchan tail | head -5");
    stop_generator(prefix)?;
    waited?;
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let (status, stdout, stderr) = (read("status"), read("stdout"), read("stderr"));
    ensure!(status.trim() == "0", "kchan tail exited with {status:?}: {stderr}");
    ensure!(stdout.lines().count() == 5, "head printed {stdout:?}");
    for line in stdout.lines() {
        serde_json::from_str::<Value>(line).with_context(|| format!("not JSON: {line}"))?;
    }
    ensure!(!stderr.contains("panic") && stderr.contains("output closed"), "stderr: {stderr:?}");
    summary_counts(&stderr)?;
    Ok(())
}

/// rsyslog's config: follow `input`, parse JSON, events to `events.txt`,
/// gap records to `gaps.txt`, anything unparsed to `bad.txt`.
fn rsyslog_config(input: &Path, work: &Path) -> String {
    let (input, work) = (input.display(), work.display());
    format!(
        r#"global(workDirectory="{work}")
module(load="imfile" mode="polling" pollingInterval="1")
module(load="mmjsonparse")
template(name="event" type="string" string="%$!seq% %$!kind% %$!time% %$!len% %$!payload_b64%\n")
template(name="gap" type="string" string="%$!gap!first_seq% %$!gap!count% %$!gap!reason% %$!time%\n")
input(type="imfile" file="{input}" tag="kchan" ruleset="kchan" freshStartTail="off")
ruleset(name="kchan") {{
  action(type="mmjsonparse" cookie="")
  if $parsesuccess == "OK" and $!v == 1 then {{
    if $!gap != "" then {{ action(type="omfile" file="{work}/gaps.txt" template="gap") }}
    else {{ action(type="omfile" file="{work}/events.txt" template="event") }}
  }} else {{ action(type="omfile" file="{work}/bad.txt") }}
}}
"#
    )
}

/// What rsyslog's two templates make of kchan's lines.
fn expected_rsyslog_lines(ndjson: &str) -> Result<(Vec<String>, Vec<String>)> {
    let (mut events, mut gaps) = (Vec::new(), Vec::new());
    for line in ndjson.lines() {
        let v: Value = serde_json::from_str(line).with_context(|| format!("kchan wrote {line}"))?;
        let s = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
        if let Some(g) = v.get("gap") {
            gaps.push(format!("{} {} {} {}", g["first_seq"], g["count"], s(&g["reason"]), s(&v["time"])));
        } else {
            events.push(format!("{} {} {} {} {}", v["seq"], v["kind"], s(&v["time"]), v["len"], s(&v["payload_b64"])));
        }
    }
    Ok((events, gaps))
}

fn rsyslog_reads_the_ndjson(prefix: &Prefix) -> Result<()> {
    let dir = scratch("rsyslog")?;
    let (input, work) = (dir.join("kchan.ndjson"), dir.join("work"));
    std::fs::create_dir_all(&work)?;
    let config = dir.join("rsyslog.conf");
    std::fs::write(&config, rsyslog_config(&input, &work))?;
    let as_root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false);
    let mut rsyslogd = if as_root {
        let status = Command::new("chown").args(["nobody"]).arg(&work).status()?;
        ensure!(status.success(), "chown nobody {}", work.display());
        let mut c = Command::new("setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "rsyslogd"]);
        c
    } else {
        Command::new("rsyslogd")
    };
    let mut rsyslogd = rsyslogd
        .args(["-n", "-f"])
        .arg(&config)
        .arg("-i")
        .arg(work.join("rsyslogd.pid"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("rsyslogd.log"))?)
        .stderr(std::fs::File::create(dir.join("rsyslogd.err"))?)
        .spawn()
        .context("starting rsyslogd (run `cargo xtask setup`)")?;
    let result = (|| -> Result<()> {
        // A 20 KiB ring under a flat-out generator: events and gap lines.
        kchan(prefix, &["gen", "--rate", "0", "--burst", "256", "--kind", "13"])?;
        let exe = crate::build::cli_exe();
        let tail = prefix
            .command("wine")
            .arg(&exe)
            .args(["tail", "--json", "--kinds", "13", "--ring-bytes", "20K", "--count", "3000"])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&input)?)
            .stderr(std::fs::File::create(dir.join("tail.err"))?)
            .status();
        stop_generator(prefix)?;
        ensure!(tail?.success(), "kchan tail: {}", std::fs::read_to_string(dir.join("tail.err"))?);
        let (events, gaps, _) = summary_counts(&std::fs::read_to_string(dir.join("tail.err"))?)?;
        ensure!(events == 3000 && gaps > 0, "a tiny ring and a flat-out generator give events and gaps");
        let (want_events, want_gaps) = expected_rsyslog_lines(&std::fs::read_to_string(&input)?)?;
        let read_lines = |name: &str| -> Vec<String> {
            std::fs::read_to_string(work.join(name)).unwrap_or_default().lines().map(str::to_string).collect()
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (got_events, got_gaps) = (read_lines("events.txt"), read_lines("gaps.txt"));
            if got_events.len() >= want_events.len() && got_gaps.len() >= want_gaps.len() {
                ensure!(got_events == want_events, "rsyslog's events differ from kchan's lines");
                ensure!(got_gaps == want_gaps, "rsyslog's gaps differ: {got_gaps:?} vs {want_gaps:?}");
                ensure!(!work.join("bad.txt").exists(), "rsyslog could not parse some lines");
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "after 30 s rsyslog wrote {} of {} events and {} of {} gaps; its stderr: {}",
                    got_events.len(),
                    want_events.len(),
                    got_gaps.len(),
                    want_gaps.len(),
                    std::fs::read_to_string(dir.join("rsyslogd.err")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })();
    let _ = rsyslogd.kill(); // our own child, by its handle
    let _ = rsyslogd.wait();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsyslog_lines_are_derived_from_kchan_lines() {
        let ndjson = concat!(
            r#"{"v":1,"seq":0,"kind":13,"time":"2026-01-01T00:00:00.000001Z","qpc":5,"len":2,"payload_b64":"AP8="}"#,
            "\n",
            r#"{"v":1,"time":"2026-01-01T00:00:00.000002Z","qpc":6,"gap":{"first_seq":1,"count":9,"reason":"ring_full"}}"#,
            "\n"
        );
        let (events, gaps) = expected_rsyslog_lines(ndjson).unwrap();
        assert_eq!(events, ["0 13 2026-01-01T00:00:00.000001Z 2 AP8="]);
        assert_eq!(gaps, ["1 9 ring_full 2026-01-01T00:00:00.000002Z"]);
        assert_eq!(
            summary_counts("kchan tail: 3 events, 1 gaps, 9 lost in 0.1 s (count reached)\n").unwrap(),
            (3, 1, 9)
        );
        assert!(summary_counts("thread panicked\nkchan tail: 3 events, 1 gaps, 9 lost").is_err());
    }
}
