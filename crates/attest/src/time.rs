//! UTC timestamps in RFC 3339 form, to the second: the times in provenance and the validity
//! windows of keys. Kept here rather than pulling a date crate for one format.

use std::fmt;
use std::str::FromStr;

/// A moment in UTC, in whole seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Text that is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an RFC 3339 date-time; write it like 2025-01-31T12:00:00Z")]
pub struct TimestampError(String);

impl Timestamp {
    /// The moment `seconds` after 1970-01-01T00:00:00Z.
    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds)
    }

    /// Seconds since the Unix epoch.
    pub const fn unix_seconds(self) -> i64 {
        self.0
    }

    /// The system clock's current time.
    pub fn now() -> Self {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        Self(i64::try_from(since_epoch).unwrap_or(i64::MAX))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    /// `YYYY-MM-DDTHH:MM:SS`, optional fractional seconds (dropped: signatures and windows
    /// never need less than a second), then `Z` or an offset `±HH:MM`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = || TimestampError(text.to_owned());
        let bytes = text.as_bytes();
        let number = |range: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            let digits = text.get(range).ok_or_else(fail)?;
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail());
            }
            digits.parse().map_err(|_| fail())
        };
        let separators_ok = bytes.len() >= 20
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && matches!(bytes[10], b'T' | b't' | b' ')
            && bytes[13] == b':'
            && bytes[16] == b':';
        if !separators_ok {
            return Err(fail());
        }
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(fail());
        }
        let mut rest = &text[19..];
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(fail());
            }
            rest = &fraction[digits..];
        }
        let offset_seconds = match rest.as_bytes() {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let hours = number(text.len() - 5..text.len() - 3)?;
                let minutes = number(text.len() - 2..text.len())?;
                if hours > 23 || minutes > 59 {
                    return Err(fail());
                }
                let offset = hours * 3600 + minutes * 60;
                if *sign == b'-' {
                    -offset
                } else {
                    offset
                }
            }
            _ => return Err(fail()),
        };
        // A leap second is read as the second after it, which is all a validity window needs.
        let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
        let utc = local - offset_seconds;
        // An offset can carry year 0000 or 9999 into a year that RFC 3339 cannot write; refuse
        // it, so that every timestamp read prints back as one that reads.
        let writable = days_from_civil(0, 1, 1) * 86_400..days_from_civil(10_000, 1, 1) * 86_400;
        if !writable.contains(&utc) {
            return Err(fail());
        }
        Ok(Self(utc))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, seconds) = (self.0.div_euclid(86_400), self.0.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            seconds / 3600,
            seconds % 3600 / 60,
            seconds % 60
        )
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    /// A string in JSON; in TOML also a bare date-time, which is how people write one there.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Written {
            Text(String),
            Toml(toml::value::Datetime),
        }
        let text = match Written::deserialize(deserializer)? {
            Written::Text(text) => text,
            Written::Toml(datetime) => datetime.to_string(),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_texts_read_as_unix_seconds() {
        for (text, seconds) in [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2000-02-29T12:34:56Z", Some(951_827_696)),
            ("2025-01-31T12:00:00.123456Z", Some(1_738_324_800)),
            ("2025-01-31T13:00:00+01:00", Some(1_738_324_800)),
            ("2025-01-31T11:30:00-00:30", Some(1_738_324_800)),
            ("1969-12-31T23:59:59Z", Some(-1)),
            ("2023-02-29T00:00:00Z", None),
            ("2025-13-01T00:00:00Z", None),
            ("2025-01-01T24:00:00Z", None),
            ("2025-01-01T00:00:00", None),
            ("2025-01-01T00:00:00.Z", None),
            ("2025-01-01T00:00:00+1:00", None),
            ("2025-01-01", None),
            ("२०२५-01-01T00:00:00Z", None),
            ("0000-01-01T00:30:00+01:00", None),
            ("9999-12-31T23:30:00-01:00", None),
            ("0000-01-01T00:00:00Z", Some(-62_167_219_200)),
        ] {
            let parsed = text.parse::<Timestamp>().ok().map(Timestamp::unix_seconds);
            assert_eq!(parsed, seconds, "{text}");
        }
    }

    #[test]
    fn display_round_trips() {
        for seconds in [0, -1, 951_827_696, 4_102_444_800, -62_135_596_800] {
            let stamp = Timestamp::from_unix_seconds(seconds);
            assert_eq!(stamp.to_string().parse::<Timestamp>(), Ok(stamp), "{stamp}");
        }
        assert_eq!(
            Timestamp::from_unix_seconds(0).to_string(),
            "1970-01-01T00:00:00Z"
        );
    }
}
