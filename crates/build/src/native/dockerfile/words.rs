//! Dockerfile words: splitting on unquoted whitespace, removing quotes and escapes, and
//! substituting ARG and ENV values, as Docker's shell lexer does for the instructions that
//! process words.

use std::collections::BTreeMap;

use super::DockerfileError;

/// The ARG and ENV values visible to an instruction. ENV wins over ARG whatever the order,
/// as in Docker.
#[derive(Debug, Clone, Default)]
pub(super) struct Env {
    args: BTreeMap<String, String>,
    envs: BTreeMap<String, String>,
}

impl Env {
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// Global ARGs seen as arguments.
    pub(super) fn from_map(args: &BTreeMap<String, String>) -> Self {
        Env {
            args: args.clone(),
            envs: BTreeMap::new(),
        }
    }

    pub(super) fn set(&mut self, name: &str, value: &str) {
        self.envs.insert(name.to_owned(), value.to_owned());
    }

    pub(super) fn set_arg(&mut self, name: &str, value: &str) {
        self.args.insert(name.to_owned(), value.to_owned());
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.envs
            .get(name)
            .or_else(|| self.args.get(name))
            .map(String::as_str)
    }
}

/// Splits `text` on whitespace outside quotes, keeping quotes and escapes in the words.
pub(super) fn split_words(
    text: &str,
    escape: char,
    line: usize,
) -> Result<Vec<String>, DockerfileError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                continue;
            }
            (Some('\''), '\'') | (Some('"'), '"') => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (q, c) if c == escape && q != Some('\'') => {
                word.push(c);
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                in_word = true;
                continue;
            }
            _ => {}
        }
        word.push(c);
        in_word = true;
    }
    if let Some(quote) = quote {
        return Err(DockerfileError::UnterminatedQuote { line, quote });
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// `NAME=value` items (still raw), or for the legacy one-pair form `NAME value…` the name and
/// the rest of the line; `None` when an item has no `=`.
pub(super) fn split_name_values(
    text: &str,
    escape: char,
    line: usize,
) -> Result<Option<Vec<(String, String)>>, DockerfileError> {
    let words = split_words(text, escape, line)?;
    let Some(first) = words.first() else {
        return Ok(None);
    };
    if unquoted_equals(first, escape).is_none() {
        let rest = text.trim_start()[first.len()..].trim();
        return Ok((!rest.is_empty()).then(|| vec![(first.clone(), rest.to_owned())]));
    }
    let mut pairs = Vec::with_capacity(words.len());
    for word in words {
        let Some(at) = unquoted_equals(&word, escape) else {
            return Ok(None);
        };
        pairs.push((word[..at].to_owned(), word[at + 1..].to_owned()));
    }
    Ok(Some(pairs))
}

/// The byte offset of the first `=` outside quotes and escapes.
fn unquoted_equals(word: &str, escape: char) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (at, c) in word.char_indices() {
        match (quote, c) {
            _ if escaped => escaped = false,
            (q, c) if c == escape && q != Some('\'') => escaped = true,
            (None, '=') => return Some(at),
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if q == c => quote = None,
            _ => {}
        }
    }
    None
}

/// One raw word with quotes and escapes removed and variables substituted (not inside single
/// quotes).
pub(super) fn expand(
    word: &str,
    escape: char,
    env: &Env,
    line: usize,
) -> Result<String, DockerfileError> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut in_double = false;
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        at += 1;
        match c {
            '\'' if !in_double => {
                let end = chars[at..]
                    .iter()
                    .position(|&q| q == '\'')
                    .ok_or(DockerfileError::UnterminatedQuote { line, quote: '\'' })?;
                out.extend(&chars[at..at + end]);
                at += end + 1;
            }
            '"' => in_double = !in_double,
            c if c == escape => match chars.get(at) {
                Some(&next) if !in_double || matches!(next, '"' | '$') || next == escape => {
                    out.push(next);
                    at += 1;
                }
                _ => out.push(c),
            },
            '$' => at = substitute_at(&chars, at, env, line, &mut out)?,
            c => out.push(c),
        }
    }
    if in_double {
        return Err(DockerfileError::UnterminatedQuote { line, quote: '"' });
    }
    Ok(out)
}

/// `text` with variables substituted and nothing else changed (exec-form items).
pub(super) fn substitute(text: &str, env: &Env, line: usize) -> Result<String, DockerfileError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        at += 1;
        match c {
            '$' => at = substitute_at(&chars, at, env, line, &mut out)?,
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Substitutes the variable whose text starts at `chars[at]` (just after `$`) into `out` and
/// returns where the text continues. A `$` followed by no name stays a `$`.
fn substitute_at(
    chars: &[char],
    at: usize,
    env: &Env,
    line: usize,
    out: &mut String,
) -> Result<usize, DockerfileError> {
    let is_name = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    if chars.get(at) != Some(&'{') {
        let len = chars[at..].iter().take_while(|c| is_name(c)).count();
        if len == 0 {
            out.push('$');
            return Ok(at);
        }
        let name: String = chars[at..at + len].iter().collect();
        out.push_str(env.get(&name).unwrap_or_default());
        return Ok(at + len);
    }
    let bad = |end: usize| DockerfileError::BadSubstitution {
        line,
        text: chars[at - 1..end.min(chars.len())].iter().collect(),
    };
    let close = matching_brace(chars, at).ok_or_else(|| bad(chars.len()))?;
    let inner = &chars[at + 1..close];
    let name_len = inner.iter().take_while(|c| is_name(c)).count();
    if name_len == 0 {
        return Err(bad(close + 1));
    }
    let name: String = inner[..name_len].iter().collect();
    let value = env.get(&name);
    let operator: String = inner[name_len..].iter().take(2).collect();
    let (set_only, rest) = match operator.as_str() {
        "" => {
            out.push_str(value.unwrap_or_default());
            return Ok(close + 1);
        }
        op if op.starts_with(':') => (true, &inner[name_len + 1..]),
        _ => (false, &inner[name_len..]),
    };
    // `:-`/`:+` treat an empty value as unset; `-`/`+` only an absent one.
    let present = value.is_some_and(|v| !set_only || !v.is_empty());
    let word: String = rest.iter().skip(1).collect();
    let word = substitute(&word, env, line)?;
    match rest.first() {
        Some('-') if present => out.push_str(value.unwrap_or_default()),
        Some('-') => out.push_str(&word),
        Some('+') if present => out.push_str(&word),
        Some('+') => {}
        _ => return Err(bad(close + 1)),
    }
    Ok(close + 1)
}

/// The index of the `}` closing the `{` at `open`, counting nested braces.
fn matching_brace(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (index, &c) in chars.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(index);
                }
            }
            _ => {}
        }
    }
    None
}
