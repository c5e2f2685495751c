//! Clamping a layer tar's times to SOURCE_DATE_EPOCH, block by block.
//!
//! Every header's `mtime` later than the epoch becomes the epoch, and so do PAX `mtime`,
//! `atime` and `ctime` records; nothing else changes: names, modes, owners, extended
//! attributes, entry order and file contents pass through byte for byte, so the result is the
//! engine's layer with only its clock removed. Re-tarring through a tar library would instead
//! re-encode every header in that library's preferred form.

use std::io::{self, Read, Write};

const BLOCK: usize = 512;
const SIZE: std::ops::Range<usize> = 124..136;
const MTIME: std::ops::Range<usize> = 136..148;
const CHECKSUM: std::ops::Range<usize> = 148..156;
const TYPEFLAG: usize = 156;
/// PAX time records; any of them later than the epoch would carry the build's clock.
const PAX_TIMES: [&str; 3] = ["mtime", "atime", "ctime"];

/// Copies the tar `input` to `output` with every time after `epoch` set to `epoch`.
pub fn clamp_tar_times(input: impl Read, mut output: impl Write, epoch: u64) -> io::Result<()> {
    let mut input = io::BufReader::new(input);
    let mut header = [0u8; BLOCK];
    loop {
        if !read_block(&mut input, &mut header)? {
            return Ok(());
        }
        if header.iter().all(|&b| b == 0) {
            // The end-of-archive blocks and any padding after them pass as they are.
            output.write_all(&header)?;
            io::copy(&mut input, &mut output)?;
            return Ok(());
        }
        let size = read_size(&header)?;
        clamp_header_mtime(&mut header, epoch);
        if matches!(header[TYPEFLAG], b'x' | b'g') {
            let mut records = vec![0u8; to_usize(size)?];
            input.read_exact(&mut records)?;
            skip_padding(&mut input, size)?;
            let records = clamp_pax_records(&records, epoch)?;
            write_octal(&mut header[SIZE], records.len() as u64);
            write_checksum(&mut header);
            output.write_all(&header)?;
            output.write_all(&records)?;
            write_padding(&mut output, records.len() as u64)?;
        } else {
            write_checksum(&mut header);
            output.write_all(&header)?;
            let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
            let copied = io::copy(&mut (&mut input).take(padded), &mut output)?;
            if copied != padded {
                return Err(truncated());
            }
        }
    }
}

/// Reads one block; `false` at a clean end of input.
fn read_block(input: &mut impl Read, block: &mut [u8; BLOCK]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < BLOCK {
        match input.read(&mut block[filled..])? {
            0 if filled == 0 => return Ok(false),
            0 => return Err(truncated()),
            n => filled += n,
        }
    }
    Ok(true)
}

fn truncated() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the layer tar ends inside an entry",
    )
}

fn to_usize(size: u64) -> io::Result<usize> {
    usize::try_from(size).map_err(|_| invalid("a PAX header is too large"))
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// A numeric header field: octal text, or GNU base-256 when its first byte has the high bit.
fn read_number(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let mut value = u64::from(field[0] & 0x7f);
        for &byte in &field[1..] {
            value = value.checked_mul(256)?.checked_add(u64::from(byte))?;
        }
        return Some(value);
    }
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_matches(|c: char| c == '\0' || c == ' ');
    match digits {
        "" => Some(0),
        digits => u64::from_str_radix(digits, 8).ok(),
    }
}

fn read_size(header: &[u8; BLOCK]) -> io::Result<u64> {
    read_number(&header[SIZE]).ok_or_else(|| invalid("a tar header has an unreadable size"))
}

/// Octal digits filling the field but its last byte, which is NUL.
fn write_octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    field[..width].copy_from_slice(&text.as_bytes()[text.len() - width..]);
    field[width] = 0;
}

fn clamp_header_mtime(header: &mut [u8; BLOCK], epoch: u64) {
    // An unreadable or base-256 time is as good as "later": the epoch replaces it.
    let later = read_number(&header[MTIME]).is_none_or(|mtime| mtime > epoch);
    if later || header[MTIME][0] & 0x80 != 0 {
        write_octal(&mut header[MTIME], epoch);
    }
}

/// The checksum: the byte sum with the checksum field as spaces, as six octal digits, NUL,
/// space.
fn write_checksum(header: &mut [u8; BLOCK]) {
    header[CHECKSUM].fill(b' ');
    let sum: u64 = header.iter().map(|&b| u64::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    header[CHECKSUM].copy_from_slice(text.as_bytes());
}

fn skip_padding(input: &mut impl Read, size: u64) -> io::Result<()> {
    let padding = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
    let skipped = io::copy(&mut input.take(padding), &mut io::sink())?;
    if skipped != padding {
        return Err(truncated());
    }
    Ok(())
}

fn write_padding(output: &mut impl Write, size: u64) -> io::Result<()> {
    let padding = (BLOCK - (size % BLOCK as u64) as usize) % BLOCK;
    output.write_all(&[0u8; BLOCK][..padding])
}

/// PAX records (`LEN key=value\n`) with every time record after the epoch set to it.
fn clamp_pax_records(records: &[u8], epoch: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(records.len());
    let mut rest = records;
    while !rest.is_empty() {
        let space = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or_else(|| invalid("a PAX record has no length"))?;
        let length: usize = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|digits| digits.parse().ok())
            .filter(|&length| length > space && length <= rest.len())
            .ok_or_else(|| invalid("a PAX record has a bad length"))?;
        let (record, tail) = rest.split_at(length);
        rest = tail;
        let body = &record[space + 1..];
        match clamped_time_record(body, epoch) {
            Some(new_body) => out.extend_from_slice(&pax_record(&new_body)),
            None => out.extend_from_slice(record),
        }
    }
    Ok(out)
}

/// `key=epoch\n` when `body` is a time record later than the epoch.
fn clamped_time_record(body: &[u8], epoch: u64) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let (key, value) = text.strip_suffix('\n')?.split_once('=')?;
    if !PAX_TIMES.contains(&key) {
        return None;
    }
    let (seconds, fraction) = value.split_once('.').unwrap_or((value, ""));
    let seconds: i64 = seconds.parse().ok()?;
    let has_fraction = fraction.bytes().any(|b| b != b'0');
    let later = seconds > epoch as i64 || (seconds == epoch as i64 && has_fraction);
    later.then(|| format!("{key}={epoch}\n"))
}

/// A record with its own length prefix, which counts its own digits.
fn pax_record(body: &str) -> Vec<u8> {
    let mut length = body.len() + 2;
    while format!("{length} {body}").len() != length {
        length += 1;
    }
    format!("{length} {body}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_times(tar_bytes: &[u8]) -> Vec<(String, u64)> {
        let mut archive = tar::Archive::new(tar_bytes);
        let entries = archive.entries().expect("entries");
        entries
            .map(|entry| {
                let entry = entry.expect("entry");
                let path = entry.path().expect("path").display().to_string();
                (path, entry.header().mtime().expect("mtime"))
            })
            .collect()
    }

    fn layer(entries: &[(&str, u64, &[u8])], pax_mtime: Option<&str>) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, mtime, content) in entries {
            if let Some(value) = pax_mtime {
                builder
                    .append_pax_extensions([("mtime", value.as_bytes())])
                    .expect("pax");
            }
            let mut header = tar::Header::new_ustar();
            header.set_size(content.len() as u64);
            header.set_mtime(*mtime);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, name, *content)
                .expect("append");
        }
        builder.into_inner().expect("finish")
    }

    #[test]
    fn times_after_the_epoch_are_clamped_and_contents_kept() {
        let epoch = 1_700_000_000;
        // (entries as name, mtime, content; a PAX mtime before each; expected mtimes)
        type Case<'a> = (&'a [(&'a str, u64, &'a [u8])], Option<&'a str>, &'a [u64]);
        let cases: [Case; 3] = [
            (
                &[("a", 1_800_000_000, b"new"), ("b", 1_000, b"old")],
                None,
                &[epoch, 1_000],
            ),
            (&[("c", epoch, b"at the epoch")], None, &[epoch]),
            (
                &[("d", 1_800_000_000, &[7u8; 1500])],
                Some("1800000000.123456789"),
                &[epoch],
            ),
        ];
        for (entries, pax, expected) in cases {
            let input = layer(entries, pax);
            let mut output = Vec::new();
            clamp_tar_times(&input[..], &mut output, epoch).expect("clamp");
            let times: Vec<u64> = entry_times(&output).into_iter().map(|(_, t)| t).collect();
            assert_eq!(times, expected);
            let mut archive = tar::Archive::new(&output[..]);
            for (entry, (_, _, content)) in archive.entries().unwrap().zip(entries) {
                let mut bytes = Vec::new();
                entry.unwrap().read_to_end(&mut bytes).unwrap();
                assert_eq!(&bytes, content);
            }
            let mut again = Vec::new();
            clamp_tar_times(&output[..], &mut again, epoch).expect("clamp again");
            assert_eq!(again, output, "clamping is idempotent");
        }
    }

    #[test]
    fn pax_records_keep_their_self_counting_length() {
        for body in [
            "mtime=1\n",
            "mtime=1700000000\n",
            &format!("path={}\n", "x".repeat(90)),
        ] {
            let record = pax_record(body);
            let (length, rest) = std::str::from_utf8(&record)
                .unwrap()
                .split_once(' ')
                .unwrap();
            assert_eq!(length.parse::<usize>().unwrap(), record.len());
            assert_eq!(rest, body);
        }
    }

    #[test]
    fn a_truncated_tar_is_an_error() {
        let input = layer(&[("a", 5, &[1u8; 2000])], None);
        let mut output = Vec::new();
        let error = clamp_tar_times(&input[..1024], &mut output, 10).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }
}
