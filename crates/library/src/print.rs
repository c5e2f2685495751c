//! The canonical form of a library file, as `bashbrew cat` prints it: the global paragraph
//! without defaults, then each (merged) entry without what it inherits.

use std::fmt::Write;

use oci::Architecture;

use crate::model::{Entry, LibraryFile};

/// Prints `file` canonically. Parsing the result gives back an equal [`LibraryFile`].
pub fn print(file: &LibraryFile) -> String {
    let mut out = String::new();
    write_paragraph(&mut out, &file.global, &Entry::defaults());
    for entry in &file.entries {
        out.push('\n');
        write_paragraph(&mut out, entry, &file.global);
    }
    out
}

/// Writes the fields of `entry` that differ from what it would inherit from `base`, in
/// bashbrew's field order. A field that differs by being empty is written empty, so that it
/// still overrides the inherited value when read back.
fn write_paragraph(out: &mut String, entry: &Entry, base: &Entry) {
    let arch_list = |archs: &[Architecture]| {
        archs
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let lists = [
        (
            "Maintainers",
            entry.maintainers.join(", "),
            base.maintainers.join(", "),
        ),
        ("Tags", entry.tags.join(", "), base.tags.join(", ")),
        (
            "SharedTags",
            entry.shared_tags.join(", "),
            base.shared_tags.join(", "),
        ),
        (
            "Architectures",
            arch_list(&entry.architectures),
            arch_list(&base.architectures),
        ),
    ];
    for (name, value, inherited) in lists {
        write_if_changed(out, name, &value, &inherited);
    }
    let scalars = [
        ("GitRepo", &entry.git_repo, &base.git_repo),
        ("GitFetch", &entry.git_fetch, &base.git_fetch),
        ("GitCommit", &entry.git_commit, &base.git_commit),
        ("Directory", &entry.directory, &base.directory),
        ("File", &entry.file, &base.file),
        ("Builder", &entry.builder, &base.builder),
    ];
    for (name, value, inherited) in scalars {
        write_if_changed(out, name, value, inherited);
    }
    // bashbrew sorts overrides by their written name (`amd64-Directory` before `amd64-GitCommit`).
    let mut overrides: Vec<(String, &String)> = entry
        .arch_overrides
        .iter()
        .filter(|(key, value)| base.arch_overrides.get(key) != Some(value))
        .map(|((arch, field), value)| (format!("{arch}-{field}"), value))
        .collect();
    overrides.sort();
    for (name, value) in overrides {
        write_field(out, &name, value);
    }
    write_if_changed(
        out,
        "Constraints",
        &entry.constraints.join(", "),
        &base.constraints.join(", "),
    );
}

fn write_if_changed(out: &mut String, name: &str, value: &str, inherited: &str) {
    if value != inherited {
        write_field(out, name, value);
    }
}

fn write_field(out: &mut String, name: &str, value: &str) {
    if value.is_empty() {
        let _ = writeln!(out, "{name}:");
    } else {
        let _ = writeln!(out, "{name}: {value}");
    }
}
