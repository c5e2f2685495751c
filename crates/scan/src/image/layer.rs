//! Walking one layer: decompression chosen by magic bytes, the limits enforced on the
//! uncompressed stream, path normalisation, whiteouts, and the wanted files handed to the
//! analyzers. The result, a [`LayerAnalysis`], depends on the layer's bytes alone, which is
//! what lets it be cached by layer digest.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

use oci::{Digest, Hasher};
use serde::{Deserialize, Serialize};

use super::tar::{EntryKind, TarReader};
use super::{LayerError, Limits};
use crate::analyzer::binary::read_binary;
use crate::analyzer::{analyze_file, wanted, FileKind, FileRecord};

/// What one layer holds, as far as the analyzers are concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerAnalysis {
    /// Each wanted file the layer writes, by normalised path, with what it says. A path
    /// written twice keeps its last entry, as extraction would.
    pub files: BTreeMap<String, FileRecord>,
    /// Paths this layer deletes from the layers below (`.wh.<name>`).
    pub whiteouts: Vec<String>,
    /// Folders whose content from the layers below this layer hides (`.wh..wh..opq`).
    pub opaque_dirs: Vec<String>,
    /// Wanted files that could not be used, with the reason.
    pub problems: Vec<String>,
    /// The uncompressed size of the layer's tar stream.
    pub uncompressed_bytes: u64,
}

/// Walks one layer (gzip, zstd or plain tar) and analyses the files the analyzers want.
pub fn analyze_layer(reader: impl Read, limits: &Limits) -> Result<LayerAnalysis, LayerError> {
    analyze_layer_checked(reader, limits, None)
}

/// [`analyze_layer`], also checking the digest of the uncompressed stream (a docker archive's
/// layers are named by it: the config's `diff_ids`).
pub fn analyze_layer_checked(
    reader: impl Read,
    limits: &Limits,
    diff_id: Option<&Digest>,
) -> Result<LayerAnalysis, LayerError> {
    let compressed = Rc::new(Cell::new(0u64));
    let mut raw = BufReader::new(Counting {
        inner: reader,
        count: Rc::clone(&compressed),
    });
    let magic = raw.fill_buf()?;
    let decoded: Box<dyn Read + '_> = if magic.starts_with(&[0x1f, 0x8b]) {
        // Multi-member: some tools write a layer as several concatenated gzip members.
        Box::new(flate2::bufread::MultiGzDecoder::new(raw))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd_decoder(raw))
    } else if magic.starts_with(b"BZh") {
        return Err(LayerError::UnsupportedCompression("bzip2"));
    } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        return Err(LayerError::UnsupportedCompression("xz"));
    } else {
        Box::new(raw)
    };
    let guard = Guard {
        inner: decoded,
        compressed,
        produced: 0,
        limits: *limits,
        hasher: diff_id.map(|d| Hasher::new(d.algorithm())),
    };
    let mut tar = TarReader::new(guard, limits.max_header);
    let mut collector = Collector::new(limits);
    while let Some(entry) = tar.next_entry()? {
        if let Some((path, kind)) = collector.classify(&entry.path)? {
            collector.record(
                path,
                kind,
                entry.kind,
                entry.size,
                entry.link.as_deref(),
                &mut tar.data(),
            )?;
        }
    }
    // Read to the end so that a gzip trailer is checked and every byte is hashed.
    let mut guard = tar.into_inner();
    io::copy(&mut guard, &mut io::sink()).map_err(LayerError::from_io)?;
    let mut out = collector.out;
    out.uncompressed_bytes = guard.produced;
    if let (Some(expected), Some(hasher)) = (diff_id, guard.hasher) {
        let actual = hasher.finish();
        if &actual != expected {
            return Err(LayerError::Digest {
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
    }
    Ok(out)
}

/// Turns entries (from a tar stream or a folder) into a [`LayerAnalysis`].
pub(crate) struct Collector {
    pub(crate) out: LayerAnalysis,
    max_file: u64,
}

impl Collector {
    pub(crate) fn new(limits: &Limits) -> Collector {
        Collector {
            out: LayerAnalysis::default(),
            max_file: limits.max_file,
        }
    }

    /// Normalises an entry path and records it if it is a whiteout; returns the path and the
    /// kind of metadata an analyzer wants from it ([`FileKind::Binary`] for every other file,
    /// since any executable may embed its packages).
    pub(crate) fn classify(&mut self, raw: &str) -> Result<Option<(String, FileKind)>, LayerError> {
        let Some(path) = normalize(raw)? else {
            return Ok(None);
        };
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
        if let Some(hidden) = name.strip_prefix(".wh.") {
            if hidden == ".wh..opq" {
                self.out.opaque_dirs.push(dir.to_owned());
            } else if !hidden.starts_with(".wh.") {
                // Other `.wh..wh.` names are aufs bookkeeping, not deletions.
                self.out.whiteouts.push(join(dir, hidden));
            }
            return Ok(None);
        }
        let kind = wanted(&path).unwrap_or(FileKind::Binary);
        Ok(Some((path, kind)))
    }

    /// Reads and analyses a wanted entry; `data` is read only for a regular file.
    pub(crate) fn record(
        &mut self,
        path: String,
        kind: FileKind,
        entry: EntryKind,
        size: u64,
        link: Option<&str>,
        data: &mut dyn Read,
    ) -> Result<(), LayerError> {
        if kind == FileKind::Binary {
            return self.record_binary(path, entry, size, data);
        }
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        let record = match (entry, link) {
            (EntryKind::File, _) if size > self.max_file => {
                let limit = self.max_file;
                self.out.problems.push(format!(
                    "{path}: {size} bytes exceed the limit of {limit} for a metadata file"
                ));
                return Ok(());
            }
            (EntryKind::File, _) => {
                let mut bytes = Vec::with_capacity(size.min(1 << 20) as usize);
                // The size was checked, but a folder's file may grow while it is read.
                data.take(self.max_file + 1)
                    .read_to_end(&mut bytes)
                    .map_err(LayerError::from_io)?;
                if bytes.len() as u64 > self.max_file {
                    let limit = self.max_file;
                    self.out
                        .problems
                        .push(format!("{path}: grew past the limit of {limit} while read"));
                    return Ok(());
                }
                match analyze_file(kind, &bytes, self.max_file) {
                    Ok(record) => record,
                    Err(why) => {
                        self.out.problems.push(format!("{path}: {why}"));
                        return Ok(());
                    }
                }
            }
            (EntryKind::Symlink, Some(target)) => FileRecord::Link(resolve_link(dir, target)),
            // A hard link names another entry of the archive by its archive path.
            (EntryKind::Hardlink, Some(target)) => FileRecord::Link(resolve_link("", target)),
            _ => {
                // A folder or device replacing a metadata file deletes it.
                self.out.files.remove(&path);
                return Ok(());
            }
        };
        self.out.files.insert(path, record);
        Ok(())
    }

    /// Reads a regular file that may be an executable with embedded packages. Links and
    /// other entries at such paths are not recorded: nothing follows them to a binary.
    fn record_binary(
        &mut self,
        path: String,
        entry: EntryKind,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<(), LayerError> {
        if entry != EntryKind::File {
            return Ok(());
        }
        let embedded = read_binary(data, size, self.max_file).map_err(LayerError::from_io)?;
        let problems = embedded.problems.iter().map(|why| format!("{path}: {why}"));
        self.out.problems.extend(problems);
        if !embedded.packages.is_empty() {
            self.out
                .files
                .insert(path, FileRecord::Packages(embedded.packages));
        }
        Ok(())
    }
}

/// ruzstd, the pure-Rust decoder: no C toolchain in the build, and decoding speed matters
/// little since few registries serve zstd layers yet. A layer may hold several frames and
/// skippable frames (zstd:chunked writes one frame per file chunk and a skippable manifest),
/// so frames are decoded one after another until the stream ends.
fn zstd_decoder<R: BufRead>(raw: R) -> impl Read {
    ZstdFrames {
        state: Zstd::Between(raw),
    }
}

struct ZstdFrames<R: Read> {
    state: Zstd<R>,
}

enum Zstd<R: Read> {
    // Boxed: the decoder's state is large and the enum is moved on every frame change.
    Frame(Box<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>),
    Between(R),
    Finished,
}

/// Skippable frames start with a magic number from 0x184D2A50 to 0x184D2A5F.
const SKIPPABLE_MASK: u32 = 0xFFFF_FFF0;
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // On an error the state stays `Finished`: a broken stream is not read further.
            match std::mem::replace(&mut self.state, Zstd::Finished) {
                Zstd::Finished => return Ok(0),
                Zstd::Frame(mut decoder) => {
                    let n = decoder.read(buf)?;
                    if n > 0 || buf.is_empty() {
                        self.state = Zstd::Frame(decoder);
                        return Ok(n);
                    }
                    self.state = Zstd::Between(decoder.into_inner());
                }
                Zstd::Between(mut raw) => {
                    let head = raw.fill_buf()?;
                    if head.is_empty() {
                        return Ok(0);
                    }
                    let magic = head
                        .get(..4)
                        .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]));
                    if magic.is_some_and(|m| m & SKIPPABLE_MASK == SKIPPABLE_MAGIC) {
                        let mut header = [0u8; 8];
                        raw.read_exact(&mut header)?;
                        let length = u64::from(u32::from_le_bytes([
                            header[4], header[5], header[6], header[7],
                        ]));
                        if io::copy(&mut (&mut raw).take(length), &mut io::sink())? < length {
                            return Err(io::Error::other(LayerError::Truncated));
                        }
                        self.state = Zstd::Between(raw);
                        continue;
                    }
                    match ruzstd::decoding::StreamingDecoder::new(raw) {
                        Ok(decoder) => self.state = Zstd::Frame(Box::new(decoder)),
                        Err(e) => {
                            return Err(io::Error::other(LayerError::Corrupt(format!("zstd: {e}"))))
                        }
                    }
                }
            }
        }
    }
}

/// Counts the compressed bytes read, for the ratio check.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Enforces the size and ratio limits on the uncompressed stream, and hashes it if asked.
struct Guard<'a> {
    inner: Box<dyn Read + 'a>,
    compressed: Rc<Cell<u64>>,
    produced: u64,
    limits: Limits,
    hasher: Option<Hasher>,
}

impl Read for Guard<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        let limits = &self.limits;
        if self.produced > limits.max_layer_bytes {
            let limit = limits.max_layer_bytes;
            return Err(io::Error::other(LayerError::TooLarge { limit }));
        }
        if self.produced > limits.ratio_floor
            && self.produced > self.compressed.get().saturating_mul(limits.max_ratio)
        {
            let limit = limits.max_ratio;
            return Err(io::Error::other(LayerError::Ratio { limit }));
        }
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// An entry path as a relative path inside the image: a leading `/` or `./` is dropped
/// (absolute paths are rooted in the image), empty and `.` components vanish, and `..`
/// refuses the layer. `None` for the root itself.
pub fn normalize(path: &str) -> Result<Option<String>, LayerError> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(LayerError::Traversal(path.to_owned())),
            part => parts.push(part),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// A link target as a path inside the image. `..` stops at the root, as it does for a
/// process chrooted into the image, so no target can name anything outside it.
pub fn resolve_link(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        dir.split('/').filter(|p| !p.is_empty()).collect()
    };
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalised() {
        for (input, expected) in [
            ("etc/os-release", Some("etc/os-release")),
            ("/etc/os-release", Some("etc/os-release")),
            ("./etc//./os-release", Some("etc/os-release")),
            ("./", None),
            ("/", None),
        ] {
            assert_eq!(normalize(input).unwrap().as_deref(), expected, "{input}");
        }
        for bad in ["../etc/passwd", "a/../../b", "a/.."] {
            assert!(
                matches!(normalize(bad), Err(LayerError::Traversal(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn links_stay_inside() {
        for (dir, target, expected) in [
            ("etc", "../usr/lib/os-release", "usr/lib/os-release"),
            ("etc", "/usr/lib/os-release", "usr/lib/os-release"),
            (
                "etc",
                "../../../../../../host/etc/os-release",
                "host/etc/os-release",
            ),
            ("etc", "os-release.d/./x", "etc/os-release.d/x"),
            ("", "/", ""),
        ] {
            assert_eq!(resolve_link(dir, target), expected, "{dir} {target}");
        }
    }
}
