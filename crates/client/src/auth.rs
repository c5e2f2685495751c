//! Who the client is to a registry: credentials given on the command line or found through
//! the docker config file (its `auths`, or the credential helper its `credHelpers` or
//! `credsStore` names), and the tokens and Basic headers it has earned, cached per scope.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64ct::{Base64, Encoding as _};
use serde::Deserialize;

use crate::cred_helper::HelperAnswers;
use crate::ClientError;

/// A user name and password (or access token used as one).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    password: String,
}

impl Credentials {
    /// Credentials from their two parts.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    /// Parses `USER:PASSWORD` as `--creds` takes it; the password may contain colons.
    pub fn parse(text: &str) -> Result<Self, ClientError> {
        match text.split_once(':') {
            Some((user, password)) if !user.is_empty() => Ok(Self::new(user, password)),
            _ => Err(ClientError::InvalidCredentials),
        }
    }

    /// The password (or access token used as one), for a caller that passes credentials on
    /// (the Docker Engine's `X-Registry-Auth`).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The `Authorization: Basic …` value.
    pub(crate) fn basic_header(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!("Basic {}", Base64::encode_string(pair.as_bytes()))
    }
}

/// Never prints the password.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What proves who the client is to one registry.
#[derive(Clone)]
pub enum Secret {
    /// A user name and password.
    Password(Credentials),
    /// A refresh token `docker login` stored (`identitytoken`), traded at the realm with an
    /// OAuth2 `refresh_token` grant.
    IdentityToken {
        /// The account the token belongs to, for messages.
        username: String,
        /// The refresh token.
        token: String,
    },
}

/// Never prints the password or token.
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password(credentials) => credentials.fmt(f),
            Self::IdentityToken { username, .. } => f
                .debug_struct("IdentityToken")
                .field("username", username)
                .field("token", &"<redacted>")
                .finish(),
        }
    }
}

impl Secret {
    /// The account, for messages (`<token>` for a helper's identity token).
    pub fn username(&self) -> &str {
        match self {
            Self::Password(credentials) => &credentials.username,
            Self::IdentityToken { username, .. } => username,
        }
    }
}

/// The parts of `~/.docker/config.json` that say how to log in to a registry, and what its
/// credential helpers answered.
#[derive(Debug, Default)]
pub(crate) struct DockerConfig {
    path: PathBuf,
    file: ConfigFile,
    helpers: HelperAnswers,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

impl DockerConfig {
    /// Reads the file at `path`, or where docker looks (`$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`). A missing file is an empty config, as for docker.
    pub fn load(path: Option<&Path>) -> Result<Self, ClientError> {
        let Some(path) = path.map(Path::to_path_buf).or_else(default_path) else {
            return Ok(Self::default());
        };
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(ClientError::Io { path, source }),
        };
        let file = serde_json::from_slice(&text).map_err(|e| ClientError::DockerConfig {
            path: path.clone(),
            detail: format!("not a docker config: {e}"),
        })?;
        Ok(Self {
            path,
            file,
            helpers: HelperAnswers::default(),
        })
    }

    /// The secret stored for `registry` (as written in references: `docker.io`, `host:5000`).
    ///
    /// As for the docker CLI, a registry's `credHelpers` entry, or else `credsStore`, names
    /// the helper program that alone holds its credentials (an `auths` entry beside it keeps
    /// only an e-mail address); without either, the `auths` entry holds them. Helpers run only
    /// here, when a registry asked for credentials, so that anonymous pulls never need them.
    pub fn secret_for(&self, registry: &str) -> Result<Option<Secret>, ClientError> {
        let wanted = canonical_host(registry);
        let helper = self
            .file
            .cred_helpers
            .iter()
            .find(|(key, _)| canonical_host(key) == wanted)
            .map(|(_, helper)| helper)
            .or(self.file.creds_store.as_ref())
            .filter(|helper| !helper.is_empty());
        if let Some(helper) = helper {
            return self.helpers.get(helper, registry);
        }
        let entry = self
            .file
            .auths
            .iter()
            .find(|(key, _)| canonical_host(key) == wanted)
            .map(|(_, entry)| entry);
        Ok(entry.map(|e| self.entry_secret(e)).transpose()?.flatten())
    }

    fn entry_secret(&self, entry: &AuthEntry) -> Result<Option<Secret>, ClientError> {
        let decoded = match entry.auth.as_deref().filter(|a| !a.is_empty()) {
            Some(auth) => Some(self.decode_auth(auth)?),
            None => None,
        };
        let username = decoded
            .as_ref()
            .map(|c| c.username.clone())
            .or_else(|| entry.username.clone())
            .unwrap_or_default();
        if let Some(token) = entry.identitytoken.clone().filter(|t| !t.is_empty()) {
            return Ok(Some(Secret::IdentityToken { username, token }));
        }
        let credentials = decoded.or_else(|| match (&entry.username, &entry.password) {
            (Some(user), Some(password)) if !user.is_empty() => {
                Some(Credentials::new(user, password))
            }
            _ => None,
        });
        Ok(credentials.map(Secret::Password))
    }

    fn decode_auth(&self, auth: &str) -> Result<Credentials, ClientError> {
        let invalid = || ClientError::DockerConfig {
            path: self.path.clone(),
            detail: "an \"auth\" value is not base64 of USER:PASSWORD".to_owned(),
        };
        let bytes = Base64::decode_vec(auth.trim()).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        Credentials::parse(&text).map_err(|_| invalid())
    }
}

fn default_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        Some(folder) => Some(PathBuf::from(folder).join("config.json")),
        None => std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .map(|home| PathBuf::from(home).join(".docker").join("config.json")),
    }
}

/// A registry key as docker writes it (`https://index.docker.io/v1/`, `host:5000`,
/// `http://host/v2/`) reduced to the host, with Docker Hub's several names made one.
fn canonical_host(key: &str) -> &str {
    let host = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = host.split('/').next().unwrap_or_default();
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => "docker.io",
        other => other,
    }
}

/// The answer of a token endpoint: `token` (distribution) or `access_token` (OAuth2).
#[derive(Debug, Deserialize)]
pub(crate) struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// Tokens live at least this long when the endpoint does not say (the distribution spec's
/// default), and are dropped this long before they expire so none is sent stale.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

impl TokenAnswer {
    /// The token and how long it may be used, or `None` when the answer holds no token.
    pub fn into_bearer(self) -> Option<(String, Duration)> {
        let token = self.token.or(self.access_token).filter(|t| !t.is_empty())?;
        let lifetime = self
            .expires_in
            .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs)
            .saturating_sub(EXPIRY_MARGIN);
        Some((token, lifetime))
    }
}

/// `Authorization` values earned so far: bearer tokens per registry and scope set, Basic
/// credentials per registry.
#[derive(Debug, Default)]
pub(crate) struct AuthCache {
    entries: Mutex<HashMap<(String, String), Earned>>,
}

/// An `Authorization` value and when it stops being good (never, for Basic credentials).
type Earned = (String, Option<Instant>);

/// The key under which a registry's Basic credentials are kept, for every scope.
const BASIC: &str = "";

impl AuthCache {
    /// The header to send to `host` for `scope`, if one is known and fresh.
    pub fn get(&self, host: &str, scope: &str) -> Option<String> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        [scope, BASIC].into_iter().find_map(|key| {
            entries
                .get(&(host.to_owned(), key.to_owned()))
                .filter(|(_, expires)| expires.is_none_or(|at| Instant::now() < at))
                .map(|(header, _)| header.clone())
        })
    }

    /// Keeps a bearer token for `host` and `scope`.
    pub fn put_bearer(&self, host: &str, scope: &str, token: &str, lifetime: Duration) {
        self.insert(
            host,
            scope,
            format!("Bearer {token}"),
            Some(Instant::now() + lifetime),
        );
    }

    /// Keeps Basic credentials for every request to `host`.
    pub fn put_basic(&self, host: &str, header: String) {
        self.insert(host, BASIC, header, None);
    }

    fn insert(&self, host: &str, scope: &str, header: String, expires: Option<Instant>) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((host.to_owned(), scope.to_owned()), (header, expires));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> DockerConfig {
        DockerConfig {
            path: PathBuf::from("config.json"),
            file: serde_json::from_str(json).unwrap(),
            helpers: HelperAnswers::default(),
        }
    }

    fn describe(secret: Result<Option<Secret>, ClientError>) -> String {
        match secret {
            Ok(None) => "none".into(),
            Ok(Some(Secret::Password(c))) => format!("{}:{}", c.username, c.password()),
            Ok(Some(Secret::IdentityToken { username, token })) => {
                format!("{username} token {token}")
            }
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn docker_config_entries_give_secrets_per_registry() {
        let config = config(
            r#"{
              "auths": {
                "https://index.docker.io/v1/": {"auth": "aHViOnMzY3I6ZXQ="},
                "reg.example:5000": {"username": "ann", "password": "pw"},
                "http://login.example/v2/": {"auth": "Ym9iOg==", "identitytoken": "rt-1"},
                "helper.example": {}
              },
              "credHelpers": {"ecr.example": "hallmark-test-ecr", "login.example": ""}
            }"#,
        );
        let cases = [
            ("docker.io", "hub:s3cr:et"),
            ("reg.example:5000", "ann:pw"),
            ("login.example", "bob token rt-1"),
            (
                "ecr.example",
                "docker-credential-hallmark-test-ecr could not give the credentials for \
                 ecr.example: docker-credential-hallmark-test-ecr is not installed",
            ),
            ("helper.example", "none"),
        ];
        for (registry, expected) in cases {
            let found = describe(config.secret_for(registry));
            assert!(found.contains(expected), "{registry}: {found}");
        }
        let plain = super::tests::config(r#"{"auths": {"a.example": {"auth": "YTpi"}}}"#);
        assert_eq!(describe(plain.secret_for("b.example")), "none");
        // A store for every registry outranks the file's entries, as for the docker CLI.
        let stored = super::tests::config(
            r#"{"auths": {"a.example": {"auth": "YTpi"}}, "credsStore": "hallmark-test-none"}"#,
        );
        assert!(describe(stored.secret_for("a.example")).contains("hallmark-test-none"));
        let broken = super::tests::config(r#"{"auths": {"a.example": {"auth": "!!"}}}"#);
        assert!(describe(broken.secret_for("a.example")).contains("not base64"));
    }

    #[test]
    fn docker_config_files_load_from_a_path_or_not_at_all() {
        let folder = tempfile::tempdir().unwrap();
        let missing = DockerConfig::load(Some(&folder.path().join("none.json"))).unwrap();
        assert_eq!(describe(missing.secret_for("docker.io")), "none");
        let bad = folder.path().join("bad.json");
        std::fs::write(&bad, "{").unwrap();
        let err = DockerConfig::load(Some(&bad)).unwrap_err().to_string();
        assert!(err.contains("not a docker config"), "{err}");
    }

    #[test]
    fn credentials_parse_and_hide_their_password() {
        let creds = Credentials::parse("ann:pa:ss").unwrap();
        assert_eq!(creds.username, "ann");
        assert_eq!(creds.basic_header(), "Basic YW5uOnBhOnNz");
        assert!(!format!("{creds:?}").contains("pa:ss"));
        for bad in ["", "ann", ":pw"] {
            assert!(Credentials::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_answers_take_either_field() {
        let answer = |json: &str| {
            serde_json::from_str::<TokenAnswer>(json)
                .unwrap()
                .into_bearer()
        };
        assert_eq!(
            answer(r#"{"token":"t","expires_in":300}"#),
            Some(("t".into(), Duration::from_secs(290)))
        );
        assert_eq!(
            answer(r#"{"access_token":"a"}"#),
            Some(("a".into(), Duration::from_secs(50)))
        );
        assert_eq!(answer(r#"{"token":""}"#), None);
    }

    #[test]
    fn the_cache_keeps_tokens_per_scope_until_they_expire() {
        let cache = AuthCache::default();
        cache.put_bearer("h", "repository:a:pull", "t1", Duration::from_secs(60));
        cache.put_bearer("h", "repository:b:pull", "t2", Duration::ZERO);
        assert_eq!(
            cache.get("h", "repository:a:pull").as_deref(),
            Some("Bearer t1")
        );
        assert_eq!(cache.get("h", "repository:b:pull"), None);
        assert_eq!(cache.get("other", "repository:a:pull"), None);
        cache.put_basic("other", "Basic x".into());
        assert_eq!(
            cache.get("other", "repository:z:push").as_deref(),
            Some("Basic x")
        );
    }
}
