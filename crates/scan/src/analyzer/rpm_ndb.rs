//! rpm's package database in its own NDB form: `Packages.db` (openSUSE Leap and SLES 15,
//! under `usr/lib/sysimage/rpm` or `var/lib/rpm`), written by rpm's `ndb` backend.
//!
//! The layout, all numbers little-endian `u32`:
//! - a 32-byte file header: magic `RpmP`, version 0, generation, the number of 4096-byte slot
//!   pages, the next package index;
//! - the slot pages, 16-byte slots after the file header: magic `Slot`, package index, block
//!   offset and block count (16-byte blocks); a slot with offset 0 is free, and a used slot's
//!   blob lies after the slot pages;
//! - each blob: a 16-byte head (magic `BlbS`, package index, timestamp, length), the rpm
//!   header, zero padding to a whole block and a 12-byte tail (Adler-32 of everything before
//!   it, length again, magic `BlbE`). Its block count must be exactly what its length needs.
//!
//! The file is hostile input: every slot and blob is checked against the file and against
//! itself (magics, index, both lengths, checksum), and blobs are borrowed from the file, so
//! reading costs no more memory than the list of slots.

/// Why an NDB file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NdbError {
    /// The file does not start with NDB's header.
    #[error("not an rpm NDB database")]
    NotNdb,
    /// A version of the format other than 0.
    #[error("rpm NDB database version {0} is unsupported (0 is read)")]
    Version(u32),
    /// The slot pages are malformed.
    #[error("corrupt rpm NDB database: {what} (slot {slot})")]
    Slot {
        /// What is wrong.
        what: &'static str,
        /// The slot's number, counted from the start of the file in 16-byte steps.
        slot: usize,
    },
    /// One package's blob is malformed.
    #[error("corrupt rpm NDB blob of package {package}: {what}")]
    Blob {
        /// The package index.
        package: u32,
        /// What is wrong.
        what: &'static str,
    },
}

/// One package: its index and its header blob, or why the blob could not be read (one bad
/// blob spoils that package, not the database).
pub type Record<'a> = (u32, Result<&'a [u8], NdbError>);

const FILE_MAGIC: &[u8; 4] = b"RpmP";
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const BLOB_HEAD_MAGIC: &[u8; 4] = b"BlbS";
const BLOB_TAIL_MAGIC: &[u8; 4] = b"BlbE";
const HEADER_SIZE: usize = 32;
const SLOT_SIZE: usize = 16;
const BLOCK: usize = 16;
const SLOT_PAGE: usize = 4096;
const BLOB_HEAD: usize = 16;
const BLOB_TAIL: usize = 12;

fn le32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// Every package of a `Packages.db`, in the order of their blobs in the file (rpm's order).
pub fn records(data: &[u8]) -> Result<Vec<Record<'_>>, NdbError> {
    if data.len() < HEADER_SIZE || !data.starts_with(FILE_MAGIC) {
        return Err(NdbError::NotNdb);
    }
    let version = le32(data, 4).unwrap_or(u32::MAX);
    if version != 0 {
        return Err(NdbError::Version(version));
    }
    let pages = le32(data, 12).unwrap_or(0) as usize;
    let slots_end = pages
        .checked_mul(SLOT_PAGE)
        .filter(|&end| end >= SLOT_PAGE && end <= data.len())
        .ok_or(NdbError::Slot {
            what: "slot pages past the file",
            slot: 0,
        })?;
    let mut slots = Vec::new();
    for at in (HEADER_SIZE..slots_end).step_by(SLOT_SIZE) {
        let slot_error = |what| NdbError::Slot {
            what,
            slot: at / SLOT_SIZE,
        };
        if !data[at..].starts_with(SLOT_MAGIC) {
            return Err(slot_error("slot without its magic"));
        }
        let [package, offset, count] = [4, 8, 12].map(|o| le32(data, at + o).unwrap_or(0));
        if offset == 0 {
            continue;
        }
        // Blobs live after the slot pages, inside the file, and are never empty.
        let start = offset as usize * BLOCK;
        let end = start.checked_add(count as usize * BLOCK);
        if package == 0 || count == 0 || start < slots_end || end.is_none_or(|e| e > data.len()) {
            return Err(slot_error("slot points outside the blob area"));
        }
        slots.push((package, start, count as usize * BLOCK));
    }
    slots.sort_by_key(|&(_, start, _)| start);
    Ok(slots
        .into_iter()
        .map(|(package, start, len)| (package, blob(package, &data[start..start + len])))
        .collect())
}

/// The header inside one blob's blocks, after checking its head and tail.
fn blob(package: u32, blocks: &[u8]) -> Result<&[u8], NdbError> {
    let bad = |what| NdbError::Blob { package, what };
    if blocks.len() < BLOB_HEAD + BLOB_TAIL || !blocks.starts_with(BLOB_HEAD_MAGIC) {
        return Err(bad("no blob head"));
    }
    if le32(blocks, 4) != Some(package) {
        return Err(bad("blob of another package"));
    }
    let len = le32(blocks, 12).unwrap_or(0) as usize;
    if (BLOB_HEAD + len + BLOB_TAIL).div_ceil(BLOCK) * BLOCK != blocks.len() {
        return Err(bad("blob length does not fill its blocks"));
    }
    let tail = blocks.len() - BLOB_TAIL;
    if !blocks[tail + 8..].starts_with(BLOB_TAIL_MAGIC)
        || le32(blocks, tail + 4) != Some(len as u32)
    {
        return Err(bad("blob tail does not match its head"));
    }
    if le32(blocks, tail) != Some(adler32(&blocks[..tail])) {
        return Err(bad("blob checksum mismatch"));
    }
    Ok(&blocks[BLOB_HEAD..BLOB_HEAD + len])
}

/// Adler-32 (RFC 1950), which NDB keeps in every blob's tail.
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    // 5552 bytes is the most that can be summed before a u32 could overflow.
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        (a, b) = (a % MOD, b % MOD);
    }
    b << 16 | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_of_known_text() {
        // RFC 1950's checksum of "Wikipedia", a commonly quoted value.
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        assert_eq!(adler32(b""), 1);
    }

    /// A database of one slot page and the given `(package, header)` blobs.
    fn database(blobs: &[(u32, &[u8])]) -> Vec<u8> {
        let mut data = vec![0u8; SLOT_PAGE];
        data[..4].copy_from_slice(FILE_MAGIC);
        data[12..16].copy_from_slice(&1u32.to_le_bytes());
        for slot in (HEADER_SIZE..SLOT_PAGE).step_by(SLOT_SIZE) {
            data[slot..slot + 4].copy_from_slice(SLOT_MAGIC);
        }
        for (i, (package, header)) in blobs.iter().enumerate() {
            let start = data.len();
            data.extend_from_slice(BLOB_HEAD_MAGIC);
            for word in [*package, 0, header.len() as u32] {
                data.extend_from_slice(&word.to_le_bytes());
            }
            data.extend_from_slice(header);
            let end = (start + BLOB_HEAD + header.len() + BLOB_TAIL).div_ceil(BLOCK) * BLOCK;
            data.resize(end - BLOB_TAIL, 0);
            let sum = adler32(&data[start..]);
            for word in [sum, header.len() as u32] {
                data.extend_from_slice(&word.to_le_bytes());
            }
            data.extend_from_slice(BLOB_TAIL_MAGIC);
            let slot = HEADER_SIZE + SLOT_SIZE * i;
            let words = [
                *package,
                (start / BLOCK) as u32,
                ((end - start) / BLOCK) as u32,
            ];
            for (j, word) in words.iter().enumerate() {
                data[slot + 4 + 4 * j..slot + 8 + 4 * j].copy_from_slice(&word.to_le_bytes());
            }
        }
        data
    }

    #[test]
    fn blobs_and_their_checks() {
        let data = database(&[(3, b"first header"), (9, b"second")]);
        let got = records(&data).unwrap();
        assert_eq!(
            got,
            [(3, Ok(&b"first header"[..])), (9, Ok(&b"second"[..]))]
        );
        // A flipped byte in a blob spoils that blob only.
        let mut bad = data.clone();
        bad[SLOT_PAGE + BLOB_HEAD] ^= 1;
        let got = records(&bad).unwrap();
        assert!(matches!(got[0].1, Err(NdbError::Blob { package: 3, .. })));
        assert!(got[1].1.is_ok());
        // A blob that names another package, or a length that does not fit its blocks.
        for (at, byte) in [(4, 4), (12, 200)] {
            let mut bad = data.clone();
            bad[SLOT_PAGE + at] = byte;
            assert!(records(&bad).unwrap()[0].1.is_err());
        }
    }

    #[test]
    fn hostile_slots() {
        let good = database(&[(3, b"header")]);
        let edit = |at: usize, word: u32| {
            let mut bad = good.clone();
            bad[at..at + 4].copy_from_slice(&word.to_le_bytes());
            records(&bad).map(|_| ())
        };
        assert_eq!(records(&good[..20]), Err(NdbError::NotNdb));
        assert_eq!(
            edit(HEADER_SIZE + 20, 5),
            Ok(()),
            "a slot without blob is free"
        );
        assert_eq!(edit(0, 0), Err(NdbError::NotNdb));
        assert_eq!(edit(4, 1), Err(NdbError::Version(1)));
        for (at, word) in [
            (12, 2),                    // slot pages past the file
            (12, 0),                    // no slot page
            (12, u32::MAX),             // a page count that overflows
            (HEADER_SIZE + 16, 0),      // a slot without its magic
            (HEADER_SIZE + 8, 1),       // a blob inside the slot pages
            (HEADER_SIZE + 8, 1 << 30), // a blob past the file
            (HEADER_SIZE + 12, u32::MAX),
            (HEADER_SIZE + 4, 0), // a used slot of package 0
        ] {
            assert!(
                matches!(edit(at, word), Err(NdbError::Slot { .. })),
                "{at} {word}"
            );
        }
    }
}
