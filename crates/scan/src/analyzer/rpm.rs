//! rpm's package database in its SQLite form (`rpmdb.sqlite`, rpm ≥ 4.16: Fedora 33+, RHEL 9,
//! UBI 9, Rocky, Alma, Amazon Linux 2023, openSUSE): the `Packages` table holds one rpm
//! header per installed package, read here through [`super::sqlite`].
//!
//! A header blob is an index of `(tag, type, offset, count)` entries and a data store: a
//! count of entries and the store's length (both big-endian `u32`), then 16 bytes per entry,
//! then the store. The tags read: NAME, VERSION, RELEASE, EPOCH, ARCH, LICENSE, SOURCERPM, and
//! the file list (DIRNAMES, BASENAMES, DIRINDEXES), which says which paths each package owns so
//! that the language packages rpm installed are not reported a second time.

use super::sqlite::{Database, SqliteError, Value};
use super::{Found, PackageKind};

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;
const TAG_DIRINDEXES: u32 = 1116;
const TAG_BASENAMES: u32 = 1117;
const TAG_DIRNAMES: u32 = 1118;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// rpm's own caps on a header (`HEADER_TAGS_MAX`, `HEADER_DATA_MAX`).
const MAX_ENTRIES: u32 = 0xffff;
const MAX_DATA: u32 = 0x0fff_ffff;

/// Why an rpm database or header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpmError {
    /// The SQLite file is unreadable or lacks the `Packages` table.
    #[error("rpm database: {0}")]
    Sqlite(#[from] SqliteError),
    /// A header blob is malformed.
    #[error("rpm header of package row {row} is corrupt: {what}")]
    Header {
        /// The row id (`hnum`).
        row: i64,
        /// What is wrong.
        what: &'static str,
    },
}

/// The installed packages of an `rpmdb.sqlite` and every path they own (relative, as layer
/// paths are). The `gpg-pubkey` entries rpm keeps for imported keys are not packages.
pub fn parse_rpmdb(data: &[u8]) -> Result<(Vec<Found>, Vec<String>), RpmError> {
    let db = Database::open(data)?;
    let root = db.table_root("Packages")?;
    let mut packages = Vec::new();
    let mut owned = Vec::new();
    let mut first_error = None;
    db.walk_table(root, &mut |row, values| {
        let Some(Value::Blob(blob)) = values.get(1) else {
            first_error.get_or_insert(RpmError::Header {
                row,
                what: "no header blob",
            });
            return;
        };
        match Header::parse(blob).and_then(|h| Ok((h.package()?, h.files()))) {
            Ok((Some(found), files)) => {
                packages.push(found);
                owned.extend(files);
            }
            Ok((None, _)) => {}
            Err(what) => {
                first_error.get_or_insert(RpmError::Header { row, what });
            }
        }
    })?;
    match first_error {
        // One corrupt header among good ones is reported only when nothing else was read,
        // so that a damaged row does not hide every other package.
        Some(error) if packages.is_empty() => Err(error),
        _ => Ok((packages, owned)),
    }
}

/// One header blob: its index entries and data store.
#[derive(Debug)]
pub struct Header<'a> {
    entries: Vec<Entry>,
    store: &'a [u8],
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u32,
    kind: u32,
    offset: usize,
    count: usize,
}

impl<'a> Header<'a> {
    /// Splits a blob into entries and store, checking that every entry's offset lies in the
    /// store.
    pub fn parse(blob: &'a [u8]) -> Result<Header<'a>, &'static str> {
        let word = |at: usize| -> Option<u32> {
            Some(u32::from_be_bytes(blob.get(at..at + 4)?.try_into().ok()?))
        };
        let (count, size) = (word(0).ok_or("too short")?, word(4).ok_or("too short")?);
        if count > MAX_ENTRIES || size > MAX_DATA {
            return Err("index or data store over rpm's limits");
        }
        let (count, size) = (count as usize, size as usize);
        let store_at = 8 + 16 * count;
        let store = blob
            .get(store_at..store_at + size)
            .ok_or("index or data store past the blob")?;
        let mut entries = Vec::with_capacity(count);
        for i in 0..count {
            let at = 8 + 16 * i;
            let [tag, kind, offset, n] = [0, 4, 8, 12].map(|o| word(at + o).unwrap_or(u32::MAX));
            let offset = offset as usize;
            if offset > size {
                return Err("entry offset past the data store");
            }
            entries.push(Entry {
                tag,
                kind,
                offset,
                count: n as usize,
            });
        }
        Ok(Header { entries, store })
    }

    fn entry(&self, tag: u32) -> Option<Entry> {
        self.entries.iter().copied().find(|e| e.tag == tag)
    }

    /// A STRING (or the first of an I18NSTRING) tag's value.
    pub fn string(&self, tag: u32) -> Result<Option<String>, &'static str> {
        match self.entry(tag) {
            Some(e) if matches!(e.kind, TYPE_STRING | TYPE_I18NSTRING) => {
                Ok(Some(self.strings_at(e.offset, 1)?.remove(0)))
            }
            Some(_) => Err("string tag of another type"),
            None => Ok(None),
        }
    }

    /// A STRING_ARRAY tag's values.
    pub fn string_array(&self, tag: u32) -> Result<Vec<String>, &'static str> {
        match self.entry(tag) {
            Some(e) if e.kind == TYPE_STRING_ARRAY => self.strings_at(e.offset, e.count),
            Some(_) => Err("string array tag of another type"),
            None => Ok(Vec::new()),
        }
    }

    /// An INT32 tag's values.
    pub fn int32s(&self, tag: u32) -> Result<Vec<u32>, &'static str> {
        let Some(e) = self.entry(tag) else {
            return Ok(Vec::new());
        };
        if e.kind != TYPE_INT32 {
            return Err("integer tag of another type");
        }
        let bytes = e
            .count
            .checked_mul(4)
            .and_then(|len| self.store.get(e.offset..e.offset.checked_add(len)?))
            .ok_or("integers past the data store")?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// `count` NUL-terminated strings from `offset`; each needs at least its NUL byte, so a
    /// count beyond the store's length is refused before anything is collected.
    fn strings_at(&self, offset: usize, count: usize) -> Result<Vec<String>, &'static str> {
        let mut rest = &self.store[offset..];
        if count > rest.len() {
            return Err("more strings than the data store holds");
        }
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let end = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or("unterminated string")?;
            out.push(String::from_utf8_lossy(&rest[..end]).into_owned());
            rest = &rest[end + 1..];
        }
        Ok(out)
    }

    /// The package this header describes; `None` for rpm's `gpg-pubkey` key entries.
    pub fn package(&self) -> Result<Option<Found>, &'static str> {
        let name = self.string(TAG_NAME)?.ok_or("no name")?;
        if name == "gpg-pubkey" {
            return Ok(None);
        }
        let version = self.string(TAG_VERSION)?.ok_or("no version")?;
        let release = self.string(TAG_RELEASE)?.ok_or("no release")?;
        let epoch = self.int32s(TAG_EPOCH)?.first().map(|e| format!("{e}:"));
        let epoch = epoch.unwrap_or_default();
        let source = self
            .string(TAG_SOURCERPM)?
            .and_then(|s| split_source_rpm(&s))
            .map(|(name, evr)| (name, Some(format!("{epoch}{evr}"))));
        Ok(Some(Found {
            kind: PackageKind::Rpm,
            name,
            version: format!("{epoch}{version}-{release}"),
            source,
            arch: self.string(TAG_ARCH)?.filter(|a| !a.is_empty()),
            licenses: self.string(TAG_LICENSE)?.into_iter().collect(),
        }))
    }

    /// The paths the package owns, without the leading `/`. Broken file lists give none:
    /// they only decide what is reported twice.
    pub fn files(&self) -> Vec<String> {
        let (Ok(dirs), Ok(names), Ok(indexes)) = (
            self.string_array(TAG_DIRNAMES),
            self.string_array(TAG_BASENAMES),
            self.int32s(TAG_DIRINDEXES),
        ) else {
            return Vec::new();
        };
        names
            .iter()
            .zip(&indexes)
            .filter_map(|(name, &dir)| {
                let dir = dirs.get(dir as usize)?;
                Some(format!("{dir}{name}").trim_start_matches('/').to_owned())
            })
            .collect()
    }
}

/// `openssl-3.0.7-27.el9.src.rpm` → (`openssl`, `3.0.7-27.el9`): the name is everything
/// before the last two dashes.
fn split_source_rpm(file: &str) -> Option<(String, String)> {
    let stem = file.strip_suffix(".rpm")?;
    let stem = stem.rsplit_once('.').map_or(stem, |(nvr, _arch)| nvr);
    let (name_version, release) = stem.rsplit_once('-')?;
    let (name, version) = name_version.rsplit_once('-')?;
    (!name.is_empty()).then(|| (name.to_owned(), format!("{version}-{release}")))
}
