//! The report as a table for people: per image a heading, then one row per finding
//! (severity, package, installed, fixed in, layer, CVE link), a count, and the credits for
//! the advisory data shown.

use std::fmt::Write;

use super::{fixed_in_text, short_digest, Report, ScannedImage};
use crate::cvss::Severity;

/// How much of a layer's `created_by` a row shows; the JSON output has it whole.
const CREATED_BY_WIDTH: usize = 40;

/// Writes the report.
pub fn write(report: &Report<'_>) -> String {
    let mut out = String::new();
    for (i, scanned) in report.images.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        heading(&mut out, report, scanned);
        rows(&mut out, scanned);
    }
    let attributions = report.attributions();
    if !attributions.is_empty() {
        out.push_str("\nAdvisory data:\n");
        for a in attributions {
            let _ = writeln!(out, "  {a}");
        }
    }
    out
}

fn heading(out: &mut String, report: &Report<'_>, scanned: &ScannedImage<'_>) {
    let image = &scanned.image;
    let _ = write!(out, "{}", report.target);
    if let Some(platform) = &image.platform {
        let _ = write!(out, " ({platform})");
    }
    if let Some(digest) = &image.image {
        let _ = write!(out, " {digest}");
    }
    out.push('\n');
    let inventory = &image.inventory;
    let os = inventory
        .os
        .as_ref()
        .and_then(|o| o.pretty_name.clone().or_else(|| Some(o.id.clone())))
        .unwrap_or_else(|| "unknown OS".to_owned());
    let _ = writeln!(
        out,
        "{os}; {} packages in {} layers; {}",
        inventory.packages.len(),
        inventory.layers.len(),
        counts(scanned)
    );
    for problem in inventory.problems.iter().chain(&scanned.unmatched) {
        let _ = writeln!(out, "warning: {problem}");
    }
}

fn counts(scanned: &ScannedImage<'_>) -> String {
    let total = scanned.findings.len();
    let parts: Vec<String> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
    ]
    .iter()
    .filter_map(|&s| {
        let n = scanned.findings.iter().filter(|f| f.severity == s).count();
        (n > 0).then(|| format!("{s}: {n}"))
    })
    .collect();
    match total {
        0 => "no findings".to_owned(),
        _ => format!("{total} findings ({})", parts.join(", ")),
    }
}

fn rows(out: &mut String, scanned: &ScannedImage<'_>) {
    if scanned.findings.is_empty() {
        return;
    }
    let mut table = vec![[
        "SEVERITY".to_owned(),
        "PACKAGE".to_owned(),
        "INSTALLED".to_owned(),
        "FIXED IN".to_owned(),
        "LAYER".to_owned(),
        "ADVISORY".to_owned(),
    ]];
    for f in &scanned.findings {
        let p = scanned.package_of(f);
        let advisory = match f.advisory.cve() {
            Some(cve) if cve != f.advisory.id => format!("{} {}", f.advisory.id, f.advisory.link()),
            _ => f.advisory.link(),
        };
        table.push([
            f.severity.to_string(),
            p.package.name.clone(),
            p.package.version.clone(),
            fixed_in_text(f),
            layer_text(scanned, p.layer),
            advisory,
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            table
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &table {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c == row.len() - 1 {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// `#2 0123456789ab RUN pip install …`: the index, the short digest and the start of the
/// history entry that made the layer.
fn layer_text(scanned: &ScannedImage<'_>, index: usize) -> String {
    let mut text = format!("#{index}");
    let Some(layer) = scanned.image.inventory.layers.get(index) else {
        return text;
    };
    if let Some(digest) = &layer.digest {
        let _ = write!(text, " {}", short_digest(digest));
    }
    if let Some(created_by) = &layer.created_by {
        let one_line = created_by.split_whitespace().collect::<Vec<_>>().join(" ");
        let shown: String = one_line.chars().take(CREATED_BY_WIDTH).collect();
        let ellipsis = if shown.len() < one_line.len() {
            "…"
        } else {
            ""
        };
        let _ = write!(text, " {shown}{ellipsis}");
    }
    text
}
