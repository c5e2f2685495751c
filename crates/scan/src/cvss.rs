//! CVSS v3.0/v3.1 base scores computed from the vector string, and the qualitative rating.
//!
//! The formula and metric weights are those of the CVSS v3.1 specification, section 7; v3.0
//! uses the same weights and differs only in rounding, which v3.1 made exact by rounding up
//! on an integer scale (`Roundup` in Appendix A). Only base metrics count: temporal and
//! environmental ones are accepted and ignored, since advisories rate the vulnerability, not
//! a deployment.

use std::fmt;

/// A qualitative severity, lowest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// No rating is known.
    Unknown,
    /// CVSS 0.1–3.9, or a distribution's "low"/"unimportant".
    Low,
    /// CVSS 4.0–6.9.
    Medium,
    /// CVSS 7.0–8.9.
    High,
    /// CVSS 9.0–10.0.
    Critical,
}

impl Severity {
    /// The CVSS v3 rating of a base score; a score of 0 has no rating.
    pub fn from_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Unknown,
        }
    }

    /// Reads the words advisory databases use (`HIGH`, GitHub's `MODERATE`, Debian's
    /// `unimportant`), ignoring case and the tracker's trailing `*` marks.
    pub fn from_label(label: &str) -> Severity {
        match label.trim_end_matches('*').to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "medium" | "moderate" => Severity::Medium,
            "low" | "unimportant" | "negligible" => Severity::Low,
            _ => Severity::Unknown,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Unknown => "UNKNOWN",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        })
    }
}

/// A CVSS v3 vector that cannot be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    /// The vector does not start with `CVSS:3.0/` or `CVSS:3.1/`.
    #[error("not a CVSS v3 vector (expected a CVSS:3.0/ or CVSS:3.1/ prefix)")]
    NotV3,
    /// A `metric:value` pair is malformed or has an unknown value.
    #[error("metric {0:?} is malformed or has an unknown value")]
    BadMetric(String),
    /// A metric appears twice.
    #[error("metric {0} appears twice")]
    Duplicate(String),
    /// A base metric is missing.
    #[error("base metric {0} is missing")]
    Missing(&'static str),
}

const BASE_METRICS: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];

/// The weight of one base metric value, or `None` if the value is unknown. Privileges
/// Required weighs more when the scope changes, so it needs the scope.
fn weight(metric: &str, value: &str, scope_changed: bool) -> Option<f64> {
    Some(match (metric, value) {
        ("AV", "N") => 0.85,
        ("AV", "A") => 0.62,
        ("AV", "L") => 0.55,
        ("AV", "P") => 0.2,
        ("AC", "L") => 0.77,
        ("AC", "H") => 0.44,
        ("PR", "N") => 0.85,
        ("PR", "L") => {
            if scope_changed {
                0.68
            } else {
                0.62
            }
        }
        ("PR", "H") => {
            if scope_changed {
                0.5
            } else {
                0.27
            }
        }
        ("UI", "N") => 0.85,
        ("UI", "R") => 0.62,
        ("C" | "I" | "A", "H") => 0.56,
        ("C" | "I" | "A", "L") => 0.22,
        ("C" | "I" | "A", "N") => 0.0,
        ("S", "U" | "C") => 0.0,
        _ => return None,
    })
}

/// CVSS v3.1 `Roundup`: the smallest one-decimal number not below `x`, computed on integers
/// so that floating-point noise (4.000000001) does not push a score up a tenth.
fn round_up(x: f64) -> f64 {
    let scaled = (x * 100_000.0).round() as i64;
    if scaled % 10_000 == 0 {
        scaled as f64 / 100_000.0
    } else {
        ((scaled / 10_000) + 1) as f64 / 10.0
    }
}

/// The base score (0.0–10.0) of a CVSS v3.0 or v3.1 vector.
pub fn base_score(vector: &str) -> Result<f64, CvssError> {
    let rest = vector
        .strip_prefix("CVSS:3.1/")
        .or_else(|| vector.strip_prefix("CVSS:3.0/"))
        .ok_or(CvssError::NotV3)?;
    let mut values: [Option<&str>; 8] = [None; 8];
    let mut seen = Vec::new();
    for pair in rest.split('/') {
        let (metric, value) = pair
            .split_once(':')
            .ok_or_else(|| CvssError::BadMetric(pair.to_owned()))?;
        if seen.contains(&metric) {
            return Err(CvssError::Duplicate(metric.to_owned()));
        }
        seen.push(metric);
        if let Some(i) = BASE_METRICS.iter().position(|m| *m == metric) {
            // Scope is checked by name; its weight is irrelevant, only whether it changed.
            if weight(metric, value, false).is_none() {
                return Err(CvssError::BadMetric(pair.to_owned()));
            }
            values[i] = Some(value);
        }
    }
    let mut get = |i: usize| values[i].take().ok_or(CvssError::Missing(BASE_METRICS[i]));
    let [av, ac, pr, ui, s, c, i, a] = [
        get(0)?,
        get(1)?,
        get(2)?,
        get(3)?,
        get(4)?,
        get(5)?,
        get(6)?,
        get(7)?,
    ];
    let changed = s == "C";
    let w = |m, v| weight(m, v, changed).unwrap_or(0.0);
    let iss = 1.0 - (1.0 - w("C", c)) * (1.0 - w("I", i)) * (1.0 - w("A", a));
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * w("AV", av) * w("AC", ac) * w("PR", pr) * w("UI", ui);
    if impact <= 0.0 {
        return Ok(0.0);
    }
    let total = if changed {
        1.08 * (impact + exploitability)
    } else {
        impact + exploitability
    };
    Ok(round_up(total.min(10.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn scores_match_the_nvd_calculator() {
        for (vector, score) in [
            // Vectors and scores from the test data's advisories and NVD.
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N", 3.7),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O", 9.8),
        ] {
            assert_eq!(base_score(vector), Ok(score), "{vector}");
        }
    }

    #[test]
    fn bad_vectors() {
        for (vector, error) in [
            ("AV:N/AC:L", CvssError::NotV3),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                CvssError::NotV3,
            ),
            (
                "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                CvssError::BadMetric("AV:X".into()),
            ),
            ("CVSS:3.1/AV:N/AV:N", CvssError::Duplicate("AV".into())),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
                CvssError::Missing("A"),
            ),
            ("CVSS:3.1/AVN", CvssError::BadMetric("AVN".into())),
        ] {
            assert_eq!(base_score(vector), Err(error), "{vector}");
        }
    }

    #[test]
    fn ratings() {
        assert_eq!(Severity::from_score(9.8), Severity::Critical);
        assert_eq!(Severity::from_score(7.0), Severity::High);
        assert_eq!(Severity::from_score(6.9), Severity::Medium);
        assert_eq!(Severity::from_score(0.1), Severity::Low);
        assert_eq!(Severity::from_label("MODERATE"), Severity::Medium);
        assert_eq!(Severity::from_label("high**"), Severity::High);
        assert_eq!(Severity::from_label("not yet assigned"), Severity::Unknown);
    }

    proptest! {
        #[test]
        fn every_valid_vector_scores_in_range(
            av in "[NALP]", ac in "[LH]", pr in "[NLH]", ui in "[NR]", s in "[UC]",
            c in "[HLN]", i in "[HLN]", a in "[HLN]",
        ) {
            let v = format!("CVSS:3.1/AV:{av}/AC:{ac}/PR:{pr}/UI:{ui}/S:{s}/C:{c}/I:{i}/A:{a}");
            let score = base_score(&v).unwrap();
            prop_assert!((0.0..=10.0).contains(&score));
            prop_assert_eq!((score * 10.0).round() / 10.0, score);
            prop_assert_eq!(score == 0.0, c == "N" && i == "N" && a == "N");
        }

        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = base_score(&s);
            let _ = base_score(&format!("CVSS:3.1/{s}"));
        }
    }
}
