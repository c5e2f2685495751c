//! rpm's package database in its Berkeley DB form: `var/lib/rpm/Packages` (CentOS 7, RHEL and
//! UBI 7 and 8, Amazon Linux 2, Oracle Linux 7 and 8, Rocky and Alma 8), a DB_HASH database
//! whose keys are header numbers and whose values are rpm header blobs.
//!
//! The layout read, as Berkeley DB writes it (hash versions 8 to 10, any page size):
//! - page 0 is the metadata page: magic `0x061561` at 12, which also gives the byte order of
//!   every page number and length in the file (the host order of the machine that wrote it);
//!   the version, page size, last page number, the highest bucket in use and the `spares`
//!   table that maps a bucket to its page (`bucket + spares[bit length of bucket]`);
//! - each bucket is a chain of hash pages (type 2 or 13, linked by their next-page field)
//!   whose items come in key/data pairs, placed from the end of the page down, so that an
//!   item ends where the one before it starts;
//! - an item is either stored on the page (`H_KEYDATA`) or, when larger than a quarter page
//!   (every rpm header but the smallest), stored in a chain of overflow pages (`H_OFFPAGE`:
//!   first page and total length), each holding `hf_offset` bytes after its 26-byte header.
//!
//! The file is hostile input: every page number is checked against the file and the page's
//! own number, every item against its page, and each page may be read once in the whole walk
//! (as a bucket page or as an overflow page), so a cycle is an error and no value outgrows the
//! file. rpm's key 0 (where it keeps the next header number) and any key that is not a
//! 4-byte number are skipped, as rpm's own read-only backend skips them.

/// Why a Berkeley DB file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BdbError {
    /// The metadata page is missing or is not a hash database's.
    #[error("not a Berkeley DB hash database")]
    NotHash,
    /// A metadata value no supported Berkeley DB writes.
    #[error("Berkeley DB metadata is unsupported: {0}")]
    Unsupported(&'static str),
    /// A page or item is malformed.
    #[error("corrupt Berkeley DB database: {what} (page {page})")]
    Corrupt {
        /// What is wrong.
        what: &'static str,
        /// The page it is on.
        page: u32,
    },
}

/// One record of the database: its header number and its value, or why the value could not
/// be read (a broken overflow chain spoils one record, not the walk).
pub type Record = (u32, Result<Vec<u8>, BdbError>);

const HASH_MAGIC: u32 = 0x0006_1561;
const META_HASH: u8 = 8;
const PAGE_HASH_UNSORTED: u8 = 2;
const PAGE_HASH: u8 = 13;
const PAGE_OVERFLOW: u8 = 7;
const ITEM_KEYDATA: u8 = 1;
const ITEM_OFFPAGE: u8 = 3;
/// Every page starts with a 26-byte header: LSN, page number, previous and next page, item
/// count, free-space offset, level and type.
const PAGE_HEADER: usize = 26;
/// `metaflags` bit for pages that carry checksums, which move every page's contents.
const META_CHECKSUM: u8 = 1;

/// A Berkeley DB hash database held in memory.
#[derive(Debug)]
struct Db<'a> {
    data: &'a [u8],
    big_endian: bool,
    page_size: usize,
    last_page: u32,
    max_bucket: u32,
    spares: [u32; 32],
}

/// Every record of a `Packages` file, bucket by bucket.
pub fn records(data: &[u8]) -> Result<Vec<Record>, BdbError> {
    let db = Db::open(data)?;
    let mut visited = vec![false; db.last_page as usize + 1];
    let mut out = Vec::new();
    for bucket in 0..=db.max_bucket {
        let mut next = db.bucket_page(bucket)?;
        while next != 0 {
            let page = db.take_page(next, &mut visited)?;
            let corrupt = |what| BdbError::Corrupt { what, page: next };
            if !matches!(page[25], PAGE_HASH | PAGE_HASH_UNSORTED) {
                return Err(corrupt("bucket page is not a hash page"));
            }
            let items = db.items(page).ok_or(corrupt("item offsets"))?;
            for pair in items.chunks_exact(2) {
                let key = db.value(page, pair[0], &mut visited);
                let Some(number) = key.ok().and_then(|k| db.header_number(&k)) else {
                    continue;
                };
                out.push((number, db.value(page, pair[1], &mut visited)));
            }
            next = db.u32_at(page, 16).unwrap_or(0);
        }
    }
    Ok(out)
}

impl<'a> Db<'a> {
    fn open(data: &'a [u8]) -> Result<Db<'a>, BdbError> {
        let meta = data.get(..512).ok_or(BdbError::NotHash)?;
        let magic = [12, 13, 14, 15].map(|i| meta[i]);
        let big_endian = match (u32::from_le_bytes(magic), u32::from_be_bytes(magic)) {
            (HASH_MAGIC, _) => false,
            (_, HASH_MAGIC) => true,
            _ => return Err(BdbError::NotHash),
        };
        if meta[25] != META_HASH {
            return Err(BdbError::NotHash);
        }
        let mut db = Db {
            data,
            big_endian,
            page_size: 0,
            last_page: 0,
            max_bucket: 0,
            spares: [0; 32],
        };
        let word = |at| db.u32_at(meta, at).unwrap_or(0);
        if !(8..=10).contains(&word(16)) {
            return Err(BdbError::Unsupported("hash version (8 to 10 are read)"));
        }
        if meta[24] != 0 {
            return Err(BdbError::Unsupported("encrypted pages"));
        }
        if meta[26] & META_CHECKSUM != 0 {
            return Err(BdbError::Unsupported("checksummed pages"));
        }
        let page_size = word(20);
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(BdbError::Unsupported("page size"));
        }
        let (last_page, max_bucket) = (word(32), word(72));
        let spares = std::array::from_fn(|i| word(96 + 4 * i));
        // Each bucket has a page of its own, so there are fewer buckets than pages.
        let in_file = data.len() / page_size as usize;
        if last_page as usize >= in_file || max_bucket >= last_page {
            return Err(BdbError::Corrupt {
                what: "last page or bucket count past the file",
                page: 0,
            });
        }
        db.page_size = page_size as usize;
        (db.last_page, db.max_bucket, db.spares) = (last_page, max_bucket, spares);
        Ok(db)
    }

    /// `N` bytes at `at`, most significant first whatever the file's byte order.
    fn big_endian_bytes<const N: usize>(&self, bytes: &[u8], at: usize) -> Option<[u8; N]> {
        let mut b: [u8; N] = bytes.get(at..at.checked_add(N)?)?.try_into().ok()?;
        if !self.big_endian {
            b.reverse();
        }
        Some(b)
    }

    fn u16_at(&self, bytes: &[u8], at: usize) -> Option<u16> {
        self.big_endian_bytes(bytes, at).map(u16::from_be_bytes)
    }

    fn u32_at(&self, bytes: &[u8], at: usize) -> Option<u32> {
        self.big_endian_bytes(bytes, at).map(u32::from_be_bytes)
    }

    /// The first page of `bucket`: Berkeley DB allocates buckets in doublings, and `spares`
    /// holds, per doubling, how far its pages are shifted by the pages allocated before it.
    fn bucket_page(&self, bucket: u32) -> Result<u32, BdbError> {
        let doubling = (u32::BITS - bucket.leading_zeros()) as usize;
        self.spares
            .get(doubling)
            .and_then(|&spare| bucket.checked_add(spare))
            .filter(|&page| page != 0)
            .ok_or(BdbError::Corrupt {
                what: "bucket maps to no page",
                page: 0,
            })
    }

    /// Page `number`, marking it visited: a second visit means a cycle or a shared page.
    fn take_page(&self, number: u32, visited: &mut [bool]) -> Result<&'a [u8], BdbError> {
        let corrupt = |what| BdbError::Corrupt { what, page: number };
        super::visit_page(visited, number).map_err(corrupt)?;
        let start = number as usize * self.page_size;
        let page = &self.data[start..start + self.page_size];
        if self.u32_at(page, 8) != Some(number) {
            return Err(corrupt("page holds another page number"));
        }
        Ok(page)
    }

    /// The `(offset, length)` of each item on a hash page: items are packed from the page's
    /// end downwards, so each ends where the previous one in the index starts.
    fn items(&self, page: &[u8]) -> Option<Vec<(usize, usize)>> {
        let count = usize::from(self.u16_at(page, 20)?);
        let index_end = PAGE_HEADER + 2 * count;
        let mut end = self.page_size;
        let mut items = Vec::with_capacity(count);
        for i in 0..count {
            let at = usize::from(self.u16_at(page, PAGE_HEADER + 2 * i)?);
            if at < index_end || at >= end {
                return None;
            }
            items.push((at, end - at));
            end = at;
        }
        Some(items)
    }

    /// An item's bytes: on the page, or gathered from its overflow chain.
    fn value(
        &self,
        page: &[u8],
        (at, len): (usize, usize),
        visited: &mut [bool],
    ) -> Result<Vec<u8>, BdbError> {
        let number = self.u32_at(page, 8).unwrap_or(0);
        let corrupt = |what| BdbError::Corrupt { what, page: number };
        match page[at] {
            ITEM_KEYDATA => Ok(page[at + 1..at + len].to_vec()),
            ITEM_OFFPAGE if len == 12 => {
                let first = self.u32_at(page, at + 4).unwrap_or(0);
                let total = self.u32_at(page, at + 8).unwrap_or(0) as usize;
                if total == 0 || total > self.data.len() {
                    return Err(corrupt("overflow length"));
                }
                self.overflow(first, total, visited)
            }
            ITEM_OFFPAGE => Err(corrupt("overflow item size")),
            _ => Err(corrupt(
                "item type rpm never writes (duplicates or external)",
            )),
        }
    }

    /// `total` bytes from the overflow chain starting at `next`.
    fn overflow(
        &self,
        mut next: u32,
        total: usize,
        visited: &mut [bool],
    ) -> Result<Vec<u8>, BdbError> {
        let mut value = Vec::with_capacity(total);
        while value.len() < total {
            let page = self.take_page(next, visited)?;
            let number = next;
            let corrupt = |what| BdbError::Corrupt { what, page: number };
            if page[25] != PAGE_OVERFLOW {
                return Err(corrupt("overflow chain reaches a page of another type"));
            }
            let used = usize::from(self.u16_at(page, 22).unwrap_or(0));
            let chunk = page
                .get(PAGE_HEADER..PAGE_HEADER + used)
                .filter(|c| c.len() <= total - value.len())
                .ok_or(corrupt("overflow page length"))?;
            value.extend_from_slice(chunk);
            next = self.u32_at(page, 16).unwrap_or(0);
            if next == 0 && value.len() < total {
                return Err(corrupt("overflow chain ends early"));
            }
        }
        Ok(value)
    }

    /// The header number a key holds; `None` for rpm's key 0 and for keys that are no
    /// header number.
    fn header_number(&self, key: &[u8]) -> Option<u32> {
        (key.len() == 4)
            .then(|| self.u32_at(key, 0))
            .flatten()
            .filter(|&n| n != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian database of `pages` pages of 512 bytes: metadata, then one bucket page
    /// holding the given items.
    fn database(items: &[&[u8]]) -> Vec<u8> {
        let mut data = vec![0u8; 512 * 4];
        data[12..16].copy_from_slice(&HASH_MAGIC.to_le_bytes());
        data[16..20].copy_from_slice(&9u32.to_le_bytes());
        data[20..24].copy_from_slice(&512u32.to_le_bytes());
        data[25] = META_HASH;
        data[32..36].copy_from_slice(&3u32.to_le_bytes());
        data[96..100].copy_from_slice(&1u32.to_le_bytes());
        for page in 1..4u32 {
            let at = page as usize * 512;
            data[at + 8..at + 12].copy_from_slice(&page.to_le_bytes());
        }
        let page = &mut data[512..1024];
        page[25] = PAGE_HASH;
        page[20..22].copy_from_slice(&(items.len() as u16).to_le_bytes());
        let mut end = 512;
        for (i, item) in items.iter().enumerate() {
            end -= item.len();
            page[end..end + item.len()].copy_from_slice(item);
            page[26 + 2 * i..28 + 2 * i].copy_from_slice(&(end as u16).to_le_bytes());
        }
        data
    }

    fn offpage(first: u32, total: u32) -> Vec<u8> {
        let mut item = vec![ITEM_OFFPAGE, 0, 0, 0];
        item.extend_from_slice(&first.to_le_bytes());
        item.extend_from_slice(&total.to_le_bytes());
        item
    }

    /// Makes page `number` an overflow page holding `used` bytes, followed by `next`.
    fn overflow_page(data: &mut [u8], number: u32, used: u16, next: u32) {
        let page = &mut data[number as usize * 512..][..512];
        page[25] = PAGE_OVERFLOW;
        page[16..20].copy_from_slice(&next.to_le_bytes());
        page[22..24].copy_from_slice(&used.to_le_bytes());
    }

    #[test]
    fn records_and_skipped_keys() {
        let key0 = [ITEM_KEYDATA, 0, 0, 0, 0];
        let key7 = [ITEM_KEYDATA, 7, 0, 0, 0];
        let text_key = [ITEM_KEYDATA, b'x'];
        let value = [ITEM_KEYDATA, b'h', b'i'];
        let mut data = database(&[&key0, &value, &text_key, &value, &key7, &offpage(2, 600)]);
        overflow_page(&mut data, 2, 486, 3);
        overflow_page(&mut data, 3, 114, 0);
        let got = records(&data).unwrap();
        assert_eq!(got.len(), 1, "key 0 and a text key are skipped");
        assert_eq!(got[0].0, 7);
        assert_eq!(got[0].1.as_ref().unwrap().len(), 600);
    }

    #[test]
    fn hostile_databases() {
        let key = [ITEM_KEYDATA, 1, 0, 0, 0];
        let value_error = |data: &[u8]| records(data).unwrap().remove(0).1.unwrap_err();
        // An overflow chain that loops back on itself.
        let mut data = database(&[&key, &offpage(2, 2000)]);
        overflow_page(&mut data, 2, 486, 3);
        overflow_page(&mut data, 3, 486, 2);
        assert!(matches!(
            value_error(&data),
            BdbError::Corrupt { page: 2, .. }
        ));
        // A chain into the bucket page, past the file, or claiming more than a page holds.
        for (first, used) in [(1, 10), (9, 10), (2, 600)] {
            let mut data = database(&[&key, &offpage(first, 700)]);
            overflow_page(&mut data, 2, used, 0);
            assert!(matches!(value_error(&data), BdbError::Corrupt { .. }));
        }
        // A chain that ends before its length; a value of length 0.
        let mut data = database(&[&key, &offpage(2, 700)]);
        overflow_page(&mut data, 2, 100, 0);
        assert!(matches!(value_error(&data), BdbError::Corrupt { .. }));
        let data = database(&[&key, &offpage(2, 0)]);
        assert!(matches!(value_error(&data), BdbError::Corrupt { .. }));
        // Item offsets that overlap the index or leave the page.
        let mut data = database(&[&key, &[ITEM_KEYDATA, 1]]);
        data[512 + 26..512 + 28].copy_from_slice(&20u16.to_le_bytes());
        assert!(records(&data).is_err());
        // Metadata: not a hash, a page size no one writes, buckets past the file, a page that
        // says it is another page.
        let good = database(&[]);
        let edit = |at: usize, bytes: &[u8]| {
            let mut bad = good.clone();
            bad[at..at + bytes.len()].copy_from_slice(bytes);
            records(&bad)
        };
        assert_eq!(records(&good[..100]), Err(BdbError::NotHash));
        assert_eq!(edit(12, &[1, 2, 3, 4]), Err(BdbError::NotHash));
        assert!(matches!(
            edit(20, &[0, 3, 0, 0]),
            Err(BdbError::Unsupported(_))
        ));
        assert!(matches!(
            edit(16, &[2, 0, 0, 0]),
            Err(BdbError::Unsupported(_))
        ));
        assert!(matches!(
            edit(72, &[200, 0, 0, 0]),
            Err(BdbError::Corrupt { .. })
        ));
        assert!(matches!(
            edit(32, &[9, 0, 0, 0]),
            Err(BdbError::Corrupt { .. })
        ));
        assert!(matches!(
            edit(512 + 8, &[5, 0, 0, 0]),
            Err(BdbError::Corrupt { page: 1, .. })
        ));
        assert!(matches!(
            edit(96, &[0, 0, 0, 0]),
            Err(BdbError::Corrupt { .. })
        ));
    }
}
