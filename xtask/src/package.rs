//! `cargo xtask package`: everything a Windows test machine needs, in one zip.
//!
//! `target/package/kchan-<version>-windows-x64.zip` holds:
//! - `kchan.sys`, debug sections stripped (their content kept beside it in
//!   `kchan.debug`, linked by `.gnu_debuglink`), checked like every build's
//!   image, then test-signed (SHA-256, embedded) with `osslsigncode`;
//! - `kchan-test.cer`, the test certificate it is signed with;
//! - `kchan.exe`, `kchan-bench.exe`, `examples\*.exe` (the client
//!   examples, Rust and C) and `tests\*.exe` (every end-to-end test
//!   program, which find `kchan.exe` and `examples\` one directory up, as
//!   under cargo);
//! - `run-tests.ps1` and `README-windows.txt` from `windows/`.
//!
//! The certificate and its key are made once with `openssl` and kept in
//! `target/package/certificate/` (never committed; `cargo clean` makes a
//! new one). The signature is verified against it before the zip is written.

use crate::build::{cargo, run, windows_release_dir, C_PROGRAMS, DRIVER_IMAGES, KCHAN_PACKAGE};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The end-to-end test programs: the integration tests of these packages
/// (what the `e2e` test layer runs under Wine).
const E2E_PACKAGES: &[&str] = &["kchan-e2e", "kchan", "kchan-cli"];
/// Programs copied as they are built. `hold-receives.exe` is a helper the
/// e2e tests start (built with them); they look for it, like `kchan.exe`,
/// one directory above their own.
const PROGRAMS: &[&str] = &["kchan.exe", "kchan-bench.exe", "hold-receives.exe"];
/// Files of `windows/` shipped at the top of the package.
const WINDOWS_FILES: &[&str] = &["run-tests.ps1", "README-windows.txt"];
/// The certificate's subject; also shown by Windows for the signer.
const CERT_SUBJECT: &str = "/CN=kchan test signing (not for release)";
const CERT_FILE: &str = "kchan-test.cer";

const OBJCOPY: &str = "x86_64-w64-mingw32-objcopy";

/// Builds, signs, checks and zips; prints the zip's path.
pub fn run_package() -> Result<()> {
    crate::setup::run()?;
    crate::build::all()?;
    let tests = e2e_test_programs()?;
    let version = driver_version()?;
    let name = format!("kchan-{version}-windows-x64");
    let out = crate::target_dir().join("package");
    let stage = out.join(&name);
    if stage.exists() {
        std::fs::remove_dir_all(&stage).with_context(|| format!("removing {}", stage.display()))?;
    }
    std::fs::create_dir_all(stage.join("tests"))?;
    std::fs::create_dir_all(stage.join("examples"))?;

    let cert = Certificate::ensure(&out.join("certificate"))?;
    for image in DRIVER_IMAGES {
        package_driver(&image.path(), &stage, &cert)?;
    }
    std::fs::copy(&cert.der, stage.join(CERT_FILE))?;

    for program in PROGRAMS {
        copy_program(&windows_release_dir().join(program), &stage.join(program))?;
    }
    for (example, exe) in examples()? {
        copy_program(&exe, &stage.join("examples").join(format!("{example}.exe")))?;
    }
    for program in C_PROGRAMS {
        copy_program(&program.path(), &stage.join("examples").join(program.exe))?;
    }
    for (target, exe) in &tests {
        let dest = stage.join("tests").join(format!("{target}.exe"));
        if dest.exists() {
            bail!("two e2e test programs are named {target}");
        }
        copy_program(exe, &dest)?;
    }
    let windows = crate::workspace_root().join("windows");
    for file in WINDOWS_FILES {
        std::fs::copy(windows.join(file), stage.join(file)).with_context(|| format!("copying windows/{file}"))?;
    }

    let zip = out.join(format!("{name}.zip"));
    let _ = std::fs::remove_file(&zip);
    let mut cmd = Command::new("zip");
    cmd.current_dir(&out).args(["-q", "-r", "-X"]).arg(&zip).arg(&name);
    run(cmd, "zip")?;
    println!("{} ({} test programs)", zip.display(), tests.len());
    Ok(())
}

/// The test certificate: a self-signed code-signing certificate and its key.
pub struct Certificate {
    key: PathBuf,
    pem: PathBuf,
    der: PathBuf,
}

impl Certificate {
    /// The certificate in `dir`, made there with `openssl` if it is not yet.
    pub fn ensure(dir: &Path) -> Result<Certificate> {
        let cert =
            Certificate { key: dir.join("kchan-test.key"), pem: dir.join("kchan-test.pem"), der: dir.join(CERT_FILE) };
        if cert.key.exists() && cert.pem.exists() && cert.der.exists() {
            return Ok(cert);
        }
        std::fs::create_dir_all(dir)?;
        eprintln!("xtask: creating the test signing certificate in {} (once)", dir.display());
        let mut req = Command::new("openssl");
        req.args(["req", "-x509", "-newkey", "rsa:3072", "-sha256", "-days", "3650", "-nodes", "-subj", CERT_SUBJECT])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .args(["-addext", "keyUsage=critical,digitalSignature"])
            .args(["-addext", "extendedKeyUsage=codeSigning"])
            .arg("-keyout")
            .arg(&cert.key)
            .arg("-out")
            .arg(&cert.pem)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        run(req, "openssl req (test certificate)")?;
        let mut der = Command::new("openssl");
        der.args(["x509", "-outform", "DER", "-in"]).arg(&cert.pem).arg("-out").arg(&cert.der);
        run(der, "openssl x509 (DER certificate)")?;
        Ok(cert)
    }

    /// Signs `input` into `output`: SHA-256, the signature embedded.
    pub fn sign(&self, input: &Path, output: &Path) -> Result<()> {
        let _ = std::fs::remove_file(output);
        let mut cmd = Command::new("osslsigncode");
        cmd.args(["sign", "-h", "sha256", "-n", "kchan test driver", "-certs"])
            .arg(&self.pem)
            .arg("-key")
            .arg(&self.key)
            .arg("-in")
            .arg(input)
            .arg("-out")
            .arg(output)
            .stdout(std::process::Stdio::null());
        run(cmd, "osslsigncode sign")
    }

    /// `osslsigncode verify` of `signed` against this certificate: the
    /// digest, the page hashes if any, the PE checksum and the chain.
    pub fn verify(&self, signed: &Path) -> Result<()> {
        let out = Command::new("osslsigncode")
            .args(["verify", "-CAfile"])
            .arg(&self.pem)
            .arg("-in")
            .arg(signed)
            .output()
            .context("running osslsigncode (run `cargo xtask setup`)")?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if !out.status.success() || !text.contains("Signature verification: ok") || text.contains("MISMATCH") {
            bail!("osslsigncode verify refused {}:\n{text}", signed.display());
        }
        Ok(())
    }
}

/// Strips, checks, signs and verifies one driver image into `stage`.
fn package_driver(built: &Path, stage: &Path, cert: &Certificate) -> Result<()> {
    let file = built.file_name().expect("file name");
    let stem = built.file_stem().expect("file stem").to_string_lossy().into_owned();
    let debug = stage.join(format!("{stem}.debug"));
    let stripped = crate::target_dir().join("package").join(file);
    let mut keep = Command::new(OBJCOPY);
    keep.arg("--only-keep-debug").arg(built).arg(&debug);
    run(keep, "objcopy --only-keep-debug")?;
    let mut strip = Command::new(OBJCOPY);
    strip.arg("--strip-debug").arg(format!("--add-gnu-debuglink={}", debug.display())).arg(built).arg(&stripped);
    run(strip, "objcopy --strip-debug")?;
    // The file changed: its checksum is written anew, then everything checked.
    crate::pecheck::checksum::fix(&stripped)?;
    crate::build::finish_image(&stripped)?;
    let signed = stage.join(file);
    cert.sign(&stripped, &signed)?;
    cert.verify(&signed)?;
    // Signing appends the signature and rewrites the checksum: check again.
    let report = crate::pecheck::inspect(&signed)?;
    if !report.problems.is_empty() {
        bail!("the signed {} fails the image checks: {}", signed.display(), report.problems.join("; "));
    }
    eprintln!("xtask: {} signed and verified", signed.display());
    Ok(())
}

/// Copies a Windows program, without debug sections, after checking that it
/// imports only DLLs of Windows ([`crate::pecheck::program`]).
fn copy_program(from: &Path, to: &Path) -> Result<()> {
    crate::pecheck::program::check_user_program(from)?;
    // Their DWARF is of no use on Windows; without it the zip is a fifth the size.
    let mut strip = Command::new(OBJCOPY);
    strip.arg("--strip-debug").arg(from).arg(to);
    run(strip, "objcopy --strip-debug")
}

/// The client examples (`cargo build --examples` of the client library,
/// as `build::windows_programs` built them), with their executables.
fn examples() -> Result<Vec<(String, PathBuf)>> {
    let mut cmd = cargo();
    cmd.args(["build", "--quiet", "--message-format=json", "--release", "--target", crate::WINDOWS_TARGET]).args([
        "-p",
        "kchan",
        "--examples",
    ]);
    let found = executables(&cmd_json(cmd, "building the client examples")?, "example");
    if found.is_empty() {
        bail!("cargo built no client example");
    }
    Ok(found)
}

/// Runs a cargo command with `--message-format=json`; its standard output.
fn cmd_json(mut cmd: Command, what: &str) -> Result<String> {
    let out = cmd.stderr(std::process::Stdio::inherit()).output().with_context(|| format!("{what}: running cargo"))?;
    if !out.status.success() {
        bail!("{what} failed");
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Builds the e2e test programs and returns (test target name, executable),
/// as `cargo test --no-run --message-format=json` names them.
fn e2e_test_programs() -> Result<Vec<(String, PathBuf)>> {
    let mut cmd = cargo();
    cmd.args(["test", "--no-run", "--quiet", "--message-format=json", "--release", "--target", crate::WINDOWS_TARGET]);
    for package in E2E_PACKAGES {
        cmd.args(["-p", package]);
    }
    cmd.args(["--test", "*"]);
    let programs = executables(&cmd_json(cmd, "building the e2e test programs")?, "test");
    if programs.is_empty() {
        bail!("cargo built no e2e test program");
    }
    Ok(programs)
}

/// The executables of targets of `kind` (`test`, `example`) in cargo's JSON
/// messages, as (target name, path).
pub fn executables(json_lines: &str, kind: &str) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for line in json_lines.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let of_kind = msg["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == kind));
        if let (true, Some(name), Some(exe)) = (of_kind, msg["target"]["name"].as_str(), msg["executable"].as_str()) {
            found.push((name.to_string(), PathBuf::from(exe)));
        }
    }
    found.sort();
    found
}

/// The driver package's version (`cargo metadata`).
fn driver_version() -> Result<String> {
    let out = cargo().args(["metadata", "--format-version", "1", "--no-deps"]).output()?;
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("cargo metadata")?;
    let driver = KCHAN_PACKAGE;
    meta["packages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == driver))
        .and_then(|p| p["version"].as_str())
        .map(str::to_string)
        .with_context(|| format!("no version for {driver} in cargo metadata"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_are_read_from_cargo_json() {
        let lines = r#"{"reason":"compiler-artifact","profile":{"test":true},"target":{"kind":["test"],"name":"seed"},"executable":"/t/deps/seed-1a2b.exe"}
{"reason":"compiler-artifact","profile":{"test":false},"target":{"kind":["lib"],"name":"kchan_e2e"},"executable":null}
{"reason":"compiler-artifact","profile":{"test":true},"target":{"kind":["lib"],"name":"kchan"},"executable":"/t/deps/kchan-9.exe"}
{"reason":"build-finished","success":true}
not json"#;
        assert_eq!(executables(lines, "test"), vec![("seed".to_string(), PathBuf::from("/t/deps/seed-1a2b.exe"))]);
        assert!(executables(lines, "example").is_empty());
    }

    #[test]
    fn a_signature_is_verified_against_the_certificate_and_tampering_is_caught() {
        // A minimal image, signed with a throw-away certificate.
        let dir = crate::target_dir().join("package-tests");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let c = dir.join("tiny.c");
        std::fs::write(&c, "long DriverEntry(void* d, void* r) { return 0; }\n").unwrap();
        let sys = dir.join("tiny.sys");
        let status = Command::new(crate::pecheck::imports::MINGW_CC)
            .args(["-nostdlib", "-nostartfiles", "-shared", "-Wl,--subsystem,native", "-Wl,--entry,DriverEntry", "-o"])
            .arg(&sys)
            .arg(&c)
            .status()
            .unwrap();
        assert!(status.success());
        let cert = Certificate::ensure(&dir.join("cert")).unwrap();
        let signed = dir.join("signed.sys");
        cert.sign(&sys, &signed).unwrap();
        cert.verify(&signed).unwrap();
        let facts = crate::pecheck::image_facts(&std::fs::read(&signed).unwrap()).unwrap();
        assert_eq!(facts.stored_checksum, facts.computed_checksum, "osslsigncode writes the checksum");
        // Another certificate is not trusted for it.
        let other = Certificate::ensure(&dir.join("other")).unwrap();
        assert!(other.verify(&signed).is_err());
        // A byte of code changed after signing: the digest no longer matches.
        let mut bytes = std::fs::read(&signed).unwrap();
        let text = 0x400; // the first section's file offset (file alignment 0x200, headers < 0x400)
        bytes[text] ^= 0xff;
        let tampered = dir.join("tampered.sys");
        std::fs::write(&tampered, &bytes).unwrap();
        assert!(cert.verify(&tampered).is_err());
    }

    #[test]
    fn the_windows_script_parses_as_powershell() {
        let script = std::fs::read_to_string(crate::workspace_root().join("windows/run-tests.ps1")).unwrap();
        let errors = powershell_syntax_errors(&script);
        assert!(errors.is_empty(), "run-tests.ps1: {errors:?}");
        // The parser finds real mistakes: an unclosed block, a stray `}`.
        assert!(!powershell_syntax_errors("if ($x) { Write-Host 'a'\n").is_empty());
        assert!(!powershell_syntax_errors("foreach ($a in $b) { }\n}\n").is_empty());
    }

    /// Where tree-sitter's PowerShell grammar finds errors (`ERROR` or
    /// missing nodes), as (line, column) pairs.
    fn powershell_syntax_errors(source: &str) -> Vec<(usize, usize)> {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&tree_sitter_powershell::LANGUAGE.into()).expect("the grammar loads");
        let tree = parser.parse(source, None).expect("a parse tree");
        let mut errors = Vec::new();
        let mut cursor = tree.walk();
        loop {
            let node = cursor.node();
            if node.is_error() || node.is_missing() {
                errors.push((node.start_position().row + 1, node.start_position().column + 1));
            }
            if (!node.has_error() || !cursor.goto_first_child()) && !cursor.goto_next_sibling() {
                loop {
                    if !cursor.goto_parent() {
                        return errors;
                    }
                    if cursor.goto_next_sibling() {
                        break;
                    }
                }
            }
        }
    }
}
