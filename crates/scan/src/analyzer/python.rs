//! Installed Python distributions: `*.dist-info/METADATA` (wheels, pip) and
//! `*.egg-info/PKG-INFO` or a `*.egg-info` file (setuptools, distutils, Debian's python3-*
//! packages), all in the core metadata format: RFC 822 headers up to the first blank line,
//! then the description.

use super::{Found, PackageKind};

/// The distribution a metadata file describes, if it names itself and its version.
pub fn parse_metadata(text: &str) -> Option<Found> {
    let (mut name, mut version, mut license, mut expression) = (None, None, None, None);
    let mut classifiers = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim().is_empty() {
            break; // the description follows
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        // A `License:` field often carries the whole licence text on continuation lines; a
        // field that continues is text, not a licence name.
        let continues = lines.peek().is_some_and(|l| l.starts_with([' ', '\t']));
        match key {
            "Name" => name = Some(value.to_owned()),
            "Version" => version = Some(value.to_owned()),
            "License-Expression" => expression = Some(value.to_owned()),
            "License"
                if !continues && !value.is_empty() && value.len() <= 80 && value != "UNKNOWN" =>
            {
                license = Some(value.to_owned())
            }
            "Classifier" => {
                if let Some(rest) = value.strip_prefix("License :: ") {
                    let name = rest.rsplit(" :: ").next().unwrap_or(rest);
                    if name != "OSI Approved" {
                        classifiers.push(name.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    let (name, version) = (
        name.filter(|n| !n.is_empty())?,
        version.filter(|v| !v.is_empty())?,
    );
    // PEP 639's expression is the most precise; the free-text field next; classifiers last.
    let licenses = match (expression, license) {
        (Some(e), _) => vec![e],
        (None, Some(l)) => vec![l],
        (None, None) => classifiers,
    };
    Some(Found {
        kind: PackageKind::Python,
        name,
        version,
        source: None,
        arch: None,
        licenses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_tables() {
        for (text, expected) in [
            (
                "Metadata-Version: 2.1\nName: requests\nVersion: 2.25.0\nSummary: Python HTTP for Humans.\nLicense: Apache 2.0\nClassifier: License :: OSI Approved :: Apache Software License\n\nName: not-this\n",
                Some(("requests", "2.25.0", vec!["Apache 2.0"])),
            ),
            (
                "Metadata-Version: 2.4\nName: urllib3\nVersion: 2.2.3\nLicense-Expression: MIT\nLicense: MIT\n",
                Some(("urllib3", "2.2.3", vec!["MIT"])),
            ),
            (
                "Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.11.2\nLicense: BSD-3-Clause\n    Copyright 2007 Pallets\n    Redistribution ...\nClassifier: License :: OSI Approved :: BSD License\n",
                Some(("Jinja2", "2.11.2", vec!["BSD License"])),
            ),
            (
                "Metadata-Version: 1.1\nName: six\nVersion: 1.16.0\nLicense: UNKNOWN\n",
                Some(("six", "1.16.0", vec![])),
            ),
            ("Name: x\n", None),
            ("\nName: x\nVersion: 1\n", None),
            ("", None),
        ] {
            let found = parse_metadata(text);
            let got = found.as_ref().map(|f| {
                (f.name.as_str(), f.version.as_str(), f.licenses.iter().map(String::as_str).collect::<Vec<_>>())
            });
            assert_eq!(got, expected, "{text}");
        }
    }
}
