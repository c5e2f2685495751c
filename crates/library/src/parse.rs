//! Reading library files: the RFC 2822 paragraphs, bashbrew's inheritance and merging rules,
//! and every problem reported with the line it is on.
//!
//! Unlike bashbrew, which stops at the first problem, the parser keeps going and reports all of
//! them, so a maintainer fixes a file in one round.

use std::collections::{HashMap, HashSet};
use std::fmt;

use oci::{Architecture, UnknownArchitecture};

use crate::model::{ArchField, Entry, LibraryFile, SourceLine};
use crate::{line_based, values};

/// One problem in a library file, at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.line, self.problem)
    }
}

/// Everything that can be wrong in a library file, in words a maintainer understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A line that is no field, continuation, comment or blank line.
    #[error("expected \"Field: value\", an indented continuation line, a # comment or a blank line, found {0:?}")]
    Syntax(String),
    /// An indented line with no field before it in the paragraph.
    #[error("indented continuation line {0:?} has no field to continue: remove the indentation or put it under a field")]
    OrphanContinuation(String),
    /// A field name the format does not have.
    #[error("unknown field {name:?}{}", suggestion.as_ref().map(|s| format!(": did you mean {s:?}?")).unwrap_or_default())]
    UnknownField {
        /// The name as written.
        name: String,
        /// The known field it most likely means.
        suggestion: Option<String>,
    },
    /// A field given twice in one paragraph.
    #[error(
        "field {name} is given twice in this paragraph (first on line {first_line}): keep one"
    )]
    DuplicateField {
        /// The field.
        name: String,
        /// Where it was first given.
        first_line: usize,
    },
    /// A single-valued field whose value spans lines.
    #[error("{0} takes one value on one line")]
    MultiLineValue(String),
    /// An architecture name that is not one of the program's.
    #[error("{0}")]
    UnknownArchitecture(#[from] UnknownArchitecture),
    /// An `ARCH-Field` line whose prefix is not an architecture.
    #[error("{field:?} overrides {base} for unknown architecture {arch:?} (expected one of: {})", Architecture::names().join(", "))]
    UnknownOverrideArchitecture {
        /// The whole field name.
        field: String,
        /// The overridden field.
        base: ArchField,
        /// The prefix as written.
        arch: String,
    },
    /// An architecture listed twice.
    #[error("architecture {0} is listed twice in Architectures")]
    RepeatedArchitecture(Architecture),
    /// `Architectures:` with nothing in it.
    #[error("Architectures is empty: list at least one architecture, e.g. amd64")]
    NoArchitectures,
    /// The global paragraph has no maintainers.
    #[error("missing Maintainers: the first paragraph must name who maintains this image")]
    MissingMaintainers,
    /// A maintainer line that is not `Name <email> (@handle)`.
    #[error("invalid maintainer {0:?}: expected \"Full Name <contact-email-or-url> (@github-handle)\" or \"Full Name (@github-handle)\"")]
    InvalidMaintainer(String),
    /// Tags in the global paragraph.
    #[error("{0} are not allowed in the first (global) paragraph: move them to an entry")]
    GlobalTags(&'static str),
    /// An entry without tags.
    #[error("entry has no Tags: every paragraph after the first needs at least one tag")]
    MissingTags,
    /// An entry without a required git field.
    #[error("entry {tags:?} has no {field} (neither in the entry nor in the first paragraph)")]
    MissingGitField {
        /// The entry's tags.
        tags: String,
        /// `GitRepo` or `GitCommit`.
        field: &'static str,
    },
    /// A tag that breaks the tag grammar.
    #[error("invalid tag {0:?}: tags are 1-128 of [A-Za-z0-9_.-] and do not start with . or -")]
    InvalidTag(String),
    /// A tag used by two entries.
    #[error("duplicate tag {tag:?}: already used on line {other_line}")]
    DuplicateTag {
        /// The tag.
        tag: String,
        /// The entry that has it first.
        other_line: usize,
    },
    /// A tag that is also another entry's shared tag.
    #[error("tag {tag:?} is also a SharedTag of the entry on line {other_line}: a name is either one entry's tag or shared, not both")]
    TagConflictsWithSharedTag {
        /// The tag.
        tag: String,
        /// The entry that shares it.
        other_line: usize,
    },
    /// A GitFetch that is not a branch or tag ref.
    #[error("invalid {field} {value:?}: must be \"refs/heads/…\" or \"refs/tags/…\"")]
    InvalidGitFetch {
        /// `GitFetch` or `ARCH-GitFetch`.
        field: String,
        /// The value.
        value: String,
    },
    /// A GitCommit that is not a commit hash.
    #[error("invalid {field} {value:?}: must be a commit hash (hex), not a tag or branch name")]
    InvalidGitCommit {
        /// `GitCommit` or `ARCH-GitCommit`.
        field: String,
        /// The value.
        value: String,
    },
    /// A builder this program does not know.
    #[error(
        "invalid {field} {value:?}: expected buildkit, classic or oci-import (or leave it out)"
    )]
    InvalidBuilder {
        /// `Builder` or `ARCH-Builder`.
        field: String,
        /// The value.
        value: String,
    },
    /// A legacy line-based line that is not `tag: repo@commit [directory]`.
    #[error("invalid line {0:?}: expected \"tag: git-url@commit [directory]\"")]
    LineBasedSyntax(String),
}

/// A library file that did not parse: every problem found, in line order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ParseError {
    /// The problems, never empty.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses a library file in the RFC 2822 format or, failing that, the legacy line-based one
/// (as bashbrew does). Problems are reported for the RFC 2822 reading unless the line-based
/// reading succeeds.
pub fn parse(text: &str) -> Result<LibraryFile, ParseError> {
    parse_rfc2822(text).or_else(|rfc_error| match line_based::parse(text) {
        Ok(file) if !file.entries.is_empty() => Ok(file),
        _ => Err(rfc_error),
    })
}

/// Parses a library file in the RFC 2822 format only.
pub fn parse_rfc2822(text: &str) -> Result<LibraryFile, ParseError> {
    let mut problems = Problems::default();
    let paragraphs = split_paragraphs(text, &mut problems);
    let mut paragraphs = paragraphs.into_iter();

    let mut global = Entry::defaults();
    match paragraphs.next() {
        Some(first) => {
            global.line = SourceLine(first.line);
            apply_paragraph(&mut global, &first, &mut problems);
            check_global(&global, &first, &mut problems);
        }
        None => problems.push(1, Problem::MissingMaintainers),
    }

    let mut builder = EntryCollector::default();
    for paragraph in paragraphs {
        let mut entry = global.clone();
        entry.line = SourceLine(paragraph.line);
        apply_paragraph(&mut entry, &paragraph, &mut problems);
        if check_entry(&entry, &paragraph, &mut problems) {
            builder.add(entry, &paragraph, &mut problems);
        }
    }

    problems.into_result(LibraryFile {
        global,
        entries: builder.entries,
    })
}

/// Collects diagnostics as the parser goes.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<Diagnostic>);

impl Problems {
    pub(crate) fn push(&mut self, line: usize, problem: Problem) {
        self.0.push(Diagnostic { line, problem });
    }

    pub(crate) fn into_result<T>(mut self, value: T) -> Result<T, ParseError> {
        if self.0.is_empty() {
            return Ok(value);
        }
        self.0.sort_by_key(|d| d.line);
        Err(ParseError {
            diagnostics: self.0,
        })
    }
}

/// One `Field: value` with its continuation lines joined by newlines.
#[derive(Debug)]
struct RawField {
    name: String,
    value: String,
    line: usize,
}

#[derive(Debug)]
struct Paragraph {
    line: usize,
    fields: Vec<RawField>,
}

impl Paragraph {
    fn line_of(&self, name: &str) -> usize {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map_or(self.line, |f| f.line)
    }
}

/// Splits the text into paragraphs of fields. Comment lines (first non-blank character `#`)
/// vanish entirely, as with bashbrew's comment stripper, so they never end a paragraph.
fn split_paragraphs(text: &str, problems: &mut Problems) -> Vec<Paragraph> {
    let mut paragraphs = Vec::new();
    let mut current: Option<Paragraph> = None;
    for (index, raw_line) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        if line.trim_start().starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            paragraphs.extend(current.take());
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match current.as_mut().and_then(|p| p.fields.last_mut()) {
                Some(field) => {
                    field.value.push('\n');
                    field.value.push_str(line.trim());
                }
                None => problems.push(line_no, Problem::OrphanContinuation(line.to_owned())),
            }
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) if is_field_name(name) => {
                current
                    .get_or_insert_with(|| Paragraph {
                        line: line_no,
                        fields: Vec::new(),
                    })
                    .fields
                    .push(RawField {
                        name: name.to_owned(),
                        value: value.trim().to_owned(),
                        line: line_no,
                    });
            }
            _ => problems.push(line_no, Problem::Syntax(line.to_owned())),
        }
    }
    paragraphs.extend(current);
    paragraphs
}

fn is_field_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
}

/// Applies every field of a paragraph over the inherited values in `entry`.
fn apply_paragraph(entry: &mut Entry, paragraph: &Paragraph, problems: &mut Problems) {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for field in &paragraph.fields {
        if let Some(&(_, first_line)) = seen.iter().find(|(name, _)| *name == field.name) {
            problems.push(
                field.line,
                Problem::DuplicateField {
                    name: field.name.clone(),
                    first_line,
                },
            );
            continue;
        }
        seen.push((&field.name, field.line));
        if let Err(problem) = apply_field(entry, field) {
            problems.push(field.line, problem);
        }
    }
}

fn apply_field(entry: &mut Entry, field: &RawField) -> Result<(), Problem> {
    let value = field.value.as_str();
    match field.name.as_str() {
        "Maintainers" => {
            entry.maintainers = values::list(value);
            match entry
                .maintainers
                .iter()
                .find(|m| !values::is_valid_maintainer(m))
            {
                Some(bad) => Err(Problem::InvalidMaintainer(bad.clone())),
                None => Ok(()),
            }
        }
        "Tags" => set_tags(&mut entry.tags, value),
        "SharedTags" => set_tags(&mut entry.shared_tags, value),
        "Architectures" => set_architectures(entry, value),
        "Constraints" => {
            entry.constraints = values::list(value);
            Ok(())
        }
        name => apply_scalar_field(entry, name, value),
    }
}

fn set_tags(tags: &mut Vec<String>, value: &str) -> Result<(), Problem> {
    *tags = values::list(value);
    match tags.iter().find(|t| !oci::is_valid_tag(t)) {
        Some(bad) => Err(Problem::InvalidTag(bad.clone())),
        None => Ok(()),
    }
}

fn set_architectures(entry: &mut Entry, value: &str) -> Result<(), Problem> {
    let mut architectures = Vec::new();
    for name in values::list(value) {
        let arch: Architecture = name.parse()?;
        if architectures.contains(&arch) {
            return Err(Problem::RepeatedArchitecture(arch));
        }
        architectures.push(arch);
    }
    if architectures.is_empty() {
        return Err(Problem::NoArchitectures);
    }
    entry.architectures = architectures;
    Ok(())
}

/// The single-valued fields: the plain ones and their `ARCH-` overrides.
fn apply_scalar_field(entry: &mut Entry, name: &str, value: &str) -> Result<(), Problem> {
    let (arch, field) = scalar_field(name)?;
    if value.contains('\n') {
        return Err(Problem::MultiLineValue(name.to_owned()));
    }
    // An invalid value is still recorded, so that the entry is not also reported as missing it.
    let checked = validate_scalar(name, field, value);
    let stored = checked.clone().unwrap_or_else(|_| value.to_owned());
    match arch {
        Some(arch) => {
            entry.arch_overrides.insert((arch, field), stored);
        }
        None => *plain_field_mut(entry, field) = stored,
    }
    checked.map(drop)
}

/// Names a single-valued field: `GitCommit` is the plain field, `arm64v8-GitCommit` the
/// override for one architecture.
fn scalar_field(name: &str) -> Result<(Option<Architecture>, ArchField), Problem> {
    if let Some(field) = arch_field_named(name) {
        return Ok((None, field));
    }
    let unknown = || Problem::UnknownField {
        name: name.to_owned(),
        suggestion: values::suggest_field(name),
    };
    let (prefix, base) = name.rsplit_once('-').ok_or_else(unknown)?;
    let field = arch_field_named(base).ok_or_else(unknown)?;
    let arch = prefix
        .parse()
        .map_err(|_| Problem::UnknownOverrideArchitecture {
            field: name.to_owned(),
            base: field,
            arch: prefix.to_owned(),
        })?;
    Ok((Some(arch), field))
}

fn arch_field_named(name: &str) -> Option<ArchField> {
    ArchField::ALL.into_iter().find(|f| f.as_str() == name)
}

fn validate_scalar(name: &str, field: ArchField, value: &str) -> Result<String, Problem> {
    let invalid =
        |make: fn(String, String) -> Problem| Err(make(name.to_owned(), value.to_owned()));
    match field {
        ArchField::GitFetch if !values::is_valid_git_fetch(value) => {
            invalid(|field, value| Problem::InvalidGitFetch { field, value })
        }
        ArchField::GitCommit if !values::is_valid_git_commit(value) => {
            invalid(|field, value| Problem::InvalidGitCommit { field, value })
        }
        ArchField::Builder if !values::is_valid_builder(value) => {
            invalid(|field, value| Problem::InvalidBuilder { field, value })
        }
        ArchField::Directory => Ok(values::clean_path(value)),
        _ => Ok(value.to_owned()),
    }
}

fn plain_field_mut(entry: &mut Entry, field: ArchField) -> &mut String {
    match field {
        ArchField::GitRepo => &mut entry.git_repo,
        ArchField::GitFetch => &mut entry.git_fetch,
        ArchField::GitCommit => &mut entry.git_commit,
        ArchField::Directory => &mut entry.directory,
        ArchField::File => &mut entry.file,
        ArchField::Builder => &mut entry.builder,
    }
}

fn check_global(global: &Entry, paragraph: &Paragraph, problems: &mut Problems) {
    if global.maintainers.is_empty() {
        problems.push(paragraph.line, Problem::MissingMaintainers);
    }
    if !global.tags.is_empty() {
        problems.push(paragraph.line_of("Tags"), Problem::GlobalTags("Tags"));
    }
    if !global.shared_tags.is_empty() {
        problems.push(
            paragraph.line_of("SharedTags"),
            Problem::GlobalTags("SharedTags"),
        );
    }
}

/// Checks what an entry needs after inheritance; returns whether it is complete enough to add.
fn check_entry(entry: &Entry, paragraph: &Paragraph, problems: &mut Problems) -> bool {
    if entry.tags.is_empty() {
        problems.push(paragraph.line, Problem::MissingTags);
        return false;
    }
    let mut complete = true;
    for (field, value) in [
        ("GitRepo", &entry.git_repo),
        ("GitCommit", &entry.git_commit),
    ] {
        if value.is_empty() {
            let tags = entry.tags.join(", ");
            problems.push(paragraph.line, Problem::MissingGitField { tags, field });
            complete = false;
        }
    }
    complete
}

/// Adds entries with bashbrew's `AddEntry` rules: tags are unique across the file, a tag is
/// never also a shared tag, and an entry with the same build inputs as an earlier one is merged
/// into it.
#[derive(Debug, Default)]
pub(crate) struct EntryCollector {
    pub(crate) entries: Vec<Entry>,
    /// Tag → line of the entry that owns it; large files (eclipse-temurin has hundreds of tags)
    /// make a scan per tag quadratic.
    owners: HashMap<String, usize>,
    /// Shared tag → line of the first entry sharing it.
    sharers: HashMap<String, usize>,
}

impl EntryCollector {
    fn add(&mut self, mut entry: Entry, paragraph: &Paragraph, problems: &mut Problems) {
        let tags_line = paragraph.line_of("Tags");
        let shared_line = paragraph.line_of("SharedTags");
        dedup_in_order(&mut entry.shared_tags);
        let mut seen = HashSet::new();
        let own = entry.tags.iter().map(|tag| (tag, false));
        let shared = entry.shared_tags.iter().map(|tag| (tag, true));
        for (tag, is_shared) in own.chain(shared) {
            if let Some(problem) = self.conflict(tag, is_shared, &mut seen, tags_line) {
                problems.push(if is_shared { shared_line } else { tags_line }, problem);
            }
        }
        self.merge_or_push(entry);
    }

    /// What is wrong with `tag` (one of the entry's own tags, or a shared one) given the
    /// entries added so far and the tags of this entry already `seen`.
    fn conflict<'t>(
        &self,
        tag: &'t str,
        is_shared: bool,
        seen: &mut HashSet<&'t str>,
        tags_line: usize,
    ) -> Option<Problem> {
        let tag_owned = tag.to_owned();
        if let Some(other_line) = self.owner_of(tag) {
            return Some(match is_shared {
                true => Problem::TagConflictsWithSharedTag {
                    tag: tag_owned,
                    other_line,
                },
                false => Problem::DuplicateTag {
                    tag: tag_owned,
                    other_line,
                },
            });
        }
        if let Some(&other_line) = self.sharers.get(tag).filter(|_| !is_shared) {
            return Some(Problem::TagConflictsWithSharedTag {
                tag: tag_owned,
                other_line,
            });
        }
        if !seen.insert(tag) {
            return Some(Problem::DuplicateTag {
                tag: tag_owned,
                other_line: tags_line,
            });
        }
        None
    }

    pub(crate) fn merge_or_push(&mut self, entry: Entry) {
        let same = self
            .entries
            .iter()
            .position(|e| e.same_build_inputs(&entry));
        let line = same.map_or(entry.line.0, |index| self.entries[index].line.0);
        for tag in &entry.tags {
            self.owners.entry(tag.clone()).or_insert(line);
        }
        for tag in &entry.shared_tags {
            self.sharers.entry(tag.clone()).or_insert(line);
        }
        match same {
            Some(index) => {
                let existing = &mut self.entries[index];
                existing.tags.extend(entry.tags);
                existing.shared_tags.extend(entry.shared_tags);
                dedup_in_order(&mut existing.shared_tags);
            }
            None => self.entries.push(entry),
        }
    }

    /// The line of the entry that has `tag` among its own tags.
    pub(crate) fn owner_of(&self, tag: &str) -> Option<usize> {
        self.owners.get(tag).copied()
    }
}

fn dedup_in_order(tags: &mut Vec<String>) {
    let mut seen = HashSet::new();
    tags.retain(|t| seen.insert(t.clone()));
}
