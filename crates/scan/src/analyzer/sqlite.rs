//! A read-only reader of SQLite database files, enough to walk one table's rows: the file
//! header, table b-tree pages (interior and leaf), overflow chains and the record format. rpm
//! keeps its database in SQLite since 4.16, and the scanner reads it from memory, with no C
//! library and no file on disk.
//!
//! The file is hostile input. Every page number is checked against the file, every cell and
//! payload against its page, and each page may be visited once in a whole walk (as a b-tree
//! page or an overflow page): a cycle or a page shared by two cells is an error, so a walk
//! costs at most one pass over the file and no payload outgrows it. Only the main file is
//! read: a write-ahead log beside it, uncheckpointed, is not seen (images ship checkpointed
//! databases, as rpm closes them).

/// Why a database could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqliteError {
    /// The file does not start with SQLite's header string.
    #[error("not an SQLite 3 database")]
    NotSqlite,
    /// A header value SQLite never writes.
    #[error("SQLite header is invalid: {0}")]
    Header(&'static str),
    /// Text stored as UTF-16, which rpm never writes.
    #[error("SQLite database stores text as UTF-16; only UTF-8 is read")]
    Utf16,
    /// The table is not in the schema.
    #[error("the database has no table {0:?}")]
    NoTable(String),
    /// A page, cell or record is malformed.
    #[error("corrupt SQLite database: {what} (page {page})")]
    Corrupt {
        /// What is wrong.
        what: &'static str,
        /// The page it is on.
        page: u32,
    },
}

/// One column value of a record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// SQL NULL (also an `INTEGER PRIMARY KEY` column, which lives in the row id).
    Null,
    /// An integer.
    Integer(i64),
    /// A floating-point number.
    Real(f64),
    /// Text, as stored (UTF-8).
    Text(&'a [u8]),
    /// A blob.
    Blob(&'a [u8]),
}

const HEADER_STRING: &[u8; 16] = b"SQLite format 3\0";
const LEAF_TABLE: u8 = 0x0d;
const INTERIOR_TABLE: u8 = 0x05;
/// B-tree depth beyond any real database (each level multiplies rows by hundreds).
const MAX_DEPTH: usize = 32;

/// A database file held in memory.
#[derive(Debug)]
pub struct Database<'a> {
    data: &'a [u8],
    page_size: usize,
    usable: usize,
    pages: u32,
}

impl<'a> Database<'a> {
    /// Checks the header of `data`.
    pub fn open(data: &'a [u8]) -> Result<Database<'a>, SqliteError> {
        if data.len() < 100 || !data.starts_with(HEADER_STRING) {
            return Err(SqliteError::NotSqlite);
        }
        let page_size = match u16::from_be_bytes([data[16], data[17]]) {
            1 => 65536,
            n if n >= 512 && n.is_power_of_two() => usize::from(n),
            _ => return Err(SqliteError::Header("page size")),
        };
        let reserved = usize::from(data[20]);
        // SQLite requires at least 480 usable bytes per page.
        let usable = page_size
            .checked_sub(reserved)
            .filter(|&u| u >= 480)
            .ok_or(SqliteError::Header("reserved bytes per page"))?;
        if u32::from_be_bytes([data[56], data[57], data[58], data[59]]) > 1 {
            return Err(SqliteError::Utf16);
        }
        let pages = u32::try_from(data.len() / page_size).unwrap_or(u32::MAX);
        Ok(Database {
            data,
            page_size,
            usable,
            pages,
        })
    }

    /// The root page of a table, from the schema table (`sqlite_schema`, rooted at page 1).
    pub fn table_root(&self, name: &str) -> Result<u32, SqliteError> {
        let mut root = None;
        self.walk_table(1, &mut |_, values| {
            if let [Value::Text(b"table"), Value::Text(table), _, Value::Integer(page), ..] = values
            {
                if table.eq_ignore_ascii_case(name.as_bytes()) {
                    root = u32::try_from(*page).ok();
                }
            }
        })?;
        root.ok_or_else(|| SqliteError::NoTable(name.to_owned()))
    }

    /// Calls `row` with each row id and column values of the table rooted at `root`, in row
    /// id order.
    pub fn walk_table(
        &self,
        root: u32,
        row: &mut dyn FnMut(i64, &[Value<'_>]),
    ) -> Result<(), SqliteError> {
        let mut visited = vec![false; self.pages as usize + 1];
        let mut pending = vec![(root, 0usize)];
        // Children are pushed in reverse so that rows come out in key order.
        while let Some((page, depth)) = pending.pop() {
            let corrupt = |what| SqliteError::Corrupt { what, page };
            if depth > MAX_DEPTH {
                return Err(corrupt("b-tree too deep"));
            }
            let bytes = self.take_page(page, &mut visited)?;
            // Page 1 starts with the file header.
            let header = if page == 1 { 100 } else { 0 };
            let kind = *bytes.get(header).ok_or(corrupt("page header"))?;
            let cells = usize::from(be16(bytes, header + 3).ok_or(corrupt("page header"))?);
            let pointers = header + if kind == INTERIOR_TABLE { 12 } else { 8 };
            let cell_at = |i: usize| -> Result<usize, SqliteError> {
                let at = usize::from(be16(bytes, pointers + 2 * i).ok_or(corrupt("cell pointer"))?);
                if at < pointers || at >= self.usable {
                    return Err(corrupt("cell pointer"));
                }
                Ok(at)
            };
            match kind {
                LEAF_TABLE => {
                    for i in 0..cells {
                        let (rowid, payload) =
                            self.leaf_cell(page, bytes, cell_at(i)?, &mut visited)?;
                        let values = record(&payload).ok_or(corrupt("record"))?;
                        row(rowid, &values);
                    }
                }
                INTERIOR_TABLE => {
                    let right = be32(bytes, header + 8).ok_or(corrupt("page header"))?;
                    pending.push((right, depth + 1));
                    for i in (0..cells).rev() {
                        let child = be32(bytes, cell_at(i)?).ok_or(corrupt("cell"))?;
                        pending.push((child, depth + 1));
                    }
                }
                _ => return Err(corrupt("not a table b-tree page")),
            }
        }
        Ok(())
    }

    /// The bytes of page `number`, marking it visited; a second visit is corruption.
    fn take_page(&self, number: u32, visited: &mut [bool]) -> Result<&'a [u8], SqliteError> {
        let corrupt = |what| SqliteError::Corrupt { what, page: number };
        super::visit_page(visited, number).map_err(corrupt)?;
        let start = (number as usize - 1) * self.page_size;
        Ok(&self.data[start..start + self.usable])
    }

    /// A table leaf cell: its row id and whole payload (local part plus overflow chain).
    fn leaf_cell(
        &self,
        page: u32,
        bytes: &[u8],
        at: usize,
        visited: &mut [bool],
    ) -> Result<(i64, Vec<u8>), SqliteError> {
        let corrupt = |what| SqliteError::Corrupt { what, page };
        let (size, n) = varint(&bytes[at..]).ok_or(corrupt("cell"))?;
        let (rowid, m) = varint(&bytes[at + n..]).ok_or(corrupt("cell"))?;
        let start = at + n + m;
        // No payload can be larger than the file that holds it.
        let size = usize::try_from(size)
            .ok()
            .filter(|&s| s <= self.data.len())
            .ok_or(corrupt("payload size"))?;
        let local = self.local_payload(size);
        let mut payload = bytes
            .get(start..start + local)
            .ok_or(corrupt("payload past the page"))?
            .to_vec();
        if local < size {
            let mut next = be32(bytes, start + local).ok_or(corrupt("overflow pointer"))?;
            payload.reserve(size - local);
            while payload.len() < size {
                let overflow = self.take_page(next, visited)?;
                next = be32(overflow, 0).ok_or(corrupt("overflow page"))?;
                let take = (size - payload.len()).min(self.usable - 4);
                payload.extend_from_slice(&overflow[4..4 + take]);
            }
        }
        Ok((rowid as i64, payload))
    }

    /// How much of a table leaf payload of `size` bytes stays on its page (SQLite's rule).
    fn local_payload(&self, size: usize) -> usize {
        let usable = self.usable;
        let max_local = usable - 35;
        if size <= max_local {
            return size;
        }
        let min_local = (usable - 12) * 32 / 255 - 23;
        let local = min_local + (size - min_local) % (usable - 4);
        if local <= max_local {
            local
        } else {
            min_local
        }
    }
}

/// The values of a record: a header of serial types, then the values in that order.
pub fn record(payload: &[u8]) -> Option<Vec<Value<'_>>> {
    let (header_size, mut at) = varint(payload)?;
    let header_size = usize::try_from(header_size).ok()?;
    let header = payload.get(..header_size)?;
    let mut body = header_size;
    let mut values = Vec::new();
    while at < header.len() {
        let (serial, n) = varint(&header[at..])?;
        at += n;
        let (value, len) = match serial {
            0 => (Value::Null, 0),
            1..=6 => {
                let len = [1, 2, 3, 4, 6, 8][serial as usize - 1];
                let bytes = payload.get(body..body + len)?;
                // Big-endian two's complement: sign-extend from the first byte.
                let first = i64::from(bytes[0] as i8);
                let value = bytes[1..]
                    .iter()
                    .fold(first, |acc, &b| acc << 8 | i64::from(b));
                (Value::Integer(value), len)
            }
            7 => {
                let bytes: [u8; 8] = payload.get(body..body + 8)?.try_into().ok()?;
                (Value::Real(f64::from_be_bytes(bytes)), 8)
            }
            8 => (Value::Integer(0), 0),
            9 => (Value::Integer(1), 0),
            10 | 11 => return None,
            n => {
                let len = usize::try_from((n - 12) / 2).ok()?;
                let bytes = payload.get(body..body.checked_add(len)?)?;
                let value = if n % 2 == 0 {
                    Value::Blob(bytes)
                } else {
                    Value::Text(bytes)
                };
                (value, len)
            }
        };
        body += len;
        values.push(value);
    }
    Some(values)
}

/// SQLite's varint: 1 to 9 bytes, big-endian, 7 bits each but all 8 of the ninth.
pub fn varint(data: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &byte) in data.iter().enumerate().take(9) {
        if i == 8 {
            return Some((value << 8 | u64::from(byte), 9));
        }
        value = value << 7 | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const PAGE: usize = 512;

    /// A SQLite varint.
    fn put_varint(mut n: u64, out: &mut Vec<u8>) {
        let mut groups = vec![(n & 0x7f) as u8];
        n >>= 7;
        while n > 0 {
            groups.push((n & 0x7f) as u8 | 0x80);
            n >>= 7;
        }
        out.extend(groups.iter().rev());
    }

    /// A test value: SQLite stores each with its own serial type.
    #[derive(Clone, Copy)]
    enum V<'a> {
        Null,
        Byte(u8),
        Text(&'a [u8]),
        Blob(&'a [u8]),
    }

    fn record_of(values: &[V<'_>]) -> Vec<u8> {
        let mut types = Vec::new();
        let mut body = Vec::new();
        for value in values {
            match *value {
                V::Null => put_varint(0, &mut types),
                V::Byte(n) => {
                    put_varint(1, &mut types);
                    body.push(n);
                }
                V::Text(text) => {
                    put_varint(13 + 2 * text.len() as u64, &mut types);
                    body.extend_from_slice(text);
                }
                V::Blob(blob) => {
                    put_varint(12 + 2 * blob.len() as u64, &mut types);
                    body.extend_from_slice(blob);
                }
            }
        }
        // The header's own size counts itself; test headers stay under 128 bytes.
        let mut out = vec![types.len() as u8 + 1];
        out.extend(types);
        out.extend(body);
        out
    }

    /// A database file built page by page; page 1 (header and schema) is written last.
    pub(crate) struct Builder {
        pages: Vec<Vec<u8>>,
    }

    impl Builder {
        pub(crate) fn new() -> Builder {
            Builder {
                pages: vec![Vec::new()],
            }
        }

        /// Appends a leaf page of `(rowid, blob)` rows, each blob in the second column as
        /// rpm's `Packages` table has it; returns its page number.
        pub(crate) fn leaf(&mut self, rows: &[(u64, &[u8])]) -> u32 {
            let cells: Vec<(u64, Vec<u8>)> = rows
                .iter()
                .map(|(id, blob)| (*id, record_of(&[V::Null, V::Blob(blob)])))
                .collect();
            let number = self.pages.len() as u32 + 1;
            let mut overflow = Vec::new();
            let mut page = leaf(&cells, 0, &mut overflow);
            // Overflow pages follow the leaf, chained in order (one spilling row per leaf).
            let first = number + 1;
            let count = overflow.len() as u32;
            if count > 0 {
                let at = page.windows(4).rposition(|w| w == b"OVFL").unwrap();
                page[at..at + 4].copy_from_slice(&first.to_be_bytes());
            }
            self.pages.push(page);
            for (i, mut chunk) in (0u32..).zip(overflow) {
                let next = if i + 1 < count { first + i + 1 } else { 0 };
                chunk[..4].copy_from_slice(&next.to_be_bytes());
                self.pages.push(chunk);
            }
            number
        }

        /// Appends an interior page over `children` (the last one is the right-most).
        pub(crate) fn interior(&mut self, children: &[u32]) -> u32 {
            let mut page = vec![0u8; PAGE];
            let (last, rest) = children.split_last().unwrap();
            page[0] = INTERIOR_TABLE;
            page[3..5].copy_from_slice(&(rest.len() as u16).to_be_bytes());
            page[8..12].copy_from_slice(&last.to_be_bytes());
            let mut end = PAGE;
            for (i, child) in rest.iter().enumerate() {
                end -= 5;
                page[end..end + 4].copy_from_slice(&child.to_be_bytes());
                page[end + 4] = i as u8;
                page[12 + 2 * i..14 + 2 * i].copy_from_slice(&(end as u16).to_be_bytes());
            }
            self.pages.push(page);
            self.pages.len() as u32
        }

        /// The file, its schema naming `table` rooted at page `root`.
        pub(crate) fn finish(mut self, table: &str, root: u32) -> Vec<u8> {
            let sql = format!("CREATE TABLE '{table}' (hnum INTEGER PRIMARY KEY, blob BLOB)");
            let name = V::Text(table.as_bytes());
            let schema = [
                V::Text(b"table"),
                name,
                name,
                V::Byte(root as u8),
                V::Text(sql.as_bytes()),
            ];
            let mut page = leaf(&[(1, record_of(&schema))], 100, &mut Vec::new());
            page[..16].copy_from_slice(HEADER_STRING);
            page[16..18].copy_from_slice(&(PAGE as u16).to_be_bytes());
            page[56..60].copy_from_slice(&1u32.to_be_bytes());
            self.pages[0] = page;
            self.pages.concat()
        }
    }

    /// A leaf table page with its header at `header`; payloads too large for the page leave
    /// their tail in `overflow` pages (next-page numbers patched by the caller).
    fn leaf(cells: &[(u64, Vec<u8>)], header: usize, overflow: &mut Vec<Vec<u8>>) -> Vec<u8> {
        let mut page = vec![0u8; PAGE];
        page[header] = LEAF_TABLE;
        page[header + 3..header + 5].copy_from_slice(&(cells.len() as u16).to_be_bytes());
        let mut end = PAGE;
        for (i, (rowid, payload)) in cells.iter().enumerate() {
            // SQLite's spill rule, written out independently of the reader's.
            let (max, min) = (PAGE - 35, (PAGE - 12) * 32 / 255 - 23);
            let local = if payload.len() <= max {
                payload.len()
            } else {
                let k = min + (payload.len() - min) % (PAGE - 4);
                if k <= max {
                    k
                } else {
                    min
                }
            };
            let mut cell = Vec::new();
            put_varint(payload.len() as u64, &mut cell);
            put_varint(*rowid, &mut cell);
            cell.extend_from_slice(&payload[..local]);
            if local < payload.len() {
                cell.extend_from_slice(b"OVFL");
                for chunk in payload[local..].chunks(PAGE - 4) {
                    let mut page = vec![0u8; PAGE];
                    page[4..4 + chunk.len()].copy_from_slice(chunk);
                    overflow.push(page);
                }
            }
            end -= cell.len();
            page[end..end + cell.len()].copy_from_slice(&cell);
            let pointer = header + 8 + 2 * i;
            page[pointer..pointer + 2].copy_from_slice(&(end as u16).to_be_bytes());
        }
        page
    }

    fn rows(data: &[u8]) -> Result<Vec<(i64, usize)>, SqliteError> {
        let db = Database::open(data)?;
        let mut out = Vec::new();
        db.walk_table(db.table_root("Packages")?, &mut |id, values| {
            if let [Value::Null, Value::Blob(b)] = values {
                out.push((id, b.len()));
            }
        })?;
        Ok(out)
    }

    /// Two leaves under an interior root, one row spilling over two overflow pages.
    pub(crate) fn sample() -> Vec<u8> {
        let mut builder = Builder::new();
        let small = builder.leaf(&[(1, &[7u8; 30][..]), (2, &[8u8; 40][..])]);
        let big = builder.leaf(&[(3, &[9u8; 1000][..])]);
        let root = builder.interior(&[small, big]);
        builder.finish("Packages", root)
    }

    #[test]
    fn rows_through_interior_and_overflow_pages() {
        let data = sample();
        assert_eq!(rows(&data).unwrap(), [(1, 30), (2, 40), (3, 1000)]);
        let db = Database::open(&data).unwrap();
        assert_eq!(db.table_root("packages"), Ok(6));
        assert_eq!(
            db.table_root("Nope"),
            Err(SqliteError::NoTable("Nope".into()))
        );
        // An overflow page is no b-tree page.
        let overflow = db.walk_table(4, &mut |_, _| {});
        assert!(matches!(
            overflow,
            Err(SqliteError::Corrupt { page: 4, .. })
        ));
    }

    #[test]
    fn hostile_files() {
        let good = sample();
        let with = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut bad = good.clone();
            edit(&mut bad);
            rows(&bad)
        };
        let root_page = |bad: &mut Vec<u8>| (bad.len() / PAGE - 1) * PAGE;
        for (what, result) in [
            ("not sqlite", rows(b"SQLite format 2\0")),
            ("short", rows(&good[..99])),
            (
                "page size",
                with(&|b| b[16..18].copy_from_slice(&1000u16.to_be_bytes())),
            ),
            ("reserved", with(&|b| b[20] = 100)),
            ("utf-16", with(&|b| b[59] = 2)),
            (
                "cycle",
                with(&|b| {
                    let at = root_page(b);
                    let me = (b.len() / PAGE) as u32;
                    b[at + 8..at + 12].copy_from_slice(&me.to_be_bytes());
                }),
            ),
            (
                "outside",
                with(&|b| {
                    let at = root_page(b);
                    b[at + 8..at + 12].copy_from_slice(&999u32.to_be_bytes());
                }),
            ),
            (
                "page zero",
                with(&|b| {
                    let at = root_page(b);
                    b[at + 8..at + 12].copy_from_slice(&0u32.to_be_bytes());
                }),
            ),
            (
                "kind",
                with(&|b| {
                    let at = root_page(b);
                    b[at] = 0x0a;
                }),
            ),
            (
                "cell pointer",
                with(&|b| {
                    let at = root_page(b);
                    b[at + 12..at + 14].copy_from_slice(&4u16.to_be_bytes());
                }),
            ),
            ("truncated", rows(&good[..good.len() - PAGE])),
            (
                "overflow loop",
                with(&|b| {
                    // Pages 4 and 5 are the overflow chain: the first points at itself.
                    b[3 * PAGE..3 * PAGE + 4].copy_from_slice(&4u32.to_be_bytes());
                }),
            ),
        ] {
            assert!(result.is_err(), "{what}: {result:?}");
        }
    }

    #[test]
    fn varints_and_records() {
        for (bytes, expected) in [
            (&[0x00][..], Some((0, 1))),
            (&[0x7f], Some((0x7f, 1))),
            (&[0x81, 0x00], Some((0x80, 2))),
            (&[0xff; 9], Some((u64::MAX, 9))),
            (&[0x81], None),
            (&[], None),
        ] {
            assert_eq!(varint(bytes), expected, "{bytes:?}");
        }
        // Integers of every width, sign-extended; a float; constants 0 and 1.
        let payload = [
            9, 1, 2, 4, 6, 7, 8, 9, 15, // header: 9 bytes
            0xff, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 5, 0x3f, 0xf0, 0, 0, 0,
            0, 0, 0, b'a',
        ];
        assert_eq!(
            record(&payload).unwrap(),
            [
                Value::Integer(-1),
                Value::Integer(256),
                Value::Integer(-2147483648),
                Value::Integer(5),
                Value::Real(1.0),
                Value::Integer(0),
                Value::Integer(1),
                Value::Text(b"a"),
            ]
        );
        assert_eq!(record(&payload[..20]), None, "body cut short");
        assert_eq!(record(&[2, 10]), None, "reserved serial type");
        assert_eq!(record(&[200]), None, "header past the payload");
    }
}
