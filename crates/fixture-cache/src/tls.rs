//! A private certificate authority for HTTPS tests, made with the `openssl` CLI in a temporary
//! folder: nothing secret is checked in, and the certificates are what a registry operator
//! would make.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::run;

/// The form a private key is written in; `hallmark serve --tls-key` reads all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyForm {
    /// An EC P-256 key as PKCS#8 (`BEGIN PRIVATE KEY`), what `openssl genpkey` writes.
    EcPkcs8,
    /// An EC P-256 key as SEC1 (`BEGIN EC PRIVATE KEY`).
    EcSec1,
    /// An RSA key as PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    RsaPkcs1,
}

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A server certificate for the IP address 127.0.0.1.
    Server,
    /// A client certificate, for mutual TLS.
    Client,
}

/// A certificate authority (`ca.crt`) and a server certificate for 127.0.0.1 it signed
/// (`server.crt`, `server.key`), in a folder removed when this is dropped.
#[derive(Debug)]
pub struct TestPki {
    dir: TempDir,
}

impl TestPki {
    /// Makes the authority and the server certificate (an EC key as PKCS#8).
    pub fn new() -> Self {
        let pki = Self {
            dir: tempfile::tempdir().expect("a temporary folder"),
        };
        run(openssl(pki.dir.path()).args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=Hallmark test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]));
        pki.issue("server", KeyForm::EcPkcs8, Usage::Server);
        pki
    }

    /// The folder holding every file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The authority's certificate, what clients add to their roots.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir().join("ca.crt")
    }

    /// The server certificate for 127.0.0.1.
    pub fn server_cert(&self) -> PathBuf {
        self.dir().join("server.crt")
    }

    /// The server certificate's key.
    pub fn server_key(&self) -> PathBuf {
        self.dir().join("server.key")
    }

    /// Issues `<name>.crt` and `<name>.key` signed by the authority; returns their paths.
    pub fn issue(&self, name: &str, form: KeyForm, usage: Usage) -> (PathBuf, PathBuf) {
        let dir = self.dir();
        let (cert, key) = (format!("{name}.crt"), format!("{name}.key"));
        match form {
            KeyForm::EcPkcs8 | KeyForm::EcSec1 => run(openssl(dir).args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &key,
            ])),
            KeyForm::RsaPkcs1 => {
                run(openssl(dir).args(["genrsa", "-traditional", "-out", &key, "2048"]))
            }
        };
        if form == KeyForm::EcSec1 {
            let pkcs8 = format!("{name}.pkcs8.key");
            fs::rename(dir.join(&key), dir.join(&pkcs8)).expect("rename the PKCS#8 key");
            run(openssl(dir).args(["ec", "-in", &pkcs8, "-out", &key]));
        }
        let extensions = match usage {
            Usage::Server => "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
            Usage::Client => "extendedKeyUsage=clientAuth\n",
        };
        let extfile = format!("{name}.ext");
        fs::write(
            dir.join(&extfile),
            format!("basicConstraints=CA:FALSE\n{extensions}"),
        )
        .expect("write the extensions file");
        let csr = format!("{name}.csr");
        run(openssl(dir)
            .args(["req", "-new", "-key", &key, "-subj"])
            .arg(format!("/CN={name}"))
            .args(["-out", &csr]));
        run(openssl(dir).args([
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &extfile,
            "-out",
            &cert,
        ]));
        (dir.join(cert), dir.join(key))
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

fn openssl(dir: &Path) -> Command {
    let mut command = Command::new("openssl");
    command.current_dir(dir);
    command
}
