//! Ecosystems as OSV names them, with each one's version scheme and package-name rules.

use std::borrow::Cow;
use std::fmt;

use crate::version::Scheme;

/// A package ecosystem the matcher understands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Ecosystem {
    /// Debian packages (`Debian:12`), matched by source package.
    Debian,
    /// Ubuntu packages (`Ubuntu:22.04:LTS`), matched by source package.
    Ubuntu,
    /// Alpine packages (`Alpine:v3.20`), matched by origin package.
    Alpine,
    /// Red Hat Enterprise Linux packages.
    RedHat,
    /// Python packages from PyPI.
    PyPI,
    /// JavaScript packages from the npm registry.
    Npm,
    /// Go modules.
    Go,
    /// Rust crates from crates.io.
    CratesIo,
    /// Java artifacts from Maven repositories.
    Maven,
}

impl Ecosystem {
    /// Every supported ecosystem.
    pub const ALL: [Ecosystem; 9] = [
        Ecosystem::Debian,
        Ecosystem::Ubuntu,
        Ecosystem::Alpine,
        Ecosystem::RedHat,
        Ecosystem::PyPI,
        Ecosystem::Npm,
        Ecosystem::Go,
        Ecosystem::CratesIo,
        Ecosystem::Maven,
    ];

    /// The name OSV uses, without a release.
    pub fn osv_name(self) -> &'static str {
        match self {
            Ecosystem::Debian => "Debian",
            Ecosystem::Ubuntu => "Ubuntu",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::RedHat => "Red Hat",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "Go",
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Maven => "Maven",
        }
    }

    /// Splits an OSV ecosystem string such as `Debian:12` or `Ubuntu:22.04:LTS` into the
    /// ecosystem and its release (everything after the first `:`). `None` for an ecosystem
    /// this crate does not support.
    pub fn parse_osv(s: &str) -> Option<(Ecosystem, Option<&str>)> {
        let (name, release) = match s.split_once(':') {
            Some((name, release)) => (name, Some(release)),
            None => (s, None),
        };
        let ecosystem = Ecosystem::ALL.into_iter().find(|e| e.osv_name() == name)?;
        Some((ecosystem, release.filter(|r| !r.is_empty())))
    }

    /// The version ordering this ecosystem uses.
    pub fn scheme(self) -> Scheme {
        match self {
            Ecosystem::Debian | Ecosystem::Ubuntu => Scheme::Dpkg,
            Ecosystem::Alpine => Scheme::Apk,
            Ecosystem::RedHat => Scheme::Rpm,
            Ecosystem::PyPI => Scheme::Pep440,
            Ecosystem::Npm | Ecosystem::Go | Ecosystem::CratesIo => Scheme::Semver,
            Ecosystem::Maven => Scheme::Maven,
        }
    }

    /// Whether this is an operating-system distribution, whose packages match only that
    /// distribution's own advisories for the same release.
    pub fn is_os(self) -> bool {
        matches!(
            self,
            Ecosystem::Debian | Ecosystem::Ubuntu | Ecosystem::Alpine | Ecosystem::RedHat
        )
    }

    /// The package name as the ecosystem compares names: PyPI names per PEP 503 (case and runs
    /// of `-_.` do not matter), Maven coordinates and crates case-insensitively, others as
    /// written. Borrows when nothing changes, since matching calls this for every package.
    pub fn normalize_name(self, name: &str) -> Cow<'_, str> {
        match self {
            Ecosystem::PyPI => {
                let mut out = String::with_capacity(name.len());
                for c in name.trim().chars() {
                    if matches!(c, '-' | '_' | '.') {
                        if !out.ends_with('-') {
                            out.push('-');
                        }
                    } else {
                        out.push(c.to_ascii_lowercase());
                    }
                }
                Cow::Owned(out)
            }
            Ecosystem::CratesIo | Ecosystem::Maven
                if name.bytes().any(|b| b.is_ascii_uppercase()) =>
            {
                Cow::Owned(name.to_ascii_lowercase())
            }
            _ => Cow::Borrowed(name),
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osv_names_with_releases() {
        for (input, expected) in [
            ("Debian:12", Some((Ecosystem::Debian, Some("12")))),
            ("Alpine:v3.20", Some((Ecosystem::Alpine, Some("v3.20")))),
            (
                "Ubuntu:22.04:LTS",
                Some((Ecosystem::Ubuntu, Some("22.04:LTS"))),
            ),
            ("PyPI", Some((Ecosystem::PyPI, None))),
            ("crates.io", Some((Ecosystem::CratesIo, None))),
            ("Debian:", Some((Ecosystem::Debian, None))),
            ("Hex", None),
            ("pypi", None),
        ] {
            assert_eq!(Ecosystem::parse_osv(input), expected, "{input}");
        }
    }

    #[test]
    fn names_normalised() {
        assert_eq!(
            Ecosystem::PyPI.normalize_name("Zope.Interface__x"),
            "zope-interface-x"
        );
        assert_eq!(Ecosystem::PyPI.normalize_name("PyYAML"), "pyyaml");
        assert_eq!(Ecosystem::Npm.normalize_name("@Scope/pkg"), "@Scope/pkg");
    }
}
