//! Test fixtures that take minutes to make (a Debian root filesystem from `debootstrap`),
//! made once under `target/scan-e2e` and shared by every test binary of the workspace: the
//! scan crate's end-to-end tests, the build crate's interop tests and `hallmark`'s example
//! build all read the same `bookworm-minbase` folder.
//!
//! A fixture is built into a partial folder and renamed when done, so an interrupted build is
//! never taken for a finished one, and under an exclusive file lock, so that one test builds
//! it while every other test, in this process or in another test binary, waits.
//!
//! It also holds the set-up that test binaries of several crates share: [`run`] for outside
//! tools, [`docker_config_for`] for the docker CLI, [`Distribution`], a registry other than
//! Hallmark's to talk to, and [`tls::TestPki`], a private certificate authority for HTTPS
//! tests.

#![deny(missing_docs)]

mod distribution;
pub mod tls;

pub use distribution::Distribution;

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The folder the fixtures are kept in: `target/scan-e2e` of the workspace (canonical, as
/// `npm ls` and other tools print canonical paths).
pub fn cache_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/scan-e2e");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir.canonicalize()
        .unwrap_or_else(|e| panic!("canonicalize {}: {e}", dir.display()))
}

/// The fixture `name` under [`cache_dir`], made by `build` (into the folder it is given) if it
/// is not there yet. A `build` that panics leaves no fixture, and the next caller tries again.
pub fn cached(name: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let dir = cache_dir();
    let done = dir.join(name);
    let _lock = lock(&dir.join(format!("{name}.lock")));
    if !done.exists() {
        let partial = dir.join(format!("{name}.partial"));
        let _ = fs::remove_dir_all(&partial);
        fs::create_dir_all(&partial)
            .unwrap_or_else(|e| panic!("create {}: {e}", partial.display()));
        build(&partial);
        fs::rename(&partial, &done).unwrap_or_else(|e| panic!("rename {}: {e}", done.display()));
    }
    done
}

/// Holds the exclusive lock on `path` (an flock, released when the file closes, even when the
/// holder dies), saying on stderr when another builder makes it wait.
fn lock(path: &Path) -> File {
    let file = File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            eprintln!("waiting for another test building {}", path.display());
            file.lock()
                .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
        }
        Err(TryLockError::Error(e)) => panic!("lock {}: {e}", path.display()),
    }
    file
}

/// A Debian bookworm root filesystem from `debootstrap --variant=minbase` (minutes, as root),
/// fetched from the Debian archive apt is configured with.
pub fn bookworm_minbase() -> PathBuf {
    cached("bookworm-minbase", |dir| {
        run(Command::new("debootstrap")
            .args(["--variant=minbase", "bookworm"])
            .arg(dir)
            .arg(debian_mirror()));
    })
}

/// Runs an outside tool a test relies on, panicking with what it wrote when it fails;
/// returns its stdout.
pub fn run(command: &mut Command) -> Vec<u8> {
    run_output(command).stdout
}

/// Runs an outside tool a test relies on, panicking with its stdout and stderr when it fails;
/// returns all it wrote, for tests that read its stderr too.
pub fn run_output(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Makes `config` a docker CLI configuration folder (for `DOCKER_CONFIG` or `--config`) that
/// keeps `docker login` credentials for `registry` in its own `config.json`. A configuration
/// that names no registry yet gets the machine's default credential store (`pass` wherever
/// `docker-credential-pass` is installed), which a test cannot rely on being set up.
pub fn docker_config_for(config: &Path, registry: &str) {
    fs::create_dir_all(config).unwrap_or_else(|e| panic!("{}: {e}", config.display()));
    let file = format!(r#"{{"auths":{{"{registry}":{{}}}}}}"#);
    fs::write(config.join("config.json"), file)
        .unwrap_or_else(|e| panic!("{}: {e}", config.display()));
}

/// The Debian archive apt is configured with. Only `*.list` and `*.sources` files count, as
/// for apt itself (others are disabled), and an archive whose path ends in `/debian` is
/// preferred over third-party repositories.
pub fn debian_mirror() -> String {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut listed: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        listed.sort();
        files.extend(listed.into_iter().filter(|p| {
            p.extension()
                .is_some_and(|ext| ext == "list" || ext == "sources")
        }));
    }
    let texts: Vec<String> = files
        .iter()
        .map(|f| fs::read_to_string(f).unwrap_or_default())
        .collect();
    let uris: Vec<String> = texts
        .iter()
        .flat_map(|t| t.lines())
        .filter_map(|line| {
            let line = line.trim();
            let uri = line.strip_prefix("URIs:").map(str::trim).or_else(|| {
                let mut words = line.strip_prefix("deb ")?.split_whitespace();
                words.find(|w| w.contains("://"))
            })?;
            let uri = uri.split_whitespace().next()?;
            (!uri.contains("security")).then(|| uri.to_owned())
        })
        .collect();
    uris.iter()
        .find(|uri| uri.trim_end_matches('/').ends_with("/debian"))
        .or(uris.first())
        .cloned()
        .unwrap_or_else(|| "http://deb.debian.org/debian".to_owned())
}
