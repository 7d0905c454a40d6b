//! Building the router and running the server.

use crate::config::Config;
use crate::operator::auth::OperatorTokens;
use crate::operator::{self, OperatorState};
use crate::rest::{self, RestState};
use crate::verify::authorize::{self, Authorizer, ForwardAuthProxy, Routes};
use crate::verify::service::{MetricsToken, ServiceTokens};
use crate::verify::{self, Verifier, handler};
use crate::{demo, docs, health, limits, security};
use app::backend::{AppState, Settings, db, session};
use app::domain::{Environment, KeyPrefix};
use app::{App, shell};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{any, get, post};
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("demo seed: {0}")]
    Seed(app::AppError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("server: {0}")]
    Serve(std::io::Error),
}

/// Connects to the database, migrates it and assembles the state.
pub async fn build_state(config: &Config) -> Result<AppState, StartupError> {
    let pool = db::connect(&config.database_url).await?;
    db::migrate(&pool).await?;
    app::backend::log_segments::ensure_ahead(&pool).await?;
    let leptos_options = LeptosOptions::builder()
        .output_name("keywarden")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .build();
    let settings = Settings {
        session_ttl_secs: i64::from(config.session_ttl_hours) * 3600,
        invitation_ttl_secs: i64::from(config.invitation_ttl_hours) * 3600,
        force_secure_cookies: config.force_secure_cookies,
        trust_proxy_headers: config.trust_proxy_headers,
        public_url: config.public_url.clone(),
        catalog: config.catalog.clone(),
        key_prefix: config.key_prefix.clone(),
        rotation_days: i64::from(config.rotation_days),
        open_signup: config.signup == crate::config::Signup::Open,
        asset_version: crate::assets::version(&config.site_root),
        ..Settings::default()
    };
    Ok(AppState::new(leptos_options, pool, settings))
}

/// What verification is configured with.
#[derive(Clone, Debug, Default)]
pub struct VerifierSettings {
    pub key_prefix: KeyPrefix,
    /// Tokens of the operator API (none: it refuses every call).
    pub operator_tokens: OperatorTokens,
    pub service_tokens: ServiceTokens,
    pub metrics_token: Option<MetricsToken>,
    pub routes: Routes,
    pub authorize_environment: Environment,
    pub forward_auth_headers: ForwardAuthProxy,
    /// "No such key" answers held per cache generation (default
    /// `cache::MISSING_PER_GENERATION`); smaller in tests that flood it.
    pub missing_cache_per_generation: Option<usize>,
    /// Serve `POST /bench/echo` (benchmarks only).
    pub bench_routes: bool,
}

/// The verification side of the HTTP surface.
#[derive(Clone)]
pub struct Gateway {
    pub verifier: Arc<Verifier>,
    pub authorizer: Arc<Authorizer>,
    pub operator_tokens: Arc<OperatorTokens>,
    pub bench_routes: bool,
}

/// The verifier for `state`'s database, with key changes routed to its
/// cache; returns the state to serve with.
pub fn with_verifier(state: AppState, settings: VerifierSettings) -> (AppState, Gateway) {
    let mut verifier =
        Verifier::new(state.db.clone(), settings.key_prefix, settings.service_tokens);
    verifier.metrics_token = settings.metrics_token;
    if let Some(n) = settings.missing_cache_per_generation {
        verifier.cache = Arc::new(crate::verify::cache::KeyCache::with_missing_capacity(n));
    }
    let verifier = Arc::new(verifier);
    let state = state.with_key_listener(verifier.cache.clone());
    let authorizer = Arc::new(Authorizer {
        verifier: verifier.clone(),
        routes: settings.routes,
        environment: settings.authorize_environment,
        proxy: settings.forward_auth_headers,
    });
    let operator_tokens = Arc::new(settings.operator_tokens);
    (state, Gateway { verifier, authorizer, operator_tokens, bench_routes: settings.bench_routes })
}

/// The longest a page or server function may take before it answers 503.
const PAGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// The whole HTTP surface: pages, server functions, the verification API,
/// the REST API, probes, metrics, static files.
pub fn router(state: AppState, gateway: Gateway) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let mut verification = Router::new()
        .route(
            "/v1/keys/verify",
            post(handler::verify).layer(DefaultBodyLimit::max(limits::API_BODY.0)),
        )
        .route("/metrics", get(handler::metrics))
        .with_state(gateway.verifier.clone())
        .merge(
            Router::new()
                .route("/v1/authorize", get(authorize::authorize))
                .route("/v1/authorize/{*original}", any(authorize::authorize))
                .with_state(gateway.authorizer.clone()),
        );
    if gateway.bench_routes {
        verification = verification.route("/bench/echo", post(handler::bench_echo)).merge(
            Router::new()
                .route("/bench/purge", post(handler::bench_purge))
                .with_state(gateway.verifier.clone()),
        );
    }
    let rest = rest::router(RestState { app: state.clone(), verifier: gateway.verifier.clone() })
        .merge(operator::router(OperatorState {
            app: state.clone(),
            tokens: gateway.operator_tokens.clone(),
        }))
        .layer(from_fn_with_state(limits::API_BODY, limits::limit_body));
    // The site (pages, server functions, the WASM bundle and other static
    // files, the docs) goes out compressed (brotli or gzip, as the browser
    // accepts); the verification and REST APIs do not, so the gateway's hot
    // path spends nothing on it.
    let site = Router::new()
        .route("/docs", get(docs::page))
        .route("/docs/redoc.standalone.js", get(docs::redoc))
        .leptos_routes_with_context(&state, routes, app::backend::csp::remember_nonce, move || {
            shell(options.clone())
        })
        .route("/v/{version}/{*path}", get(crate::assets::versioned))
        .fallback(crate::assets::site_file)
        // Server functions take small bodies (a key's fields at most); every
        // request sees its own reactive scope and no other (crate::owner),
        // each try of a stalled page too.
        .layer(from_fn_with_state(limits::API_BODY, limits::limit_body))
        .layer(from_fn(crate::owner::own_scope))
        // A page render that stalls is tried once more (crate::hedge).
        .layer(crate::hedge::HedgeLayer)
        // A page whose answer stops mid-way is ended (crate::stall), before
        // compression, so the compressed stream ends whole.
        .layer(from_fn(crate::stall::end_stalled_pages))
        .layer(CompressionLayer::new().br(true).gzip(true))
        // A page whose server-side render stalls (Leptos' SSR can lose a
        // Suspense wake-up under load, leptos-rs/leptos#4851) answers 503,
        // "try again", instead of holding the connection open for good.
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            PAGE_TIMEOUT,
        ));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(verification)
        .route("/v1/openapi.json", get(crate::openapi::document))
        .merge(rest)
        .merge(site)
        // Behind an Arc: the middleware's state is cloned for every request,
        // and a whole AppState (LeptosOptions and all) costs allocations.
        .layer(from_fn_with_state(Arc::new(state.clone()), security::first_run_redirect))
        .layer(from_fn(security::server_fn_input_errors))
        .layer(from_fn(security::refuse_cross_site))
        .layer(from_fn(security::security_headers))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::extract::Request| {
            tracing::info_span!(
                "request",
                method = %req.method(),
                path = ?security::loggable_path(req.uri().path()),
            )
        }))
        .with_state(state)
}

/// Runs Keywarden until SIGINT/SIGTERM, then finishes in-flight requests.
pub async fn run(mut config: Config) -> Result<(), StartupError> {
    let demo_tokens = if config.demo && config.service_tokens.is_empty() {
        Environment::ALL
            .into_iter()
            .map(|env| {
                let token = app::backend::secret::random_token();
                config.service_tokens.add(&token, env);
                (env, token)
            })
            .collect()
    } else {
        Vec::new()
    };
    let state = build_state(&config).await?;
    let (state, gateway) = with_verifier(
        state,
        VerifierSettings {
            key_prefix: config.key_prefix.clone(),
            service_tokens: config.service_tokens.clone(),
            routes: config.routes.clone(),
            authorize_environment: config.authorize_environment,
            forward_auth_headers: config.forward_auth_headers,
            metrics_token: config.metrics_token.clone(),
            operator_tokens: config.operator_tokens.clone(),
            missing_cache_per_generation: None,
            bench_routes: config.bench_routes,
        },
    );
    let verifier = gateway.verifier.clone();
    if verify::propagate::needed(&config.database_url) {
        verify::propagate::spawn(
            config.database_url.clone(),
            verifier.cache.clone(),
            state.instance.clone(),
        )
        .await;
        verify::rate_sync::spawn(verifier.clone());
    }
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartupError::Bind { addr: config.addr, source })?;
    let url = format!("http://{}", listener.local_addr().map_err(StartupError::Serve)?);
    if config.demo {
        demo::seed(&state.db, &config.demo_password, &config.key_prefix, &config.catalog)
            .await
            .map_err(StartupError::Seed)?;
        let from_env = std::env::var_os("KEYWARDEN_DEMO_PASSWORD").is_some();
        println!("{}", demo::banner(&url, from_env));
        for (env, token) in &demo_tokens {
            println!("  Service token ({}): {token}", env.as_str());
        }
        tracing::warn!("demo mode is on: the demo users have a published password");
    }
    if config.service_tokens.is_empty() {
        tracing::warn!("no service tokens configured: /v1/keys/verify refuses every call");
    }
    spawn_session_sweeper(state.clone());
    verify::writer::spawn(
        verifier.clone(),
        config.database_url.clone(),
        Duration::from_millis(config.usage_flush_ms),
    );
    spawn_request_log_sweeper(verifier.clone(), config.request_log_days);
    println!("Keywarden is listening on {url}");
    tracing::info!(%url, "listening");
    axum::serve(
        listener,
        router(state, gateway).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(StartupError::Serve)?;
    // Usage counted since the last flush is written before exit.
    match verifier.flush().await {
        Ok(done) => tracing::info!(
            keys = done.keys,
            log_entries = done.log_entries,
            "final usage flush written"
        ),
        Err(e) => tracing::error!(error = %e, "final usage flush failed"),
    }
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Hourly: makes tomorrow's request-log table and deletes entries past the
/// retention period.
fn spawn_request_log_sweeper(verifier: Arc<verify::Verifier>, days: u32) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            if let Err(e) = verifier.ensure_log_days_ahead().await {
                tracing::warn!(error = %e, "making tomorrow's request-log table failed");
            }
            match verifier.purge_log_older_than(days).await {
                Ok(gone) if gone != Default::default() => tracing::info!(
                    segments = gone.segments,
                    legacy_entries = gone.legacy_rows,
                    days,
                    "old request-log entries removed"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "request-log sweep failed"),
            }
        }
    });
}

/// Once an hour: deletes expired sessions, and disables the keys an org's
/// unused-keys policy says are due.
fn spawn_session_sweeper(state: AppState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            match session::purge_expired(&state.db).await {
                Ok(n) if n > 0 => tracing::info!(sessions = n, "expired sessions removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session sweep failed"),
            }
            let now = app::backend::db::now();
            match app::backend::policies::disable_unused_keys(&state, now).await {
                Ok(n) if n > 0 => tracing::info!(keys = n, "unused keys disabled by policy"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "unused-keys policy failed"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
