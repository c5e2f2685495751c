//! Just enough of ELF to find the sections and segments that embed package lists: the file
//! header, program headers (to turn a virtual address into file bytes) and section headers
//! with their names. 32- and 64-bit, either byte order. Every offset and count comes from the
//! file, so each one is checked against the file's length before use.

/// The four bytes every ELF file starts with.
pub const MAGIC: &[u8; 4] = b"\x7fELF";

const PT_LOAD: u64 = 1;
const SHT_NOBITS: u64 = 8;

/// Why bytes that start like ELF are not a usable ELF file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// Not ELF at all.
    #[error("not an ELF file")]
    NotElf,
    /// A class or byte order other than 32/64-bit, little/big endian.
    #[error("unknown ELF class or byte order")]
    Unsupported,
    /// A header or table reaches past the end of the file.
    #[error("ELF header or table past the end of the file (truncated?)")]
    Truncated,
}

/// A loadable segment.
#[derive(Debug, Clone, Copy)]
struct Segment {
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// A section with its name.
#[derive(Debug, Clone)]
struct Section {
    name: Vec<u8>,
    kind: u64,
    offset: u64,
    size: u64,
}

/// A parsed ELF file over its bytes.
#[derive(Debug)]
pub struct Elf<'a> {
    data: &'a [u8],
    wide: bool,
    big_endian: bool,
    segments: Vec<Segment>,
    sections: Vec<Section>,
}

impl<'a> Elf<'a> {
    /// Parses the headers of `data`. A file without section headers (stripped of them) parses
    /// with none.
    pub fn parse(data: &'a [u8]) -> Result<Elf<'a>, ElfError> {
        if !data.starts_with(MAGIC) {
            return Err(ElfError::NotElf);
        }
        let (wide, big_endian) = match (data.get(4), data.get(5)) {
            (Some(1), Some(e @ (1 | 2))) => (false, *e == 2),
            (Some(2), Some(e @ (1 | 2))) => (true, *e == 2),
            _ => return Err(ElfError::Unsupported),
        };
        let mut elf = Elf {
            data,
            wide,
            big_endian,
            segments: Vec::new(),
            sections: Vec::new(),
        };
        elf.segments = elf.read_segments()?;
        elf.sections = elf.read_sections()?;
        Ok(elf)
    }

    /// Whether multi-byte values are big-endian.
    pub fn big_endian(&self) -> bool {
        self.big_endian
    }

    /// Whether the file has section headers (strip tools such as `sstrip` remove them).
    pub fn has_sections(&self) -> bool {
        !self.sections.is_empty()
    }

    /// The file bytes of a section, `None` when it is absent or occupies no file bytes.
    pub fn section(&self, name: &str) -> Option<&'a [u8]> {
        let section = self
            .sections
            .iter()
            .find(|s| s.name == name.as_bytes() && s.kind != SHT_NOBITS)?;
        slice(self.data, section.offset, section.size)
    }

    /// `len` bytes at virtual address `addr`, if a loadable segment holds them in the file.
    pub fn read_at(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        let segment = self.segments.iter().find(|s| {
            addr >= s.vaddr && addr - s.vaddr < s.filesz && len <= s.filesz - (addr - s.vaddr)
        })?;
        slice(self.data, segment.offset + (addr - segment.vaddr), len)
    }

    fn read_segments(&self) -> Result<Vec<Segment>, ElfError> {
        let (offset, entry_size, count) = if self.wide {
            (self.u64_at(0x20)?, self.u16_at(0x36)?, self.u16_at(0x38)?)
        } else {
            (self.u32_at(0x1c)?, self.u16_at(0x2a)?, self.u16_at(0x2c)?)
        };
        let mut segments = Vec::new();
        for i in 0..u64::from(count) {
            let at = entry(offset, entry_size, i)?;
            let kind = self.u32_at(at)?;
            if kind != PT_LOAD {
                continue;
            }
            segments.push(if self.wide {
                Segment {
                    offset: self.u64_at(at + 8)?,
                    vaddr: self.u64_at(at + 16)?,
                    filesz: self.u64_at(at + 32)?,
                }
            } else {
                Segment {
                    offset: self.u32_at(at + 4)?,
                    vaddr: self.u32_at(at + 8)?,
                    filesz: self.u32_at(at + 16)?,
                }
            });
        }
        Ok(segments)
    }

    fn read_sections(&self) -> Result<Vec<Section>, ElfError> {
        let (offset, entry_size, count, names_index) = if self.wide {
            let [size, count, names] = [0x3a, 0x3c, 0x3e].map(|at| self.u16_at(at));
            (self.u64_at(0x28)?, size?, count?, names?)
        } else {
            let [size, count, names] = [0x2e, 0x30, 0x32].map(|at| self.u16_at(at));
            (self.u32_at(0x20)?, size?, count?, names?)
        };
        if offset == 0 {
            return Ok(Vec::new());
        }
        // (name offset, kind, file offset, size) of each section header.
        let mut raw = Vec::with_capacity(usize::from(count));
        for i in 0..u64::from(count) {
            let at = entry(offset, entry_size, i)?;
            raw.push(if self.wide {
                (
                    self.u32_at(at)?,
                    self.u32_at(at + 4)?,
                    self.u64_at(at + 24)?,
                    self.u64_at(at + 32)?,
                )
            } else {
                (
                    self.u32_at(at)?,
                    self.u32_at(at + 4)?,
                    self.u32_at(at + 16)?,
                    self.u32_at(at + 20)?,
                )
            });
        }
        let names = raw
            .get(usize::from(names_index))
            .and_then(|&(_, _, offset, size)| slice(self.data, offset, size))
            .unwrap_or_default();
        Ok(raw
            .into_iter()
            .map(|(name, kind, offset, size)| Section {
                name: c_string(names, name),
                kind,
                offset,
                size,
            })
            .collect())
    }

    fn bytes_at<const N: usize>(&self, at: u64) -> Result<[u8; N], ElfError> {
        slice(self.data, at, N as u64)
            .and_then(|b| b.try_into().ok())
            .ok_or(ElfError::Truncated)
    }

    fn u16_at(&self, at: u64) -> Result<u16, ElfError> {
        let b = self.bytes_at::<2>(at)?;
        Ok(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    /// A 32-bit field, widened so 32- and 64-bit layouts share code.
    fn u32_at(&self, at: u64) -> Result<u64, ElfError> {
        let b = self.bytes_at::<4>(at)?;
        Ok(u64::from(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }))
    }

    fn u64_at(&self, at: u64) -> Result<u64, ElfError> {
        let b = self.bytes_at::<8>(at)?;
        Ok(if self.big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }
}

/// The offset of table entry `index`; a table whose end overflows is truncated input.
fn entry(table: u64, entry_size: u16, index: u64) -> Result<u64, ElfError> {
    u64::from(entry_size)
        .checked_mul(index)
        .and_then(|o| o.checked_add(table))
        .ok_or(ElfError::Truncated)
}

/// `len` bytes at `offset`, if the data holds them.
pub(crate) fn slice(data: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    data.get(start..end)
}

/// The NUL-terminated string at `offset` of a string table.
fn c_string(table: &[u8], offset: u64) -> Vec<u8> {
    let rest = usize::try_from(offset)
        .ok()
        .and_then(|o| table.get(o..))
        .unwrap_or_default();
    rest.iter().take_while(|&&b| b != 0).copied().collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A section of a hand-assembled ELF file: name, virtual address, content.
    pub(crate) struct TestSection<'a> {
        pub name: &'a str,
        pub addr: u64,
        pub data: &'a [u8],
    }

    /// A little- or big-endian 64-bit ELF executable with one writable loadable segment that
    /// holds every section at its address (file offset = address - 0x400000 + 0x1000).
    pub(crate) fn build(sections: &[TestSection<'_>], big_endian: bool) -> Vec<u8> {
        let put16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let put32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let put64 = |v: u64| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        const BASE: u64 = 0x40_0000;
        const START: usize = 0x1000;
        let end = sections
            .iter()
            .map(|s| (s.addr - BASE) as usize + s.data.len())
            .max()
            .unwrap_or(0);
        let mut file = vec![0u8; START + end];
        for s in sections {
            let at = START + (s.addr - BASE) as usize;
            file[at..at + s.data.len()].copy_from_slice(s.data);
        }
        let mut names = vec![0u8];
        let mut name_offsets = Vec::new();
        for s in sections.iter().map(|s| s.name).chain([".shstrtab"]) {
            name_offsets.push(names.len() as u32);
            names.extend_from_slice(s.as_bytes());
            names.push(0);
        }
        let names_at = file.len();
        file.extend_from_slice(&names);
        let section_headers_at = file.len();
        file.extend_from_slice(&[0u8; 64]); // section 0 is null
        for (i, s) in sections.iter().enumerate() {
            let mut h = Vec::new();
            h.extend(put32(name_offsets[i]));
            h.extend(put32(1)); // PROGBITS
            h.extend(put64(3)); // WA
            h.extend(put64(s.addr));
            h.extend(put64((START as u64) + s.addr - BASE));
            h.extend(put64(s.data.len() as u64));
            h.extend([0u8; 24]);
            file.extend(h);
        }
        let mut h = Vec::new();
        h.extend(put32(name_offsets[sections.len()]));
        h.extend(put32(3)); // STRTAB
        h.extend([0u8; 16]);
        h.extend(put64(names_at as u64));
        h.extend(put64(names.len() as u64));
        h.extend([0u8; 24]);
        file.extend(h);
        let mut header = Vec::new();
        header.extend(*MAGIC);
        header.extend([2, if big_endian { 2 } else { 1 }, 1, 0]);
        header.extend([0u8; 8]);
        header.extend(put16(2)); // EXEC
        header.extend(put16(62));
        header.extend(put32(1));
        header.extend(put64(BASE));
        header.extend(put64(64)); // program headers
        header.extend(put64(section_headers_at as u64));
        header.extend(put32(0));
        header.extend(put16(64));
        header.extend(put16(56));
        header.extend(put16(1));
        header.extend(put16(64));
        header.extend(put16(sections.len() as u16 + 2));
        header.extend(put16(sections.len() as u16 + 1));
        header.extend(put32(PT_LOAD as u32));
        header.extend(put32(6)); // RW
        header.extend(put64(START as u64));
        header.extend(put64(BASE));
        header.extend(put64(BASE));
        header.extend(put64(end as u64));
        header.extend(put64(end as u64));
        header.extend(put64(0x1000));
        file[..header.len()].copy_from_slice(&header);
        file
    }

    #[test]
    fn sections_and_addresses() {
        for big_endian in [false, true] {
            let file = build(
                &[
                    TestSection {
                        name: ".a",
                        addr: 0x40_0010,
                        data: b"first",
                    },
                    TestSection {
                        name: ".b",
                        addr: 0x40_0100,
                        data: b"second",
                    },
                ],
                big_endian,
            );
            let elf = Elf::parse(&file).unwrap();
            assert_eq!(elf.big_endian(), big_endian);
            assert_eq!(elf.section(".b"), Some(&b"second"[..]));
            assert_eq!(elf.section(".c"), None);
            assert_eq!(elf.read_at(0x40_0011, 4), Some(&b"irst"[..]));
            assert_eq!(elf.read_at(0x40_0104, 10), None, "past the segment");
            assert_eq!(elf.read_at(u64::MAX, 2), None);
        }
    }

    #[test]
    fn truncated_and_foreign_files() {
        let file = build(&[], false);
        for cut in [3, 10, 40, 70] {
            assert!(Elf::parse(&file[..cut]).is_err(), "{cut}");
        }
        assert_eq!(Elf::parse(b"MZ\x90\0").unwrap_err(), ElfError::NotElf);
        let mut odd = file.clone();
        odd[4] = 3;
        assert_eq!(Elf::parse(&odd).unwrap_err(), ElfError::Unsupported);
        // Section headers claimed far past the end.
        let mut far = file;
        far[0x28..0x30].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(Elf::parse(&far).unwrap_err(), ElfError::Truncated);
    }
}
