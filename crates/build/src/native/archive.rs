//! The local archives ADD extracts: plain, gzip, xz or zstd tar files, as Docker recognises
//! them (by content, not by name; a compressed file that is not a tar is copied as it is).
//!
//! An archive is decompressed once into a spool file beside the build, then its entries are
//! read into the layer's [`Tree`] by reference into that spool, so a rootfs of any size costs
//! its entries' metadata in memory, never its contents. Nothing is ever extracted to disk, and
//! entry paths are normalised (a leading `/` and `.` components dropped); a path that climbs
//! with `..`, a path through a symbolic link, a hard link to something the archive has not
//! written, extended attributes (which the GNU tar format written here cannot carry), sparse
//! files and oversized archives are refused with the entry named.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use tar::EntryType;

use super::layer::{Content, Kind, Meta, Node, Tree};

/// The most an archive may decompress to.
pub(crate) const MAX_ARCHIVE_BYTES: u64 = 64 << 30;

/// How an archive's bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
    Bzip2,
}

fn compression_of(magic: &[u8]) -> Compression {
    match magic {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Compression::Xz,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        [b'B', b'Z', b'h', ..] => Compression::Bzip2,
        _ => Compression::None,
    }
}

/// The archive at `path` decompressed into a spool file in `scratch`, or `None` when it is not a tar
/// archive (ADD then copies it as a file).
pub(crate) fn spool_if_archive(path: &Path, scratch: &Path) -> Result<Option<File>, String> {
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    let mut magic = [0u8; 6];
    let read = read_up_to(&mut file, &mut magic).map_err(|e| e.to_string())?;
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let compression = compression_of(&magic[..read]);
    if compression == Compression::Bzip2 {
        return Err("bzip2 archives are not supported: compress it with gzip, xz or zstd".into());
    }
    if compression == Compression::None {
        let mut first = [0u8; 512];
        let read = read_up_to(&mut file, &mut first).map_err(|e| e.to_string())?;
        file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        return Ok((read == 512 && is_tar_header(&first)).then_some(file));
    }
    let mut spool =
        tempfile::tempfile_in(scratch).map_err(|e| format!("cannot create a spool file: {e}"))?;
    let mut limited = Limited {
        out: &mut spool,
        left: MAX_ARCHIVE_BYTES,
    };
    decompress(compression, BufReader::new(file), &mut limited)
        .map_err(|e| format!("cannot decompress it: {e}"))?;
    let mut first = [0u8; 512];
    let read = spool.read_at_start(&mut first).map_err(|e| e.to_string())?;
    Ok((read == 512 && is_tar_header(&first)).then_some(spool))
}

fn decompress(
    compression: Compression,
    input: BufReader<File>,
    out: &mut impl Write,
) -> io::Result<()> {
    match compression {
        Compression::Gzip => {
            io::copy(&mut flate2::bufread::MultiGzDecoder::new(input), out)?;
        }
        Compression::Xz => {
            let mut input = input;
            lzma_rs::xz_decompress(&mut input, out)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e:?}")))?;
        }
        Compression::Zstd => {
            let mut decoder = ruzstd::decoding::StreamingDecoder::new(input)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            io::copy(&mut decoder, out)?;
        }
        Compression::None | Compression::Bzip2 => unreachable!("handled by the caller"),
    }
    Ok(())
}

trait ReadAtStart {
    fn read_at_start(&mut self, buffer: &mut [u8]) -> io::Result<usize>;
}

impl ReadAtStart for File {
    fn read_at_start(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.seek(SeekFrom::Start(0))?;
        let read = read_up_to(self, buffer)?;
        self.seek(SeekFrom::Start(0))?;
        Ok(read)
    }
}

/// Fills `buffer` as far as the input goes.
fn read_up_to(input: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..])? {
            0 => break,
            read => filled += read,
        }
    }
    Ok(filled)
}

/// Whether a block is a tar header: its checksum matches.
fn is_tar_header(block: &[u8; 512]) -> bool {
    let field = String::from_utf8_lossy(&block[148..156]);
    let Ok(stored) = u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
    else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    stored == sum
}

/// A writer that fails once more than `left` bytes came through.
struct Limited<'a, W> {
    out: &'a mut W,
    left: u64,
}

impl<W: Write> Write for Limited<'_, W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        if buffer.len() as u64 > self.left {
            return Err(io::Error::other(format!(
                "it decompresses to more than {} GiB",
                MAX_ARCHIVE_BYTES >> 30
            )));
        }
        let written = self.out.write(buffer)?;
        self.left -= written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// How an archive's entries land in a layer.
pub(crate) struct Extract<'a> {
    /// The folder the archive is extracted into, as path components.
    pub dest: &'a [Vec<u8>],
    /// SOURCE_DATE_EPOCH: later times are clamped to it.
    pub epoch: u64,
    /// The metadata of folders that must be created on the way.
    pub parent_meta: &'a dyn Fn(&[Vec<u8>]) -> Meta,
    /// The next free hard-link group number, shared by the whole layer.
    pub next_group: &'a mut u64,
}

/// Adds every entry of the tar in `spool` to `tree` under `extract.dest`.
pub(crate) fn extract(
    spool: File,
    tree: &mut Tree,
    mut extract: Extract<'_>,
) -> Result<(), String> {
    let spool = Arc::new(spool);
    let mut archive = tar::Archive::new(&*spool);
    let entries = archive.entries_with_seek().map_err(|e| e.to_string())?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("the archive is damaged: {e}"))?;
        let raw_path = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_path).into_owned();
        let relative = normalise(&raw_path).map_err(|why| format!("entry {shown:?} {why}"))?;
        if relative.is_empty() {
            continue;
        }
        refuse_extended_attributes(&mut entry, &shown)?;
        let mut components = extract.dest.to_vec();
        components.extend(relative);
        let node = node_of(&entry, &spool, tree, &mut extract, &shown)?;
        let node = match node {
            Some(node) => node,
            None => continue,
        };
        tree.insert(&components, node, extract.parent_meta)
            .map_err(|_| format!("entry {shown:?} lies under something that is not a folder (a symbolic link or a file)"))?;
    }
    Ok(())
}

/// The node an entry becomes; `None` for entries that carry no file (global PAX headers).
fn node_of(
    entry: &tar::Entry<'_, &File>,
    spool: &Arc<File>,
    tree: &mut Tree,
    extract: &mut Extract<'_>,
    shown: &str,
) -> Result<Option<Node>, String> {
    let header = entry.header();
    let field = |what: &str, value: io::Result<u64>| {
        value.map_err(|e| format!("entry {shown:?} has an unreadable {what}: {e}"))
    };
    let meta = Meta {
        mode: field("mode", header.mode().map(u64::from))? as u32 & 0o7777,
        uid: field("owner", header.uid())?,
        gid: field("group", header.gid())?,
        mtime: field("time", header.mtime())?.min(extract.epoch),
    };
    let link = || -> Result<Vec<u8>, String> {
        entry
            .link_name_bytes()
            .map(|name| name.into_owned())
            .ok_or_else(|| format!("link {shown:?} has no target"))
    };
    let device = |what: &str| -> Result<(u32, u32), String> {
        let major = header.device_major().ok().flatten();
        let minor = header.device_minor().ok().flatten();
        major
            .zip(minor)
            .ok_or_else(|| format!("{what} {shown:?} has no device numbers"))
    };
    let kind = match header.entry_type() {
        EntryType::Regular | EntryType::Continuous => Kind::File {
            content: Content::Spool {
                file: Arc::clone(spool),
                offset: entry.raw_file_position(),
            },
            size: entry.size(),
            link_group: None,
        },
        EntryType::Directory => Kind::Dir(Default::default()),
        EntryType::Symlink => Kind::Symlink(link()?),
        EntryType::Link => return hard_link(&link()?, tree, extract, shown).map(Some),
        EntryType::Char => {
            let (major, minor) = device("character device")?;
            Kind::Char(major, minor)
        }
        EntryType::Block => {
            let (major, minor) = device("block device")?;
            Kind::Block(major, minor)
        }
        EntryType::Fifo => Kind::Fifo,
        EntryType::XGlobalHeader => return Ok(None),
        other => {
            return Err(format!(
                "entry {shown:?} is of a kind the native builder does not write ({other:?}): recreate the archive without sparse or volume entries"
            ))
        }
    };
    Ok(Some(Node { meta, kind }))
}

/// A hard link: a second name for a file the archive wrote earlier under the same folder.
fn hard_link(
    target: &[u8],
    tree: &mut Tree,
    extract: &mut Extract<'_>,
    shown: &str,
) -> Result<Node, String> {
    let target_shown = String::from_utf8_lossy(target).into_owned();
    let relative = normalise(target)
        .map_err(|why| format!("hard link {shown:?} to {target_shown:?} {why}"))?;
    let mut components = extract.dest.to_vec();
    components.extend(relative);
    let missing = || {
        format!("hard link {shown:?} points at {target_shown:?}, which the archive has not written before it as a file")
    };
    let node = tree.get_mut(&components).ok_or_else(missing)?;
    let Kind::File { link_group, .. } = &mut node.kind else {
        return Err(missing());
    };
    link_group.get_or_insert_with(|| {
        let group = *extract.next_group;
        *extract.next_group += 1;
        group
    });
    Ok(node.clone())
}

fn refuse_extended_attributes(
    entry: &mut tar::Entry<'_, &File>,
    shown: &str,
) -> Result<(), String> {
    let Ok(Some(extensions)) = entry.pax_extensions() else {
        return Ok(());
    };
    for extension in extensions.flatten() {
        if extension.key_bytes().starts_with(b"SCHILY.xattr.")
            || extension.key_bytes().starts_with(b"LIBARCHIVE.xattr.")
        {
            return Err(format!(
                "entry {shown:?} carries extended attributes, which the native builder does not write: create the archive without --xattrs"
            ));
        }
    }
    Ok(())
}

/// An entry path as components below the extraction folder: a leading `/`, empty and `.`
/// components dropped; `..` refused.
pub(crate) fn normalise(path: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    let mut components = Vec::new();
    for component in path.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => return Err("climbs out of the extraction folder with `..`"),
            name => components.push(name.to_vec()),
        }
    }
    Ok(components)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_or_refused() {
        type Case<'a> = (&'a [u8], Result<&'a [&'a str], &'a str>);
        let cases: &[Case] = &[
            (b"./etc/passwd", Ok(&["etc", "passwd"])),
            (b"/etc//os-release", Ok(&["etc", "os-release"])),
            (b"./", Ok(&[])),
            (
                b"a/../../etc",
                Err("climbs out of the extraction folder with `..`"),
            ),
        ];
        for (path, expected) in cases {
            let got = normalise(path);
            let expected = expected.map(|parts| {
                parts
                    .iter()
                    .map(|p| p.as_bytes().to_vec())
                    .collect::<Vec<_>>()
            });
            assert_eq!(got, expected, "{}", String::from_utf8_lossy(path));
        }
    }

    #[test]
    fn compressions_are_told_by_their_magic() {
        assert_eq!(compression_of(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(compression_of(b"\xfd7zXZ\0"), Compression::Xz);
        assert_eq!(compression_of(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
        assert_eq!(compression_of(b"BZh91"), Compression::Bzip2);
        assert_eq!(compression_of(b"hello"), Compression::None);
    }
}
