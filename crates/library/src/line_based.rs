//! The legacy line-based library format (`tag: git-url@commit [directory]`, maintainers in
//! `# maintainer:` comments), which bashbrew still reads when the RFC 2822 reading fails.

use crate::model::{Entry, LibraryFile, SourceLine};
use crate::parse::{EntryCollector, ParseError, Problem, Problems};
use crate::values;

const MAINTAINER_PREFIX: &str = "# maintainer: ";

/// Parses the line-based format. bashbrew once accepted a branch name in place of the commit;
/// that is reported here, since this program builds commits, never moving refs.
pub(crate) fn parse(text: &str) -> Result<LibraryFile, ParseError> {
    let mut problems = Problems::default();
    let mut global = Entry::defaults();
    global.line = SourceLine(1);
    let mut collector = EntryCollector::default();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = line.trim();
        if let Some(maintainer) = line.strip_prefix(MAINTAINER_PREFIX) {
            global.maintainers.push(maintainer.trim().to_owned());
        } else if !line.is_empty() && !line.starts_with('#') {
            match parse_line(line, &global) {
                Some(mut entry) => {
                    entry.line = SourceLine(line_no);
                    check_line_entry(&entry, line_no, &collector, &mut problems);
                    collector.merge_or_push(entry);
                }
                None => problems.push(line_no, Problem::LineBasedSyntax(line.to_owned())),
            }
        }
    }
    if global.maintainers.is_empty() {
        problems.push(1, Problem::MissingMaintainers);
    }
    for bad in global
        .maintainers
        .iter()
        .filter(|m| !values::is_valid_maintainer(m))
    {
        problems.push(1, Problem::InvalidMaintainer(bad.clone()));
    }
    // Entries were cloned from the global paragraph before all maintainers were read.
    for entry in &mut collector.entries {
        entry.maintainers.clone_from(&global.maintainers);
    }
    problems.into_result(LibraryFile {
        global,
        entries: collector.entries,
    })
}

fn parse_line(line: &str, global: &Entry) -> Option<Entry> {
    let (tag, rest) = line.split_once(':')?;
    let (repo, rest) = rest.trim().split_once('@')?;
    let mut words = rest.split_whitespace();
    let commit = words.next()?;
    let mut entry = global.clone();
    entry.tags = vec![tag.trim().to_owned()];
    entry.git_repo = repo.trim().to_owned();
    entry.git_commit = commit.to_owned();
    if let Some(directory) = words.next() {
        entry.directory = values::clean_path(directory);
    }
    if words.next().is_some() || entry.git_repo.is_empty() {
        return None;
    }
    Some(entry)
}

fn check_line_entry(
    entry: &Entry,
    line: usize,
    collector: &EntryCollector,
    problems: &mut Problems,
) {
    let tag = &entry.tags[0];
    if !oci::is_valid_tag(tag) {
        problems.push(line, Problem::InvalidTag(tag.clone()));
    }
    if let Some(other_line) = collector.owner_of(tag) {
        problems.push(
            line,
            Problem::DuplicateTag {
                tag: tag.clone(),
                other_line,
            },
        );
    }
    if !values::is_valid_git_commit(&entry.git_commit) {
        let value = entry.git_commit.clone();
        problems.push(
            line,
            Problem::InvalidGitCommit {
                field: "commit".to_owned(),
                value,
            },
        );
    }
}
