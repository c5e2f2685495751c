//! The build information the Go linker embeds in every binary: the Go version and, for module
//! builds, the main module and each dependency with its version (what `go version -m` prints).
//!
//! It lives in the `.go.buildinfo` section (or, with section headers stripped, at a 16-byte
//! boundary of the data segment), behind a 32-byte header that starts with `\xff Go buildinf:`.
//! Since Go 1.18 the two strings follow the header inline, each prefixed by its length as an
//! unsigned varint (flag bit 2). Before, the header holds two pointers to Go string headers
//! (pointer-sized address and length), which need the program headers to be read.
//!
//! The module text is lines of tab-separated fields: `path`, `mod` (main module: path,
//! version, sum), `dep` (path, version, sum), `=>` (replacement of the line before: path,
//! version, sum; a local folder has no version) and `build` settings.

use super::elf::{slice, Elf};
use super::{Found, PackageKind};

/// The magic at the start of the build info header.
pub const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// The header's alignment, so the magic is searched at these steps only.
pub const ALIGN: usize = 16;
const HEADER: usize = 32;
const FLAG_BIG_ENDIAN: u8 = 1;
const FLAG_INLINE: u8 = 2;
/// The most bytes a version or module string may claim; real ones are a few hundred KiB.
const MAX_STRING: u64 = 16 << 20;

/// Why a binary's build info could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildInfoError {
    /// The header or a string runs past the data.
    #[error("Go build info is truncated")]
    Truncated,
    /// A pointer-format header whose pointers lead outside the file.
    #[error("Go build info points outside the binary's loaded segments")]
    BadPointer,
    /// A pointer-format header without the program headers to follow it.
    #[error("Go build info in the pre-1.18 pointer format needs the whole ELF file")]
    NeedsElf,
    /// A pointer size other than 4 or 8.
    #[error("Go build info gives a pointer size of {0}")]
    PointerSize(u8),
}

/// What a Go binary says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildInfo {
    /// The toolchain, as the runtime spells it: `go1.22.1`.
    pub go_version: String,
    /// The module text (`path`/`mod`/`dep`/`=>`/`build` lines).
    pub modules: String,
}

/// Where the magic is in `data`, at a 16-byte boundary; `data` must start at such a
/// boundary of the file (a section or segment start, or the file itself).
pub fn find_magic(data: &[u8]) -> Option<usize> {
    (0..data.len())
        .step_by(ALIGN)
        .find(|&at| data[at..].starts_with(MAGIC))
}

/// Reads the build info whose header starts at `header`. `elf` resolves the pointer format;
/// without it only the inline format is read.
pub fn read(header: &[u8], elf: Option<&Elf<'_>>) -> Result<BuildInfo, BuildInfoError> {
    let head = header.get(..HEADER).ok_or(BuildInfoError::Truncated)?;
    let (pointer_size, flags) = (head[14], head[15]);
    let (go_version, modules) = if flags & FLAG_INLINE != 0 {
        let (version, rest) = varint_string(&header[HEADER..])?;
        let (modules, _) = varint_string(rest)?;
        (version, modules)
    } else {
        let elf = elf.ok_or(BuildInfoError::NeedsElf)?;
        let size = match pointer_size {
            4 | 8 => u64::from(pointer_size),
            other => return Err(BuildInfoError::PointerSize(other)),
        };
        let big_endian = flags & FLAG_BIG_ENDIAN != 0 || elf.big_endian();
        let pointer = |bytes: &[u8]| uint(bytes, big_endian);
        let version_at = pointer(&head[16..16 + size as usize]);
        let modules_at = pointer(&head[16 + size as usize..16 + 2 * size as usize]);
        let string_at = |addr: u64| -> Result<&[u8], BuildInfoError> {
            let header = elf
                .read_at(addr, 2 * size)
                .ok_or(BuildInfoError::BadPointer)?;
            let (data, len) = header.split_at(size as usize);
            let len = pointer(len);
            if len > MAX_STRING {
                return Err(BuildInfoError::Truncated);
            }
            elf.read_at(pointer(data), len)
                .ok_or(BuildInfoError::BadPointer)
        };
        (string_at(version_at)?, string_at(modules_at)?)
    };
    Ok(BuildInfo {
        go_version: String::from_utf8_lossy(go_version).into_owned(),
        modules: String::from_utf8_lossy(strip_sentinels(modules)).into_owned(),
    })
}

/// The module text sits between two 16-byte sentinels; without them (or too short to hold
/// them) the binary was not built with module information.
fn strip_sentinels(modules: &[u8]) -> &[u8] {
    let len = modules.len();
    if len >= 33 && modules[len - 17] == b'\n' {
        &modules[16..len - 16]
    } else {
        &[]
    }
}

/// An unsigned LEB128 length followed by that many bytes, and what follows them.
fn varint_string(data: &[u8]) -> Result<(&[u8], &[u8]), BuildInfoError> {
    let mut len = 0u64;
    for (i, &byte) in data.iter().enumerate().take(10) {
        len |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let rest = &data[i + 1..];
            let string = slice(rest, 0, len).ok_or(BuildInfoError::Truncated)?;
            return Ok((string, &rest[string.len()..]));
        }
    }
    Err(BuildInfoError::Truncated)
}

fn uint(bytes: &[u8], big_endian: bool) -> u64 {
    let fold = |acc: u64, &b: &u8| acc << 8 | u64::from(b);
    if big_endian {
        bytes.iter().fold(0, fold)
    } else {
        bytes.iter().rev().fold(0, fold)
    }
}

/// The packages a Go binary holds: the main module (when it has a version), every
/// dependency (replaced ones by their replacement when it has a version) and the standard
/// library as `stdlib` at the toolchain's version, as the Go vulnerability database names it.
pub fn packages(info: &BuildInfo) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let mut last_dep: Option<usize> = None;
    for line in info.modules.lines() {
        let mut fields = line.split('\t');
        let (kind, path, version) = (fields.next(), fields.next(), fields.next());
        let (Some(path), Some(version)) = (path, version.filter(|v| !v.is_empty())) else {
            // A `=>` to a local folder keeps the module as required; `path` and `build`
            // lines name no package.
            continue;
        };
        match kind {
            Some("mod") if version != "(devel)" => {
                out.push(go_module(path, version));
                last_dep = None;
            }
            Some("dep") => {
                out.push(go_module(path, version));
                last_dep = Some(out.len() - 1);
            }
            Some("=>") => {
                if let Some(replaced) = last_dep.take() {
                    out[replaced] = go_module(path, version);
                }
            }
            _ => last_dep = None,
        }
    }
    if let Some(version) = stdlib_version(&info.go_version) {
        out.push(go_module("stdlib", &version));
    }
    out
}

fn go_module(path: &str, version: &str) -> Found {
    Found {
        kind: PackageKind::Go,
        name: path.to_owned(),
        version: version.to_owned(),
        source: None,
        arch: None,
        licenses: Vec::new(),
    }
}

/// `go1.22.1` → `1.22.1`, `go1.20` → `1.20.0`, `go1.21rc2` → `1.21.0-rc.2`, as semver and the
/// Go vulnerability database write them. Experiment suffixes (`go1.22.1 X:boringcrypto`) are
/// dropped; development toolchains (`devel go1.23-…`) have no release to name.
pub fn stdlib_version(go_version: &str) -> Option<String> {
    let release = go_version.split_whitespace().next()?.strip_prefix("go")?;
    let numbers_end = release
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(release.len());
    let (numbers, suffix) = release.split_at(numbers_end);
    let parts: Vec<&str> = numbers.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let mut version = parts.join(".");
    for _ in parts.len()..3 {
        version.push_str(".0");
    }
    for tag in ["rc", "beta"] {
        if let Some(n) = suffix.strip_prefix(tag) {
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                return Some(format!("{version}-{tag}.{n}"));
            }
        }
    }
    // Vendor builds append their own tag (`go1.20.1-bigcorp`): the release is what matters.
    (suffix.is_empty() || suffix.starts_with(['-', '+'])).then_some(version)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analyzer::elf::tests::{build, TestSection};

    const START: &[u8; 16] = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6";
    const END: &[u8; 16] = b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2";

    fn sentinelled(text: &str) -> Vec<u8> {
        [&START[..], text.as_bytes(), &END[..]].concat()
    }

    fn varint(mut n: usize, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    /// A Go ≥ 1.18 header with its strings inline.
    pub(crate) fn inline(version: &str, modules: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([8, FLAG_INLINE]);
        out.resize(HEADER, 0);
        for s in [version.as_bytes(), modules] {
            varint(s.len(), &mut out);
            out.extend_from_slice(s);
        }
        out
    }

    const MODULES: &str = "path\texample.com/app\n\
        mod\texample.com/app\tv1.4.0\th1:abc=\n\
        dep\tgithub.com/sirupsen/logrus\tv1.8.0\th1:x=\n\
        dep\tgolang.org/x/net\tv0.0.0-20210226172049-e18ecbb05110\th1:y=\n\
        =>\tgolang.org/x/net\tv0.7.0\th1:z=\n\
        dep\texample.com/local\tv1.0.0\n\
        =>\t../local\t\n\
        build\t-compiler=gc\n\
        build\tGOARCH=amd64\n";

    fn names(found: &[Found]) -> Vec<String> {
        found
            .iter()
            .map(|f| format!("{}@{}", f.name, f.version))
            .collect()
    }

    #[test]
    fn inline_format_with_replacements() {
        let data = inline("go1.21.5", &sentinelled(MODULES));
        let info = read(&data, None).unwrap();
        assert_eq!(info.go_version, "go1.21.5");
        assert_eq!(
            names(&packages(&info)),
            [
                "example.com/app@v1.4.0",
                "github.com/sirupsen/logrus@v1.8.0",
                "golang.org/x/net@v0.7.0",
                "example.com/local@v1.0.0",
                "stdlib@1.21.5",
            ]
        );
    }

    #[test]
    fn devel_main_module_and_no_module_info() {
        let text = "path\tx\nmod\tx\t(devel)\t\ndep\tgithub.com/a/b\tv1.0.0\th1:q=\n";
        let info = read(&inline("go1.22.0", &sentinelled(text)), None).unwrap();
        assert_eq!(
            names(&packages(&info)),
            ["github.com/a/b@v1.0.0", "stdlib@1.22.0"]
        );
        // GOPATH builds (Debian's) carry no sentinels: only the toolchain is known.
        let info = read(&inline("go1.19.8", b"path\tx\n"), None).unwrap();
        assert_eq!(names(&packages(&info)), ["stdlib@1.19.8"]);
    }

    #[test]
    fn pointer_format_through_the_segments() {
        for (big_endian, size) in [(false, 8u8), (true, 8), (false, 4)] {
            let put = |v: u64| -> Vec<u8> {
                let bytes = if big_endian {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                };
                if big_endian {
                    bytes[8 - size as usize..].to_vec()
                } else {
                    bytes[..size as usize].to_vec()
                }
            };
            let modules = sentinelled(MODULES);
            let (version_text, modules_text) = (0x40_0200u64, 0x40_0300u64);
            let (version_header, modules_header) = (0x40_0100u64, 0x40_0120u64);
            let mut header = MAGIC.to_vec();
            header.extend([size, u8::from(big_endian)]);
            header.extend(put(version_header));
            header.extend(put(modules_header));
            header.resize(HEADER, 0);
            let string_header = |at: u64, len: usize| [put(at), put(len as u64)].concat();
            let file = build(
                &[
                    TestSection {
                        name: ".go.buildinfo",
                        addr: 0x40_0000,
                        data: &header,
                    },
                    TestSection {
                        name: ".vh",
                        addr: version_header,
                        data: &string_header(version_text, 8),
                    },
                    TestSection {
                        name: ".mh",
                        addr: modules_header,
                        data: &string_header(modules_text, modules.len()),
                    },
                    TestSection {
                        name: ".v",
                        addr: version_text,
                        data: b"go1.16.3",
                    },
                    TestSection {
                        name: ".m",
                        addr: modules_text,
                        data: &modules,
                    },
                ],
                big_endian,
            );
            let elf = Elf::parse(&file).unwrap();
            let section = elf.section(".go.buildinfo").unwrap();
            let info = read(section, Some(&elf)).unwrap();
            assert_eq!(info.go_version, "go1.16.3", "{big_endian} {size}");
            assert_eq!(packages(&info).len(), 5);
            assert_eq!(read(section, None), Err(BuildInfoError::NeedsElf));
        }
    }

    #[test]
    fn hostile_headers() {
        let good = inline("go1.21.5", &sentinelled(MODULES));
        for cut in [0, 10, 31, 33, 40, good.len() - 1] {
            assert_eq!(
                read(&good[..cut], None),
                Err(BuildInfoError::Truncated),
                "{cut}"
            );
        }
        let mut huge = good[..HEADER].to_vec();
        huge.extend([0xff; 12]);
        assert_eq!(read(&huge, None), Err(BuildInfoError::Truncated));
        let mut odd = good.clone();
        odd[15] = 0;
        odd[14] = 3;
        let file = build(&[], false);
        let elf = Elf::parse(&file).unwrap();
        assert_eq!(read(&odd, Some(&elf)), Err(BuildInfoError::PointerSize(3)));
        odd[14] = 8;
        assert_eq!(read(&odd, Some(&elf)), Err(BuildInfoError::BadPointer));
    }

    #[test]
    fn magic_only_at_alignment() {
        let mut data = vec![0u8; 64];
        data[8..22].copy_from_slice(MAGIC);
        assert_eq!(find_magic(&data), None);
        data[32..46].copy_from_slice(MAGIC);
        assert_eq!(find_magic(&data), Some(32));
    }

    #[test]
    fn toolchain_versions() {
        for (go, expected) in [
            ("go1.22.1", Some("1.22.1")),
            ("go1.20", Some("1.20.0")),
            ("go1.21rc2", Some("1.21.0-rc.2")),
            ("go1.18beta1", Some("1.18.0-beta.1")),
            ("go1.22.1 X:boringcrypto", Some("1.22.1")),
            ("go1.20.1-bigcorp", Some("1.20.1")),
            ("devel go1.23-abcdef", None),
            ("go", None),
            ("go1..2", None),
            ("go1.2.3.4", None),
            ("1.22", None),
        ] {
            assert_eq!(stdlib_version(go).as_deref(), expected, "{go}");
        }
    }
}
