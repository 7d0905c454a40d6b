//! Tests of the configuration: defaults, precedence, validation.
use super::*;

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("keywarden").chain(args.iter().copied())).unwrap()
}

/// The settings that `args` give on the command line.
fn cli(args: &[&str]) -> Settings {
    parse(args).settings
}

#[test]
fn debug_output_hides_secrets() {
    let c = Config::merge(
        &cli(&[
            "--demo-password",
            "very-secret-demo-pass",
            "--database-url",
            "postgres://kw:dbpass@db/kw",
            "--service-tokens",
            "production:service-token-0123456789abcdef",
        ]),
        Settings::default(),
    )
    .unwrap();
    let shown = format!("{c:?}");
    for secret in ["very-secret-demo-pass", "dbpass", "service-token-0123456789abcdef"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn defaults_need_no_configuration() {
    let c = Config::merge(&cli(&[]), Settings::default()).unwrap();
    assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
    assert_eq!(c.database_url, "sqlite://data/keywarden.db");
    assert_eq!(c.site_root, "target/site");
    assert_eq!(c.demo_password, "keywarden-demo");
    assert!(!c.demo);
}

#[test]
fn flags_win_over_the_file() {
    let file: Settings = toml::from_str(
        "addr = \"0.0.0.0:8080\"\ndatabase_url = \"postgres://db/kw\"\nsession_ttl_hours = 12",
    )
    .unwrap();
    let c = Config::merge(&cli(&["--addr", "127.0.0.1:4000", "--demo"]), file).unwrap();
    assert_eq!(c.addr.to_string(), "127.0.0.1:4000");
    assert_eq!(c.database_url, "postgres://db/kw");
    assert_eq!(c.session_ttl_hours, 12);
    assert!(c.demo);
}

#[test]
fn unknown_file_keys_and_bad_urls_are_refused() {
    assert!(toml::from_str::<Settings>("adress = \"x\"").is_err());
    let err = Config::merge(&cli(&["--database-url", "mysql://x"]), Settings::default());
    assert!(matches!(err, Err(ConfigError::Invalid(_))));
}

#[test]
fn the_key_catalog_and_prefix_are_configurable_and_checked() {
    let file: Settings = toml::from_str(
        r#"
        key_prefix = "acme"
        permissions = ["orders:read", "orders:write"]
        [[key_types]]
        name = "Orders"
        permissions = ["orders:read", "orders:write"]
        rate_limit = { limit = 50, window_secs = 1 }
        "#,
    )
    .unwrap();
    let c = Config::merge(&cli(&[]), file).unwrap();
    assert_eq!(c.key_prefix.as_str(), "acme");
    assert_eq!(c.catalog.resolve("Orders", &[]).unwrap(), ["orders:read", "orders:write"]);

    let bad: Settings = toml::from_str(
        "permissions = [\"a:b\"]\n[[key_types]]\nname = \"X\"\npermissions = [\"c:d\"]\nrate_limit = { limit = 1, window_secs = 1 }",
    )
    .unwrap();
    assert!(matches!(Config::merge(&cli(&[]), bad), Err(ConfigError::Invalid(_))));
    assert!(Config::merge(&cli(&["--key-prefix", "Bad_"]), Settings::default()).is_err());

    let zero_window: Settings = toml::from_str(
        "permissions = [\"a:b\"]\n[[key_types]]\nname = \"X\"\npermissions = [\"a:b\"]\nrate_limit = { limit = 10, window_secs = 0 }",
    )
    .unwrap();
    let err = Config::merge(&cli(&[]), zero_window).unwrap_err().to_string();
    assert!(err.contains("window"), "{err}");
}

#[test]
fn route_rules_come_from_the_file_or_the_environment() {
    let file: Settings = toml::from_str(
        r#"
        authorize_environment = "staging"
        request_log_days = 7
        [[routes]]
        method = "POST"
        prefix = "/v1/events"
        permissions = ["events:write"]
        "#,
    )
    .unwrap();
    let c = Config::merge(&cli(&[]), file).unwrap();
    assert_eq!(c.authorize_environment, Environment::Staging);
    assert_eq!(c.request_log_days, 7);
    assert_eq!(c.routes.required("POST", "/v1/events"), Some(&["events:write".to_string()][..]));
    assert_eq!(c.routes.required("GET", "/v1/events"), None);
    let c = Config::merge(&cli(&["--routes", "GET /=data:read"]), Settings::default()).unwrap();
    assert_eq!(c.routes.required("GET", "/x"), Some(&["data:read".to_string()][..]));
    assert_eq!(c.request_log_days, 30);
    assert!(Config::merge(&cli(&["--request-log-days", "0"]), Settings::default()).is_err());
    assert!(
        Config::merge(&cli(&["--authorize-environment", "prod"]), Settings::default()).is_err()
    );
}

#[test]
fn the_forward_auth_proxy_and_metrics_token_are_configurable() {
    let c = Config::merge(&cli(&[]), Settings::default()).unwrap();
    assert_eq!(c.forward_auth_headers, ForwardAuthProxy::Nginx);
    assert!(c.metrics_token.is_none());
    let file: Settings = toml::from_str(
        "forward_auth_headers = \"traefik\"\nroute_case_insensitive = true\nmetrics_token = \"0123456789abcdef01234567\"",
    )
    .unwrap();
    let c = Config::merge(&cli(&[]), file).unwrap();
    assert_eq!(c.forward_auth_headers, ForwardAuthProxy::Traefik);
    assert!(c.metrics_token.is_some());
    assert!(c.routes.required("GET", "/ANYTHING").is_some());
    let c = Config::merge(&cli(&["--forward-auth-headers", "envoy"]), Settings::default()).unwrap();
    assert_eq!(c.forward_auth_headers, ForwardAuthProxy::Envoy);
    assert!(toml::from_str::<Settings>("forward_auth_headers = \"caddy\"").is_err());
    assert!(Config::merge(&cli(&["--metrics-token", "short"]), Settings::default()).is_err());
}

#[test]
fn migrate_and_the_platform_commands_are_subcommands() {
    assert_eq!(parse(&["migrate"]).command, Some(Command::Migrate));
    assert_eq!(
        parse(&["org", "create", "--slug", "acme", "--name", "Acme", "--owner", "o@acme.test"])
            .command,
        Some(Command::Org(OrgCommand::Create {
            slug: "acme".into(),
            name: "Acme".into(),
            owner: Some("o@acme.test".into())
        }))
    );
    assert_eq!(
        parse(&["org", "suspend", "acme"]).command,
        Some(Command::Org(OrgCommand::Suspend { slug: "acme".into() }))
    );
    assert_eq!(
        parse(&["admin", "grant", "a@b.test"]).command,
        Some(Command::Admin(AdminCommand::Grant { email: "a@b.test".into() }))
    );
}

#[test]
fn operator_tokens_and_signup_are_configurable() {
    let c = Config::merge(&cli(&[]), Settings::default()).unwrap();
    assert!(c.operator_tokens.is_empty());
    assert_eq!(c.signup, Signup::Invite);
    let file: Settings =
        toml::from_str("operator_tokens = \"operator-token-0123456789abcdef\"\nsignup = \"open\"")
            .unwrap();
    let c = Config::merge(&cli(&[]), file).unwrap();
    assert!(c.operator_tokens.accepts("operator-token-0123456789abcdef"));
    assert_eq!(c.signup, Signup::Open);
    assert!(Config::merge(&cli(&["--operator-tokens", "short"]), Settings::default()).is_err());
}

#[test]
fn switches_take_an_optional_value_and_leave_subcommands_alone() {
    let parsed = parse(&["--demo", "migrate"]);
    assert_eq!(parsed.command, Some(Command::Migrate));
    assert_eq!(parsed.settings.demo, Some(true));
    let file: Settings =
        toml::from_str("trust_proxy_headers = true\nroute_case_insensitive = true").unwrap();
    let flags = ["--trust-proxy-headers=false", "--routes", "GET /v1=data:read"];
    let c = Config::merge(&cli(&flags), file).unwrap();
    assert!(!c.trust_proxy_headers, "a flag's explicit false wins over the file");
    assert!(c.routes.required("GET", "/V1/data").is_some(), "the file's true stays");
    let strict = ["--route-case-insensitive=false", "--routes", "GET /v1=data:read"];
    let c = Config::merge(&cli(&strict), Settings::default()).unwrap();
    assert!(c.routes.required("GET", "/V1/data").is_none());
    assert_eq!(cli(&["--route-case-insensitive=yes"]).route_case_insensitive, Some(true));
    assert!(Cli::try_parse_from(["keywarden", "--demo=maybe"]).is_err());
}

/// docs/configuration.md's table, one row a setting: (setting, flag, env,
/// file key, default), "—" cells as `None`, backticks dropped.
fn documented_settings() -> Vec<[Option<String>; 5]> {
    let doc = include_str!("../../docs/configuration.md");
    let table = doc
        .split("<!-- settings:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- settings:end -->").next())
        .expect("docs/configuration.md has the settings table between its markers");
    table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            std::array::from_fn(|i| {
                let cell = cells.get(i).copied().unwrap_or("—");
                (cell != "—").then(|| cell.trim_matches('`').to_string())
            })
        })
        .collect()
}

/// The table in docs/configuration.md is the `Settings` struct: every
/// setting once, with the flag and environment variable clap declares and
/// the file key the TOML reader takes; a setting added, renamed or dropped
/// in one and not the other fails here.
#[test]
fn the_configuration_table_is_the_settings_struct() {
    use clap::CommandFactory;
    let documented = documented_settings();
    let names: Vec<&str> = documented.iter().map(|r| r[0].as_deref().unwrap()).collect();

    // Flags and environment variables, as clap declares them.
    let command = Cli::command();
    let mut declared: Vec<(String, Option<String>, Option<String>)> = command
        .get_arguments()
        .filter(|a| a.get_id() != "help" && a.get_id() != "version")
        .map(|a| {
            let flag = a.get_long().map(|l| format!("--{l}"));
            let env = a.get_env().map(|e| e.to_string_lossy().into_owned());
            (a.get_id().to_string(), flag, env)
        })
        .collect();
    declared.sort();
    let mut in_table: Vec<(String, Option<String>, Option<String>)> = documented
        .iter()
        .filter(|r| r[1].is_some())
        .map(|r| (r[0].clone().unwrap(), r[1].clone(), r[2].clone()))
        .collect();
    in_table.sort();
    assert_eq!(in_table, declared, "flags and environment variables");

    // File keys: every key the table names is read from a file, and every
    // setting without one is refused there.
    for row in &documented {
        let name = row[0].as_deref().unwrap();
        let file_only_probe = format!("{name} = 0\n");
        let refused = toml::from_str::<Settings>(&file_only_probe)
            .err()
            .is_some_and(|e| e.to_string().contains("unknown field"));
        match &row[3] {
            Some(key) => {
                assert_eq!(key, name, "the file key of {name}");
                assert!(!refused, "{name} is documented as a file key but a file may not set it");
            }
            None => assert!(refused, "{name} is documented as no file key but a file may set it"),
        }
    }
    // And no file key goes undocumented.
    let error = toml::from_str::<Settings>("no_such_setting = 0").unwrap_err().to_string();
    let expected = error.split("expected one of").nth(1).unwrap_or_default();
    for key in expected.split(',').map(|k| k.trim().trim_matches(|c| c == '`' || c == '\n')) {
        if !key.is_empty() {
            assert!(names.contains(&key), "the file key {key} is not in docs/configuration.md");
        }
    }

    // Defaults: the table says what merging nothing gives.
    let c = Config::merge(&Settings::default(), Settings::default()).unwrap();
    for (name, value) in [
        ("addr", c.addr.to_string()),
        ("database_url", c.database_url.clone()),
        ("demo_password", c.demo_password.clone()),
        ("site_root", c.site_root.clone()),
        ("session_ttl_hours", c.session_ttl_hours.to_string()),
        ("invitation_ttl_hours", c.invitation_ttl_hours.to_string()),
        ("key_prefix", c.key_prefix.to_string()),
        ("rotation_days", c.rotation_days.to_string()),
        ("request_log_days", c.request_log_days.to_string()),
        ("usage_flush_ms", c.usage_flush_ms.to_string()),
        ("demo", c.demo.to_string()),
        ("trust_proxy_headers", c.trust_proxy_headers.to_string()),
        ("force_secure_cookies", c.force_secure_cookies.to_string()),
        ("bench_routes", c.bench_routes.to_string()),
    ] {
        let row = documented.iter().find(|r| r[0].as_deref() == Some(name)).unwrap();
        assert_eq!(row[4].as_deref(), Some(value.as_str()), "the default of {name}");
    }
}
