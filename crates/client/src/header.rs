//! Parsers for the registry headers whose values have structure: `WWW-Authenticate`
//! challenges (RFC 7235), `Link` (RFC 8288) for the next page of a listing, and `Retry-After`
//! (RFC 9110) for when to try again.
//!
//! They read untrusted text, so they never fail: what they cannot read they skip.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// One authentication challenge: a scheme (`bearer`, `basic`, lowercased) and its parameters
/// (names lowercased, values unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, lowercased.
    pub scheme: String,
    /// The parameters: `realm`, `service`, `scope`, `error`, …
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// Every challenge in a `WWW-Authenticate` value, such as
    /// `Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"`.
    pub fn parse_all(header: &str) -> Vec<Challenge> {
        let tokens = tokenise(header);
        let mut challenges: Vec<Challenge> = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            match (&tokens[i], tokens.get(i + 1), tokens.get(i + 2)) {
                (Token::Word(name), Some(Token::Equals), value) => {
                    let (value, used) = match value {
                        Some(Token::Word(v) | Token::Quoted(v)) => (v.clone(), 3),
                        _ => (String::new(), 2),
                    };
                    // A parameter before any scheme belongs to nothing and is dropped.
                    if let Some(current) = challenges.last_mut() {
                        current.params.insert(name.to_ascii_lowercase(), value);
                    }
                    i += used;
                }
                (Token::Word(scheme), _, _) => {
                    challenges.push(Challenge {
                        scheme: scheme.to_ascii_lowercase(),
                        params: BTreeMap::new(),
                    });
                    i += 1;
                }
                _ => i += 1,
            }
        }
        challenges
    }

    /// A parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Comma,
}

fn tokenise(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ',' => {
                chars.next();
                tokens.push(Token::Comma);
            }
            '=' => {
                chars.next();
                tokens.push(Token::Equals);
            }
            '"' => {
                chars.next();
                let mut value = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => value.extend(chars.next()),
                        c => value.push(c),
                    }
                }
                tokens.push(Token::Quoted(value));
            }
            c if c.is_whitespace() => {
                chars.next();
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, ',' | '=' | '"') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    tokens
}

/// The target of the `rel="next"` link in a `Link` value such as
/// `</v2/a/tags/list?n=2&last=b>; rel="next"`, as written (often relative).
pub fn next_link(header: &str) -> Option<&str> {
    header.split(',').find_map(|link| {
        let (target, params) = link.trim().strip_prefix('<')?.split_once('>')?;
        let is_next = params.split(';').any(|param| {
            param.split_once('=').is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            })
        });
        is_next.then_some(target.trim())
    })
}

/// The wait a `Retry-After` value asks for, counted from `now`: delay seconds, or an HTTP
/// date (any of the three forms RFC 9110 has recipients accept; a date already past asks for
/// none). `None` for a value that is neither, which is as if there were none.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(challenges: &[Challenge]) -> Vec<String> {
        challenges
            .iter()
            .map(|c| {
                let params: Vec<_> = c.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{} {}", c.scheme, params.join(" "))
            })
            .collect()
    }

    #[test]
    fn challenges_parse_as_registries_send_them() {
        let cases: [(&str, &[&str]); 7] = [
            (
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull""#,
                &["bearer realm=https://auth.docker.io/token scope=repository:library/debian:pull service=registry.docker.io"],
            ),
            (
                r#"Bearer realm="http://127.0.0.1:5000/token", service="hallmark", scope="repository:a:pull,push repository:b:pull", error="insufficient_scope""#,
                &["bearer error=insufficient_scope realm=http://127.0.0.1:5000/token scope=repository:a:pull,push repository:b:pull service=hallmark"],
            ),
            (r#"Basic realm="Registry Realm""#, &["basic realm=Registry Realm"]),
            (
                r#"Basic realm="a", Bearer realm="b",service=s"#,
                &["basic realm=a", "bearer realm=b service=s"],
            ),
            (r#"Bearer realm="quo\"ted""#, &["bearer realm=quo\"ted"]),
            ("Negotiate", &["negotiate "]),
            ("", &[]),
        ];
        for (header, expected) in cases {
            assert_eq!(show(&Challenge::parse_all(header)), expected, "{header}");
        }
    }

    #[test]
    fn malformed_challenges_are_skipped_not_fatal() {
        for header in [
            "=",
            "realm=x",
            r#"Bearer realm="unterminated"#,
            "Bearer ,,, realm=",
            "\"x\"=y",
        ] {
            let _ = Challenge::parse_all(header);
        }
        let lone = Challenge::parse_all("realm=x, Bearer realm=");
        assert_eq!(show(&lone), ["bearer realm="]);
    }

    #[test]
    fn the_next_link_is_found_among_others() {
        let cases = [
            (
                r#"</v2/a/tags/list?n=2&last=b>; rel="next""#,
                Some("/v2/a/tags/list?n=2&last=b"),
            ),
            (
                r#"<https://r.example/v2/_catalog?last=x>;rel=next"#,
                Some("https://r.example/v2/_catalog?last=x"),
            ),
            (
                r#"<https://a/prev>; rel="prev", <https://a/next>; rel="next""#,
                Some("https://a/next"),
            ),
            (r#"<https://a/x>; rel="prev""#, None),
            ("garbage", None),
            ("", None),
        ];
        for (header, expected) in cases {
            assert_eq!(next_link(header), expected, "{header}");
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let cases = [
            ("120", Some(120)),
            (" 0 ", Some(0)),
            ("Sun, 06 Nov 1994 08:49:47 GMT", Some(10)),
            ("Sunday, 06-Nov-94 08:50:37 GMT", Some(60)),
            ("Sun Nov  6 08:49:37 1994", Some(0)),
            ("Sat, 05 Nov 1994 08:49:37 GMT", Some(0)),
            ("-5", None),
            ("soon", None),
        ];
        for (value, expected) in cases {
            let found = retry_after(value, now).map(|d| d.as_secs());
            assert_eq!(found, expected, "{value:?}");
        }
    }
}
