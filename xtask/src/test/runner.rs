//! Runs one `cargo test` command: echoes its output, adds up libtest's
//! summaries, and stops it when a test program hangs.
//!
//! libtest has no per-test time limit on stable, so a watchdog thread does
//! it: each test program (cargo's `Running ...` / `Doc-tests ...` line
//! starts one) gets `limit`; past it, the command's whole process group (the
//! test program, its runner under Wine, its children) is killed and the
//! layer counts one failure that names the program and the last test it
//! started (with one test thread libtest prints `test NAME ... ` when the
//! test starts; with more, when it ends).

use super::tally::Tally;
use std::io::{BufRead, BufReader, Read};
#[cfg(unix)]
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the watchdog knows of the command.
#[derive(Default)]
struct Progress {
    /// The test program running now, and since when.
    program: Option<(String, Instant)>,
    /// The last test it started (or reported).
    last_test: Option<String>,
    /// The command has ended.
    ended: bool,
    /// The watchdog killed it: the program and the test.
    timed_out: Option<String>,
}

struct Watch {
    progress: Mutex<Progress>,
    changed: Condvar,
}

impl Watch {
    fn update(&self, f: impl FnOnce(&mut Progress)) {
        f(&mut self.progress.lock().unwrap_or_else(|e| e.into_inner()));
        self.changed.notify_all();
    }
}

/// The test program a line of cargo's stderr starts, if it starts one.
fn program_of(line: &str) -> Option<&str> {
    let line = line.trim_start();
    line.strip_prefix("Running ").or_else(|| line.strip_prefix("Doc-tests ")).map(str::trim)
}

/// The test a line (or the start of one) of libtest's output names:
/// `test NAME ... ok` or, while it runs, `test NAME ... `.
fn test_of(line: &str) -> Option<&str> {
    let (name, _) = line.strip_prefix("test ")?.split_once(" ... ")?;
    Some(name)
}

/// Runs `cmd` (a `cargo test`), echoing its output; the summaries it prints
/// are added up. A program that runs past `limit` is killed and counted as
/// one failure; so is a command that fails without reporting a failed test
/// (a build error, a crash).
pub fn run_tests(name: &str, mut cmd: Command, limit: Duration) -> Tally {
    eprintln!("xtask: test layer `{name}`");
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    #[cfg(unix)]
    cmd.process_group(0); // so that the watchdog can stop everything it started
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(err) => {
            eprintln!("xtask: layer `{name}` did not start: {err}");
            return Tally::ONE_FAILURE;
        }
    };
    let group = child.id();
    let watch = Arc::new(Watch { progress: Mutex::new(Progress::default()), changed: Condvar::new() });
    let stderr = child.stderr.take().expect("piped stderr");
    let stderr_thread = {
        let watch = watch.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                if let Some(program) = program_of(&line) {
                    let program = program.to_string();
                    watch.update(|p| {
                        p.program = Some((program, Instant::now()));
                        p.last_test = None;
                    });
                }
            }
        })
    };
    let watchdog = {
        let watch = watch.clone();
        std::thread::spawn(move || watchdog(&watch, group, limit))
    };

    let mut tally = Tally::default();
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut pending = String::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n @ 1..) = stdout.read(&mut chunk) {
        pending.push_str(&String::from_utf8_lossy(&chunk[..n]));
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            println!("{line}");
            if let Some(summary) = Tally::parse_summary(line) {
                tally.add(summary);
            }
            if let Some(test) = test_of(line) {
                let test = test.to_string();
                watch.update(|p| p.last_test = Some(test));
            }
        }
        // A test that has started and not finished yet: `test NAME ... `.
        if let Some(test) = test_of(&pending) {
            let test = test.to_string();
            watch.update(|p| p.last_test = Some(test));
        }
    }
    if !pending.is_empty() {
        println!("{pending}");
    }
    let ok = child.wait().map(|s| s.success()).unwrap_or(false);
    watch.update(|p| p.ended = true);
    let _ = watchdog.join();
    let _ = stderr_thread.join();
    let timed_out = watch.progress.lock().unwrap_or_else(|e| e.into_inner()).timed_out.take();
    if let Some(what) = timed_out {
        eprintln!("xtask: layer `{name}`: {what} ran past its {} s limit and was killed", limit.as_secs());
        tally.add(Tally::ONE_FAILURE);
    } else if !ok && tally.failed == 0 {
        eprintln!("xtask: layer `{name}` failed before reporting a failed test (build error or crash)");
        tally.add(Tally::ONE_FAILURE);
    }
    eprintln!("xtask: layer `{name}`: {}", tally.line());
    tally
}

/// Waits for the command to end; kills its process group if the program
/// running now has had more than `limit`.
fn watchdog(watch: &Watch, group: u32, limit: Duration) {
    let mut progress = watch.progress.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if progress.ended {
            return;
        }
        let left = match &progress.program {
            Some((_, since)) => limit.saturating_sub(since.elapsed()),
            None => Duration::from_secs(3600), // building: no limit until a program runs
        };
        if left.is_zero() {
            let program = progress.program.as_ref().map_or("?", |(p, _)| p.as_str());
            let test = progress.last_test.as_deref().unwrap_or("none reported");
            progress.timed_out = Some(format!("test program {program} (last test started: {test})"));
            drop(progress);
            // The whole group: cargo, the test program, Wine's loader and
            // the programs a test started.
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{group}")]).status();
            return;
        }
        progress = watch.changed.wait_timeout(progress, left).unwrap_or_else(|e| e.into_inner()).0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_programs_and_tests_from_cargo_and_libtest() {
        assert_eq!(
            program_of("     Running tests/race.rs (target/x/release/deps/race-1234.exe)"),
            Some("tests/race.rs (target/x/release/deps/race-1234.exe)")
        );
        assert_eq!(program_of("   Doc-tests kchan"), Some("kchan"));
        assert_eq!(program_of("   Compiling kchan v0.1.0"), None);
        assert_eq!(test_of("test tests::a_b ... ok"), Some("tests::a_b"));
        assert_eq!(test_of("test tests::a_b ... "), Some("tests::a_b"), "started, not finished");
        assert_eq!(test_of("test result: ok. 1 passed"), None);
    }

    #[test]
    fn a_hanging_test_program_is_killed_and_named() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo '     Running tests/hang.rs' >&2; printf 'test slow::one ... '; sleep 30"]);
        let started = Instant::now();
        let tally = run_tests("watchdog self-test", cmd, Duration::from_millis(500));
        assert!(started.elapsed() < Duration::from_secs(10), "killed, not waited for");
        assert_eq!(tally, Tally::ONE_FAILURE);
    }

    #[test]
    fn a_command_that_fails_without_a_summary_counts_one_failure() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo 'test result: ok. 2 passed; 0 failed; 0 ignored'; exit 1"]);
        assert_eq!(run_tests("self-test", cmd, Duration::from_secs(30)), Tally { passed: 2, failed: 1, skipped: 0 });
    }
}
