//! The images a Dockerfile builds from, found the way bashbrew finds them: every `FROM`, every
//! `COPY --from=` and `RUN --mount=…,from=` that names an image rather than a build stage, with
//! the defaults of the ARGs declared before the first `FROM` substituted.
//!
//! This is deliberately not a full Dockerfile parser: it reads only what decides the FROM graph
//! (line continuations, the `escape` directive, comments, heredoc bodies, stage names) so that
//! a Dockerfile the graph cannot understand fails loudly with its line instead of yielding a
//! wrong parent.

use std::collections::HashMap;

use oci::{ImageReference, ReferenceError};

/// The pseudo-image that starts an empty stage; it is nobody's parent.
const SCRATCH: &str = "scratch";

/// Why the FROM images of a Dockerfile cannot be known, with the (1-based) line of the
/// instruction at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerfileError {
    /// The `# escape=` directive names something other than `\` or `` ` ``.
    #[error("line {line}: the escape directive must be \\ or `, not {value:?}")]
    InvalidEscape {
        /// Line of the directive.
        line: usize,
        /// The value it gave.
        value: String,
    },
    /// A `FROM` whose arguments are not `[--flag…] image [AS name]`.
    #[error("line {line}: write FROM as `FROM [--platform=…] image [AS name]`, not {text:?}")]
    MalformedFrom {
        /// Line of the instruction.
        line: usize,
        /// The instruction's arguments.
        text: String,
    },
    /// An image name uses a variable that no ARG before the first FROM gives a value.
    #[error(
        "line {line}: ${name} has no value here: declare `ARG {name}=…` before the first FROM"
    )]
    UndefinedArg {
        /// Line of the instruction.
        line: usize,
        /// The variable's name.
        name: String,
    },
    /// A `${` without its closing brace.
    #[error("line {line}: unterminated ${{…}} in {text:?}")]
    UnterminatedVariable {
        /// Line of the instruction.
        line: usize,
        /// The text holding it.
        text: String,
    },
    /// The image name (after substitution) is not a valid reference.
    #[error("line {line}: {image:?} is not an image reference: {reason}")]
    InvalidImage {
        /// Line of the instruction.
        line: usize,
        /// The name after ARG substitution.
        image: String,
        /// What is wrong with it.
        reason: ReferenceError,
    },
    /// `--from=N` names a stage that does not exist yet.
    #[error("line {line}: --from={index} names stage {index}, but only {stages} stage(s) come before it")]
    UnknownStageIndex {
        /// Line of the instruction.
        line: usize,
        /// The stage index given.
        index: usize,
        /// How many stages precede the instruction.
        stages: usize,
    },
}

/// The images `dockerfile` builds from, in order of first appearance, each once, without
/// `scratch` and without references to its own build stages.
pub fn dockerfile_froms(dockerfile: &str) -> Result<Vec<ImageReference>, DockerfileError> {
    let lines: Vec<&str> = dockerfile.lines().collect();
    let (escape, body_start) = parser_directives(&lines)?;
    let mut scan = FromScan::default();
    for instruction in Instructions::new(&lines, body_start, escape) {
        scan.apply(&instruction)?;
    }
    Ok(scan.images)
}

/// Reads the parser directives at the top of a Dockerfile's `lines`; returns the escape
/// character and the index of the first line after them. Only `escape` changes how the rest
/// reads; `syntax` and `check` are accepted and ignored. Shared by every Dockerfile reader so
/// they agree on where instructions start.
pub fn parser_directives(lines: &[&str]) -> Result<(char, usize), DockerfileError> {
    let mut escape = '\\';
    for (index, raw) in lines.iter().enumerate() {
        let Some((key, value)) = directive(raw) else {
            return Ok((escape, index));
        };
        if key.eq_ignore_ascii_case("escape") {
            escape = match value {
                "\\" => '\\',
                "`" => '`',
                _ => {
                    return Err(DockerfileError::InvalidEscape {
                        line: index + 1,
                        value: value.to_owned(),
                    })
                }
            };
        }
    }
    Ok((escape, lines.len()))
}

/// `# key=value` as a parser directive, or `None` for any other line.
fn directive(raw: &str) -> Option<(&str, &str)> {
    let comment = raw.trim().strip_prefix('#')?;
    let (key, value) = comment.split_once('=')?;
    let key = key.trim();
    let is_word = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    is_word.then_some((key, value.trim()))
}

/// One instruction after joining continued lines: its keyword upper-cased, its argument
/// words, and the line it starts on.
#[derive(Debug)]
struct Instruction {
    line: usize,
    keyword: String,
    args: Vec<String>,
}

impl Instruction {
    /// The values of every `name=value` flag among the flags that open the arguments.
    fn flag_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        let flags = self.args.iter().take_while(|arg| arg.starts_with("--"));
        flags.filter_map(move |flag| flag.strip_prefix(name)?.strip_prefix('='))
    }
}

/// Iterates over the instructions of a Dockerfile body, skipping comments, blank lines and
/// heredoc bodies.
struct Instructions<'a> {
    lines: &'a [&'a str],
    next: usize,
    escape: char,
}

impl<'a> Instructions<'a> {
    fn new(lines: &'a [&'a str], start: usize, escape: char) -> Self {
        Instructions {
            lines,
            next: start,
            escape,
        }
    }

    /// Joins the logical line starting at `self.next`: a line ending in the escape character
    /// continues on the next one, and comment or blank lines inside a continuation are dropped
    /// as Docker drops them.
    fn logical_line(&mut self) -> String {
        let mut joined = String::new();
        while let Some(raw) = self.lines.get(self.next) {
            self.next += 1;
            let trimmed = raw.trim();
            if !joined.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
                continue;
            }
            match trimmed.strip_suffix(self.escape) {
                Some(head) => joined.push_str(head),
                None => {
                    joined.push_str(trimmed);
                    break;
                }
            }
            joined.push(' ');
        }
        joined
    }

    /// Skips the bodies of the heredocs `args` opens (`RUN <<EOF`, `COPY <<-'EOF' …`). A
    /// marker without its terminator is taken as plain text, as the classic builder takes it,
    /// so that a `<<` in a shell script never swallows the rest of the file.
    fn skip_heredocs(&mut self, args: &[String]) {
        for (word, strip_tabs) in args.iter().filter_map(|arg| heredoc_marker(arg)) {
            let terminator = self.lines[self.next..].iter().position(|raw| {
                let candidate = if strip_tabs {
                    raw.trim_start_matches('\t')
                } else {
                    raw
                };
                candidate == word
            });
            if let Some(offset) = terminator {
                self.next += offset + 1;
            }
        }
    }
}

impl Iterator for Instructions<'_> {
    type Item = Instruction;

    fn next(&mut self) -> Option<Instruction> {
        loop {
            let raw = self.lines.get(self.next)?;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                self.next += 1;
                continue;
            }
            let line = self.next + 1;
            let text = self.logical_line();
            let mut words = text.split_whitespace().map(str::to_owned);
            let keyword = words.next()?.to_ascii_uppercase();
            let args: Vec<String> = words.collect();
            if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
                self.skip_heredocs(&args);
            }
            return Some(Instruction {
                line,
                keyword,
                args,
            });
        }
    }
}

/// The terminator word of a heredoc marker (`<<EOF`, `<<-EOF`, `<<"EOF"`) and whether its
/// terminator line may be indented with tabs.
fn heredoc_marker(arg: &str) -> Option<(&str, bool)> {
    let rest = arg.strip_prefix("<<")?;
    let (rest, strip_tabs) = match rest.strip_prefix('-') {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    let word = rest.trim_matches(|c| c == '"' || c == '\'');
    let is_word = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    is_word.then_some((word, strip_tabs))
}

/// What the scan has learnt so far: the ARG defaults usable in FROM, the stages, and the
/// images found.
#[derive(Debug, Default)]
struct FromScan {
    /// ARGs declared before the first FROM; `None` when declared without a default.
    global_args: HashMap<String, Option<String>>,
    /// Lower-cased stage names; unnamed stages hold `None`.
    stages: Vec<Option<String>>,
    images: Vec<ImageReference>,
}

impl FromScan {
    fn apply(&mut self, instruction: &Instruction) -> Result<(), DockerfileError> {
        match instruction.keyword.as_str() {
            "ARG" if self.stages.is_empty() => {
                self.declare_args(&instruction.args);
                Ok(())
            }
            "FROM" => self.from(instruction),
            "COPY" => self.copy(instruction),
            "RUN" => self.run(instruction),
            _ => Ok(()),
        }
    }

    fn declare_args(&mut self, args: &[String]) {
        for arg in args {
            let (name, default) = match arg.split_once('=') {
                // A default may use the ARGs before it; an unknown one reads as empty, as in
                // Docker, and only matters if a FROM then uses the result.
                Some((name, value)) => (name, Some(expand(&unquote(value), &self.global_args).0)),
                None => (arg.as_str(), None),
            };
            self.global_args.insert(name.to_owned(), default);
        }
    }

    fn from(&mut self, instruction: &Instruction) -> Result<(), DockerfileError> {
        let line = instruction.line;
        let words: Vec<&String> = instruction
            .args
            .iter()
            .skip_while(|arg| arg.starts_with("--"))
            .collect();
        let stage_name = match words.as_slice() {
            [_] => None,
            [_, as_keyword, name] if as_keyword.eq_ignore_ascii_case("as") => {
                Some(name.to_ascii_lowercase())
            }
            _ => {
                return Err(DockerfileError::MalformedFrom {
                    line,
                    text: instruction.args.join(" "),
                })
            }
        };
        let image = self.substitute(words[0], line)?;
        if !self.is_stage(&image) {
            self.add_image(&image, line)?;
        }
        self.stages.push(stage_name);
        Ok(())
    }

    fn copy(&mut self, instruction: &Instruction) -> Result<(), DockerfileError> {
        for source in instruction.flag_values("--from") {
            self.stage_or_image(source, instruction.line)?;
        }
        Ok(())
    }

    fn run(&mut self, instruction: &Instruction) -> Result<(), DockerfileError> {
        for mount in instruction.flag_values("--mount") {
            let options = mount.split(',').filter_map(|option| option.split_once('='));
            for (_, source) in options.filter(|(key, _)| *key == "from") {
                self.stage_or_image(source, instruction.line)?;
            }
        }
        Ok(())
    }

    /// Handles the value of a `--from`: a stage name or index refers inside the Dockerfile;
    /// anything else is an image.
    fn stage_or_image(&mut self, value: &str, line: usize) -> Result<(), DockerfileError> {
        let value = self.substitute(value, line)?;
        if let Ok(index) = value.parse::<usize>() {
            return match index < self.stages.len() {
                true => Ok(()),
                false => Err(DockerfileError::UnknownStageIndex {
                    line,
                    index,
                    stages: self.stages.len(),
                }),
            };
        }
        if self.is_stage(&value) {
            return Ok(());
        }
        self.add_image(&value, line)
    }

    fn is_stage(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.stages.iter().flatten().any(|stage| *stage == name)
    }

    fn add_image(&mut self, image: &str, line: usize) -> Result<(), DockerfileError> {
        if image == SCRATCH {
            return Ok(());
        }
        let reference =
            ImageReference::parse(image).map_err(|reason| DockerfileError::InvalidImage {
                line,
                image: image.to_owned(),
                reason,
            })?;
        if !self.images.contains(&reference) {
            self.images.push(reference);
        }
        Ok(())
    }

    /// Substitutes the global ARGs into an image name, failing on any variable without a
    /// value: an empty piece of an image name is never what the author meant.
    fn substitute(&self, text: &str, line: usize) -> Result<String, DockerfileError> {
        let (expanded, undefined) = expand(text, &self.global_args);
        match undefined {
            Expansion::Complete => Ok(expanded),
            Expansion::Undefined(name) => Err(DockerfileError::UndefinedArg { line, name }),
            Expansion::Unterminated => Err(DockerfileError::UnterminatedVariable {
                line,
                text: text.to_owned(),
            }),
        }
    }
}

/// Whether an expansion found every variable it needed.
#[derive(Debug, PartialEq, Eq)]
enum Expansion {
    Complete,
    /// The first variable used without a value.
    Undefined(String),
    /// A `${` never closed.
    Unterminated,
}

/// Expands `$NAME`, `${NAME}` and the `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}`,
/// `${NAME+word}` forms against `args`, reading missing values as empty like Docker does, and
/// says which variable (if any) had no value where one was needed.
fn expand(text: &str, args: &HashMap<String, Option<String>>) -> (String, Expansion) {
    let mut out = String::new();
    let mut status = Expansion::Complete;
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (value, consumed) = match after.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(close) => (braced_value(&braced[..close], args), close + 2),
                None => return (out, Expansion::Unterminated),
            },
            None => {
                let len = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                let name = &after[..len];
                match name.is_empty() {
                    true => (Ok("$".to_owned()), 0),
                    false => (lookup(name, args), len),
                }
            }
        };
        match value {
            Ok(value) => out.push_str(&value),
            Err(name) if status == Expansion::Complete => status = Expansion::Undefined(name),
            Err(_) => {}
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    (out, status)
}

/// The value of a `${…}` body, or the name of the variable that had none.
fn braced_value(body: &str, args: &HashMap<String, Option<String>>) -> Result<String, String> {
    let operator = body.find([':', '-', '+']);
    let Some(at) = operator else {
        return lookup(body, args);
    };
    let name = &body[..at];
    let (colon, op_and_word) = match body[at..].strip_prefix(':') {
        Some(rest) => (true, rest),
        None => (false, &body[at..]),
    };
    let value = args.get(name).cloned().flatten();
    // With a colon an empty value counts as unset, as in the shell.
    let set = value.as_ref().is_some_and(|v| !(colon && v.is_empty()));
    let mut chars = op_and_word.chars();
    let op = chars.next();
    let word = chars.as_str();
    Ok(match op {
        Some('-') if set => value.unwrap_or_default(),
        Some('-') => word.to_owned(),
        Some('+') if set => word.to_owned(),
        _ => String::new(),
    })
}

fn lookup(name: &str, args: &HashMap<String, Option<String>>) -> Result<String, String> {
    args.get(name)
        .cloned()
        .flatten()
        .ok_or_else(|| name.to_owned())
}

/// Strips one pair of matching quotes around an ARG default.
fn unquote(value: &str) -> String {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner.to_owned();
        }
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the extraction and renders its answer as one comparable string: the images
    /// separated by spaces, or `error: …`.
    fn froms(dockerfile: &str) -> String {
        match dockerfile_froms(dockerfile) {
            Ok(images) => images
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            Err(err) => format!("error: {err}"),
        }
    }

    #[test]
    fn finds_the_images_bashbrew_finds() {
        let cases: &[(&str, &str)] = &[
            ("FROM debian:bookworm\nRUN true\n", "debian:bookworm"),
            ("from alpine\n", "alpine"),
            ("FROM scratch\nCOPY x /\n", ""),
            (
                "# a comment\n\nFROM --platform=$BUILDPLATFORM golang:1.22 AS build\nFROM build\n",
                "golang:1.22",
            ),
            (
                "FROM golang:1.22 AS Build\nFROM debian:12\nCOPY --from=build /a /b\nCOPY --from=0 /a /b\n",
                "golang:1.22 debian:12",
            ),
            (
                "FROM debian:12\nCOPY --chown=0:0 --from=busybox:1 /bin/sh /sh\nCOPY --from=debian:12 a b\n",
                "debian:12 busybox:1",
            ),
            (
                "FROM alpine:3.20\nRUN --mount=type=cache,target=/c --mount=type=bind,from=tianon/x:1,source=/a,target=/b true\n",
                "alpine:3.20 tianon/x:1",
            ),
            (
                "ARG BASE=debian\nARG TAG=\"bookworm\"\nFROM $BASE:${TAG}-slim\n",
                "debian:bookworm-slim",
            ),
            ("ARG V\nFROM python:${V:-3.12}\n", "python:3.12"),
            ("ARG V=3\nFROM python:${V:-3.12}${V:+-slim}\n", "python:3-slim"),
            ("ARG V=é\nFROM python:${V:é}3\n", "python:3"),
            ("ARG A=1 B=${A}.2\nFROM busybox:${B}\n", "busybox:1.2"),
            (
                "FROM debian:12\nARG BASE=ignored\nFROM ${BASE:-alpine}\n",
                "debian:12 alpine",
            ),
            (
                "FROM \\\n  # a comment inside the continuation\n  debian:12 \\\n  AS base\nFROM base\n",
                "debian:12",
            ),
            (
                "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir C:\\ `\n  && echo\n",
                "mcr.microsoft.com/windows/servercore:ltsc2022",
            ),
            (
                "FROM alpine:3\nRUN <<EOF\nFROM not-an-instruction\nEOF\nCOPY <<-'X' /f\n\tFROM nor-this\n\tX\nFROM debian:12\n",
                "alpine:3 debian:12",
            ),
            ("FROM alpine:3\nRUN cat <<EOF\nFROM debian:12\n", "alpine:3 debian:12"),
            (
                "FROM alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
                "alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ),
            ("FROM debian:12\nFROM debian:12\n", "debian:12"),
        ];
        for (dockerfile, expected) in cases {
            assert_eq!(froms(dockerfile), *expected, "{dockerfile}");
        }
    }

    /// Pieces of Dockerfiles whose handling slices strings, for the property below.
    const PIECES: &[&str] = &[
        "FROM ",
        "ARG A=",
        "COPY --from=",
        "RUN --mount=from=",
        " AS ",
        "$",
        "${A",
        ":-",
        ":",
        "+",
        "}",
        "\\\n",
        "`\n",
        "# escape=`\n",
        "<<-EOF\n",
        "\tEOF\n",
        "\n",
        "é",
        "0",
        "a:1",
        "#",
    ];

    proptest::proptest! {
        /// Whatever the text, the answer is a list or an error naming a line, never a panic.
        #[test]
        fn never_panics(pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..40)) {
            if let Err(err) = dockerfile_froms(&pieces.concat()) {
                proptest::prop_assert!(err.to_string().starts_with("line "));
            }
        }
    }

    #[test]
    fn names_the_line_of_what_it_cannot_read() {
        let cases: &[(&str, &str)] = &[
            (
                "# escape=x\nFROM a\n",
                "error: line 1: the escape directive must be \\ or `, not \"x\"",
            ),
            (
                "FROM\n",
                "error: line 1: write FROM as `FROM [--platform=…] image [AS name]`, not \"\"",
            ),
            (
                "\nFROM a b\n",
                "error: line 2: write FROM as `FROM [--platform=…] image [AS name]`, not \"a b\"",
            ),
            (
                "ARG TAG\nFROM debian:$TAG\n",
                "error: line 2: $TAG has no value here: declare `ARG TAG=…` before the first FROM",
            ),
            (
                "FROM debian:12\nARG LATE=1\nFROM busybox:$LATE\n",
                "error: line 3: $LATE has no value here: declare `ARG LATE=…` before the first FROM",
            ),
            (
                "FROM debian:${TAG\n",
                "error: line 1: unterminated ${…} in \"debian:${TAG\"",
            ),
            (
                "FROM Debian\n",
                "error: line 1: \"Debian\" is not an image reference: invalid repository name \"Debian\": use lowercase letters, digits and separators (., _, __, -) between them, components joined by /",
            ),
            (
                "FROM a\nCOPY --from=1 x y\n",
                "error: line 2: --from=1 names stage 1, but only 1 stage(s) come before it",
            ),
        ];
        for (dockerfile, expected) in cases {
            assert_eq!(froms(dockerfile), *expected, "{dockerfile}");
        }
    }
}
