//! Test harness: the real router on a real database (a temporary SQLite file,
//! or a fresh PostgreSQL database), driven request by request.

// Shared by two test binaries (`api` and `log_secrets`); each uses a part.
#![allow(dead_code)]

pub mod binary;
pub mod calls;
mod client;
pub mod keys;

pub use client::{Client, Reply};

use app::backend::{AppState, Settings, db};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use server::startup::VerifierSettings;
use std::net::SocketAddr;
use tower::ServiceExt;

pub const DEMO_PASSWORD: &str = "keywarden-demo";
/// Service tokens of the instance under test, one per environment.
pub const PRODUCTION_VERIFIER: &str = "test-production-service-token-0001";
pub const STAGING_VERIFIER: &str = "test-staging-service-token-00000001";
/// Forward-auth rules of the instance under test.
pub const TEST_ROUTES: &str = "GET /v1/data=data:read; POST /v1/events=events:write; * /public=";

/// Which database a test runs on.
#[derive(Clone, Debug)]
pub enum Engine {
    Sqlite,
    Postgres(String),
}

impl Engine {
    /// PostgreSQL from `KEYWARDEN_TEST_POSTGRES_URL`. Without it the test is
    /// skipped with a notice, unless `KEYWARDEN_REQUIRE_POSTGRES` is set (as
    /// `scripts/test` and CI do), when it fails.
    pub fn postgres() -> Option<Engine> {
        match std::env::var("KEYWARDEN_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(Engine::Postgres(url)),
            _ if std::env::var_os("KEYWARDEN_REQUIRE_POSTGRES").is_some() => {
                panic!("KEYWARDEN_REQUIRE_POSTGRES is set but KEYWARDEN_TEST_POSTGRES_URL is not")
            }
            _ => {
                eprintln!("skipped: set KEYWARDEN_TEST_POSTGRES_URL to run the PostgreSQL variant");
                None
            }
        }
    }

    /// A database URL for a new, empty database on this engine.
    pub async fn fresh_database(&self) -> String {
        match self {
            Engine::Sqlite => {
                let dir = std::env::temp_dir().join(format!("keywarden-test-{}", db::new_id()));
                format!("sqlite://{}/keywarden.db", dir.display())
            }
            Engine::Postgres(admin_url) => {
                let name = format!("kw_test_{}", db::new_id());
                let admin = db::connect(admin_url).await.expect("connect to PostgreSQL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .expect("create test database");
                admin.close().await;
                let (base, _) = admin_url.rsplit_once('/').expect("PostgreSQL URL has a database");
                format!("{base}/{name}")
            }
        }
    }
}

/// One Keywarden instance under test.
#[derive(Clone)]
pub struct TestApp {
    /// The database this instance serves.
    pub url: String,
    pub state: AppState,
    pub verifier: std::sync::Arc<server::verify::Verifier>,
    gateway: VerifierSettings,
    router: Router,
}

/// How the instances under test verify: the test tokens and routes.
pub fn test_gateway() -> VerifierSettings {
    VerifierSettings {
        service_tokens: server::verify::service::ServiceTokens::parse(&format!(
            "production:{PRODUCTION_VERIFIER},staging:{STAGING_VERIFIER}"
        ))
        .expect("test tokens"),
        routes: server::verify::authorize::Routes::parse(TEST_ROUTES).expect("routes"),
        ..Default::default()
    }
}

impl TestApp {
    /// An empty, migrated instance.
    pub async fn empty(engine: &Engine) -> TestApp {
        Self::with_settings(engine, Settings::default()).await
    }

    pub async fn with_settings(engine: &Engine, settings: Settings) -> TestApp {
        let url = engine.fresh_database().await;
        Self::on(url, settings, test_gateway()).await
    }

    /// Another instance on this one's database (as behind a load balancer).
    pub async fn another_instance(&self) -> TestApp {
        Self::on(self.url.clone(), (*self.state.settings).clone(), self.gateway.clone()).await
    }

    /// An instance on the database at `url`, set up as `keywarden` starts one
    /// (migrations, and on PostgreSQL the key-change listener).
    async fn on(url: String, settings: Settings, gateway: VerifierSettings) -> TestApp {
        // Warnings and errors (a 500's cause) go to the test's captured
        // output, shown when it fails.
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_test_writer()
            .try_init();
        let pool = db::connect(&url).await.expect("connect");
        db::migrate(&pool).await.expect("migrate");
        let options = LeptosOptions::builder()
            .output_name("keywarden")
            .site_root(std::env::temp_dir().to_string_lossy().to_string())
            .build();
        let state = AppState::new(options, pool, settings);
        let (state, built) = server::startup::with_verifier(state, gateway.clone());
        let verifier = built.verifier.clone();
        // On a SQLite file the request log has its own connection, the path
        // every test on SQLite means to cover.
        assert_eq!(verifier.writes_log_to_file(), url.starts_with("sqlite:"), "{url}");
        if server::verify::propagate::needed(&url) {
            server::verify::propagate::spawn(
                url.clone(),
                verifier.cache.clone(),
                state.instance.clone(),
            )
            .await;
            server::verify::rate_sync::spawn(verifier.clone());
        }
        let router = server::startup::router(state.clone(), built);
        TestApp { url, state, verifier, gateway, router }
    }

    /// An instance with the demo org `acme` and one user per role.
    pub async fn demo(engine: &Engine) -> TestApp {
        Self::demo_with(engine, Settings::default()).await
    }

    /// The demo instance with other settings.
    pub async fn demo_with(engine: &Engine, settings: Settings) -> TestApp {
        Self::demo_behind(engine, settings, test_gateway()).await
    }

    /// The demo instance with other verification settings (a proxy, a
    /// metrics token…).
    pub async fn demo_behind(
        engine: &Engine,
        settings: Settings,
        gateway: VerifierSettings,
    ) -> TestApp {
        let url = engine.fresh_database().await;
        let app = Self::on(url, settings, gateway).await;
        server::demo::seed(&app.state.db, DEMO_PASSWORD, &Default::default(), &Default::default())
            .await
            .expect("seed");
        app
    }

    /// Another organisation `slug` with its own owner (`owner`, signing in
    /// with `password`), for cross-org checks; returns the owner's id.
    pub async fn add_org(&self, slug: &str, name: &str, owner: &str, password: &str) -> String {
        use app::backend::platform::found;
        use app::domain::Founding;
        let org =
            app::domain::NewOwnedOrg::parse(name, slug, owner, password).expect("a valid org");
        found(&self.state, org, Founding::SignUp, None).await.expect("found the org").0
    }

    /// Sends one request as-is from `ip`. A request that is not answered,
    /// body and all, within [`REQUEST_LIMIT`] fails the test by its name.
    pub async fn send(&self, mut req: Request<Body>, ip: [u8; 4]) -> Reply {
        let what = format!("{} {}", req.method(), req.uri());
        req.extensions_mut().insert(ConnectInfo(SocketAddr::from((ip, 40000))));
        let answer = async {
            let res = self.router.clone().oneshot(req).await.expect("router is infallible");
            let status = res.status();
            let headers = res.headers().clone();
            let bytes = res.into_body().collect().await.expect("body").to_bytes();
            Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
        };
        match tokio::time::timeout(REQUEST_LIMIT, answer).await {
            Ok(reply) => reply,
            Err(_) => panic!("{what} was not answered within {REQUEST_LIMIT:?}"),
        }
    }

    /// An API request as a platform's backend sends it: a bearer `token`
    /// and a JSON `body`, both optional, to the host `keys.example`.
    pub async fn bearer(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Reply {
        let mut req =
            Request::builder().method(method).uri(path).header(header::HOST, "keys.example");
        if let Some(token) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).unwrap(), [192, 0, 2, 10]).await
    }

    /// A browser-like client with no session, from 127.0.0.1.
    pub fn client(&self) -> Client {
        Client { app: self.clone(), cookie: None, pending: None, ip: [127, 0, 0, 1] }
    }

    /// A client signed in as `email` with the demo password.
    pub async fn signed_in(&self, email: &str) -> Client {
        let mut client = self.client();
        let reply = client.sign_in(email, DEMO_PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "sign-in as {email}: {}", reply.body);
        client
    }

    /// The id of the user with `email`.
    pub async fn user_id(&self, email: &str) -> String {
        let (id,): (String,) = sqlx::query_as("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&self.state.db)
            .await
            .expect("user exists");
        id
    }

    /// The rows `sql` reads, its `$1…` bound to `binds`.
    pub async fn rows<T>(&self, sql: &str, binds: &[&str]) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let mut query = sqlx::query_as::<_, T>(sql);
        for value in binds {
            query = query.bind(*value);
        }
        query.fetch_all(&self.state.db).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The one row `sql` reads, its `$1…` bound to `binds`.
    pub async fn row<T>(&self, sql: &str, binds: &[&str]) -> T
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let mut rows = self.rows(sql, binds).await;
        assert_eq!(rows.len(), 1, "{sql}: one row");
        rows.remove(0)
    }

    /// Audit actions recorded for the org `slug`, oldest first.
    pub async fn audit_actions(&self, slug: &str) -> Vec<String> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT a.action FROM audit_log a JOIN orgs o ON o.id = a.org_id \
             WHERE o.slug = $1 ORDER BY a.at_ms, a.id",
        )
        .bind(slug)
        .fetch_all(&self.state.db)
        .await
        .expect("audit rows");
        rows.into_iter().map(|(a,)| a).collect()
    }
}

/// The longest one request may take in a test (under load, a slow one
/// takes a few seconds).
pub const REQUEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(90);

/// The longest any one test may take: a test that hangs (a lock never
/// released, a full disk) fails with its name instead of stalling the run.
pub const TEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(240);

/// Runs a test body, failing it if it outlasts [`TEST_LIMIT`].
pub async fn within_limit(test: impl std::future::Future<Output = ()>) {
    if tokio::time::timeout(TEST_LIMIT, test).await.is_err() {
        panic!("the test did not finish within {TEST_LIMIT:?}");
    }
}

/// Starts `n` tasks at once (task `i` is `task(i)`), for races, and
/// answers what each returned, in order.
pub async fn concurrently<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let running: Vec<_> = (0..n).map(|i| tokio::spawn(task(i))).collect();
    let mut answers = Vec::with_capacity(n);
    for task in running {
        answers.push(task.await.expect("the task finishes"));
    }
    answers
}

/// Declares each listed `async fn name(engine: Engine)` as a test on
/// PostgreSQL only (`postgres::name`), for what only several instances on
/// one database show; skipped without a test PostgreSQL.
#[macro_export]
macro_rules! on_postgres {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(engine) = $crate::common::Engine::postgres() {
                        $crate::common::within_limit(super::$name(engine)).await
                    }
                }
            )*
        }
    };
}

/// Declares each listed `async fn name(engine: Engine)` as two tests, one on
/// SQLite (`sqlite::name`) and one on PostgreSQL (`postgres::name`).
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::common::within_limit(super::$name($crate::common::Engine::Sqlite)).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(engine) = $crate::common::Engine::postgres() {
                        $crate::common::within_limit(super::$name(engine)).await
                    }
                }
            )*
        }
    };
}

/// Everything logged (at every level) while the returned guard lives, for
/// tests that prove no secret reaches a log line.
pub fn capture_log() -> (LogSink, tracing::subscriber::DefaultGuard) {
    let sink = LogSink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    (sink, tracing::subscriber::set_default(subscriber))
}

/// The captured log.
#[derive(Clone, Default)]
pub struct LogSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogSink {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
