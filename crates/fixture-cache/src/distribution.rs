//! Debian's `docker-registry` (distribution 2.8) as the registry outside Hallmark that tests
//! push to and pull from: no referrers API, no Docker Hub API, Go's own gzip and digests.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long `docker-registry` may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A `docker-registry serve` on a free loopback port, storing into a temporary folder, with
/// manifest deletes enabled; killed (by its PID) when dropped.
#[derive(Debug)]
pub struct Distribution {
    child: Child,
    address: String,
    data: tempfile::TempDir,
}

impl Distribution {
    /// Starts the registry and waits until it listens.
    pub fn start() -> Self {
        let data = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary folder: {e}"));
        let address = free_loopback_address();
        let config = data.path().join("config.yml");
        let yaml = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: {address}\n",
            data.path().join("storage").display()
        );
        std::fs::write(&config, yaml).unwrap_or_else(|e| panic!("{}: {e}", config.display()));
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry runs (apt-get install docker-registry)");
        // Built before waiting, so that a registry that never listens is still killed.
        let registry = Self {
            child,
            address,
            data,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(&registry.address).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }

    /// `127.0.0.1:PORT`, the registry's host as image references name it.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The digests (`sha256:…`) of every blob the registry stores, manifests included, each
    /// once and sorted: what a push uploaded, read from distribution's own storage layout.
    pub fn stored_blobs(&self) -> Vec<String> {
        let root = self.blob_root();
        let Ok(prefixes) = std::fs::read_dir(&root) else {
            return Vec::new(); // nothing pushed yet
        };
        let mut found = Vec::new();
        for prefix in prefixes {
            let prefix = prefix.unwrap_or_else(|e| panic!("{}: {e}", root.display()));
            let blobs = std::fs::read_dir(prefix.path())
                .unwrap_or_else(|e| panic!("{}: {e}", prefix.path().display()));
            for blob in blobs {
                let blob = blob
                    .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
                    .path();
                assert!(blob.join("data").is_file(), "{}", blob.display());
                let hex = blob.file_name().expect("a blob folder has a name");
                found.push(format!("sha256:{}", hex.to_string_lossy()));
            }
        }
        found.sort();
        found
    }

    fn blob_root(&self) -> PathBuf {
        self.data
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address with a port nothing listens on (the OS's pick, released for the
/// registry to take).
fn free_loopback_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local address: {e}"));
    address.to_string()
}
