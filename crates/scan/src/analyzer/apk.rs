//! apk's database, `/lib/apk/db/installed`: one stanza per package of single-letter fields
//! (`P:` name, `V:` version, `o:` origin, the source package secdb names, `L:` licence,
//! `A:` architecture), as apk-tools' documentation of the installed-database format lists.

use super::{paragraphs, Found, PackageKind};

/// The installed packages.
pub fn parse_installed(text: &str) -> Vec<Found> {
    let mut out = Vec::new();
    for paragraph in paragraphs(text) {
        let (mut name, mut version, mut origin, mut license, mut arch) =
            (None, None, None, None, None);
        for line in paragraph {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = Some(value.trim().to_owned()).filter(|v| !v.is_empty());
            match key {
                "P" => name = value,
                "V" => version = value,
                "o" => origin = value,
                "L" => license = value,
                "A" => arch = value,
                _ => {}
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            continue;
        };
        out.push(Found {
            kind: PackageKind::Apk,
            name,
            version,
            source: origin.map(|o| (o, None)),
            arch,
            licenses: license.into_iter().collect(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_database() {
        let text = "C:Q1r1Rcg2nf2yQ7bO5aX+1LKNmlbGU=\nP:musl\nV:1.2.5-r0\nA:x86_64\nS:411467\nI:647168\nT:the musl c library (libc) implementation\nU:https://musl.libc.org/\nL:MIT\no:musl\nm:Natanael Copa <ncopa@alpinelinux.org>\nt:1711727446\nc:a1c5e2ea\nF:lib\nR:ld-musl-x86_64.so.1\n\n\nP:libcrypto3\nV:3.3.2-r0\nA:x86_64\nL:Apache-2.0\no:openssl\n\nP:broken\n\nV:1\n";
        let found = parse_installed(text);
        let summary: Vec<_> = found
            .iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.version.as_str(),
                    f.source.as_ref().map(|s| s.0.as_str()),
                    f.licenses.join(","),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("musl", "1.2.5-r0", Some("musl"), "MIT".to_owned()),
                (
                    "libcrypto3",
                    "3.3.2-r0",
                    Some("openssl"),
                    "Apache-2.0".to_owned()
                ),
            ]
        );
    }
}
