//! Builds: the native crates, the driver image and the Windows programs.
//!
//! Windows artifacts are built in release mode (one build shared by `test`,
//! `demo`, `bench` and `package`), the driver images with the `kernel`
//! profile (release plus fat LTO) and copied beside the programs. Every driver image is listed once, in
//! [`DRIVER_IMAGES`]: Rust ones are cdylib crates, C ones are linked here
//! with mingw against the `kchan-c` static library. Each gets its PE
//! checksum and is checked by [`crate::pecheck`]; a failing check fails the
//! build. Cargo's own progress is shown: a first build takes minutes.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the Windows release artifacts land.
pub fn windows_release_dir() -> PathBuf {
    crate::target_dir().join(crate::WINDOWS_TARGET).join("release")
}

/// Where cargo writes the driver crates and the C library: the `kernel`
/// profile (release with fat LTO; see the workspace's `Cargo.toml`). The
/// images are copied from there into [`windows_release_dir`], beside the
/// programs.
fn kernel_dir() -> PathBuf {
    crate::target_dir().join(crate::WINDOWS_TARGET).join(KERNEL_PROFILE)
}

/// The cargo profile driver images are built with.
const KERNEL_PROFILE: &str = "kernel";

/// The driver image, after [`driver_image`] has built it.
pub fn sys_path() -> PathBuf {
    KCHAN.path()
}

/// The `kchan` command built for Windows.
pub fn cli_exe() -> PathBuf {
    windows_release_dir().join("kchan.exe")
}

/// A `cargo` command (the one running xtask).
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(crate::workspace_root());
    cmd
}

/// Runs a prepared command and fails with its description on a non-zero exit.
pub fn run(mut cmd: Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// How a driver image is made.
pub enum Source {
    /// A Rust `cdylib` crate; cargo writes `<dll>` (in [`kernel_dir`]),
    /// copied to the image name.
    Rust {
        /// The cargo package.
        package: &'static str,
        /// The file cargo writes in the release directory.
        dll: &'static str,
    },
    /// C sources linked with mingw against the `kchan-c` static library.
    C {
        /// The folder (from the workspace root) whose `*.c` files make the driver.
        dir: &'static str,
    },
}

/// A driver image the build makes, checks with [`crate::pecheck`], and the
/// e2e layer installs as a service of its own.
pub struct DriverImage {
    /// File name, in the Windows release directory and in the prefix's
    /// `drivers` folder.
    pub file: &'static str,
    /// The service's name; each image here also names its device after it
    /// (`\\.\<service>`).
    pub service: &'static str,
    /// How it is built.
    pub source: Source,
}

impl DriverImage {
    /// Where the built image is.
    pub fn path(&self) -> PathBuf {
        windows_release_dir().join(self.file)
    }
}

/// The package of `kchan.sys` (whose version names the Windows package).
pub const KCHAN_PACKAGE: &str = "kchan-sys";

/// `kchan.sys`, the driver of the `kchan` command and the benchmark.
pub const KCHAN: DriverImage = DriverImage {
    file: kchan_proto::DRIVER_FILE,
    service: kchan_proto::SERVICE_NAME,
    source: Source::Rust { package: KCHAN_PACKAGE, dll: "kchan_sys.dll" },
};

/// Every driver image: built, checked and loaded side by side by the e2e layer.
pub const DRIVER_IMAGES: &[DriverImage] = &[
    KCHAN,
    DriverImage {
        file: "kchan_example_rust.sys",
        service: "kchan_example_rust",
        source: Source::Rust { package: "kchan-example-rust", dll: "kchan_example_rust.dll" },
    },
    DriverImage {
        file: "kchan_example_c.sys",
        service: "kchan_example_c",
        source: Source::C { dir: "examples/c-driver" },
    },
];

/// A user-mode C program the build links with mingw against the wire
/// protocol's header (`crates/kchan-proto/include/kchan.h`).
pub struct CProgram {
    /// The folder (from the workspace root) whose `*.c` files make it.
    pub dir: &'static str,
    /// The executable's file name.
    pub exe: &'static str,
}

impl CProgram {
    /// Where the built program is: beside the client library's examples,
    /// where the e2e tests and the package look for examples.
    pub fn path(&self) -> PathBuf {
        windows_release_dir().join("examples").join(self.exe)
    }
}

/// Every user-mode C program: the C client example.
pub const C_PROGRAMS: &[CProgram] = &[CProgram { dir: "examples/c-client", exe: "kchan_tail.exe" }];

/// The C interface's static library, which C driver images link.
const KCHAN_C_PACKAGE: &str = "kchan-c";
const KCHAN_C_LIB: &str = "libkchan_c.a";

/// Builds everything: native default members, every driver image
/// (checked), and the Windows programs.
pub fn all() -> Result<PathBuf> {
    eprintln!("xtask: building the native crates, kchan.sys and the Windows programs (the first build takes minutes)");
    let mut native = cargo();
    native.args(["build"]);
    run(native, "native build")?;
    driver_images(DRIVER_IMAGES)?;
    windows_programs()?;
    Ok(sys_path())
}

/// Builds `kchan.sys` and checks it.
pub fn driver_image() -> Result<PathBuf> {
    driver_images(std::slice::from_ref(&KCHAN))?;
    Ok(sys_path())
}

/// Builds `images` (one cargo run for every Rust crate and the C library
/// they need), links the C ones, and gives each its checksum and checks it
/// ([`finish_image`]).
pub fn driver_images(images: &[DriverImage]) -> Result<()> {
    let mut cmd = cargo();
    cmd.args(["build", "--profile", KERNEL_PROFILE, "--target", crate::WINDOWS_TARGET]);
    let mut any_c = false;
    for image in images {
        match image.source {
            Source::Rust { package, .. } => {
                cmd.args(["-p", package]);
            }
            Source::C { .. } => any_c = true,
        }
    }
    if any_c {
        cmd.args(["-p", KCHAN_C_PACKAGE]);
    }
    run(cmd, "driver build")?;
    for image in images {
        let sys = image.path();
        // The images go beside the release-profile programs, whose folder a
        // fresh clone does not have yet when the kernel profile builds first.
        if let Some(dir) = sys.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        match image.source {
            Source::Rust { dll, .. } => {
                let dll = kernel_dir().join(dll);
                std::fs::copy(&dll, &sys).with_context(|| format!("copying {} to {}", dll.display(), sys.display()))?;
            }
            Source::C { dir } => link_c_driver(&crate::workspace_root().join(dir), &sys)?,
        }
        finish_image(&sys)?;
    }
    Ok(())
}

/// Writes the PE checksum if the linker left it 0 (GNU ld may), then runs
/// the image checks and prints their figures.
pub fn finish_image(sys: &Path) -> Result<()> {
    let bytes = std::fs::read(sys)?;
    if crate::pecheck::image_facts(&bytes)?.stored_checksum == 0 {
        crate::pecheck::checksum::fix(sys)?;
    }
    let report = crate::pecheck::check_driver_image(sys)?;
    eprintln!("xtask: {}: image checks passed", sys.display());
    for note in &report.notes {
        eprintln!("xtask:   {note}");
    }
    Ok(())
}

/// Compiles the `*.c` files of `dir` as kernel code against mingw's DDK
/// headers and `kchan_km.h`, and links them with the `kchan-c` library into
/// the driver image `sys`, with the link arguments of every driver image.
fn link_c_driver(dir: &Path, sys: &Path) -> Result<()> {
    let sources = c_sources(dir)?;
    let include = crate::workspace_root().join("crates/kchan-c/include");
    let mut cmd = Command::new("x86_64-w64-mingw32-gcc");
    cmd.args(["-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared"])
        .args(["-I/usr/x86_64-w64-mingw32/include/ddk", "-I/usr/share/mingw-w64/include/ddk"])
        .arg(format!("-I{}", include.display()))
        .arg("-o")
        .arg(sys)
        .args(&sources)
        .arg(kernel_dir().join(KCHAN_C_LIB))
        .args(kchan_build::LINK_ARGS);
    run(cmd, &format!("linking {}", sys.display()))
}

/// The `*.c` files of `dir`, sorted.
fn c_sources(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    sources.retain(|p| p.extension().is_some_and(|e| e == "c"));
    sources.sort();
    if sources.is_empty() {
        bail!("no C sources in {}", dir.display());
    }
    Ok(sources)
}

/// Builds the Windows user-mode programs (the `kchan` command, `kchan-bench`)
/// and the client examples, Rust and C.
pub fn windows_programs() -> Result<()> {
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--target", crate::WINDOWS_TARGET, "-p", "kchan-cli", "-p", "kchan-bench"]);
    run(cmd, "Windows programs build")?;
    // The client library's examples: the e2e tests run them.
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--target", crate::WINDOWS_TARGET, "-p", "kchan", "--examples"]);
    run(cmd, "client examples build")?;
    C_PROGRAMS.iter().try_for_each(c_program)
}

/// Compiles and links a C program as C11, warnings as errors, against
/// `kchan.h`; checks that it imports only DLLs of Windows.
fn c_program(program: &CProgram) -> Result<()> {
    let exe = program.path();
    if let Some(dir) = exe.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let include = crate::workspace_root().join("crates/kchan-proto/include");
    let mut cmd = Command::new("x86_64-w64-mingw32-gcc");
    cmd.args(["-O2", "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"])
        .arg(format!("-I{}", include.display()))
        .arg("-o")
        .arg(&exe)
        .args(c_sources(&crate::workspace_root().join(program.dir))?);
    run(cmd, &format!("building {}", exe.display()))?;
    crate::pecheck::program::check_user_program(&exe)
}
