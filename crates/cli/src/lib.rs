//! The `wasmhook` client: every admin action of the API as a subcommand, talking to a server
//! by URL and key. Human tables by default, `--json` everywhere, and exit codes scripts can
//! rely on ([`ExitCode`]). Each subcommand is one API operation (or a few), named after the
//! `operationId`s of `openapi.json`; a test checks every path the client calls is there.

pub mod commands;
pub mod connection;
pub mod http;
pub mod output;

use clap::{Args, Subcommand};

pub use connection::Connection;
pub use http::{ApiClient, CliError};
pub use reqwest::Method;

/// How a command ended, for scripts: `0` done, `1` anything else, `2` bad usage (clap),
/// `3` not found, `4` not allowed (401/403), `5` refused as invalid or conflicting (400, 409,
/// 413, 415, 422), `6` the server failed or is busy (5xx, 429), `7` no connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Done.
    Ok = 0,
    /// Any other failure (a bad profile file, a file that cannot be read).
    Failure = 1,
    /// 404.
    NotFound = 3,
    /// 401 or 403.
    Denied = 4,
    /// 400, 409, 413, 415, 422.
    Invalid = 5,
    /// 5xx or 429.
    Unavailable = 6,
    /// The server could not be reached.
    Unreachable = 7,
}

/// Where the server is and how to talk to it; every client subcommand takes these.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The server's base URL (also WASMHOOK_URL, or the profile's `url`).
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// An API key (also WASMHOOK_KEY, or the profile's `key`).
    #[arg(long, global = true)]
    pub key: Option<String>,
    /// A profile of ~/.config/wasmhook/profiles.toml (also WASMHOOK_PROFILE; default `default`).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Print the server's JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The client's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Blocks: create, list, show, deploy a component, versions, activate, roll back.
    #[command(subcommand)]
    Blocks(commands::blocks::Blocks),
    /// Docs: create, list, show, archive.
    #[command(subcommand)]
    Docs(commands::docs::Docs),
    /// Trigger webhooks: create, list, show, arm, enable, disable, rotate, signature, delete.
    #[command(subcommand)]
    Webhooks(commands::webhooks::Webhooks),
    /// Executions: list, show, logs, replay; `--follow` tails new ones.
    #[command(subcommand)]
    Executions(commands::executions::Executions),
    /// API keys: create, list, revoke.
    #[command(subcommand)]
    Keys(commands::keys::Keys),
    /// Teams (the operator team's admins): create.
    #[command(subcommand)]
    Teams(commands::keys::Teams),
    /// Team secrets: set, list, show, delete (values are write-only).
    #[command(subcommand)]
    Secrets(commands::secrets::Secrets),
    /// Key-value state: buckets, keys, get, put, delete.
    #[command(subcommand)]
    Kv(commands::kv::Kv),
    /// Sample events: capture real deliveries as files for `wasmhook dev` and tests.
    #[command(subcommand)]
    Events(commands::events::Events),
}

/// Makes ring the process's TLS crypto provider. Call it first thing in `main`: the HTTP
/// clients of the process (this client's, and the OTLP exporter's in `serve`) are built with
/// rustls and no provider of their own, and building one without a provider panics.
pub fn install_crypto_provider() {
    // An error means one is installed already: fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Runs one client command; prints its result to stdout and returns the exit code.
pub fn run(global: &Global, command: Command) -> ExitCode {
    install_crypto_provider();
    let result = Connection::resolve(global).and_then(|connection| {
        let client = ApiClient::new(connection)?;
        let out = output::Output { json: global.json };
        match command {
            Command::Blocks(c) => c.run(&client, out),
            Command::Docs(c) => c.run(&client, out),
            Command::Webhooks(c) => c.run(&client, out),
            Command::Executions(c) => c.run(&client, out),
            Command::Keys(c) => c.run(&client, out),
            Command::Teams(c) => c.run(&client, out),
            Command::Secrets(c) => c.run(&client, out),
            Command::Kv(c) => c.run(&client, out),
            Command::Events(c) => c.run(&client, out),
        }
    });
    match result {
        Ok(()) => ExitCode::Ok,
        Err(error) => {
            eprintln!("error: {error}");
            error.exit_code()
        }
    }
}
