//! Executables that carry their own package list: Go's build info ([`go_buildinfo`]) and
//! cargo-auditable's `.dep-v0` section ([`cargo_auditable`]), in ELF files (Linux images).
//!
//! Any regular file of a layer may be one, so [`read_binary`] looks at four bytes first and
//! reads further only for ELF. An ELF file up to the file limit is read whole, because its
//! section headers sit at its end and the pointer-format Go header points anywhere. A larger
//! one is scanned as it streams past for Go's inline header (Go ≥ 1.18, which every big Go
//! binary of today uses), holding only a window after it.

use std::io::{self, Read};

use super::elf::{self, Elf};
use super::go_buildinfo::{self, BuildInfoError};
use super::{cargo_auditable, Found};

/// What an executable says about its packages.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Embedded {
    /// The packages it was built from.
    pub packages: Vec<Found>,
    /// Embedded data that could not be read, and why.
    pub problems: Vec<String>,
}

/// How much of a large binary is kept after Go's magic: the header and both strings, whose
/// module list runs to a few hundred KiB for the largest programs.
const STREAM_WINDOW: u64 = 4 << 20;
/// The step in which a large binary is read; a multiple of the magic's alignment.
const CHUNK: usize = 64 << 10;

/// Reads a regular file of `size` bytes that may be an executable. Files that are not ELF
/// cost four bytes; ELF files over `max_file` are scanned for Go's inline build info only.
pub fn read_binary(data: &mut dyn Read, size: u64, max_file: u64) -> io::Result<Embedded> {
    let mut magic = [0u8; 4];
    if read_full(data, &mut magic)? < magic.len() || &magic != elf::MAGIC {
        return Ok(Embedded::default());
    }
    if size > max_file {
        return scan_stream(magic, data);
    }
    let mut bytes = Vec::with_capacity(size as usize);
    bytes.extend_from_slice(&magic);
    data.take(max_file + 1 - magic.len() as u64)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_file {
        return Ok(Embedded {
            packages: Vec::new(),
            problems: vec![format!(
                "grew past the limit of {max_file} bytes while read"
            )],
        });
    }
    Ok(analyze_elf(&bytes, max_file))
}

/// The packages an ELF file held in memory embeds.
pub fn analyze_elf(bytes: &[u8], max_file: u64) -> Embedded {
    let mut out = Embedded::default();
    let elf = Elf::parse(bytes);
    let parsed = elf.as_ref().ok();
    let go_header = match parsed {
        Some(elf) if elf.has_sections() => elf
            .section(".go.buildinfo")
            .filter(|s| s.starts_with(go_buildinfo::MAGIC)),
        // Without section headers (stripped, or headers that do not parse) the file is
        // searched; a section's file offset keeps its address's alignment, so this works.
        _ => go_buildinfo::find_magic(bytes).map(|at| &bytes[at..]),
    };
    if let Some(header) = go_header {
        match go_buildinfo::read(header, parsed) {
            Ok(info) => out.packages.extend(go_buildinfo::packages(&info)),
            Err(e) => out.problems.push(e.to_string()),
        }
    }
    if let Some(section) = parsed.and_then(|e| e.section(cargo_auditable::SECTION)) {
        match cargo_auditable::parse_section(section, max_file) {
            Ok(found) => out.packages.extend(found),
            Err(e) => out.problems.push(e.to_string()),
        }
    }
    out
}

/// Scans a large ELF stream for Go's inline build info at 16-byte file offsets.
fn scan_stream(magic: [u8; 4], data: &mut dyn Read) -> io::Result<Embedded> {
    let mut chunk = vec![0u8; CHUNK];
    chunk[..4].copy_from_slice(&magic);
    let mut filled = 4 + read_full(data, &mut chunk[4..])?;
    loop {
        // Chunks are whole multiples of the alignment, so an aligned magic never straddles
        // two of them.
        if let Some(at) = go_buildinfo::find_magic(&chunk[..filled]) {
            let mut window = chunk[at..filled].to_vec();
            data.take(STREAM_WINDOW).read_to_end(&mut window)?;
            let mut out = Embedded::default();
            match go_buildinfo::read(&window, None) {
                Ok(info) => out.packages = go_buildinfo::packages(&info),
                Err(BuildInfoError::NeedsElf) => out.problems.push(
                    "Go build info in the pre-1.18 pointer format, in a binary over the file \
                     limit; raise the limit to read it"
                        .to_owned(),
                ),
                Err(e) => out.problems.push(e.to_string()),
            }
            return Ok(out);
        }
        if filled < CHUNK {
            return Ok(Embedded::default());
        }
        filled = read_full(data, &mut chunk)?;
    }
}

/// Fills `buf` as far as the stream allows; fewer bytes only at its end.
fn read_full(data: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match data.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::cargo_auditable::tests::{compress, JSON};
    use crate::analyzer::elf::tests::{build, TestSection};
    use crate::analyzer::go_buildinfo::tests::inline;

    fn go_modules() -> Vec<u8> {
        let text = "path\tx\nmod\tx\tv1.0.0\th1:a=\ndep\tgithub.com/a/b\tv0.1.0\th1:b=\n";
        [&[0u8; 16][..], text.as_bytes(), &[0u8; 16][..]].concat()
    }

    fn names(embedded: &Embedded) -> Vec<String> {
        embedded
            .packages
            .iter()
            .map(|f| format!("{:?} {}@{}", f.kind, f.name, f.version))
            .collect()
    }

    #[test]
    fn go_and_cargo_in_one_binary() {
        let go = inline("go1.21.0", &go_modules());
        let deps = compress(JSON);
        let file = build(
            &[
                TestSection {
                    name: ".go.buildinfo",
                    addr: 0x40_0100,
                    data: &go,
                },
                TestSection {
                    name: ".dep-v0",
                    addr: 0x40_1000,
                    data: &deps,
                },
            ],
            false,
        );
        let got = read_binary(&mut &file[..], file.len() as u64, 1 << 20).unwrap();
        assert_eq!(
            names(&got),
            [
                "Go x@v1.0.0",
                "Go github.com/a/b@v0.1.0",
                "Go stdlib@1.21.0",
                "Cargo smallvec@1.6.0",
                "Cargo time@0.1.44",
                "Cargo forked@2.0.0",
            ]
        );
        assert!(got.problems.is_empty());
        // Over the file limit, only Go's inline header is found, as the stream passes.
        let streamed = read_binary(&mut &file[..], file.len() as u64, 64).unwrap();
        assert_eq!(names(&streamed)[..3], names(&got)[..3]);
        assert_eq!(streamed.packages.len(), 3);
    }

    #[test]
    fn stripped_section_headers_and_streams_past_a_chunk() {
        let go = inline("go1.22.3", &go_modules());
        let mut file = elf::MAGIC.to_vec();
        file.resize(3 * CHUNK + 48, 7);
        file.extend_from_slice(&go);
        file.extend_from_slice(&[0u8; 100]);
        for max_file in [1 << 30, 64] {
            let got = read_binary(&mut &file[..], file.len() as u64, max_file).unwrap();
            assert_eq!(
                names(&got).last().unwrap(),
                "Go stdlib@1.22.3",
                "{max_file}"
            );
        }
    }

    #[test]
    fn other_files_and_broken_data() {
        for data in [
            &b""[..],
            b"\x7fEL",
            b"#!/bin/sh\necho hi\n",
            b"\x7fELF\x02\x01",
        ] {
            let got = read_binary(&mut &data[..], data.len() as u64, 1 << 20).unwrap();
            assert_eq!(got, Embedded::default(), "{data:?}");
        }
        let file = build(
            &[TestSection {
                name: ".dep-v0",
                addr: 0x40_0100,
                data: b"garbage",
            }],
            false,
        );
        let got = read_binary(&mut &file[..], file.len() as u64, 1 << 20).unwrap();
        assert!(got.packages.is_empty());
        assert_eq!(got.problems.len(), 1, "{:?}", got.problems);
        let mut go = inline("go1.21.0", &go_modules());
        go.truncate(40);
        let file = build(
            &[TestSection {
                name: ".go.buildinfo",
                addr: 0x40_0100,
                data: &go,
            }],
            false,
        );
        let got = read_binary(&mut &file[..], file.len() as u64, 1 << 20).unwrap();
        assert_eq!(got.problems, ["Go build info is truncated"]);
    }
}
