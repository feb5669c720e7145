//! The `wasmhook` command: `serve`, admin tasks that work on the data dir directly, and the
//! client (`blocks`, `docs`, `webhooks`, `executions`, `keys`, `teams`, `secrets`, `kv`) that
//! talks to a server by URL and key (the `wasmhook-cli` crate).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use wasmhook_server::auth::issue;
use wasmhook_server::config::{Config, Flags};
use wasmhook_server::telemetry::traces;

mod dev;
use wasmhook_store::repo::TeamRef;
use wasmhook_store::tenancy::KeyScope;

/// mimalloc instead of glibc malloc: in the v4 and accept profiles glibc's `malloc`/`free`
/// (with `unlink_chunk` and `malloc_consolidate`) took ≈ 9% of the core.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "wasmhook", version, about = "Turn webhooks into sandboxed WebAssembly runs")]
struct Cli {
    /// TOML config file (also WASMHOOK_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory: SQLite file and compiled artifacts (also WASMHOOK_DATA_DIR).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    client: wasmhook_cli::Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (also WASMHOOK_LISTEN).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Administrative tasks on the data dir.
    Admin {
        #[command(subcommand)]
        task: AdminTask,
    },
    /// The block author's loop: build the project, deploy it, fire a sample event, print the
    /// run; again on every source change. Embeds a server unless one is named.
    Dev(dev::DevArgs),
    /// Print shell completions (`wasmhook completions bash > /etc/bash_completion.d/wasmhook`).
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    #[command(flatten)]
    Client(wasmhook_cli::Command),
}

#[derive(Subcommand)]
enum AdminTask {
    /// Create an API key for a new user of a team (default: the operator team). Prints it once.
    CreateKey {
        /// `admin` or `execute`.
        #[arg(long, default_value = "admin")]
        scope: String,
        /// Team id (default: the operator team created at first start).
        #[arg(long)]
        team: Option<wasmhook_domain::TeamId>,
        /// Name of the new user.
        #[arg(long, default_value = "cli")]
        user_name: String,
    },
}

fn main() -> anyhow::Result<()> {
    wasmhook_cli::install_crypto_provider();
    let cli = Cli::parse();
    match cli.command {
        // The client is blocking HTTP: no runtime, no tracing subscriber.
        Command::Client(command) => std::process::exit(wasmhook_cli::run(&cli.client, command) as i32),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "wasmhook", &mut std::io::stdout());
            return Ok(());
        }
        Command::Dev(args) => return dev_main(&cli.client, &args),
        Command::Serve { .. } | Command::Admin { .. } => {}
    }
    // Before the runtime: the OTLP exporter's blocking HTTP client must not be built on it.
    // Dropped after the runtime has stopped, flushing the last spans.
    let _tracing = traces::init().context("cannot start tracing")?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let listen = match &cli.command {
        Command::Serve { listen } => listen.clone(),
        _ => None,
    };
    let flags = Flags { config_file: cli.config, listen, data_dir: cli.data_dir };
    let config = Config::load(&flags, std::env::vars()).context("invalid configuration")?;
    match cli.command {
        Command::Serve { .. } => serve(config).await,
        Command::Admin { task: AdminTask::CreateKey { scope, team, user_name } } => {
            create_key(&config, &scope, team, &user_name).await
        }
        Command::Completions { .. } | Command::Client(_) | Command::Dev(_) => Ok(()),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    wasmhook_server::serve::raise_open_file_limit();
    let (state, bootstrap) = wasmhook_server::AppState::open(config).await.context("cannot start")?;
    if let Some(key) = bootstrap {
        // Printed once to stdout, never logged: the store keeps only its hash.
        println!("Created the first admin API key (shown once, keep it safe):\n{}", key.0);
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, "wasmhook listening");
    wasmhook_server::run(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn create_key(
    config: &Config,
    scope: &str,
    team: Option<wasmhook_domain::TeamId>,
    user_name: &str,
) -> anyhow::Result<()> {
    let scope = match scope {
        "admin" => KeyScope::Admin,
        "execute" => KeyScope::Execute,
        other => anyhow::bail!("--scope must be admin or execute, not {other:?}"),
    };
    let sealer = wasmhook_server::state::open_sealer(config).context("cannot open the master key")?;
    let backend =
        wasmhook_server::state::Backend::open(config, Arc::new(sealer)).await.context("cannot open the store")?;
    let store = backend.shared();
    let user_name = user_name.to_owned();
    let team = team.map_or(TeamRef::Operator, TeamRef::Id);
    let (user, text) = issue::new_user_key(&user_name, scope, Some("cli"));
    store.tenancy().create_user(team, user).await?;
    println!("{text}");
    Ok(())
}

/// `wasmhook dev`: against the named server, or an embedded one on a temporary data dir
/// (removed when the loop ends; a Ctrl-C ends the process, and the directory stays in the
/// system's temp dir). Exits non-zero when the last cycle failed.
fn dev_main(client: &wasmhook_cli::Global, args: &dev::DevArgs) -> anyhow::Result<()> {
    let ok = if dev::names_a_server(client) {
        dev::run(args, wasmhook_cli::Connection::resolve(client)?)?
    } else {
        let _tracing = traces::init().context("cannot start tracing")?;
        // A fresh directory of its own (not a name another process could have made first).
        let data_dir = tempfile::Builder::new().prefix("wasmhook-dev-").tempdir()?;
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let (connection, stop, server) = runtime.block_on(dev::embedded(data_dir.path()))?;
        // The loop's HTTP client is blocking: it runs here, off the runtime's threads.
        let ok = dev::run(args, connection);
        let _ = stop.send(());
        let _ = runtime.block_on(server);
        drop(data_dir);
        ok?
    };
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
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
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
