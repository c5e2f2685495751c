//! Java archives (`.jar`, `.war`, `.ear`, Jenkins' `.hpi`/`.jpi`): the artifacts Maven
//! recorded in `META-INF/maven/<groupId>/<artifactId>/pom.properties` (licences from the
//! `pom.xml` beside it), else what `META-INF/MANIFEST.MF` says, else the file name; and the
//! same for every archive nested inside (a war's `WEB-INF/lib`, a Spring Boot jar's
//! `BOOT-INF/lib`), read from memory.
//!
//! An archive is hostile input: nesting is limited to [`MAX_DEPTH`] levels, and everything
//! inflated from one outer archive (nested archives and metadata files together) counts
//! against one budget, the file limit, so a zip bomb ends in an error, not in memory.

use std::io::{Cursor, Read};

use super::{Found, PackageKind};

/// How deep archives may nest: a war in an ear in an ear is the deepest real layout.
pub const MAX_DEPTH: usize = 3;
/// The largest metadata file read from an archive; real ones are a few KiB.
const MAX_METADATA: u64 = 1 << 20;
const EXTENSIONS: [&str; 5] = [".jar", ".war", ".ear", ".hpi", ".jpi"];

/// Why a Java archive could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JavaError {
    /// Not a zip file, or a corrupt one.
    #[error("not a readable Java archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// Reading an entry failed (corrupt compressed data, a CRC mismatch).
    #[error("a Java archive entry is corrupt: {0}")]
    Entry(#[from] std::io::Error),
    /// Nested archives and metadata inflate past the budget.
    #[error("a Java archive inflates past {limit} bytes of nested archives and metadata")]
    TooLarge {
        /// The budget.
        limit: u64,
    },
}

/// Whether a file name is a Java archive's.
pub fn is_archive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    EXTENSIONS
        .iter()
        .any(|e| lower.ends_with(e) && lower.len() > e.len())
}

/// The artifacts in an archive and the archives nested in it; `budget` caps what may be
/// inflated into memory along the way.
pub fn parse_archive(data: &[u8], budget: u64) -> Result<Vec<Found>, JavaError> {
    let mut walk = Walk {
        remaining: budget,
        limit: budget,
        found: Vec::new(),
    };
    walk.archive(data, "", 0)?;
    Ok(walk.found)
}

struct Walk {
    remaining: u64,
    limit: u64,
    found: Vec<Found>,
}

impl Walk {
    /// Reads one archive called `file_name` (for the name fallback), `depth` levels down.
    fn archive(&mut self, data: &[u8], file_name: &str, depth: usize) -> Result<(), JavaError> {
        let mut zip = zip::ZipArchive::new(Cursor::new(data))?;
        let names: Vec<(usize, String)> = zip
            .file_names_raw()
            .map(String::from_utf8_lossy)
            .map(|n| n.into_owned())
            .enumerate()
            .collect();
        let before = self.found.len();
        for (index, name) in &names {
            let Some(dir) = pom_properties_dir(name) else {
                continue;
            };
            let properties = self.read_entry(&mut zip, *index, MAX_METADATA)?;
            let Some(mut found) = from_pom_properties(&String::from_utf8_lossy(&properties)) else {
                continue;
            };
            let pom = format!("{dir}/pom.xml");
            if let Some(pom_index) = zip.index_for_name(&pom) {
                let xml = self.read_entry(&mut zip, pom_index, MAX_METADATA)?;
                found.licenses = pom_licenses(&String::from_utf8_lossy(&xml));
            }
            self.found.push(found);
        }
        if self.found.len() == before {
            let manifest = match zip.index_for_name("META-INF/MANIFEST.MF") {
                Some(index) => self.read_entry(&mut zip, index, MAX_METADATA)?,
                None => Vec::new(),
            };
            let fields = manifest_fields(&String::from_utf8_lossy(&manifest));
            self.found.extend(from_manifest(&fields, file_name));
        }
        if depth + 1 < MAX_DEPTH {
            for (index, name) in &names {
                if is_archive_name(name) {
                    let file_name = name.rsplit('/').next().unwrap_or(name);
                    // A corrupt nested archive does not hide its siblings nor the outer one;
                    // an exhausted budget ends the walk.
                    let nested = self
                        .read_entry(&mut zip, *index, u64::MAX)
                        .and_then(|bytes| self.archive(&bytes, file_name, depth + 1));
                    if let Err(e @ JavaError::TooLarge { .. }) = nested {
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    /// Inflates one entry, at most `cap` bytes of it, charging the budget.
    fn read_entry(
        &mut self,
        zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
        index: usize,
        cap: u64,
    ) -> Result<Vec<u8>, JavaError> {
        let entry = zip.by_index(index)?;
        let allowed = cap.min(self.remaining);
        let mut bytes = Vec::new();
        entry
            .take(allowed.saturating_add(1))
            .read_to_end(&mut bytes)?;
        let read = bytes.len() as u64;
        if read > self.remaining {
            return Err(JavaError::TooLarge { limit: self.limit });
        }
        self.remaining -= read;
        bytes.truncate(cap.try_into().unwrap_or(usize::MAX));
        Ok(bytes)
    }
}

/// `META-INF/maven/<g>/<a>` for that folder's `pom.properties`.
fn pom_properties_dir(name: &str) -> Option<&str> {
    let dir = name.strip_suffix("/pom.properties")?;
    let rest = dir.strip_prefix("META-INF/maven/")?;
    (rest.split('/').count() == 2).then_some(dir)
}

fn from_pom_properties(text: &str) -> Option<Found> {
    let properties = java_properties(text);
    let get = |key: &str| {
        properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    Some(maven(
        Some(get("groupId")?),
        get("artifactId")?,
        get("version")?,
        Vec::new(),
    ))
}

fn maven(group: Option<&str>, artifact: &str, version: &str, licenses: Vec<String>) -> Found {
    Found {
        kind: PackageKind::Maven,
        name: match group {
            Some(group) => format!("{group}:{artifact}"),
            None => artifact.to_owned(),
        },
        version: version.to_owned(),
        source: None,
        arch: None,
        licenses,
    }
}

/// `key=value`, `key: value` and `key value` lines of a `.properties` file, with `#`/`!`
/// comments, backslash line continuations and the common escapes.
pub fn java_properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut logical = String::new();
    for line in text.lines() {
        let line = line.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with(['#', '!'])) {
            continue;
        }
        let continued = line.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1;
        logical.push_str(if continued {
            &line[..line.len() - 1]
        } else {
            line
        });
        if continued {
            continue;
        }
        let entry = std::mem::take(&mut logical);
        let split = entry
            .char_indices()
            .scan(false, |escaped, (i, c)| {
                let here = !*escaped && matches!(c, '=' | ':' | ' ' | '\t');
                *escaped = !*escaped && c == '\\';
                Some((i, here))
            })
            .find(|&(_, here)| here)
            .map(|(i, _)| i);
        let (key, value) = match split {
            Some(i) => {
                let value = entry[i..].trim_start_matches([' ', '\t']);
                let value = value.strip_prefix(['=', ':']).unwrap_or(value);
                (&entry[..i], value.trim_start())
            }
            None => (entry.as_str(), ""),
        };
        out.push((unescape(key), unescape(value)));
    }
    out
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The main section of a manifest: `Name: value` headers up to the first blank line, a line
/// starting with one space continuing the previous value (lines are wrapped at 72 bytes).
pub fn manifest_fields(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if let Some(more) = line.strip_prefix(' ') {
            if let Some((_, value)) = out.last_mut() {
                value.push_str(more);
            }
        } else if let Some((key, value)) = line.split_once(':') {
            out.push((key.trim().to_owned(), value.trim_start().to_owned()));
        }
    }
    out
}

/// The artifact a manifest describes, falling back on the archive's file name
/// (`name-1.2.3.jar`) for what it leaves out. The group is known only from
/// `Implementation-Vendor-Id`; without it the name cannot match Maven advisories, which is
/// safer than guessing.
fn from_manifest(fields: &[(String, String)], file_name: &str) -> Option<Found> {
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let (file_artifact, file_version) = split_file_name(file_name);
    let artifact = get("Implementation-Title")
        .filter(|t| !t.contains(char::is_whitespace))
        .or_else(|| get("Bundle-SymbolicName").map(|n| n.split(';').next().unwrap_or(n).trim()))
        .or(file_artifact)?;
    let version = get("Implementation-Version")
        .or_else(|| get("Bundle-Version"))
        .or(file_version)?;
    let group = get("Implementation-Vendor-Id");
    let licenses = get("Bundle-License")
        .map(|l| vec![l.split(';').next().unwrap_or(l).trim().to_owned()])
        .unwrap_or_default();
    Some(maven(group, artifact, version, licenses))
}

/// `commons-io-2.11.0.jar` → (`commons-io`, `2.11.0`): the version starts at the first `-`
/// followed by a digit.
fn split_file_name(file_name: &str) -> (Option<&str>, Option<&str>) {
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _)| stem);
    let at = stem
        .char_indices()
        .find(|&(i, c)| c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        .map(|(i, _)| i);
    match at {
        Some(i) if i > 0 => (Some(&stem[..i]), Some(&stem[i + 1..])),
        _ => (Some(stem).filter(|s| !s.is_empty()), None),
    }
}

/// The licence names of a `pom.xml`: each `<name>` inside `<licenses>`. A tag scan, not an
/// XML parser: poms are machine-written and only these elements are wanted.
fn pom_licenses(xml: &str) -> Vec<String> {
    let Some(start) = xml.find("<licenses>") else {
        return Vec::new();
    };
    let block = &xml[start..];
    let block = &block[..block.find("</licenses>").unwrap_or(block.len())];
    block
        .split("<name>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</name>"))
        .map(|(name, _)| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A zip of `(name, content)` entries, deflated.
    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn summary(found: &[Found]) -> Vec<String> {
        found
            .iter()
            .map(|f| format!("{}@{} {:?}", f.name, f.version, f.licenses))
            .collect()
    }

    const POM: &str = "<project><licenses><license><name>Apache-2.0</name>\
        <url>x</url></license></licenses><name>not a licence</name></project>";

    #[test]
    fn pom_properties_manifests_and_nesting() {
        let commons = zip_of(&[
            (
                "META-INF/maven/org.apache.commons/commons-text/pom.properties",
                b"#Created by Maven\ngroupId=org.apache.commons\r\nartifactId = commons-text\nversion: 1.9\n",
            ),
            ("META-INF/maven/org.apache.commons/commons-text/pom.xml", POM.as_bytes()),
            ("org/apache/commons/text/StringSubstitutor.class", b"\xca\xfe\xba\xbe"),
        ]);
        let osgi = zip_of(&[(
            "META-INF/MANIFEST.MF",
            b"Manifest-Version: 1.0\r\nBundle-SymbolicName: org.example.very.long.bundle.n\r\n ame;singleton:=true\r\nBundle-Version: 2.1.0\r\nBundle-License: EPL-2.0;link=x\r\n\r\nName: other\r\nImplementation-Version: 9\r\n",
        )]);
        let plain = zip_of(&[("a.txt", b"x")]);
        let war = zip_of(&[
            ("META-INF/MANIFEST.MF", b"Implementation-Title: my-app\nImplementation-Version: 3.0\nImplementation-Vendor-Id: com.example\n"),
            ("WEB-INF/lib/commons-text-1.9.jar", &commons),
            ("WEB-INF/lib/osgi.jar", &osgi),
            ("WEB-INF/lib/guava-31.1-jre.jar", &plain),
            ("WEB-INF/lib/broken.jar", b"not a zip"),
        ]);
        let found = parse_archive(&war, 1 << 20).unwrap();
        assert_eq!(
            summary(&found),
            [
                "com.example:my-app@3.0 []".into(),
                "org.apache.commons:commons-text@1.9 [\"Apache-2.0\"]".to_owned(),
                "org.example.very.long.bundle.name@2.1.0 [\"EPL-2.0\"]".into(),
                "guava@31.1-jre []".into(),
            ]
        );
    }

    #[test]
    fn depth_and_budget_limits() {
        let mut nested = zip_of(&[(
            "META-INF/maven/g/a/pom.properties",
            b"groupId=g\nartifactId=a\nversion=1\n",
        )]);
        for level in 0..MAX_DEPTH + 2 {
            nested = zip_of(&[(&format!("lib/level{level}.jar"), &nested)]);
        }
        assert!(
            parse_archive(&nested, 1 << 20).unwrap().is_empty(),
            "too deep to read"
        );
        let bomb = zip_of(&[("lib/zeros.jar", &vec![0u8; 4 << 20])]);
        assert!(bomb.len() < 64 << 10);
        assert!(matches!(
            parse_archive(&bomb, 1 << 20),
            Err(JavaError::TooLarge { limit }) if limit == 1 << 20
        ));
        assert!(matches!(
            parse_archive(b"PK\x03\x04junk", 1 << 20),
            Err(JavaError::Zip(_))
        ));
    }

    #[test]
    fn properties_syntax() {
        let text = "# comment\n! also\n  key1 = value one\nkey2:value\\\n    continued\nkey\\=3=x\\ty\nlonely\n";
        let got = java_properties(text);
        let expect = [
            ("key1", "value one"),
            ("key2", "valuecontinued"),
            ("key=3", "x\ty"),
            ("lonely", ""),
        ];
        assert_eq!(got.len(), expect.len());
        for ((k, v), (ek, ev)) in got.iter().zip(expect) {
            assert_eq!((k.as_str(), v.as_str()), (ek, ev));
        }
    }

    #[test]
    fn archive_names_and_file_names() {
        for (name, expected) in [
            ("a.jar", true),
            ("A.WAR", true),
            ("x.ear", true),
            ("plugin.hpi", true),
            (".jar", false),
            ("a.jar.sha1", false),
            ("a.zip", false),
        ] {
            assert_eq!(is_archive_name(name), expected, "{name}");
        }
        for (name, expected) in [
            (
                "commons-io-2.11.0.jar",
                (Some("commons-io"), Some("2.11.0")),
            ),
            ("guava-31.1-jre.jar", (Some("guava"), Some("31.1-jre"))),
            ("app.jar", (Some("app"), None)),
            ("-1.jar", (Some("-1"), None)),
        ] {
            assert_eq!(split_file_name(name), expected, "{name}");
        }
    }
}
