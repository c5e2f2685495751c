//! A Dockerfile read into instructions, with the arguments the native builder needs already
//! split, unquoted and substituted.
//!
//! It follows the Dockerfile reference: parser directives at the top (`escape` honoured,
//! `syntax` and `check` accepted and ignored), comment lines dropped even inside a
//! continuation, continuation lines joined, the JSON (exec) form where an instruction allows
//! one, and `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME:+word}`, `${NAME-word}` and
//! `${NAME+word}` replaced from the ARG defaults and ENV values seen so far in the
//! instructions that allow it (ADD, COPY, ENV, LABEL, USER, WORKDIR, EXPOSE, STOPSIGNAL,
//! VOLUME, ARG, FROM). ARGs declared before the first FROM reach only FROM lines, as in
//! Docker. Build arguments are never passed in: library builds use the defaults.
//!
//! Instructions the native builder cannot run (RUN, HEALTHCHECK, SHELL, ONBUILD) still parse,
//! as [`InstructionKind::NeedsEngine`], so the builder can say which line needs an engine.

mod words;

use std::collections::BTreeMap;

use serde::Serialize;

use words::{expand, split_name_values, split_words, substitute, Env};

/// Why a Dockerfile cannot be read, with the line it happened on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerfileError {
    /// The parser directives at the top are malformed (an `escape` other than `\` or a
    /// backtick).
    #[error(transparent)]
    Directives(#[from] library::DockerfileError),
    /// A keyword that is not a Dockerfile instruction.
    #[error("line {line}: unknown instruction {keyword:?}")]
    UnknownInstruction {
        /// The instruction's line.
        line: usize,
        /// The keyword found.
        keyword: String,
    },
    /// An instruction without the arguments it needs.
    #[error("line {line}: {keyword} needs {what}")]
    MissingArguments {
        /// The instruction's line.
        line: usize,
        /// The instruction.
        keyword: String,
        /// What it needs.
        what: &'static str,
    },
    /// An instruction other than ARG before the first FROM.
    #[error("line {line}: {keyword} comes before FROM: only ARG may")]
    BeforeFrom {
        /// The instruction's line.
        line: usize,
        /// The instruction.
        keyword: String,
    },
    /// The file has no FROM.
    #[error("the Dockerfile has no FROM instruction")]
    NoFrom,
    /// A quote is never closed.
    #[error("line {line}: unterminated {quote} quote")]
    UnterminatedQuote {
        /// The instruction's line.
        line: usize,
        /// The quote character.
        quote: char,
    },
    /// A `${…}` substitution that does not parse.
    #[error("line {line}: bad substitution {text:?}: use $NAME, ${{NAME}}, ${{NAME:-default}} or ${{NAME:+alternative}}")]
    BadSubstitution {
        /// The instruction's line.
        line: usize,
        /// The text of the substitution.
        text: String,
    },
    /// A `NAME=value` list with an item lacking `=` or a name.
    #[error("line {line}: {keyword} expects NAME=value pairs; {item:?} is not one")]
    BadNameValue {
        /// The instruction's line.
        line: usize,
        /// The instruction.
        keyword: String,
        /// The offending item.
        item: String,
    },
    /// An ADD/COPY flag the native builder does not know.
    #[error("line {line}: unknown {keyword} flag {flag:?}")]
    UnknownFlag {
        /// The instruction's line.
        line: usize,
        /// The instruction.
        keyword: String,
        /// The flag.
        flag: String,
    },
}

/// One instruction and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instruction {
    /// The 1-based line of the keyword.
    pub line: usize,
    /// The instruction as written, continuation lines joined (what image history shows).
    pub text: String,
    /// What it says.
    pub kind: InstructionKind,
}

/// An instruction's meaning, arguments processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstructionKind {
    /// `FROM image [AS name]`.
    From {
        /// The image (`scratch` for none).
        image: String,
        /// The stage name.
        stage: Option<String>,
        /// `--platform`, if given.
        platform: Option<String>,
    },
    /// `ADD` or `COPY`.
    Copy(CopySpec),
    /// `ENV NAME=value …`.
    Env(Vec<(String, String)>),
    /// `LABEL name=value …`.
    Label(Vec<(String, String)>),
    /// `CMD`, exec form or `/bin/sh -c` around the shell form.
    Cmd(Vec<String>),
    /// `ENTRYPOINT`, like CMD.
    Entrypoint(Vec<String>),
    /// `USER user[:group]`.
    User(String),
    /// `WORKDIR path`.
    Workdir(String),
    /// `EXPOSE port[/protocol] …`.
    Expose(Vec<String>),
    /// `ARG NAME[=default] …`.
    Arg(Vec<(String, Option<String>)>),
    /// `STOPSIGNAL signal`.
    StopSignal(String),
    /// `VOLUME path …`.
    Volume(Vec<String>),
    /// `MAINTAINER name` (deprecated; the config's author).
    Maintainer(String),
    /// An instruction that runs something in a container (RUN, HEALTHCHECK, SHELL, ONBUILD).
    NeedsEngine {
        /// The keyword, upper case.
        keyword: String,
    },
}

/// The arguments of ADD or COPY.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopySpec {
    /// ADD (which extracts local archives) rather than COPY.
    pub add: bool,
    /// The sources, relative to the build context.
    pub sources: Vec<String>,
    /// The destination; relative ones are relative to WORKDIR.
    pub dest: String,
    /// `--chown=uid[:gid]`.
    pub chown: Option<String>,
    /// `--chmod=octal`.
    pub chmod: Option<String>,
    /// `--from=image-or-stage`.
    pub from: Option<String>,
}

/// Reads a Dockerfile into its instructions.
pub fn parse_dockerfile(text: &str) -> Result<Vec<Instruction>, DockerfileError> {
    let lines: Vec<&str> = text.lines().collect();
    let (escape, start) = library::parser_directives(&lines)?;
    let mut reader = Reader {
        escape,
        global_args: BTreeMap::new(),
        env: Env::new(),
        seen_from: false,
    };
    let mut instructions = Vec::new();
    for (line, body) in logical_lines(&lines[start..], start, escape) {
        instructions.push(reader.instruction(line, &body)?);
    }
    if !reader.seen_from {
        return Err(DockerfileError::NoFrom);
    }
    Ok(instructions)
}

/// The instructions' text with continuations joined and comments dropped, each with the line
/// it starts on (1-based).
fn logical_lines(lines: &[&str], offset: usize, escape: char) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, raw) in lines.iter().enumerate() {
        let trimmed = raw.trim_start();
        // Empty lines inside a continuation are skipped too, as Docker does (with a warning).
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let line = offset + index + 1;
        let body = raw.trim_end();
        let (text, continues) = match body.strip_suffix(escape) {
            Some(text) => (text, true),
            None => (body, false),
        };
        let (_, joined) = current.get_or_insert_with(|| (line, String::new()));
        joined.push_str(text);
        if !continues {
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

/// The state carried from one instruction to the next.
struct Reader {
    escape: char,
    /// ARGs declared before the first FROM: they reach FROM lines only.
    global_args: BTreeMap<String, String>,
    /// ARGs and ENVs of the current stage.
    env: Env,
    seen_from: bool,
}

impl Reader {
    fn instruction(&mut self, line: usize, body: &str) -> Result<Instruction, DockerfileError> {
        let body = body.trim();
        let (keyword, rest) = match body.find(char::is_whitespace) {
            Some(at) => (&body[..at], body[at..].trim_start()),
            None => (body, ""),
        };
        let keyword = keyword.to_ascii_uppercase();
        if !self.seen_from && keyword != "FROM" && keyword != "ARG" {
            return Err(DockerfileError::BeforeFrom { line, keyword });
        }
        let kind = self.kind(line, &keyword, rest)?;
        Ok(Instruction {
            line,
            text: body.to_owned(),
            kind,
        })
    }

    fn kind(
        &mut self,
        line: usize,
        keyword: &str,
        rest: &str,
    ) -> Result<InstructionKind, DockerfileError> {
        let missing = |what| DockerfileError::MissingArguments {
            line,
            keyword: keyword.to_owned(),
            what,
        };
        if rest.is_empty() && !matches!(keyword, "RUN" | "HEALTHCHECK" | "SHELL" | "ONBUILD") {
            return Err(missing("arguments"));
        }
        Ok(match keyword {
            "FROM" => self.from(line, rest)?,
            "ADD" | "COPY" => InstructionKind::Copy(self.copy(line, keyword, rest)?),
            "ENV" => {
                let pairs = self.name_values(line, keyword, rest)?;
                for (name, value) in &pairs {
                    self.env.set(name, value);
                }
                InstructionKind::Env(pairs)
            }
            "LABEL" => InstructionKind::Label(self.name_values(line, keyword, rest)?),
            "CMD" => InstructionKind::Cmd(self.command(rest)),
            "ENTRYPOINT" => InstructionKind::Entrypoint(self.command(rest)),
            "USER" => InstructionKind::User(self.single(line, rest)?),
            "WORKDIR" => InstructionKind::Workdir(self.single(line, rest)?),
            "STOPSIGNAL" => InstructionKind::StopSignal(self.single(line, rest)?),
            "MAINTAINER" => InstructionKind::Maintainer(rest.to_owned()),
            "EXPOSE" => InstructionKind::Expose(self.words(line, rest)?),
            "VOLUME" => InstructionKind::Volume(self.words_or_json(line, rest)?),
            "ARG" => self.arg(line, rest)?,
            "RUN" | "HEALTHCHECK" | "SHELL" | "ONBUILD" => InstructionKind::NeedsEngine {
                keyword: keyword.to_owned(),
            },
            _ => {
                return Err(DockerfileError::UnknownInstruction {
                    line,
                    keyword: keyword.to_owned(),
                })
            }
        })
    }

    fn from(&mut self, line: usize, rest: &str) -> Result<InstructionKind, DockerfileError> {
        let global = Env::from_map(&self.global_args);
        let raw = split_words(rest, self.escape, line)?;
        let mut words = Vec::with_capacity(raw.len());
        for word in &raw {
            words.push(expand(word, self.escape, &global, line)?);
        }
        let mut platform = None;
        while let Some(flag) = words.first().and_then(|w| w.strip_prefix("--platform=")) {
            platform = Some(flag.to_owned());
            words.remove(0);
        }
        let (image, stage) = match words.as_slice() {
            [image] => (image.clone(), None),
            [image, as_word, stage] if as_word.eq_ignore_ascii_case("as") => {
                (image.clone(), Some(stage.clone()))
            }
            _ => {
                return Err(DockerfileError::MissingArguments {
                    line,
                    keyword: "FROM".into(),
                    what: "one image, optionally followed by AS name",
                })
            }
        };
        // A new stage starts with only the global ARGs it redeclares.
        self.env = Env::new();
        self.seen_from = true;
        Ok(InstructionKind::From {
            image,
            stage,
            platform,
        })
    }

    fn copy(&self, line: usize, keyword: &str, rest: &str) -> Result<CopySpec, DockerfileError> {
        let (flags, rest) = leading_flags(rest);
        let mut words = self.words_or_json(line, rest)?;
        for flag in flags.iter().rev() {
            words.insert(0, expand(flag, self.escape, &self.env, line)?);
        }
        let mut spec = CopySpec {
            add: keyword == "ADD",
            sources: Vec::new(),
            dest: String::new(),
            chown: None,
            chmod: None,
            from: None,
        };
        while words.first().is_some_and(|w| w.starts_with("--")) {
            let flag = words.remove(0);
            let (name, value) = flag.split_once('=').unwrap_or((flag.as_str(), ""));
            match name {
                "--chown" => spec.chown = Some(value.to_owned()),
                "--chmod" => spec.chmod = Some(value.to_owned()),
                "--from" => spec.from = Some(value.to_owned()),
                // Independent layers change how an engine caches, not what the layer holds.
                "--link" => {}
                _ => {
                    return Err(DockerfileError::UnknownFlag {
                        line,
                        keyword: keyword.to_owned(),
                        flag,
                    })
                }
            }
        }
        let Some(dest) = words.pop().filter(|_| !words.is_empty()) else {
            return Err(DockerfileError::MissingArguments {
                line,
                keyword: keyword.to_owned(),
                what: "at least one source and a destination",
            });
        };
        spec.sources = words;
        spec.dest = dest;
        Ok(spec)
    }

    fn arg(&mut self, line: usize, rest: &str) -> Result<InstructionKind, DockerfileError> {
        let mut declared = Vec::new();
        for raw in split_words(rest, self.escape, line)? {
            let (name, default) = match raw.split_once('=') {
                Some((name, value)) => {
                    let env = match self.seen_from {
                        true => self.env.clone(),
                        false => Env::from_map(&self.global_args),
                    };
                    (
                        name.to_owned(),
                        Some(expand(value, self.escape, &env, line)?),
                    )
                }
                None => (raw.clone(), None),
            };
            if name.is_empty() {
                return Err(DockerfileError::BadNameValue {
                    line,
                    keyword: "ARG".into(),
                    item: raw,
                });
            }
            if self.seen_from {
                // A redeclared global ARG without a default takes the global's value.
                let value = default
                    .clone()
                    .or_else(|| self.global_args.get(&name).cloned());
                if let Some(value) = value {
                    self.env.set_arg(&name, &value);
                }
            } else if let Some(value) = &default {
                self.global_args.insert(name.clone(), value.clone());
            }
            declared.push((name, default));
        }
        Ok(InstructionKind::Arg(declared))
    }

    fn name_values(
        &self,
        line: usize,
        keyword: &str,
        rest: &str,
    ) -> Result<Vec<(String, String)>, DockerfileError> {
        let bad = |item: &str| DockerfileError::BadNameValue {
            line,
            keyword: keyword.to_owned(),
            item: item.to_owned(),
        };
        let pairs = split_name_values(rest, self.escape, line)?.ok_or_else(|| bad(rest))?;
        let mut out = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            let name = expand(&name, self.escape, &self.env, line)?;
            if name.is_empty() {
                return Err(bad(rest));
            }
            out.push((name, expand(&value, self.escape, &self.env, line)?));
        }
        Ok(out)
    }

    /// CMD and ENTRYPOINT: the exec form as written, or the shell form run by `/bin/sh -c`.
    fn command(&self, rest: &str) -> Vec<String> {
        json_array(rest).unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into(), rest.into()])
    }

    /// The words of `rest`, each unquoted and substituted.
    fn words(&self, line: usize, rest: &str) -> Result<Vec<String>, DockerfileError> {
        split_words(rest, self.escape, line)?
            .iter()
            .map(|word| expand(word, self.escape, &self.env, line))
            .collect()
    }

    /// The exec form's items with variables substituted, or the processed words.
    fn words_or_json(&self, line: usize, rest: &str) -> Result<Vec<String>, DockerfileError> {
        match json_array(rest) {
            Some(items) => items
                .iter()
                .map(|item| substitute(item, &self.env, line))
                .collect(),
            None => self.words(line, rest),
        }
    }

    /// The whole of `rest` as one processed word (USER, WORKDIR, STOPSIGNAL).
    fn single(&self, line: usize, rest: &str) -> Result<String, DockerfileError> {
        expand(rest, self.escape, &self.env, line)
    }
}

/// The `--flag` words at the start of `rest`, and what follows them (which may be an exec
/// form: `COPY --chown=1 ["a", "/b"]`).
fn leading_flags(mut rest: &str) -> (Vec<&str>, &str) {
    let mut flags = Vec::new();
    while rest.starts_with("--") {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        flags.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    (flags, rest)
}

/// The exec form `["a", "b"]`, when `rest` is a JSON array of strings.
fn json_array(rest: &str) -> Option<Vec<String>> {
    rest.starts_with('[')
        .then(|| serde_json::from_str(rest).ok())
        .flatten()
}

#[cfg(test)]
#[path = "dockerfile_tests.rs"]
mod tests;
