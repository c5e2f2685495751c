//! A streaming tar reader of our own, rather than the `tar` crate, because a layer is hostile
//! input and the reader must bound what a header may cost: the `tar` crate reads a GNU long
//! name or a PAX header of any size into memory before the caller sees it.
//!
//! It reads POSIX ustar, GNU (long names `L`/`K`, base-256 sizes) and PAX (`path`, `linkpath`,
//! `size`) headers, checks every header's checksum, and never seeks: entries the caller does
//! not read are skipped by reading past them, so any [`Read`] will do.

use std::io::{self, Read};

use super::LayerError;

const BLOCK: u64 = 512;

/// What an entry is. Only the kinds the analyzers care about are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link; its target is in [`Entry::link`].
    Symlink,
    /// A hard link to an earlier entry of the archive; its target is in [`Entry::link`].
    Hardlink,
    /// Anything else (devices, FIFOs, sparse files): never read.
    Other,
}

/// One entry's header, with long names and PAX overrides applied.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The path as the archive writes it (not yet normalised).
    pub path: String,
    /// The kind.
    pub kind: EntryKind,
    /// The size of the entry's data in bytes.
    pub size: u64,
    /// The link target of a symlink or hard link.
    pub link: Option<String>,
}

/// Reads entries one after another from a tar stream.
#[derive(Debug)]
pub struct TarReader<R> {
    inner: R,
    /// Data bytes of the current entry not yet read, then its padding.
    remaining: u64,
    padding: u64,
    /// Bytes consumed so far, to say where a corrupt header is.
    offset: u64,
    max_header: u64,
    done: bool,
}

impl<R: Read> TarReader<R> {
    /// A reader that refuses long-name and PAX headers over `max_header` bytes.
    pub fn new(inner: R, max_header: u64) -> TarReader<R> {
        TarReader {
            inner,
            remaining: 0,
            padding: 0,
            offset: 0,
            max_header,
            done: false,
        }
    }

    /// The next entry, or `None` at the end of the archive. Skips what is left of the
    /// previous entry's data.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, LayerError> {
        if self.done {
            return Ok(None);
        }
        self.skip(self.remaining + self.padding)?;
        self.remaining = 0;
        self.padding = 0;
        let mut long_name = None;
        let mut long_link = None;
        let mut pax = Pax::default();
        loop {
            let mut block = [0u8; BLOCK as usize];
            let at = self.offset;
            if !self.fill(&mut block)? {
                // A stream that ends without the two zero blocks is common enough (some
                // writers stop early) that it is taken as the end, as GNU tar does.
                self.done = true;
                return Ok(None);
            }
            if block.iter().all(|&b| b == 0) {
                self.done = true;
                return Ok(None);
            }
            let header = Header::parse(&block, at)?;
            match header.type_flag {
                b'L' | b'K' | b'x' | b'g' => {
                    if header.size > self.max_header {
                        return Err(LayerError::HeaderTooLarge {
                            size: header.size,
                            limit: self.max_header,
                        });
                    }
                    let mut data = vec![0u8; header.size as usize];
                    self.read_padded(&mut data)?;
                    match header.type_flag {
                        b'L' => long_name = Some(c_string(&data)),
                        b'K' => long_link = Some(c_string(&data)),
                        // Global PAX headers hold defaults for every later entry; none of
                        // them matter for finding packages, so they are read and dropped.
                        b'g' => {}
                        _ => pax = Pax::parse(&data, at)?,
                    }
                }
                flag => {
                    let size = pax.size.unwrap_or(header.size);
                    let kind = match flag {
                        b'0' | b'\0' | b'7' => EntryKind::File,
                        b'1' => EntryKind::Hardlink,
                        b'2' => EntryKind::Symlink,
                        b'5' => EntryKind::Directory,
                        _ => EntryKind::Other,
                    };
                    let path = pax.path.or(long_name).unwrap_or(header.name);
                    let link = pax.linkpath.or(long_link).or(header.link);
                    self.remaining = size;
                    self.padding = padding(size);
                    return Ok(Some(Entry {
                        path,
                        kind,
                        size,
                        link: link
                            .filter(|_| matches!(kind, EntryKind::Symlink | EntryKind::Hardlink)),
                    }));
                }
            }
        }
    }

    /// The current entry's data; reads stop at its end.
    pub fn data(&mut self) -> EntryData<'_, R> {
        EntryData { tar: self }
    }

    /// How many bytes have been consumed: right after [`TarReader::next_entry`], where the
    /// entry's data starts.
    pub fn position(&self) -> u64 {
        self.offset
    }

    /// Gives back the underlying reader, for draining what follows the archive.
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn fill(&mut self, block: &mut [u8]) -> Result<bool, LayerError> {
        let mut read = 0;
        while read < block.len() {
            match self.inner.read(&mut block[read..]) {
                Ok(0) if read == 0 => return Ok(false),
                Ok(0) => return Err(LayerError::Truncated),
                Ok(n) => read += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(LayerError::from_io(e)),
            }
        }
        self.offset += block.len() as u64;
        Ok(true)
    }

    fn read_padded(&mut self, data: &mut [u8]) -> Result<(), LayerError> {
        if !data.is_empty() && !self.fill(data)? {
            return Err(LayerError::Truncated);
        }
        self.skip(padding(data.len() as u64))
    }

    fn skip(&mut self, n: u64) -> Result<(), LayerError> {
        let copied = io::copy(&mut (&mut self.inner).take(n), &mut io::sink())
            .map_err(LayerError::from_io)?;
        self.offset += copied;
        if copied < n {
            return Err(LayerError::Truncated);
        }
        Ok(())
    }
}

/// The data of the current entry.
#[derive(Debug)]
pub struct EntryData<'a, R> {
    tar: &'a mut TarReader<R>,
}

impl<R: Read> Read for EntryData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.tar.remaining).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.tar.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.tar.remaining -= n as u64;
        self.tar.offset += n as u64;
        Ok(n)
    }
}

fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

struct Header {
    name: String,
    link: Option<String>,
    size: u64,
    type_flag: u8,
}

impl Header {
    fn parse(block: &[u8; 512], at: u64) -> Result<Header, LayerError> {
        let corrupt = |what: &str| LayerError::Corrupt(format!("tar header at byte {at}: {what}"));
        let stored = octal(&block[148..156]).ok_or_else(|| corrupt("unreadable checksum"))?;
        // The checksum counts its own field as spaces; some old writers summed signed bytes.
        let (mut unsigned, mut signed) = (0u64, 0i64);
        for (i, &b) in block.iter().enumerate() {
            let b = if (148..156).contains(&i) { b' ' } else { b };
            unsigned += u64::from(b);
            signed += i64::from(b as i8);
        }
        if stored != unsigned && i64::try_from(stored).ok() != Some(signed) {
            return Err(corrupt("checksum mismatch"));
        }
        let size = number(&block[124..136]).ok_or_else(|| corrupt("unreadable size"))?;
        let mut name = c_string(&block[0..100]);
        // Only POSIX ustar has a name prefix; GNU keeps other fields in those bytes.
        if &block[257..263] == b"ustar\0" {
            let prefix = c_string(&block[345..500]);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        let link = c_string(&block[157..257]);
        Ok(Header {
            name,
            link: (!link.is_empty()).then_some(link),
            size,
            type_flag: block[156],
        })
    }
}

/// An octal field, NUL- or space-terminated, possibly space-padded in front.
fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// A numeric field: octal, or GNU's base-256 when the high bit of the first byte is set.
fn number(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 == 0 {
        return octal(field);
    }
    if field[0] & 0x40 != 0 {
        return None; // negative
    }
    let mut value: u64 = u64::from(field[0] & 0x3f);
    for &b in &field[1..] {
        value = value.checked_mul(256)?.checked_add(u64::from(b))?;
    }
    Some(value)
}

#[derive(Default)]
struct Pax {
    path: Option<String>,
    linkpath: Option<String>,
    size: Option<u64>,
}

impl Pax {
    /// Records are `<length> <key>=<value>\n`, the length counting the whole record.
    fn parse(mut data: &[u8], at: u64) -> Result<Pax, LayerError> {
        let corrupt = || LayerError::Corrupt(format!("PAX header at byte {at}"));
        let mut pax = Pax::default();
        while !data.is_empty() && data[0] != 0 {
            let space = data.iter().position(|&b| b == b' ').ok_or_else(corrupt)?;
            let length: usize = std::str::from_utf8(&data[..space])
                .ok()
                .and_then(|s| s.parse().ok())
                .filter(|&n| n > space + 1 && n <= data.len())
                .ok_or_else(corrupt)?;
            let record = &data[space + 1..length];
            let record = record.strip_suffix(b"\n").unwrap_or(record);
            if let Some(eq) = record.iter().position(|&b| b == b'=') {
                let value = String::from_utf8_lossy(&record[eq + 1..]).into_owned();
                match &record[..eq] {
                    b"path" => pax.path = Some(value),
                    b"linkpath" => pax.linkpath = Some(value),
                    b"size" => pax.size = Some(value.parse().map_err(|_| corrupt())?),
                    _ => {}
                }
            }
            data = &data[length..];
        }
        Ok(pax)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_octal_and_base256() {
        assert_eq!(octal(b"0000644\0"), Some(0o644));
        assert_eq!(octal(b"   12 \0"), Some(0o12));
        assert_eq!(octal(b"9\0"), None);
        assert_eq!(number(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), Some(256));
        assert_eq!(number(&[0xff; 12]), None);
        assert_eq!(
            number(&[0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            None
        );
    }

    #[test]
    fn pax_records() {
        let pax = Pax::parse(b"30 path=a/very/long/name/here\n11 size=42\n", 0).unwrap();
        assert_eq!(pax.path.as_deref(), Some("a/very/long/name/here"));
        assert_eq!(pax.size, Some(42));
        for bad in [&b"99 path=x\n"[..], b"x path=y\n", b"3 =\n", b"nospace"] {
            assert!(Pax::parse(bad, 0).is_err(), "{bad:?}");
        }
    }
}
