//! rpm's package database: one rpm header per installed package, in one of three containers.
//! The SQLite form (`rpmdb.sqlite`, rpm ≥ 4.16: Fedora 33+, RHEL 9, UBI 9, Rocky, Alma,
//! Amazon Linux 2023) keeps them in its `Packages` table, read through [`super::sqlite`]; the
//! Berkeley DB form (`Packages`: CentOS 7, RHEL 7 and 8, Amazon Linux 2) through
//! [`super::rpm_bdb`]; the NDB form (`Packages.db`: openSUSE Leap, SLES 15) through
//! [`super::rpm_ndb`]. All three give the same headers, read here.
//!
//! A header blob is an index of `(tag, type, offset, count)` entries and a data store: a
//! count of entries and the store's length (both big-endian `u32`), then 16 bytes per entry,
//! then the store. The tags read: NAME, VERSION, RELEASE, EPOCH, ARCH, LICENSE, SOURCERPM, and
//! the file list (DIRNAMES, BASENAMES, DIRINDEXES), which says which paths each package owns so
//! that the language packages rpm installed are not reported a second time.

use super::rpm_bdb::{self, BdbError};
use super::rpm_ndb::{self, NdbError};
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
    /// The Berkeley DB `Packages` file is unreadable.
    #[error("rpm database: {0}")]
    Bdb(#[from] BdbError),
    /// The NDB `Packages.db` file is unreadable.
    #[error("rpm database: {0}")]
    Ndb(#[from] NdbError),
    /// A header blob is malformed.
    #[error("rpm header of package record {row} is corrupt: {what}")]
    Header {
        /// The record's number: SQLite's `hnum`, Berkeley DB's key, NDB's package index.
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
    let mut headers = Headers::default();
    db.walk_table(root, &mut |row, values| match values.get(1) {
        Some(Value::Blob(blob)) => headers.add(row, blob),
        _ => headers.spoilt(RpmError::Header {
            row,
            what: "no header blob",
        }),
    })?;
    headers.finish()
}

/// [`parse_rpmdb`] for the Berkeley DB form, `Packages`.
pub fn parse_bdb(data: &[u8]) -> Result<(Vec<Found>, Vec<String>), RpmError> {
    Headers::from_records(rpm_bdb::records(data)?)
}

/// [`parse_rpmdb`] for the NDB form, `Packages.db`.
pub fn parse_ndb(data: &[u8]) -> Result<(Vec<Found>, Vec<String>), RpmError> {
    Headers::from_records(rpm_ndb::records(data)?)
}

/// What the header blobs of one database say, whichever form holds them.
#[derive(Default)]
struct Headers {
    packages: Vec<Found>,
    owned: Vec<String>,
    first_error: Option<RpmError>,
}

impl Headers {
    /// The packages of numbered records, each a header blob or why it could not be read.
    fn from_records<B: AsRef<[u8]>, E: Into<RpmError>>(
        records: Vec<(u32, Result<B, E>)>,
    ) -> Result<(Vec<Found>, Vec<String>), RpmError> {
        let mut headers = Headers::default();
        for (number, blob) in records {
            match blob {
                Ok(blob) => headers.add(i64::from(number), blob.as_ref()),
                Err(error) => headers.spoilt(error.into()),
            }
        }
        headers.finish()
    }

    fn add(&mut self, row: i64, blob: &[u8]) {
        match Header::parse(blob).and_then(|h| Ok((h.package()?, h.files()))) {
            Ok((Some(found), files)) => {
                self.packages.push(found);
                self.owned.extend(files);
            }
            Ok((None, _)) => {}
            Err(what) => self.spoilt(RpmError::Header { row, what }),
        }
    }

    fn spoilt(&mut self, error: RpmError) {
        self.first_error.get_or_insert(error);
    }

    fn finish(self) -> Result<(Vec<Found>, Vec<String>), RpmError> {
        match self.first_error {
            // One corrupt record among good ones is reported only when nothing else was
            // read, so that a damaged record does not hide every other package.
            Some(error) if self.packages.is_empty() => Err(error),
            _ => Ok((self.packages, self.owned)),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::sqlite::tests::Builder;

    enum Data<'a> {
        Str(&'a str),
        Strs(&'a [&'a str]),
        Ints(&'a [u32]),
    }

    /// A header blob of `(tag, data)` entries.
    fn header(entries: &[(u32, Data<'_>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store = Vec::new();
        for (tag, data) in entries {
            let (kind, count) = match data {
                Data::Str(s) => {
                    store.extend_from_slice(s.as_bytes());
                    store.push(0);
                    (TYPE_STRING, 1)
                }
                Data::Strs(list) => {
                    for s in *list {
                        store.extend_from_slice(s.as_bytes());
                        store.push(0);
                    }
                    (TYPE_STRING_ARRAY, list.len())
                }
                Data::Ints(ints) => {
                    for i in *ints {
                        store.extend_from_slice(&i.to_be_bytes());
                    }
                    (TYPE_INT32, ints.len())
                }
            };
            let size = match data {
                Data::Str(s) => s.len() + 1,
                Data::Strs(list) => list.iter().map(|s| s.len() + 1).sum(),
                Data::Ints(ints) => 4 * ints.len(),
            };
            let offset = store.len() - size;
            for word in [*tag, kind, offset as u32, count as u32] {
                index.extend_from_slice(&word.to_be_bytes());
            }
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(store.len() as u32).to_be_bytes());
        blob.extend(index);
        blob.extend(store);
        blob
    }

    fn openssl() -> Vec<u8> {
        header(&[
            (TAG_NAME, Data::Str("openssl-libs")),
            (TAG_VERSION, Data::Str("3.0.7")),
            (TAG_RELEASE, Data::Str("27.el9")),
            (TAG_EPOCH, Data::Ints(&[1])),
            (TAG_ARCH, Data::Str("x86_64")),
            (TAG_LICENSE, Data::Str("Apache-2.0")),
            (TAG_SOURCERPM, Data::Str("openssl-3.0.7-27.el9.src.rpm")),
            (TAG_DIRNAMES, Data::Strs(&["/usr/lib64/", "/etc/pki/tls/"])),
            (
                TAG_BASENAMES,
                Data::Strs(&["libssl.so.3", "openssl.cnf", "ct_log_list.cnf"]),
            ),
            (TAG_DIRINDEXES, Data::Ints(&[0, 1, 1])),
        ])
    }

    #[test]
    fn header_fields() {
        let blob = openssl();
        let header = Header::parse(&blob).unwrap();
        let found = header.package().unwrap().unwrap();
        assert_eq!(
            (
                found.name.as_str(),
                found.version.as_str(),
                found.arch.as_deref()
            ),
            ("openssl-libs", "1:3.0.7-27.el9", Some("x86_64"))
        );
        assert_eq!(
            found.source,
            Some(("openssl".into(), Some("1:3.0.7-27.el9".into())))
        );
        assert_eq!(found.licenses, ["Apache-2.0"]);
        assert_eq!(
            header.files(),
            [
                "usr/lib64/libssl.so.3",
                "etc/pki/tls/openssl.cnf",
                "etc/pki/tls/ct_log_list.cnf"
            ]
        );
        let key = header_of_key();
        assert_eq!(Header::parse(&key).unwrap().package(), Ok(None));
    }

    fn header_of_key() -> Vec<u8> {
        header(&[
            (TAG_NAME, Data::Str("gpg-pubkey")),
            (TAG_VERSION, Data::Str("fd431d51")),
            (TAG_RELEASE, Data::Str("4ae0493b")),
        ])
    }

    #[test]
    fn hostile_headers() {
        let good = openssl();
        let edit = |at: usize, word: u32| {
            let mut bad = good.clone();
            bad[at..at + 4].copy_from_slice(&word.to_be_bytes());
            bad
        };
        let package = |blob: &[u8]| Header::parse(blob).and_then(|h| h.package());
        assert_eq!(package(&good[..6]).unwrap_err(), "too short");
        assert!(package(&edit(0, 0x10000)).is_err(), "entry count");
        assert!(package(&edit(4, 0x1000_0000)).is_err(), "store size");
        assert!(package(&edit(4, 100_000)).is_err(), "store past the blob");
        assert!(package(&edit(8 + 8, 1 << 30)).is_err(), "name offset");
        assert!(
            package(&edit(8 + 4, TYPE_INT32)).is_err(),
            "name of another type"
        );
        // The DIRNAMES entry (the 8th) claims more strings than the store has bytes.
        let bad = edit(8 + 16 * 7 + 12, u32::MAX);
        assert!(Header::parse(&bad).unwrap().files().is_empty());
        let bad = edit(8 + 16 * 3 + 12, u32::MAX);
        assert!(package(&bad).is_err(), "epoch integers past the store");
        let mut unterminated = header(&[(TAG_NAME, Data::Str("abc"))]);
        *unterminated.last_mut().unwrap() = b'x';
        assert_eq!(package(&unterminated).unwrap_err(), "unterminated string");
        assert_eq!(split_source_rpm("bad.rpm"), None);
        assert_eq!(split_source_rpm("-1-2.src.rpm"), None);
    }

    #[test]
    fn databases() {
        let (good, key) = (openssl(), header_of_key());
        let mut builder = Builder::new();
        let leaf = builder.leaf(&[(1, &good[..]), (2, &key[..]), (3, b"junk")]);
        let (packages, owned) = parse_rpmdb(&builder.finish("Packages", leaf)).unwrap();
        assert_eq!(
            packages.len(),
            1,
            "the key is no package, the junk is skipped"
        );
        assert_eq!(owned.len(), 3);
        let mut builder = Builder::new();
        let leaf = builder.leaf(&[(7, b"junk")]);
        assert_eq!(
            parse_rpmdb(&builder.finish("Packages", leaf)),
            Err(RpmError::Header {
                row: 7,
                what: "too short"
            })
        );
        let mut builder = Builder::new();
        let leaf = builder.leaf(&[]);
        assert!(matches!(
            parse_rpmdb(&builder.finish("Other", leaf)),
            Err(RpmError::Sqlite(SqliteError::NoTable(_)))
        ));
    }
}
