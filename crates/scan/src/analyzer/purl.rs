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
    }
    let _ = write!(out, "@{}", encode(&found.version));
    let mut qualifiers = Vec::new();
    if let Some(arch) = &found.arch {
        qualifiers.push(("arch", arch.clone()));
    }
    if matches!(found.kind, PackageKind::Deb | PackageKind::Apk) {
        if let Some(distro) = os.and_then(OsRelease::purl_distro) {
            qualifiers.push(("distro", distro));
        }
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
        ] {
            assert_eq!(purl(&f, os), expected);
        }
    }
}
