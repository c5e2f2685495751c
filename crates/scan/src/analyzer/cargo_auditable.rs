//! The dependency list `cargo auditable build` embeds in a Rust binary: the `.dep-v0` section,
//! zlib-compressed JSON `{"packages": [{name, version, source, kind, dependencies, root}]}`.
//! `source` is `crates.io`, `git`, `local` or `registry`; `kind` is `build` for crates used
//! only by build scripts and proc macros, which are not in the binary.

use std::io::Read;

use serde::Deserialize;

use super::{Found, PackageKind};

/// The section's name.
pub const SECTION: &str = ".dep-v0";

/// Why a `.dep-v0` section could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuditableError {
    /// The zlib stream is corrupt.
    #[error("cargo-auditable data is not valid zlib: {0}")]
    Zlib(#[source] std::io::Error),
    /// The JSON inflates past the limit: a bomb or not cargo-auditable data.
    #[error("cargo-auditable data inflates past {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The JSON does not have the expected shape.
    #[error("cargo-auditable data is not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
}

#[derive(Deserialize)]
struct Auditable {
    packages: Vec<AuditablePackage>,
}

#[derive(Deserialize)]
struct AuditablePackage {
    name: String,
    version: String,
    source: String,
    #[serde(default)]
    kind: Option<String>,
}

/// The crates a binary was built from, from its compressed `.dep-v0` section, inflating at
/// most `limit` bytes of JSON. Build-only crates are left out, and so are `local` ones (the
/// binary's own workspace): they are not crates.io packages, and naming them so would match
/// crates.io advisories against unrelated code that shares a name.
pub fn parse_section(section: &[u8], limit: u64) -> Result<Vec<Found>, AuditableError> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(section)
        .take(limit + 1)
        .read_to_end(&mut json)
        .map_err(AuditableError::Zlib)?;
    if json.len() as u64 > limit {
        return Err(AuditableError::TooLarge { limit });
    }
    let parsed: Auditable = serde_json::from_slice(&json)?;
    Ok(parsed
        .packages
        .into_iter()
        .filter(|p| p.kind.as_deref() != Some("build") && p.source != "local")
        .map(|p| Found {
            kind: PackageKind::Cargo,
            name: p.name,
            version: p.version,
            source: None,
            arch: None,
            licenses: Vec::new(),
        })
        .collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;

    pub(crate) fn compress(json: &str) -> Vec<u8> {
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(json.as_bytes()).unwrap();
        encoder.finish().unwrap()
    }

    pub(crate) const JSON: &str = r#"{"packages":[
        {"name":"app","version":"0.1.0","source":"local","dependencies":[1,2,3],"root":true},
        {"name":"smallvec","version":"1.6.0","source":"crates.io"},
        {"name":"cc","version":"1.0.83","source":"crates.io","kind":"build"},
        {"name":"time","version":"0.1.44","source":"crates.io","kind":"runtime","dependencies":[]},
        {"name":"forked","version":"2.0.0","source":"git"}
    ]}"#;

    #[test]
    fn runtime_crates_only() {
        let found = parse_section(&compress(JSON), 1 << 20).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|f| format!("{}@{}", f.name, f.version))
            .collect();
        assert_eq!(names, ["smallvec@1.6.0", "time@0.1.44", "forked@2.0.0"]);
    }

    #[test]
    fn malformed_sections() {
        assert!(matches!(
            parse_section(b"not zlib", 1 << 20),
            Err(AuditableError::Zlib(_))
        ));
        assert!(matches!(
            parse_section(&compress(JSON), 100),
            Err(AuditableError::TooLarge { limit: 100 })
        ));
        for json in [r#"{"packages":{}}"#, "[]", r#"{"packages":[{"name":1}]}"#] {
            assert!(
                matches!(
                    parse_section(&compress(json), 1 << 20),
                    Err(AuditableError::Json(_))
                ),
                "{json}"
            );
        }
        let truncated = compress(JSON);
        assert!(parse_section(&truncated[..truncated.len() / 2], 1 << 20).is_err());
    }
}
