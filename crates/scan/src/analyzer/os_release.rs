//! `/etc/os-release` (or `/usr/lib/os-release`, which it usually links to): which distribution
//! and release an image is, in the words the advisory data uses for its releases.

use serde::{Deserialize, Serialize};

use crate::ecosystem::Ecosystem;

/// The fields of os-release that decide how OS packages are matched and named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsRelease {
    /// `ID`: `debian`, `ubuntu`, `alpine`, …
    pub id: String,
    /// `VERSION_ID`: `12`, `22.04`, `3.20.3`; absent on Debian testing and sid.
    pub version_id: Option<String>,
    /// `VERSION`: `22.04.4 LTS (Jammy Jellyfish)`; Ubuntu marks LTS releases only here.
    pub version: Option<String>,
    /// `PRETTY_NAME`, for display.
    pub pretty_name: Option<String>,
}

impl OsRelease {
    /// Parses `KEY=value` lines, values optionally quoted, as os-release(5) describes.
    pub fn parse(text: &str) -> OsRelease {
        let mut out = OsRelease::default();
        for line in text.lines() {
            let Some((key, value)) = line.trim().split_once('=') else {
                continue;
            };
            let value = unquote(value.trim());
            match key.trim() {
                "ID" => out.id = value.to_ascii_lowercase(),
                "VERSION_ID" => out.version_id = Some(value),
                "VERSION" => out.version = Some(value),
                "PRETTY_NAME" => out.pretty_name = Some(value),
                _ => {}
            }
        }
        out
    }

    /// The ecosystem of this distribution's packages, when advisories for it are supported.
    pub fn ecosystem(&self) -> Option<Ecosystem> {
        match self.id.as_str() {
            "debian" => Some(Ecosystem::Debian),
            "ubuntu" => Some(Ecosystem::Ubuntu),
            "alpine" => Some(Ecosystem::Alpine),
            "rhel" => Some(Ecosystem::RedHat),
            _ => None,
        }
    }

    /// The release as the matcher keys it: `12` (Debian), `v3.20` (Alpine keeps major.minor
    /// with a `v`, as secdb and OSV do), `22.04:LTS` (Ubuntu, OSV's spelling for LTS releases).
    pub fn release(&self) -> Option<String> {
        let version_id = self.version_id.as_deref()?;
        match self.id.as_str() {
            "debian" | "rhel" => version_id.split('.').next().map(str::to_owned),
            "alpine" => {
                let mut parts = version_id.split('.');
                Some(format!("v{}.{}", parts.next()?, parts.next()?))
            }
            "ubuntu" => {
                let lts = self.version.as_deref().is_some_and(|v| v.contains("LTS"));
                Some(if lts {
                    format!("{version_id}:LTS")
                } else {
                    version_id.to_owned()
                })
            }
            _ => Some(version_id.to_owned()),
        }
    }

    /// The purl `distro` qualifier: `debian-12`, `alpine-3.20.3`, `ubuntu-22.04`.
    pub fn purl_distro(&self) -> Option<String> {
        Some(format!("{}-{}", self.id, self.version_id.as_deref()?))
    }
}

fn unquote(value: &str) -> String {
    let inner = ['"', '\'']
        .iter()
        .find_map(|&q| value.strip_prefix(q).and_then(|v| v.strip_suffix(q)))
        .unwrap_or(value);
    inner.replace("\\\"", "\"").replace("\\\\", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_keys_match_the_advisory_data() {
        for (text, ecosystem, release, distro) in [
            (
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n",
                Some(Ecosystem::Debian),
                Some("12"),
                Some("debian-12"),
            ),
            (
                "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n",
                Some(Ecosystem::Alpine),
                Some("v3.20"),
                Some("alpine-3.20.3"),
            ),
            (
                "NAME=\"Ubuntu\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nID=ubuntu\nVERSION_ID=\"22.04\"\n",
                Some(Ecosystem::Ubuntu),
                Some("22.04:LTS"),
                Some("ubuntu-22.04"),
            ),
            (
                "ID=ubuntu\nVERSION_ID='23.10'\nVERSION=\"23.10 (Mantic Minotaur)\"\n",
                Some(Ecosystem::Ubuntu),
                Some("23.10"),
                Some("ubuntu-23.10"),
            ),
            (
                "PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nID=debian\n",
                Some(Ecosystem::Debian),
                None,
                None,
            ),
            ("ID=alpine\nVERSION_ID=edge\n", Some(Ecosystem::Alpine), None, Some("alpine-edge")),
            ("garbage\n=\nID=arch\n", None, None, None),
        ] {
            let os = OsRelease::parse(text);
            assert_eq!(os.ecosystem(), ecosystem, "{text}");
            assert_eq!(os.release().as_deref(), release, "{text}");
            assert_eq!(os.purl_distro().as_deref(), distro, "{text}");
        }
    }
}
