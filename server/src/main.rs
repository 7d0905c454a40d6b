use clap::Parser;
use server::config::{Cli, Command, Config, LogFormat};
use server::startup;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(&cli) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("keywarden: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The platform commands print their answer and nothing else.
    match cli.command.clone() {
        Some(Command::Org(command)) => return server::cli::org(&config, command).await,
        Some(Command::Admin(command)) => return server::cli::admin(&config, command).await,
        _ => {}
    }
    init_tracing(config.log_format);
    let result = match cli.command.clone().unwrap_or(Command::Serve) {
        Command::Migrate => migrate(&config).await,
        _ => startup::run(config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "keywarden stopped");
            eprintln!("keywarden: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(config: &Config) -> Result<(), startup::StartupError> {
    let pool = app::backend::db::connect(&config.database_url).await?;
    app::backend::db::migrate(&pool).await?;
    println!("migrations applied");
    Ok(())
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
