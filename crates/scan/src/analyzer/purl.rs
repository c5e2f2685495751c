//! Package URLs (purl) as the purl specification's type definitions write them, with the
//! qualifiers Syft and Trivy emit for OS packages (`arch`, `distro`), so that SBOMs from the
//! three tools can be compared package by package.

use std::fmt::Write;

use super::{Found, OsRelease, PackageKind};
use crate::ecosystem::Ecosystem;

/// The purl of a package found in an image whose os-release is `os`.
pub fn purl(found: &Found, os: Option<&OsRelease>) -> String {
    let mut out = String::from("pkg:");
    match found.kind {
        PackageKind::Deb | PackageKind::Apk => {
            let (kind, default) = if found.kind == PackageKind::Deb {
                ("deb", "debian")
            } else {
                ("apk", "alpine")
            };
            let namespace = os.map_or(default, |o| o.id.as_str());
            let _ = write!(out, "{kind}/{}/{}", encode(namespace), encode(&found.name));
        }
        PackageKind::Python => {
            let name = Ecosystem::PyPI.normalize_name(&found.name);
            let _ = write!(out, "pypi/{}", encode(&name));
        }
        PackageKind::Npm => {
            // A scope is the namespace: `@babel/core` → `%40babel/core`.
            let _ = match found.name.split_once('/') {
                Some((scope, name)) if scope.starts_with('@') => {
                    write!(out, "npm/{}/{}", encode(scope), encode(name))
                }
                _ => write!(out, "npm/{}", encode(&found.name)),
            };
        }
        PackageKind::Rpm => {
            let namespace = rpm_vendor(os.map(|o| o.id.as_str()));
            let _ = write!(out, "rpm/{}/{}", encode(namespace), encode(&found.name));
        }
        // A module path's segments are the namespace and the name, each encoded alone.
        PackageKind::Go => {
            out.push_str("golang");
            for segment in found.name.split('/') {
                let _ = write!(out, "/{}", encode(segment));
            }
        }
        PackageKind::Cargo => {
            let _ = write!(out, "cargo/{}", encode(&found.name));
        }
        PackageKind::Maven => {
            let _ = match found.name.split_once(':') {
                Some((group, artifact)) => {
                    write!(out, "maven/{}/{}", encode(group), encode(artifact))
                }
                None => write!(out, "maven/{}", encode(&found.name)),
            };
        }
    }
    // rpm's epoch is a qualifier, as the purl specification, Syft and Trivy write it.
    let (epoch, version) = match found.version.split_once(':') {
        Some((epoch, version)) if found.kind == PackageKind::Rpm => (Some(epoch), version),
        _ => (None, found.version.as_str()),
    };
    let _ = write!(out, "@{}", encode(version));
    let mut qualifiers = Vec::new();
    if let Some(arch) = &found.arch {
        qualifiers.push(("arch", arch.clone()));
    }
    if !found.kind.is_language() {
        if let Some(distro) = os.and_then(OsRelease::purl_distro) {
            qualifiers.push(("distro", distro));
        }
    }
    if let Some(epoch) = epoch {
        qualifiers.push(("epoch", epoch.to_owned()));
    }
    for (i, (key, value)) in qualifiers.iter().enumerate() {
        let _ = write!(
            out,
            "{}{key}={}",
            if i == 0 { '?' } else { '&' },
            encode(value)
        );
    }
    out
}

/// The purl namespace of rpm packages: the vendor, named as the purl specification and the
/// scanners name it, from the os-release `ID`.
fn rpm_vendor(id: Option<&str>) -> &str {
    match id {
        Some("rhel") | None => "redhat",
        Some("amzn") => "amazon",
        Some("ol") => "oracle",
        Some("sles" | "sled" | "sle-micro") => "suse",
        Some(id) if id.starts_with("opensuse") => "opensuse",
        Some(id) => id,
    }
}

/// Percent-encodes all but unreserved characters and `:`, which packageurl-go (Syft, Trivy)
/// leaves as it is in versions with an epoch.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(kind: PackageKind, name: &str, version: &str, arch: Option<&str>) -> Found {
        Found {
            kind,
            name: name.into(),
            version: version.into(),
            source: None,
            arch: arch.map(Into::into),
            licenses: vec![],
        }
    }

    #[test]
    fn purls() {
        let debian = OsRelease::parse("ID=debian\nVERSION_ID=\"12\"\n");
        let alpine = OsRelease::parse("ID=alpine\nVERSION_ID=3.20.3\n");
        let rhel = OsRelease::parse("ID=\"rhel\"\nVERSION_ID=\"9.4\"\n");
        let fedora = OsRelease::parse("ID=fedora\nVERSION_ID=40\n");
        for (f, os, expected) in [
            (
                found(PackageKind::Deb, "libc6", "2.36-9+deb12u7", Some("amd64")),
                Some(&debian),
                "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12",
            ),
            (
                found(PackageKind::Deb, "zlib1g", "1:1.2.13.dfsg-1", Some("amd64")),
                Some(&debian),
                "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12",
            ),
            (
                found(PackageKind::Deb, "x", "1", None),
                None,
                "pkg:deb/debian/x@1",
            ),
            (
                found(PackageKind::Apk, "musl", "1.2.5-r0", Some("x86_64")),
                Some(&alpine),
                "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3",
            ),
            (
                found(PackageKind::Python, "Jinja2", "2.11.2", None),
                Some(&debian),
                "pkg:pypi/jinja2@2.11.2",
            ),
            (
                found(PackageKind::Python, "zope.interface", "5.0", None),
                None,
                "pkg:pypi/zope-interface@5.0",
            ),
            (
                found(PackageKind::Npm, "@babel/core", "7.0.0", None),
                None,
                "pkg:npm/%40babel/core@7.0.0",
            ),
            (
                found(PackageKind::Npm, "lodash", "4.17.15", None),
                Some(&debian),
                "pkg:npm/lodash@4.17.15",
            ),
            (
                found(
                    PackageKind::Rpm,
                    "openssl-libs",
                    "1:3.0.7-27.el9",
                    Some("x86_64"),
                ),
                Some(&rhel),
                "pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rhel-9.4&epoch=1",
            ),
            (
                found(PackageKind::Rpm, "bash", "5.2.26-3.fc40", Some("x86_64")),
                Some(&fedora),
                "pkg:rpm/fedora/bash@5.2.26-3.fc40?arch=x86_64&distro=fedora-40",
            ),
            (
                found(
                    PackageKind::Go,
                    "github.com/sirupsen/logrus",
                    "v1.9.0",
                    None,
                ),
                None,
                "pkg:golang/github.com/sirupsen/logrus@v1.9.0",
            ),
            (
                found(PackageKind::Go, "stdlib", "1.19.8", None),
                Some(&debian),
                "pkg:golang/stdlib@1.19.8",
            ),
            (
                found(PackageKind::Cargo, "serde_json", "1.0.100", None),
                None,
                "pkg:cargo/serde_json@1.0.100",
            ),
            (
                found(
                    PackageKind::Maven,
                    "org.apache.commons:commons-lang3",
                    "3.12.0",
                    None,
                ),
                Some(&debian),
                "pkg:maven/org.apache.commons/commons-lang3@3.12.0",
            ),
        ] {
            assert_eq!(purl(&f, os), expected);
        }
    }
}
