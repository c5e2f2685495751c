//! dpkg's database: `/var/lib/dpkg/status` (one stanza per package, rewritten whole by every
//! `apt-get install`), the per-package files of `status.d/` that distroless images carry
//! instead, and `info/<package>.list`, the files each package owns.

use super::{paragraphs, Found, PackageKind};

/// The installed packages of a status file. Stanzas are split on any run of blank lines
/// (Trivy drops the package after a double blank line), fields may continue on indented
/// lines, and only packages dpkg reports as `install ok installed` count: `deinstall ok
/// config-files` leaves a stanza for a package that is gone. Stanzas without a `Status:`
/// field are kept, because distroless `status.d` files have none.
pub fn parse_status(text: &str) -> Vec<Found> {
    let mut out = Vec::new();
    for paragraph in paragraphs(text) {
        let mut fields = Fields::default();
        for line in paragraph {
            if line.starts_with([' ', '\t']) {
                // A continuation line belongs to the field above; none of the fields read
                // here continue, but a description's lines must not be taken for fields.
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let slot = match key {
                "Package" => &mut fields.package,
                "Version" => &mut fields.version,
                "Status" => &mut fields.status,
                "Source" => &mut fields.source,
                "Architecture" => &mut fields.architecture,
                _ => continue,
            };
            *slot = value.trim().to_owned();
        }
        if let Some(found) = fields.into_found() {
            out.push(found);
        }
    }
    out
}

/// The paths one package owns, from its `info/*.list` file, normalised like layer paths
/// (no leading `/`).
pub fn parse_file_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim().trim_start_matches('/'))
        .filter(|l| !l.is_empty() && *l != ".")
        .map(str::to_owned)
        .collect()
}

#[derive(Default)]
struct Fields {
    package: String,
    version: String,
    status: String,
    source: String,
    architecture: String,
}

impl Fields {
    fn into_found(self) -> Option<Found> {
        if self.package.is_empty() || self.version.is_empty() {
            return None;
        }
        if !self.status.is_empty()
            && !self
                .status
                .split_whitespace()
                .eq(["install", "ok", "installed"])
        {
            return None;
        }
        // `Source: glibc (2.36-9)`: the source version is given only when it differs from
        // the binary's (binNMUs), and the matcher must compare the source's.
        let source = (!self.source.is_empty()).then(|| match self.source.split_once('(') {
            Some((name, version)) => (
                name.trim().to_owned(),
                Some(version.trim_end().trim_end_matches(')').trim().to_owned())
                    .filter(|v| !v.is_empty()),
            ),
            None => (self.source.trim().to_owned(), None),
        });
        Some(Found {
            kind: PackageKind::Deb,
            name: self.package,
            version: self.version,
            source,
            arch: (!self.architecture.is_empty()).then_some(self.architecture),
            licenses: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(text: &str) -> Vec<String> {
        parse_status(text)
            .into_iter()
            .map(|f| {
                let source = f.source.map(|(n, v)| {
                    format!(" <{n}{}>", v.map(|v| format!(" {v}")).unwrap_or_default())
                });
                format!(
                    "{} {} {}{}",
                    f.name,
                    f.version,
                    f.arch.unwrap_or_default(),
                    source.unwrap_or_default()
                )
            })
            .collect()
    }

    const BOOKWORM: &str = "\
Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u7
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
 .
 Package: not-a-package
Homepage: https://www.gnu.org/software/libc/libc.html

Package: libpam-runtime
Status: deinstall ok config-files
Architecture: all
Version: 1.5.2-6+deb12u1

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib (1:1.2.13.dfsg-1)
Version: 1:1.2.13.dfsg-1+b1


Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1
\n \n\t\n
Package: base-files
Status: install ok installed
Version: 12.4+deb12u6
";

    #[test]
    fn status_stanzas() {
        assert_eq!(
            summary(BOOKWORM),
            [
                "libc6 2.36-9+deb12u7 amd64 <glibc>",
                "zlib1g 1:1.2.13.dfsg-1+b1 amd64 <zlib 1:1.2.13.dfsg-1>",
                "tzdata 2024a-0+deb12u1 all",
                "base-files 12.4+deb12u6 ",
            ]
        );
    }

    #[test]
    fn distroless_status_d_and_broken_stanzas() {
        let distroless =
            "Package: libssl3\nVersion: 3.0.15-1~deb12u1\nArchitecture: amd64\nSource: openssl\n";
        assert_eq!(
            summary(distroless),
            ["libssl3 3.0.15-1~deb12u1 amd64 <openssl>"]
        );
        for broken in [
            "",
            "\n\n",
            "Package:\nVersion: 1\n",
            "Version: 1\n",
            "Package: x\n",
            ":::\n\u{0}\n",
            "Package: x\nVersion: 1\nSource: (\n",
        ] {
            let _ = summary(broken);
        }
        assert_eq!(summary("Package: x\nVersion: 1\nSource: (\n"), ["x 1  <>"]);
        assert!(summary("Package: x\nStatus: hold ok half-installed\nVersion: 1\n").is_empty());
    }

    #[test]
    fn file_lists() {
        assert_eq!(
            parse_file_list("/.\n/usr\n/usr/lib/python3/dist-packages/six-1.16.0.egg-info\n\n"),
            ["usr", "usr/lib/python3/dist-packages/six-1.16.0.egg-info"]
        );
    }
}
