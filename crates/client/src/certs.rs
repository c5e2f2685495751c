//! Private certificate authorities and client certificates per registry, read the way docker
//! and the containers tools (skopeo, podman, buildah) read them.
//!
//! A registry `host[:port]` gets the folder `<dir>/<host[:port]>/` of the first certs.d
//! folder that has one: `$XDG_CONFIG_HOME/containers/certs.d` (`~/.config/…`), then
//! `/etc/containers/certs.d`, then `/etc/docker/certs.d`. In it, every `*.crt` adds CA roots,
//! and a `*.cert` with the `*.key` of the same name is the client certificate offered for
//! mutual TLS. [`crate::ClientOptions::cert_dir`] (skopeo's `--cert-dir`) is such a folder
//! itself, used for every registry instead of the certs.d folders.
//!
//! The extra roots are added to the system's CA bundle, as Go's `SystemCertPool` does for
//! docker and skopeo, so a registry that redirects blob downloads to public storage still
//! reaches it. A registry without a folder keeps the client's built-in public roots.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

use crate::ClientError;

/// Where distributions keep the system's CA bundle, as Go's crypto/x509 looks for it.
const SYSTEM_BUNDLES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The certificate folders a client reads, and the TLS settings made from them per registry.
#[derive(Debug)]
pub(crate) struct CertDirs {
    source: Source,
    /// Settings per `host[:port]`, made on first use; `None` for the built-in defaults.
    loaded: Mutex<HashMap<String, Option<TlsConfig>>>,
}

#[derive(Debug)]
enum Source {
    /// One folder for every registry (`--cert-dir`).
    Explicit(PathBuf),
    /// certs.d folders, each holding a folder per registry; the first that has one wins.
    Search(Vec<PathBuf>),
}

impl CertDirs {
    /// `explicit` when given, else the certs.d folders docker and the containers tools read.
    pub(crate) fn new(explicit: Option<PathBuf>) -> Self {
        Self::with_source(match explicit {
            Some(dir) => Source::Explicit(dir),
            None => Source::Search(default_search()),
        })
    }

    fn with_source(source: Source) -> Self {
        Self {
            source,
            loaded: Mutex::default(),
        }
    }

    /// The folder whose certificates apply to `host`, if there is one.
    pub(crate) fn folder_for(&self, host: &str) -> Option<PathBuf> {
        match &self.source {
            Source::Explicit(dir) => Some(dir.clone()),
            Source::Search(dirs) => dirs.iter().map(|d| d.join(host)).find(|d| d.is_dir()),
        }
    }

    /// Where a user should put `what` (the files `files`) for `host`, for an error message.
    pub(crate) fn advice(&self, host: &str, what: &str, files: &str) -> String {
        match &self.source {
            Source::Explicit(dir) => format!("put {what} in {}/{files}", dir.display()),
            Source::Search(_) => format!(
                "put {what} in /etc/containers/certs.d/{host}/{files} (or \
                 /etc/docker/certs.d/{host}/), or pass --cert-dir DIR holding {files}"
            ),
        }
    }

    /// The TLS settings for `host`: `None` when no folder applies and the defaults do.
    pub(crate) fn tls_config(&self, host: &str) -> Result<Option<TlsConfig>, ClientError> {
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(config) = loaded.get(host) {
            return Ok(config.clone());
        }
        let config = self.folder_for(host).map(|dir| load(&dir)).transpose()?;
        loaded.insert(host.to_owned(), config.clone());
        Ok(config)
    }
}

/// The certs.d folders, per user first, as the containers tools read them.
fn default_search() -> Vec<PathBuf> {
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")));
    config_home
        .map(|home| home.join("containers/certs.d"))
        .into_iter()
        .chain(["/etc/containers/certs.d", "/etc/docker/certs.d"].map(PathBuf::from))
        .collect()
}

/// The TLS settings one folder makes.
fn load(dir: &Path) -> Result<TlsConfig, ClientError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| cert_error(dir, format!("cannot list the folder: {e}")))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut roots = system_roots();
    for file in with_extension(&files, "crt") {
        roots.extend(certificates(file)?);
    }
    let mut config = TlsConfig::builder().root_certs(RootCerts::new_with_certs(&roots));
    for key in with_extension(&files, "key") {
        if !key.with_extension("cert").is_file() {
            return Err(cert_error(
                key,
                format!(
                    "a client key needs its certificate {}",
                    key.with_extension("cert").display()
                ),
            ));
        }
    }
    if let Some(cert) = with_extension(&files, "cert").next() {
        let key = cert.with_extension("key");
        if !key.is_file() {
            return Err(cert_error(
                cert,
                format!("a client certificate needs its key {}", key.display()),
            ));
        }
        let chain = certificates(cert)?;
        config = config.client_cert(Some(ClientCert::new_with_certs(&chain, private_key(&key)?)));
    }
    Ok(config.build())
}

fn with_extension<'a>(
    files: &'a [PathBuf],
    extension: &'a str,
) -> impl Iterator<Item = &'a PathBuf> {
    files
        .iter()
        .filter(move |path| path.extension().is_some_and(|e| e == extension))
}

/// The system's CA bundle, or nothing when this system keeps none where Go looks.
fn system_roots() -> Vec<Certificate<'static>> {
    let from_env = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
    from_env
        .into_iter()
        .chain(SYSTEM_BUNDLES.map(PathBuf::from))
        .find_map(|path| std::fs::read(path).ok())
        .map(|pem| {
            ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(cert)) => Some(cert),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every certificate in a PEM file; a file with none is an error.
fn certificates(path: &Path) -> Result<Vec<Certificate<'static>>, ClientError> {
    let pem = read(path)?;
    let mut found = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item.map_err(|e| cert_error(path, format!("not valid PEM: {e}")))? {
            PemItem::Certificate(cert) => found.push(cert),
            _ => continue,
        }
    }
    if found.is_empty() {
        return Err(cert_error(
            path,
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    Ok(found)
}

/// The first private key in a PEM file.
fn private_key(path: &Path) -> Result<PrivateKey<'static>, ClientError> {
    PrivateKey::from_pem(&read(path)?)
        .map_err(|_| cert_error(path, "holds no PEM private key (PKCS#8, RSA or EC)".into()))
}

fn read(path: &Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|e| cert_error(path, format!("cannot be read: {e}")))
}

fn cert_error(path: &Path, detail: String) -> ClientError {
    ClientError::CertFile {
        path: path.to_owned(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_certs_d_folder_with_the_registry_wins() {
        let (user, system) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::create_dir_all(system.path().join("reg.example:5000")).unwrap();
        let dirs = CertDirs::with_source(Source::Search(vec![
            user.path().to_owned(),
            system.path().to_owned(),
        ]));
        assert_eq!(
            dirs.folder_for("reg.example:5000"),
            Some(system.path().join("reg.example:5000"))
        );
        std::fs::create_dir_all(user.path().join("reg.example:5000")).unwrap();
        assert_eq!(
            dirs.folder_for("reg.example:5000"),
            Some(user.path().join("reg.example:5000"))
        );
        assert_eq!(dirs.folder_for("reg.example"), None);
        assert!(dirs.tls_config("reg.example").unwrap().is_none());
    }

    #[test]
    fn an_explicit_folder_serves_every_registry_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = CertDirs::new(Some(dir.path().to_owned()));
        assert_eq!(dirs.folder_for("any:1"), Some(dir.path().to_owned()));
        std::fs::write(dir.path().join("ca.crt"), "not a certificate").unwrap();
        let error = dirs.tls_config("any:1").unwrap_err().to_string();
        assert!(
            error.contains("ca.crt") && error.contains("no PEM certificate"),
            "{error}"
        );
        let dirs = CertDirs::new(Some(dir.path().to_owned()));
        std::fs::remove_file(dir.path().join("ca.crt")).unwrap();
        std::fs::write(dir.path().join("client.key"), "").unwrap();
        let error = dirs.tls_config("any:1").unwrap_err().to_string();
        assert!(
            error.contains("client.key") && error.contains("client.cert"),
            "{error}"
        );
        assert!(!error.contains('\n'), "{error}");
    }
}
