//! Installs what kchan's build needs, once: Debian packages, the rustup
//! target and the rustfmt and clippy components. Idempotent: when everything
//! is present it only looks (well under a second) and installs nothing.

use anyhow::{bail, Context, Result};
use std::process::Command;

/// Debian packages the build and the Wine harness need.
/// `gcc-mingw-w64-x86-64` brings the linker, the DDK headers and
/// `libntoskrnl.a`; `binutils-mingw-w64-x86-64` the `objdump` and `objcopy`
/// the image checks and the package use; `wine64` runs the driver and the
/// Windows programs. `g++-mingw-w64-x86-64-win32` compiles the user-mode
/// header `kchan.h` as C++ in its test (the `win32` thread model, as the C
/// compiler's). `osslsigncode`, `openssl` and `zip` make the signed
/// package: Debian 12's own osslsigncode (2.5) signs kernel images as
/// bookworm-backports' 2.9 does (same digest, correct PE checksum), so
/// stable's is enough. `rsyslog` is the log shipper the e2e layer runs (its
/// own `rsyslogd` on a private config) against `kchan tail --json` (where
/// systemd runs, Debian's package also enables the system's rsyslog service;
/// the tests never use it). `gcc` is the host C compiler: Rust links with
/// it, and a native test builds the C client's batch reader with
/// AddressSanitizer and UBSan, whose runtimes (`libasan8`, `libubsan1`)
/// Debian's gcc brings.
const PACKAGES: &[&str] = &[
    "gcc",
    "wine",
    "wine64",
    "gcc-mingw-w64-x86-64",
    "g++-mingw-w64-x86-64-win32",
    "binutils-mingw-w64-x86-64",
    "osslsigncode",
    "openssl",
    "zip",
    "rsyslog",
];

/// The rustup target everything Windows is built for.
const TARGET: &str = crate::WINDOWS_TARGET;

/// rustup components the lint layer runs (`cargo fmt --check`, `cargo clippy`).
const COMPONENTS: &[&str] = &["rustfmt", "clippy"];

/// Installs whatever is missing; prints nothing when nothing is.
pub fn run() -> Result<()> {
    let missing: Vec<&str> = PACKAGES.iter().copied().filter(|p| !deb_installed(p)).collect();
    if !missing.is_empty() {
        install_debs(&missing)?;
    }
    if !rust_target_installed()? {
        eprintln!("xtask: adding the Rust target {TARGET}");
        let status = Command::new("rustup")
            .args(["target", "add", TARGET])
            .status()
            .context("running rustup (is Rust installed through rustup?)")?;
        if !status.success() {
            bail!("`rustup target add {TARGET}` failed");
        }
    }
    let components = rustup_installed(&["component", "list", "--installed"])?;
    for component in COMPONENTS {
        if !components.iter().any(|c| c.starts_with(&format!("{component}-"))) {
            eprintln!("xtask: adding the Rust component {component}");
            let status = Command::new("rustup").args(["component", "add", component]).status()?;
            if !status.success() {
                bail!("`rustup component add {component}` failed");
            }
        }
    }
    Ok(())
}

fn deb_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn install_debs(missing: &[&str]) -> Result<()> {
    let install = format!(
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends {}",
        missing.join(" ")
    );
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let mut cmd = if is_root {
        let mut c = Command::new("sh");
        c.args(["-c", &install]);
        c
    } else if Command::new("sudo").args(["-n", "true"]).status().map(|s| s.success()).unwrap_or(false) {
        let mut c = Command::new("sudo");
        c.args(["-n", "sh", "-c", &install]);
        c
    } else {
        bail!("missing Debian packages: {}. Install them as root with:\n  sudo sh -c '{install}'", missing.join(" "));
    };
    eprintln!("xtask: installing Debian packages: {}", missing.join(" "));
    if !cmd.status().context("running apt-get")?.success() {
        bail!("installing {} failed", missing.join(" "));
    }
    Ok(())
}

fn rust_target_installed() -> Result<bool> {
    Ok(rustup_installed(&["target", "list", "--installed"])?.iter().any(|l| l == TARGET))
}

/// The lines `rustup <args>` prints, trimmed.
fn rustup_installed(args: &[&str]) -> Result<Vec<String>> {
    let out =
        Command::new("rustup").args(args).output().context("running rustup (is Rust installed through rustup?)")?;
    Ok(String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().to_string()).collect())
}
