//! Building the router and running the server.

use crate::config::Config;
use crate::{demo, health, security};
use app::backend::{AppState, Settings, db, session};
use app::{App, shell};
use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
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
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server: {0}")]
    Serve(std::io::Error),
}

/// Connects to the database, migrates it and assembles the state.
pub async fn build_state(config: &Config) -> Result<AppState, StartupError> {
    let pool = db::connect(&config.database_url).await?;
    db::migrate(&pool).await?;
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
        ..Settings::default()
    };
    Ok(AppState::new(leptos_options, pool, settings))
}

/// The whole HTTP surface: pages, server functions, probes, static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(from_fn_with_state(
            state.clone(),
            security::first_run_redirect,
        ))
        .layer(from_fn(security::refuse_cross_site))
        .layer(from_fn(security::security_headers))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::extract::Request| {
                tracing::info_span!(
                    "request",
                    method = %req.method(),
                    path = security::loggable_path(req.uri().path()),
                )
            }),
        )
        .with_state(state)
}

/// Runs Keywarden until SIGINT/SIGTERM, then finishes in-flight requests.
pub async fn run(config: Config) -> Result<(), StartupError> {
    let state = build_state(&config).await?;
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartupError::Bind {
            addr: config.addr,
            source,
        })?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(StartupError::Serve)?
    );
    if config.demo {
        demo::seed(
            &state.db,
            &config.demo_password,
            &config.key_prefix,
            &config.catalog,
        )
        .await
        .map_err(StartupError::Seed)?;
        let from_env = std::env::var_os("KEYWARDEN_DEMO_PASSWORD").is_some();
        println!("{}", demo::banner(&url, from_env));
        tracing::warn!("demo mode is on: the demo users have a published password");
    }
    spawn_session_sweeper(state.clone());
    println!("Keywarden is listening on {url}");
    tracing::info!(%url, "listening");
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(StartupError::Serve)?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Deletes expired sessions once an hour.
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
