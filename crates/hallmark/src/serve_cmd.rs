//! `hallmark serve`: the registry on the embedded store (SQLite plus blob files under one data
//! folder).
//!
//! Token authentication is on unless `--auth none`: the signing key and an initial admin are
//! created in the data folder on first start.
//!
//! With `--tls-cert` and `--tls-key` it serves HTTPS (see `registry::serve_tls`); a token
//! realm left to default then names `https://` too.
//!
//! Settings come from, strongest first: flags, environment variables (`HALLMARK_LISTEN`,
//! `HALLMARK_DATA`, …, which clap reads as flag defaults), a TOML file (`--config`), and
//! built-in defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use access::clock::SystemClock;
use access::token::TokenKey;
use anyhow::Context as _;
use clap::Args;
use registry::{Auth, AuthConfig, Registry, RegistryConfig};
use serde::Deserialize;
use store::{AccountKind, MetaStore, SqliteMetaStore};
use tracing_subscriber::filter::LevelFilter;

const DEFAULT_LISTEN: &str = "127.0.0.1:5000";
const DEFAULT_DATA: &str = "hallmark-data";
const INITIAL_ADMIN: &str = "admin";

/// Serve the OCI distribution API from a data folder.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:5000].
    #[arg(long, env = "HALLMARK_LISTEN")]
    listen: Option<SocketAddr>,
    /// Data folder holding the metadata database and the blobs [default: ./hallmark-data].
    #[arg(long, env = "HALLMARK_DATA")]
    data: Option<PathBuf>,
    /// TOML file with any of: listen, data, max-manifest-bytes, upload-ttl-secs,
    /// automatic-mount, log, auth, service, realm, tls-cert, tls-key, tls-client-ca.
    #[arg(long, env = "HALLMARK_CONFIG")]
    config: Option<PathBuf>,
    /// Largest manifest accepted, in bytes [default: 4194304].
    #[arg(long, env = "HALLMARK_MAX_MANIFEST_BYTES")]
    max_manifest_bytes: Option<usize>,
    /// Log level: error, warn, info, debug or trace [default: info].
    #[arg(long, env = "HALLMARK_LOG")]
    log: Option<String>,
    /// Authentication: `token` (Docker registry token auth, the default) or `none` (an open
    /// registry where anyone may push and delete, for local experiments only).
    #[arg(long, env = "HALLMARK_AUTH")]
    auth: Option<AuthMode>,
    /// PEM certificate chain (the server's certificate first) to serve HTTPS with; needs
    /// --tls-key.
    #[arg(long, env = "HALLMARK_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert (PKCS#8, RSA PKCS#1 or SEC1 EC).
    #[arg(long, env = "HALLMARK_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// PEM CA certificates: with it, every client must present a certificate one of them
    /// signed (mutual TLS, as docker and skopeo send from `client.cert`/`client.key`).
    #[arg(long, env = "HALLMARK_TLS_CLIENT_CA")]
    tls_client_ca: Option<PathBuf>,
}

/// Whether `serve` checks tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
enum AuthMode {
    /// Token authentication on every route; an initial admin on first start.
    Token,
    /// No authentication at all.
    None,
}

/// The TOML config file; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    listen: Option<SocketAddr>,
    data: Option<PathBuf>,
    max_manifest_bytes: Option<usize>,
    upload_ttl_secs: Option<u64>,
    automatic_mount: Option<bool>,
    log: Option<String>,
    auth: Option<AuthMode>,
    /// The token service name (the audience of tokens) [default: hallmark].
    service: Option<String>,
    /// The token endpoint's absolute URL in challenges [default: /token on the host asked].
    realm: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_client_ca: Option<PathBuf>,
}

/// Everything `serve` runs with, once flags, environment, file and defaults are merged.
#[derive(Debug)]
struct Settings {
    listen: SocketAddr,
    data: PathBuf,
    log: LevelFilter,
    registry: RegistryConfig,
    /// `None` for `--auth none`.
    auth: Option<AuthConfig>,
    /// The certificate and key files, for HTTPS.
    tls: Option<TlsFiles>,
}

/// `--tls-cert` and `--tls-key`, which come together or not at all.
#[derive(Debug, PartialEq, Eq)]
struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
    /// The CA that signs client certificates, for mutual TLS.
    client_ca: Option<PathBuf>,
}

impl TlsFiles {
    fn pair(
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
        client_ca: Option<PathBuf>,
    ) -> anyhow::Result<Option<Self>> {
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some(Self {
                cert,
                key,
                client_ca,
            })),
            (None, None) => match client_ca {
                None => Ok(None),
                Some(ca) => anyhow::bail!(
                    "--tls-client-ca {} needs --tls-cert and --tls-key: client certificates \
                     are checked only over HTTPS",
                    ca.display()
                ),
            },
            (Some(cert), None) => anyhow::bail!(
                "--tls-cert {} needs --tls-key with its private key (or give neither to serve \
                 plain HTTP)",
                cert.display()
            ),
            (None, Some(key)) => anyhow::bail!(
                "--tls-key {} needs --tls-cert with its certificate (or give neither to serve \
                 plain HTTP)",
                key.display()
            ),
        }
    }
}

impl Settings {
    fn resolve(args: ServeArgs, file: FileConfig) -> anyhow::Result<Self> {
        let defaults = RegistryConfig::default();
        let log = args.log.or(file.log).unwrap_or_else(|| "info".to_owned());
        let tls = TlsFiles::pair(
            args.tls_cert.or(file.tls_cert),
            args.tls_key.or(file.tls_key),
            args.tls_client_ca.or(file.tls_client_ca),
        )?;
        Ok(Self {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("the default address parses")),
            data: args
                .data
                .or(file.data)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA)),
            log: LevelFilter::from_str(&log).map_err(|_| {
                anyhow::anyhow!(
                    "log level {log:?} is unknown: use error, warn, info, debug or trace"
                )
            })?,
            registry: RegistryConfig {
                max_manifest_bytes: args
                    .max_manifest_bytes
                    .or(file.max_manifest_bytes)
                    .unwrap_or(defaults.max_manifest_bytes),
                upload_ttl: file
                    .upload_ttl_secs
                    .map_or(defaults.upload_ttl, Duration::from_secs),
                automatic_mount: file.automatic_mount.unwrap_or(defaults.automatic_mount),
                pull_count_interval: defaults.pull_count_interval,
                build_logs: None,
            },
            auth: match args.auth.or(file.auth).unwrap_or(AuthMode::Token) {
                AuthMode::None => None,
                AuthMode::Token => {
                    let defaults = AuthConfig::default();
                    Some(AuthConfig {
                        service: file.service.unwrap_or(defaults.service.clone()),
                        realm: file.realm,
                        ..defaults
                    })
                }
            },
            tls,
        })
    }
}

fn read_config(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let Some(path) = path else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing the config file {}", path.display()))
}

/// Runs the registry until SIGTERM or Ctrl-C, then lets in-flight requests finish.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let file = read_config(args.config.as_deref())?;
    let settings = Settings::resolve(args, file)?;
    tracing_subscriber::fmt()
        .with_max_level(settings.log)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(settings))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    // A certificate that cannot serve is reported before anything else is opened.
    let tls = settings
        .tls
        .as_ref()
        .map(|files| {
            let client_ca = files.client_ca.as_deref();
            registry::ServerTls::from_pem_files(&files.cert, &files.key, client_ca)
        })
        .transpose()?;
    let (blobs, meta) = store::open_embedded(&settings.data)
        .await
        .with_context(|| format!("opening the data folder {}", settings.data.display()))?;
    // Build logs live in the data folder, where `hallmark build --data` writes them.
    let config = RegistryConfig {
        build_logs: Some(settings.data.join(build::logs::BUILD_LOGS_DIR)),
        ..settings.registry
    };
    let mut registry = Registry::new(blobs, meta.clone(), config);
    match settings.auth {
        Some(config) => {
            let key = signing_key(&meta).await?;
            ensure_initial_admin(&meta).await?;
            registry = registry.with_auth(Auth::new(key, config, Arc::new(SystemClock)));
        }
        None => tracing::warn!("authentication is off (--auth none): anyone may push and delete"),
    }
    let registry = Arc::new(registry);
    let app = registry::shared_router(registry.clone());
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    tracing::info!(
        listen = %listener.local_addr()?,
        data = %settings.data.display(),
        https = tls.is_some(),
        "hallmark registry serving"
    );
    match tls {
        Some(tls) => registry::serve_tls(listener, app, tls, shutdown_signal()).await,
        // The registry's own server: blob GETs go out with sendfile(2), the rest through hyper.
        None => registry::serve(listener, app, shutdown_signal()).await,
    }
    registry
        .flush_pulls()
        .await
        .context("recording the last pull counts")?;
    tracing::info!("stopped: in-flight requests finished");
    Ok(())
}

/// The stored token signing key, generated and stored on first start.
async fn signing_key(meta: &SqliteMetaStore) -> anyhow::Result<TokenKey> {
    let candidate = TokenKey::generate().context("generating the token signing key")?;
    let secret = meta
        .token_signing_key(&candidate.secret_bytes())
        .await
        .context("reading the token signing key")?;
    TokenKey::from_secret_bytes(&secret).context("the stored token signing key")
}

/// On first start (no accounts at all) creates the admin account `admin`, with the password in
/// `HALLMARK_ADMIN_PASSWORD`, or a generated one printed once on standard error.
async fn ensure_initial_admin(meta: &SqliteMetaStore) -> anyhow::Result<()> {
    if !meta.accounts().await?.is_empty() {
        return Ok(());
    }
    let given = std::env::var("HALLMARK_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let password = match &given {
        Some(password) => password.clone(),
        None => registry::admin::new_secret()?,
    };
    let passwords = access::password::Passwords::default();
    let mut admin =
        registry::admin::new_account(INITIAL_ADMIN, AccountKind::User, &password, &passwords)?;
    admin.admin = true;
    if meta.create_account(&admin, "serve").await? && given.is_none() {
        eprintln!(
            "hallmark: created the admin account {INITIAL_ADMIN:?} with password {password} \
             (shown only now; change it with hallmark admin user password admin)"
        );
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM, whichever comes first.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("interrupted: finishing in-flight requests"),
        () = terminate => tracing::info!("SIGTERM: finishing in-flight requests"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ServeArgs {
        ServeArgs {
            listen: None,
            data: None,
            config: None,
            max_manifest_bytes: None,
            log: None,
            auth: None,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
        }
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let settings = Settings::resolve(args(), FileConfig::default()).unwrap();
        assert_eq!(settings.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(settings.data, PathBuf::from(DEFAULT_DATA));
        assert_eq!(settings.log, LevelFilter::INFO);
        assert_eq!(settings.registry, RegistryConfig::default());
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let file: FileConfig = toml::from_str(
            "listen = \"127.0.0.1:6000\"\ndata = \"/srv/data\"\nmax-manifest-bytes = 100\n\
             upload-ttl-secs = 60\nautomatic-mount = false\nlog = \"debug\"\n",
        )
        .unwrap();
        let mut flags = args();
        flags.listen = Some("127.0.0.1:7000".parse().unwrap());
        let settings = Settings::resolve(flags, file).unwrap();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(settings.data, PathBuf::from("/srv/data"));
        assert_eq!(settings.log, LevelFilter::DEBUG);
        assert_eq!(settings.registry.max_manifest_bytes, 100);
        assert_eq!(settings.registry.upload_ttl, Duration::from_secs(60));
        assert!(!settings.registry.automatic_mount);
    }

    #[test]
    fn authentication_is_on_unless_the_flag_or_the_file_turns_it_off() {
        let settings = Settings::resolve(args(), FileConfig::default()).unwrap();
        let auth = settings.auth.expect("token auth by default");
        assert_eq!((auth.service.as_str(), auth.realm), ("hallmark", None));
        let file: FileConfig = toml::from_str(
            "auth = \"token\"\nservice = \"registry.example\"\n\
             realm = \"https://registry.example/token\"\n",
        )
        .unwrap();
        let auth = Settings::resolve(args(), file).unwrap().auth.unwrap();
        assert_eq!(auth.service, "registry.example");
        assert_eq!(
            auth.realm.as_deref(),
            Some("https://registry.example/token")
        );
        let file: FileConfig = toml::from_str("auth = \"none\"").unwrap();
        assert!(Settings::resolve(args(), file).unwrap().auth.is_none());
        let mut flags = args();
        flags.auth = Some(AuthMode::Token);
        let file: FileConfig = toml::from_str("auth = \"none\"").unwrap();
        assert!(Settings::resolve(flags, file).unwrap().auth.is_some());
        assert!(toml::from_str::<FileConfig>("auth = \"basic\"").is_err());
    }

    #[test]
    fn tls_files_come_in_pairs_from_flags_or_the_file() {
        assert_eq!(
            Settings::resolve(args(), FileConfig::default())
                .unwrap()
                .tls,
            None
        );
        let file: FileConfig =
            toml::from_str("tls-cert = \"/etc/h/cert.pem\"\ntls-key = \"/etc/h/key.pem\"\n")
                .unwrap();
        let mut flags = args();
        flags.tls_key = Some("/run/key.pem".into());
        let tls = Settings::resolve(flags, file).unwrap().tls.unwrap();
        assert_eq!(tls.cert, PathBuf::from("/etc/h/cert.pem"));
        assert_eq!(tls.key, PathBuf::from("/run/key.pem"));
        let mut flags = args();
        flags.tls_cert = Some("/etc/h/cert.pem".into());
        let error = Settings::resolve(flags, FileConfig::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("needs --tls-key"), "{error}");
        let file: FileConfig = toml::from_str("tls-key = \"k.pem\"").unwrap();
        let error = Settings::resolve(args(), file).unwrap_err().to_string();
        assert!(error.contains("k.pem needs --tls-cert"), "{error}");
        let mut flags = args();
        flags.tls_client_ca = Some("ca.pem".into());
        let error = Settings::resolve(flags, FileConfig::default())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("ca.pem needs --tls-cert and --tls-key"),
            "{error}"
        );
    }

    #[test]
    fn unknown_keys_and_levels_are_refused() {
        assert!(toml::from_str::<FileConfig>("listn = \"x\"").is_err());
        let mut flags = args();
        flags.log = Some("loud".into());
        assert!(Settings::resolve(flags, FileConfig::default()).is_err());
    }
}
