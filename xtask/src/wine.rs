//! The project's own Wine prefix: `target/wine`, never `~/.wine`.
//!
//! Every Wine call made by xtask goes through [`Prefix::command`], which sets
//! `WINEPREFIX`, `WINEDEBUG=-all` (override with `KCHAN_WINEDEBUG`) and turns
//! off the Mono/Gecko installers. The prefix is created on first use
//! (`wineboot -i`) and gets the `bcryptprimitives.dll` shim that Rust std
//! programs need under Wine 8 (see `shim/`). Only this prefix's wineserver is
//! ever stopped.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static OUTPUT_SEQ: AtomicU32 = AtomicU32::new(0);

/// A Wine prefix and the environment every Wine call in it runs with.
pub struct Prefix {
    dir: PathBuf,
}

/// Written once `wineboot -i` has finished, so an interrupted creation is redone.
const READY_STAMP: &str = ".kchan-prefix-ready";

impl Prefix {
    /// The project's prefix: `target/wine`, or `KCHAN_WINEPREFIX` when set
    /// (parallel runs need separate prefixes). Not created yet.
    pub fn project() -> Prefix {
        let dir =
            std::env::var_os("KCHAN_WINEPREFIX").map(PathBuf::from).unwrap_or_else(|| crate::target_dir().join("wine"));
        Prefix { dir }
    }

    /// The project's prefix, created and shimmed if it is not yet.
    pub fn ensure() -> Result<Prefix> {
        let prefix = Prefix::project();
        if !prefix.dir.join(READY_STAMP).exists() {
            prefix.create()?;
        }
        prefix.install_shim()?;
        Ok(prefix)
    }

    /// The prefix directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `C:\windows\system32` of this prefix, as a Linux path.
    pub fn system32(&self) -> PathBuf {
        self.dir.join("drive_c/windows/system32")
    }

    /// A command (`wine`, `wineserver`, ...) with this prefix's environment.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        let debug = std::env::var("KCHAN_WINEDEBUG").unwrap_or_else(|_| "-all".into());
        cmd.env("WINEPREFIX", &self.dir).env("WINEDEBUG", debug).env("WINEDLLOVERRIDES", "mscoree,mshtml=");
        cmd
    }

    /// `wine <program> <args>`, with its output captured.
    ///
    /// Output goes through files, not pipes: the first Wine program of a
    /// session starts Wine's daemons (services.exe, winedevice.exe) with its
    /// standard handles, and a daemon holding our pipe open would make us
    /// wait for EOF until the session ends.
    pub fn wine_output(&self, args: &[&str]) -> Result<std::process::Output> {
        let dir = crate::target_dir().join("wine-output");
        std::fs::create_dir_all(&dir)?;
        let unique = format!("{}-{}", std::process::id(), OUTPUT_SEQ.fetch_add(1, Ordering::Relaxed));
        let (out_path, err_path) = (dir.join(format!("{unique}.out")), dir.join(format!("{unique}.err")));
        let status = self
            .command("wine")
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path)?)
            .stderr(std::fs::File::create(&err_path)?)
            .status()
            .with_context(|| format!("running wine {args:?}"))?;
        let output = std::process::Output {
            status,
            stdout: std::fs::read(&out_path).unwrap_or_default(),
            stderr: std::fs::read(&err_path).unwrap_or_default(),
        };
        let _ = std::fs::remove_file(out_path);
        let _ = std::fs::remove_file(err_path);
        Ok(output)
    }

    /// Starts the prefix's Wine session (services.exe and friends) with no
    /// standard handles of ours, so later programs find it running.
    ///
    /// The session's daemons (and `winedevice.exe`, which hosts the driver)
    /// write their stderr to [`Prefix::session_log`], with Wine's `seh`
    /// channel on (`WINEDEBUG=-all,+seh` unless `KCHAN_WINEDEBUG` says
    /// otherwise), so a test can see whether the driver host took an
    /// unhandled exception.
    pub fn start_session(&self) -> Result<()> {
        let log = self.session_log();
        std::fs::create_dir_all(log.parent().expect("log dir"))?;
        let debug = std::env::var("KCHAN_WINEDEBUG").unwrap_or_else(|_| "-all,+seh".into());
        let status = self
            .command("wine")
            .args(["cmd", "/c", "exit"])
            .env("WINEDEBUG", debug)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::OpenOptions::new().create(true).append(true).open(&log)?)
            .status()?;
        if !status.success() {
            bail!("starting the Wine session failed: {status}");
        }
        Ok(())
    }

    /// Where the session's daemons write their stderr (see
    /// [`Prefix::start_session`]).
    pub fn session_log(&self) -> PathBuf {
        crate::target_dir().join("wine-output").join("session.log")
    }

    /// Stops this prefix's wineserver and every Wine process in it, and waits
    /// until they are gone. Other prefixes are left alone.
    pub fn kill_server(&self) -> Result<()> {
        if !self.dir.exists() {
            return Ok(());
        }
        // `-k` kills; `-w` waits for the server to exit. Both are no-ops
        // when no server runs for this prefix.
        self.command("wineserver").arg("-k").stderr(Stdio::null()).status()?;
        self.command("wineserver").arg("-w").stderr(Stdio::null()).status()?;
        Ok(())
    }

    /// Starts a fresh wineserver that stays up between Wine programs, so that
    /// a loaded driver survives until the guard is dropped; the guard stops
    /// the server (and with it the driver's host, winedevice.exe).
    pub fn persistent_server(&self) -> Result<ServerGuard<'_>> {
        self.kill_server()?;
        let status = self.daemon_command("-p").status().context("starting wineserver -p")?;
        if !status.success() {
            bail!("wineserver -p failed: {status}");
        }
        let guard = ServerGuard { prefix: self };
        // A fresh session, a fresh log.
        let _ = std::fs::remove_file(self.session_log());
        self.start_session()?;
        Ok(guard)
    }

    /// Starts a persistent wineserver for this prefix if none runs, and
    /// leaves it running. (A server already running is left as it is: `-p`
    /// then exits with code 2 and does not make that one persistent.)
    pub fn keep_server(&self) -> Result<()> {
        self.daemon_command("-p").status().context("starting wineserver -p")?;
        self.start_session()
    }

    /// `wineserver <flag>` with no standard handles of ours: the server it
    /// starts outlives the call and would hold a pipe open (a caller's
    /// `| tail` would then wait for it).
    fn daemon_command(&self, flag: &str) -> Command {
        let mut cmd = self.command("wineserver");
        cmd.arg(flag).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        cmd
    }

    fn create(&self) -> Result<()> {
        eprintln!("xtask: creating the Wine prefix {} (once; takes a few seconds)", self.dir.display());
        std::fs::create_dir_all(&self.dir)?;
        let out = self.wine_output(&["wineboot", "-i"])?;
        for line in String::from_utf8_lossy(&out.stdout).lines().chain(String::from_utf8_lossy(&out.stderr).lines()) {
            if !is_harmless_wineboot_line(line) {
                eprintln!("{line}");
            }
        }
        if !out.status.success() {
            bail!("`wine wineboot -i` exited with {}", out.status);
        }
        self.command("wineserver").arg("-w").status()?;
        std::fs::write(self.dir.join(READY_STAMP), b"")?;
        Ok(())
    }

    /// Builds `shim/bcryptprimitives.dll` from source (when the source is newer)
    /// and copies it into the prefix (when it differs).
    fn install_shim(&self) -> Result<()> {
        let root = crate::workspace_root();
        let src = root.join("shim/bcryptprimitives.c");
        let def = root.join("shim/bcryptprimitives.def");
        let out_dir = crate::target_dir().join("shim");
        let dll = out_dir.join("bcryptprimitives.dll");
        if is_stale(&dll, &[&src, &def]) {
            std::fs::create_dir_all(&out_dir)?;
            let status = Command::new("x86_64-w64-mingw32-gcc")
                .args(["-O2", "-shared", "-o"])
                .arg(&dll)
                .arg(&src)
                .arg(&def)
                .arg("-ladvapi32")
                .status()
                .context("running x86_64-w64-mingw32-gcc (run `cargo xtask setup`)")?;
            if !status.success() {
                bail!("building the bcryptprimitives shim failed");
            }
        }
        let installed = self.system32().join("bcryptprimitives.dll");
        let fresh = std::fs::read(&dll)?;
        if std::fs::read(&installed).ok().as_deref() != Some(&fresh[..]) {
            std::fs::write(&installed, &fresh).with_context(|| format!("installing {}", installed.display()))?;
        }
        Ok(())
    }
}

/// Keeps the prefix's wineserver alive; stops it (and all its Wine processes)
/// when dropped, so no Wine process outlives the harness.
pub struct ServerGuard<'a> {
    prefix: &'a Prefix,
}

impl Drop for ServerGuard<'_> {
    fn drop(&mut self) {
        if let Err(err) = self.prefix.kill_server() {
            eprintln!("xtask: stopping wineserver: {err:#}");
        }
    }
}

/// Lines `wineboot -i` prints that say nothing is wrong: the prefix was
/// created, and Wine's 32-bit half (`syswow64`), which Debian's `wine64`
/// alone does not bring and kchan does not need, could not run its
/// `rundll32.exe`.
fn is_harmless_wineboot_line(line: &str) -> bool {
    let line = line.trim();
    (line.starts_with("wine: failed to open") && line.contains("rundll32.exe"))
        || line.starts_with("wine: created the configuration directory")
        || (line.starts_with("wine: configuration in") && line.ends_with("has been updated."))
}

/// True when `output` is missing or older than any of `inputs`.
pub fn is_stale(output: &Path, inputs: &[&Path]) -> bool {
    let Ok(out_time) = std::fs::metadata(output).and_then(|m| m.modified()) else {
        return true;
    };
    inputs.iter().any(|i| std::fs::metadata(i).and_then(|m| m.modified()).map(|t| t > out_time).unwrap_or(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wineboots_known_harmless_lines_are_told_apart() {
        assert!(is_harmless_wineboot_line(r#"wine: failed to open L"C:\\windows\\syswow64\\rundll32.exe": c0000135"#));
        assert!(is_harmless_wineboot_line("wine: created the configuration directory '/tmp/p'"));
        assert!(is_harmless_wineboot_line(r#"wine: configuration in L"/tmp/p" has been updated."#));
        assert!(!is_harmless_wineboot_line(r#"wine: failed to open L"C:\\windows\\system32\\kchan.exe": c0000135"#));
        assert!(!is_harmless_wineboot_line("err:module:import_dll Library bcryptprimitives.dll not found"));
    }
}
