//! Docker credential helpers: the programs (`docker-credential-pass`, `-desktop`,
//! `-ecr-login`, …) that a docker config's `credsStore` and `credHelpers` name, asked as the
//! docker CLI asks them: `docker-credential-<name> get` with the server address on standard
//! input, answering `{"ServerURL", "Username", "Secret"}` on standard output.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use serde::Deserialize;

use crate::auth::{Credentials, Secret};
use crate::ClientError;

/// What a helper prints, exiting non-zero, when it holds nothing for the server (the
/// docker-credential-helpers protocol's one error that means "anonymous").
const NOT_FOUND: &str = "credentials not found in native keychain";

/// The user name a helper stores with an identity token (a refresh token) as its secret.
const TOKEN_USERNAME: &str = "<token>";

/// The answer of `get`.
#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// What a helper answered: a secret, none, or why it could not say (one line).
type HelperAnswer = Result<Option<Secret>, String>;

/// The answers helpers gave, per helper and registry: one client run asks each helper once
/// per registry, as one docker command does, however many requests need the credentials.
#[derive(Debug, Default)]
pub(crate) struct HelperAnswers {
    answers: Mutex<HashMap<(String, String), HelperAnswer>>,
}

impl HelperAnswers {
    /// The secret `docker-credential-<helper>` keeps for `registry` (as references name it),
    /// or `None` when it keeps none.
    pub fn get(&self, helper: &str, registry: &str) -> Result<Option<Secret>, ClientError> {
        let key = (helper.to_owned(), registry.to_owned());
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        let answer = answers
            .entry(key)
            .or_insert_with(|| ask(helper, &server_address(registry)))
            .clone();
        answer.map_err(|detail| ClientError::CredentialHelper {
            host: registry.to_owned(),
            helper: helper.to_owned(),
            detail,
        })
    }
}

/// The key docker stores a registry's credentials under: Docker Hub's v1 index URL for
/// Docker Hub, the host (and port) for any other registry.
pub(crate) fn server_address(registry: &str) -> String {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => {
            "https://index.docker.io/v1/".to_owned()
        }
        other => other.to_owned(),
    }
}

/// Runs `docker-credential-<helper> get` for `server`; the error is one line.
fn ask(helper: &str, server: &str) -> HelperAnswer {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{program} is not installed (not on PATH)"),
            _ => format!("{program} cannot be started: {e}"),
        })?;
    // The helper reads its standard input to the end; closing it is the end of the request.
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|e| format!("{program} did not take the server address: {e}"))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("waiting for {program}: {e}"))?;
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() {
        if printed == NOT_FOUND {
            return Ok(None);
        }
        let said = [
            printed.as_str(),
            String::from_utf8_lossy(&output.stderr).trim(),
        ]
        .into_iter()
        .find(|text| !text.is_empty())
        .map(one_line)
        .unwrap_or_else(|| "it printed nothing".to_owned());
        return Err(format!("{}: {said}", output.status));
    }
    let answer: Answer = serde_json::from_str(&printed)
        .map_err(|e| format!("its answer is not the helper protocol's JSON: {e}"))?;
    Ok(secret_of(answer))
}

/// The secret an answer holds: an identity token under the user name `<token>`, else a user
/// name and password; an empty answer (some helpers' "not found") holds none.
fn secret_of(answer: Answer) -> Option<Secret> {
    if answer.username.is_empty() && answer.secret.is_empty() {
        return None;
    }
    if answer.username == TOKEN_USERNAME {
        return Some(Secret::IdentityToken {
            username: TOKEN_USERNAME.to_owned(),
            token: answer.secret,
        });
    }
    Some(Secret::Password(Credentials::new(
        answer.username,
        answer.secret,
    )))
}

/// Text on one line, so an error message stays one line; long text is cut.
fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_give_passwords_tokens_or_nothing() {
        let cases = [
            (
                r#"{"ServerURL":"h","Username":"ann","Secret":"pw"}"#,
                "ann:pw",
            ),
            (
                r#"{"ServerURL":"h","Username":"<token>","Secret":"rt"}"#,
                "token rt",
            ),
            (r#"{"ServerURL":"h","Username":"","Secret":""}"#, "none"),
        ];
        for (json, expected) in cases {
            let found = match secret_of(serde_json::from_str(json).unwrap()) {
                None => "none".to_owned(),
                Some(Secret::Password(c)) => format!("{}:{}", c.username, c.password()),
                Some(Secret::IdentityToken { token, .. }) => format!("token {token}"),
            };
            assert_eq!(found, expected, "{json}");
        }
    }

    #[test]
    fn docker_hub_is_asked_for_by_its_index_url() {
        assert_eq!(server_address("docker.io"), "https://index.docker.io/v1/");
        assert_eq!(server_address("127.0.0.1:5000"), "127.0.0.1:5000");
    }

    #[test]
    fn a_missing_helper_is_named() {
        let answers = HelperAnswers::default();
        let err = answers
            .get("hallmark-test-none", "r.example")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "docker-credential-hallmark-test-none could not give the credentials for \
                 r.example: docker-credential-hallmark-test-none is not installed"
            ),
            "{err}"
        );
        assert!(one_line("a\n  b\tc").eq("a b c"));
    }
}
