//! Configuration: command-line flags and `KEYWARDEN_*` environment variables
//! (through clap), then an optional TOML file, then defaults.

use crate::verify::authorize::{ForwardAuthProxy, RouteRule, Routes};
use app::domain::{Catalog, Environment, KeyPrefix, KeyType};
use clap::builder::BoolishValueParser;
use clap::{Parser, Subcommand};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Keywarden: self-hosted API keys for a platform and its organisations.
#[derive(Debug, Parser)]
#[command(name = "keywarden", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// TOML configuration file.
    #[arg(long, env = "KEYWARDEN_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}

/// Every setting: from flags and `KEYWARDEN_*` variables (clap) or from the
/// TOML file (serde), one struct for both so a setting is declared once.
/// Fields marked `arg(skip)` live only in the file, `serde(skip)` only on
/// the command line. Every field may be left out.
#[derive(Debug, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on [default: 127.0.0.1:3000].
    #[arg(long, env = "KEYWARDEN_ADDR", global = true)]
    pub addr: Option<SocketAddr>,
    /// `sqlite://…` or `postgres://…` [default: sqlite://data/keywarden.db].
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Seed the demo organisation `acme` with one user per role.
    #[arg(long, env = "KEYWARDEN_DEMO", num_args = 0..=1, require_equals = true,
        default_missing_value = "true", value_parser = BoolishValueParser::new(), global = true)]
    #[serde(skip)]
    pub demo: Option<bool>,
    /// Password of the demo users [default: keywarden-demo].
    #[arg(long, env = "KEYWARDEN_DEMO_PASSWORD", hide_env_values = true, global = true)]
    #[serde(skip)]
    pub demo_password: Option<String>,
    /// Folder whose built-site files (`pkg/`, public files) win over the ones
    /// the binary carries [default: target/site].
    #[arg(long, env = "KEYWARDEN_SITE_ROOT", global = true)]
    pub site_root: Option<String>,
    /// The URL people open, used in invitation links [default: from the request].
    #[arg(long, env = "KEYWARDEN_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Trust `X-Forwarded-For`/`-Proto` (only behind a reverse proxy).
    #[arg(long, env = "KEYWARDEN_TRUST_PROXY_HEADERS", num_args = 0..=1, require_equals = true,
        default_missing_value = "true", value_parser = BoolishValueParser::new(), global = true)]
    pub trust_proxy_headers: Option<bool>,
    /// Mark cookies `Secure` even when the request looks like plain HTTP,
    /// for TLS ended by a proxy that sends no `X-Forwarded-Proto` (file
    /// only) [default: off].
    #[arg(skip)]
    pub force_secure_cookies: Option<bool>,
    /// How long a session lasts, in hours (file only) [default: 168].
    #[arg(skip)]
    pub session_ttl_hours: Option<u32>,
    /// How long an invitation link works, in hours (file only) [default: 168].
    #[arg(skip)]
    pub invitation_ttl_hours: Option<u32>,
    /// Log format: `text` or `json` [default: text].
    #[arg(long, env = "KEYWARDEN_LOG_FORMAT", global = true)]
    pub log_format: Option<LogFormat>,
    /// Verifier tokens: `environment:token` pairs, comma-separated.
    #[arg(long, env = "KEYWARDEN_SERVICE_TOKENS", hide_env_values = true, global = true)]
    pub service_tokens: Option<String>,
    /// Prefix of issued API keys, 2–8 of a–z0–9 [default: kw].
    #[arg(long, env = "KEYWARDEN_KEY_PREFIX", global = true)]
    pub key_prefix: Option<String>,
    /// Days after creation or regeneration when a key shows "rotation due"
    /// (file only) [default: 90].
    #[arg(skip)]
    pub rotation_days: Option<u32>,
    /// The permission catalog (replaces the default list).
    #[arg(skip)]
    pub permissions: Option<Vec<String>>,
    /// Key types offered (replace the defaults Read, Write, Admin).
    #[arg(skip)]
    pub key_types: Option<Vec<KeyType>>,
    /// Forward-auth route rules, `METHOD /prefix=perm,perm` separated by `;`
    /// [default: any valid key for every path].
    #[arg(long = "routes", env = "KEYWARDEN_ROUTES", global = true)]
    #[serde(skip)]
    pub compact_routes: Option<String>,
    /// Forward-auth route rules as the file's `[[routes]]` tables.
    #[arg(skip)]
    pub routes: Option<Vec<RouteRule>>,
    /// The environment `/v1/authorize` serves unless its URL says
    /// `?environment=` [default: production].
    #[arg(long, env = "KEYWARDEN_AUTHORIZE_ENVIRONMENT", global = true)]
    pub authorize_environment: Option<String>,
    /// The proxy calling `/v1/authorize`, whose headers alone are believed:
    /// nginx, traefik or envoy [default: nginx].
    #[arg(long, env = "KEYWARDEN_FORWARD_AUTH_HEADERS", global = true)]
    pub forward_auth_headers: Option<ForwardAuthProxy>,
    /// Match route-rule prefixes ignoring ASCII case.
    #[arg(long, env = "KEYWARDEN_ROUTE_CASE_INSENSITIVE", num_args = 0..=1, require_equals = true,
        default_missing_value = "true", value_parser = BoolishValueParser::new(), global = true)]
    pub route_case_insensitive: Option<bool>,
    /// Operator tokens for the operator API, comma-separated, 24+ characters each.
    #[arg(long, env = "KEYWARDEN_OPERATOR_TOKENS", hide_env_values = true, global = true)]
    pub operator_tokens: Option<String>,
    /// Who may sign up: invite (default) or open.
    #[arg(long, env = "KEYWARDEN_SIGNUP", global = true)]
    pub signup: Option<Signup>,
    /// When set, `/metrics` needs `Authorization: Bearer <this>`.
    #[arg(long, env = "KEYWARDEN_METRICS_TOKEN", hide_env_values = true, global = true)]
    pub metrics_token: Option<String>,
    /// Days request-log entries are kept [default: 30].
    #[arg(long, env = "KEYWARDEN_REQUEST_LOG_DAYS", global = true)]
    pub request_log_days: Option<u32>,
    /// Milliseconds between usage flushes; a crash loses at most this much
    /// of the counts (and of the request log, unless the core is saturated)
    /// [default: 1000].
    #[arg(long, env = "KEYWARDEN_USAGE_FLUSH_MS", global = true)]
    pub usage_flush_ms: Option<u64>,
    /// Adds `POST /bench/echo`, the baseline `scripts/bench-verify`
    /// measures verification against; never for production.
    #[arg(long, hide = true)]
    #[serde(skip)]
    pub bench_routes: bool,
}

#[derive(Debug, Clone, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create, list, suspend and resume organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Make a user an instance admin (who may open /admin), or not.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Clone, Subcommand, PartialEq, Eq)]
pub enum OrgCommand {
    /// Create an organisation; with --owner, print their one-time invitation link.
    Create {
        /// URL name: 2–40 of a–z, 0–9 and hyphens.
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// Email of the first owner, who gets an invitation link.
        #[arg(long)]
        owner: Option<String>,
    },
    /// List every organisation as a table.
    List {
        /// Only those whose slug or name contains this.
        #[arg(long)]
        search: Option<String>,
    },
    /// Suspend an organisation: members read, nothing changes, keys verify as DISABLED.
    Suspend { slug: String },
    /// Resume a suspended organisation.
    Resume { slug: String },
}

#[derive(Debug, Clone, Subcommand, PartialEq, Eq)]
pub enum AdminCommand {
    /// Make the user with this email an instance admin.
    Grant { email: String },
    /// Take instance admin away from the user with this email.
    Revoke { email: String },
}

/// Who may sign up (`signup`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Signup {
    /// Only through invitations and the platform (the default).
    #[default]
    Invite,
    /// Anyone may create an account and an organisation at /signup.
    Open,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The settings Keywarden runs with. `Debug` hides the demo password
/// (the tokens hide themselves).
#[derive(Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub database_url: String,
    pub demo: bool,
    pub demo_password: String,
    pub site_root: String,
    pub public_url: Option<String>,
    pub trust_proxy_headers: bool,
    pub force_secure_cookies: bool,
    pub session_ttl_hours: u32,
    pub invitation_ttl_hours: u32,
    pub log_format: LogFormat,
    pub key_prefix: KeyPrefix,
    pub rotation_days: u32,
    pub catalog: Catalog,
    pub service_tokens: crate::verify::service::ServiceTokens,
    pub routes: Routes,
    pub authorize_environment: Environment,
    pub forward_auth_headers: ForwardAuthProxy,
    pub metrics_token: Option<crate::verify::service::MetricsToken>,
    pub operator_tokens: crate::operator::auth::OperatorTokens,
    pub signup: Signup,
    pub request_log_days: u32,
    pub usage_flush_ms: u64,
    /// Whether `POST /bench/echo` is served (benchmarks only).
    pub bench_routes: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("database_url", &"…")
            .field("demo", &self.demo)
            .field("demo_password", &"…")
            .field("site_root", &self.site_root)
            .field("public_url", &self.public_url)
            .field("trust_proxy_headers", &self.trust_proxy_headers)
            .field("key_prefix", &self.key_prefix)
            .field("service_tokens", &self.service_tokens)
            .field("operator_tokens", &self.operator_tokens)
            .field("metrics_token", &self.metrics_token)
            .field("routes", &self.routes)
            .field("forward_auth_headers", &self.forward_auth_headers)
            .field("signup", &self.signup)
            .finish_non_exhaustive()
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Merges flags/environment over the file over defaults.
    pub fn load(cli: &Cli) -> Result<Self, ConfigError> {
        let file = match &cli.config {
            Some(path) => read_file(path)?,
            None => Settings::default(),
        };
        Self::merge(&cli.settings, file)
    }

    /// `cli` wins over `file`, which wins over the defaults.
    fn merge(cli: &Settings, file: Settings) -> Result<Self, ConfigError> {
        let config = Config {
            addr: cli.addr.or(file.addr).unwrap_or_else(|| ([127, 0, 0, 1], 3000).into()),
            database_url: cli
                .database_url
                .clone()
                .or(file.database_url)
                .unwrap_or_else(|| "sqlite://data/keywarden.db".into()),
            demo: cli.demo.unwrap_or(false),
            demo_password: cli.demo_password.clone().unwrap_or_else(|| "keywarden-demo".into()),
            site_root: cli
                .site_root
                .clone()
                .or(file.site_root)
                .unwrap_or_else(|| "target/site".into()),
            public_url: cli.public_url.clone().or(file.public_url),
            trust_proxy_headers: cli
                .trust_proxy_headers
                .or(file.trust_proxy_headers)
                .unwrap_or(false),
            force_secure_cookies: file.force_secure_cookies.unwrap_or(false),
            session_ttl_hours: file.session_ttl_hours.unwrap_or(168),
            invitation_ttl_hours: file.invitation_ttl_hours.unwrap_or(168),
            log_format: cli.log_format.or(file.log_format).unwrap_or(LogFormat::Text),
            key_prefix: match cli.key_prefix.clone().or(file.key_prefix) {
                Some(p) => KeyPrefix::parse(&p).map_err(ConfigError::Invalid)?,
                None => KeyPrefix::default(),
            },
            rotation_days: file.rotation_days.unwrap_or(90),
            service_tokens: crate::verify::service::ServiceTokens::parse(
                cli.service_tokens.as_deref().or(file.service_tokens.as_deref()).unwrap_or(""),
            )
            .map_err(ConfigError::Invalid)?,
            routes: match (&cli.compact_routes, file.routes) {
                (Some(compact), _) => Routes::parse(compact),
                (None, Some(rules)) => Routes::new(rules),
                (None, None) => Ok(Routes::default()),
            }
            .map_err(ConfigError::Invalid)?
            .case_insensitive(
                cli.route_case_insensitive.or(file.route_case_insensitive).unwrap_or(false),
            ),
            forward_auth_headers: cli
                .forward_auth_headers
                .or(file.forward_auth_headers)
                .unwrap_or_default(),
            metrics_token: match cli.metrics_token.clone().or(file.metrics_token) {
                Some(t) => Some(
                    crate::verify::service::MetricsToken::parse(&t)
                        .map_err(ConfigError::Invalid)?,
                ),
                None => None,
            },
            authorize_environment: match cli
                .authorize_environment
                .clone()
                .or(file.authorize_environment)
            {
                Some(env) => env.parse().map_err(|_| {
                    ConfigError::Invalid(format!(
                        "authorize environment {env:?} is not production, staging or development"
                    ))
                })?,
                None => Environment::Production,
            },
            operator_tokens: crate::operator::auth::OperatorTokens::parse(
                cli.operator_tokens.as_deref().or(file.operator_tokens.as_deref()).unwrap_or(""),
            )
            .map_err(ConfigError::Invalid)?,
            signup: cli.signup.or(file.signup).unwrap_or_default(),
            request_log_days: cli.request_log_days.or(file.request_log_days).unwrap_or(30),
            usage_flush_ms: cli.usage_flush_ms.or(file.usage_flush_ms).unwrap_or(1000),
            bench_routes: cli.bench_routes,
            catalog: {
                let defaults = Catalog::default();
                Catalog {
                    permissions: file.permissions.unwrap_or(defaults.permissions),
                    key_types: file.key_types.unwrap_or(defaults.key_types),
                }
            },
        };
        config.catalog.validate().map_err(ConfigError::Invalid)?;
        if !(config.database_url.starts_with("sqlite:")
            || config.database_url.starts_with("postgres"))
        {
            return Err(ConfigError::Invalid(
                "database URL must start with sqlite: or postgres://".into(),
            ));
        }
        if config.usage_flush_ms < 10 {
            return Err(ConfigError::Invalid(
                "usage flushes need at least 10 ms between them".into(),
            ));
        }
        if config.request_log_days == 0 {
            return Err(ConfigError::Invalid(
                "the request log must be kept at least one day".into(),
            ));
        }
        if config.session_ttl_hours == 0 || config.invitation_ttl_hours == 0 {
            return Err(ConfigError::Invalid("lifetimes must be at least one hour".into()));
        }
        Ok(config)
    }
}

fn read_file(path: &Path) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.into(), source })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
