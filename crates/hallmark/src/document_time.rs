//! The time written into the documents Hallmark makes (scan reports, SBOMs, provenance):
//! `SOURCE_DATE_EPOCH` when set, reproducible builds' way of pinning times, so the same inputs
//! give the same bytes; else now.

use anyhow::Context as _;
use attest::Timestamp;

/// The documents' creation time (RFC 3339) from the environment's `SOURCE_DATE_EPOCH`.
pub fn created() -> anyhow::Result<String> {
    created_at(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref())
}

/// The creation time `source_date_epoch` (seconds since the Unix epoch) pins, or now.
fn created_at(source_date_epoch: Option<&str>) -> anyhow::Result<String> {
    let time = match source_date_epoch {
        Some(text) => {
            let seconds: i64 = text.trim().parse().with_context(|| {
                format!("SOURCE_DATE_EPOCH={text:?} is not a number of seconds; unset it or fix it")
            })?;
            Timestamp::from_unix_seconds(seconds)
        }
        None => Timestamp::now(),
    };
    Ok(time.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_pins_the_time_and_a_bad_one_is_refused() {
        for (epoch, expected) in [
            ("0", Ok("1970-01-01T00:00:00Z")),
            ("1767225600", Ok("2026-01-01T00:00:00Z")),
            (" 1767225600\n", Ok("2026-01-01T00:00:00Z")),
            (
                "yesterday",
                Err("SOURCE_DATE_EPOCH=\"yesterday\" is not a number of seconds"),
            ),
            ("", Err("SOURCE_DATE_EPOCH=\"\" is not a number of seconds")),
        ] {
            let found = created_at(Some(epoch)).map_err(|err| err.to_string());
            match expected {
                Ok(time) => assert_eq!(found.as_deref(), Ok(time), "{epoch:?}"),
                Err(message) => assert!(
                    found.as_ref().is_err_and(|err| err.starts_with(message)),
                    "{epoch:?}: {found:?}"
                ),
            }
        }
    }

    #[test]
    fn without_source_date_epoch_the_time_is_now() {
        let before = Timestamp::now();
        let created: Timestamp = created_at(None).unwrap().parse().unwrap();
        assert!(before <= created && created <= Timestamp::now());
    }
}
