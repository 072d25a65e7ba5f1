//! The `orator` binary: reads the configuration, connects the parts, and runs the API, the
//! worker, or both. Composition only; behaviour lives in the library crates.

use std::io::Read;
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use orator_api::AppState;
use orator_config::{Config, LogFormat};
use orator_domain::{DbPool, accounts, db};
use orator_fetch::{FetchPolicy, Fetcher};
use orator_kv::Kv;
use orator_mail::Mailer;
use orator_speech::Speech;
use orator_storage::Stores;
use orator_worker::WorkerContext;
use tracing_subscriber::EnvFilter;

/// Turns documents into listenable audio.
#[derive(Debug, Parser)]
#[command(name = "orator", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves the HTTP API.
    Serve(RunArgs),
    /// Runs the job worker.
    Work(RunArgs),
    /// Runs the API and the worker in one process (for local use).
    All(RunArgs),
    /// Applies pending database migrations and exits.
    Migrate,
    /// Prints the OpenAPI document to standard output, as JSON or with `--yaml` as YAML.
    Openapi {
        /// Print YAML instead of JSON.
        #[arg(long)]
        yaml: bool,
    },
    /// Prints every setting with its default and meaning, as a Markdown table.
    Settings,
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Do not apply pending migrations at start.
    #[arg(long)]
    no_migrate: bool,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Creates a staff user; the password is read from standard input.
    Create {
        /// The staff member's email address.
        #[arg(long)]
        email: String,
        /// Read the password from standard input (required: never pass it as an argument).
        #[arg(long)]
        password_stdin: bool,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Openapi { yaml } => {
            if yaml {
                print!("{}", orator_api::openapi::document_yaml());
            } else {
                print!("{}", orator_api::openapi::document_json());
            }
            return ExitCode::SUCCESS;
        }
        Command::Settings => {
            println!("| Variable | Default | Meaning |\n|---|---|---|");
            for setting in Config::documentation() {
                println!("{setting}");
            }
            return ExitCode::SUCCESS;
        }
        _ => {}
    }

    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("orator: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    init_logging(config.log_format);

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build();
    let outcome = match runtime {
        Ok(runtime) => runtime.block_on(run(cli.command, Arc::new(config))),
        Err(err) => Err(err.into()),
    };

    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "orator stopped");
            eprintln!("orator: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("ORATOR_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn,apalis=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);

    match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).init(),
        LogFormat::Text => builder.init(),
    }
}

async fn run(command: Command, config: Arc<Config>) -> anyhow::Result<()> {
    match command {
        Command::Migrate => migrate(&config).await,
        Command::Serve(args) => {
            prepare(&config, &args).await?;
            let stores = stores(&config).await?;
            let speech = speech(&config).await?;
            serve(config, stores, speech).await
        }
        Command::Work(args) => {
            prepare(&config, &args).await?;
            let stores = stores(&config).await?;
            let speech = speech(&config).await?;
            work(config, stores, speech, wait_for_shutdown()).await
        }
        Command::All(args) => {
            prepare(&config, &args).await?;
            let stores = stores(&config).await?;
            let speech = speech(&config).await?;
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let worker_stop = async move {
                let mut stop_rx = stop_rx;
                let _ = stop_rx.wait_for(|stopped| *stopped).await;
            };
            let worker =
                tokio::spawn(work(config.clone(), stores.clone(), speech.clone(), worker_stop));
            let served = serve(config, stores, speech).await;
            let _ = stop_tx.send(true);
            let worked = worker.await.context("worker task")?;
            served.and(worked)
        }
        Command::Admin { command: AdminCommand::Create { email, password_stdin, name } } => {
            create_staff(&config, &email, password_stdin, name.as_deref()).await
        }
        Command::Openapi { .. } | Command::Settings => Ok(()),
    }
}

async fn prepare(config: &Config, args: &RunArgs) -> anyhow::Result<()> {
    if args.no_migrate {
        return Ok(());
    }
    migrate(config).await
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let url = config.database_url.expose();
    db::ensure_database(url).await.context("creating the database")?;

    let applied = db::run_migrations(url).await.context("applying migrations")?;

    tracing::info!(migrations.applied = applied, "database is up to date");
    Ok(())
}

fn pool(config: &Config) -> anyhow::Result<DbPool> {
    let timeout = Config::millis(config.database_acquire_timeout_ms);
    Ok(db::pool(config.database_url.expose(), config.database_pool_size, timeout)?)
}

fn mailer(config: &Config) -> anyhow::Result<Mailer> {
    let mailer = match &config.smtp_url {
        Some(url) => Mailer::smtp(url.expose(), &config.mail_from),
        None => Mailer::spool(config.mail_dir(), &config.mail_from),
    };
    mailer.context("setting up mail (ORATOR_SMTP_URL / ORATOR_MAIL_FROM)")
}

async fn stores(config: &Config) -> anyhow::Result<Stores> {
    let stores = Stores::from_config(config).await.context("setting up storage")?;
    Ok(stores)
}

/// The speech engine; Polly is only built (and AWS only contacted) when it is chosen.
async fn speech(config: &Config) -> anyhow::Result<Arc<Speech>> {
    let speech = Speech::from_config(config)
        .await
        .context("setting up speech (ORATOR_SPEECH_ENGINE, AWS_REGION, AWS keys)")?;
    if !speech.available().await {
        tracing::warn!(
            engine = speech.name(),
            "speech engine not available; audio requests get 503"
        );
    }
    tracing::info!(engine = speech.name(), "speech engine ready");

    Ok(Arc::new(speech))
}

fn fetch_policy(config: &Config) -> anyhow::Result<FetchPolicy> {
    FetchPolicy::from_config(config).context("ORATOR_URL_ALLOW must list host:port entries")
}

/// Serves until SIGTERM or Ctrl-C (actix-web listens for both itself).
async fn serve(config: Arc<Config>, stores: Stores, speech: Arc<Speech>) -> anyhow::Result<()> {
    fetch_policy(&config)?;
    let kv = Kv::new(
        config.redis_url.expose(),
        &config.queue_prefix,
        Config::millis(config.redis_timeout_ms),
    )
    .context("REDIS_URL")?;
    let state = AppState::new(config.clone(), pool(&config)?, kv, stores, mailer(&config)?, speech);
    let listener = TcpListener::bind(config.listen)
        .with_context(|| format!("binding ORATOR_LISTEN={}", config.listen))?;
    tracing::info!(listen = %config.listen, "serving the API");

    orator_api::serve(state, listener).await.context("HTTP server")
}

async fn work(
    config: Arc<Config>,
    stores: Stores,
    speech: Arc<Speech>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let kv = Kv::new(
        config.redis_url.expose(),
        &config.queue_prefix,
        Config::millis(config.redis_timeout_ms),
    )
    .context("REDIS_URL")?;
    let ctx = WorkerContext::new(
        pool(&config)?,
        config.clone(),
        stores.storage,
        Fetcher::new(fetch_policy(&config)?),
        speech,
        kv,
    );
    tracing::info!(concurrency = config.worker_concurrency, "running the job worker");

    orator_worker::run(ctx, shutdown).await.context("job worker")
}

/// Resolves on SIGTERM or Ctrl-C.
async fn wait_for_shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

async fn create_staff(
    config: &Config,
    email: &str,
    password_stdin: bool,
    name: Option<&str>,
) -> anyhow::Result<()> {
    if !password_stdin {
        bail!("pass --password-stdin and write the password to standard input");
    }
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password).context("reading the password")?;
    let password = password.trim_end_matches(['\r', '\n']);

    migrate(config).await?;
    let pool = pool(config)?;
    let mut conn = db::conn(&pool).await?;
    let settings = accounts::AccountSettings::from_config(config);
    let outcome = accounts::register(&mut conn, &settings, email, password, name, true).await;

    match outcome {
        Ok((user, _)) => {
            println!("created staff user {}", user.id);
            Ok(())
        }
        Err(accounts::AccountError::EmailTaken) => bail!("an account with this email exists"),
        Err(accounts::AccountError::WeakPassword(weakness)) => {
            bail!("password refused: {weakness:?}")
        }
        Err(err) => Err(err.into()),
    }
}
