//! Which server, with which key: `--url`/`--key`, else `WASMHOOK_URL`/`WASMHOOK_KEY`, else the
//! profile (`--profile`, `WASMHOOK_PROFILE`, or `default`) in `profiles.toml` under
//! `$XDG_CONFIG_HOME/wasmhook/` (or `~/.config/wasmhook/`):
//!
//! ```toml
//! [default]
//! url = "http://127.0.0.1:8080"
//! key = "3b046163-…"
//!
//! [prod]
//! url = "https://hooks.example.com"
//! key = "…"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::{CliError, Global};

/// The default server when nothing names one: what `wasmhook serve` listens on.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// A server and a key.
#[derive(Clone)]
pub struct Connection {
    /// Base URL, no trailing slash.
    pub url: String,
    /// The API key, if any was given (health and the OpenAPI document need none).
    pub key: Option<String>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.url)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    url: Option<String>,
    key: Option<String>,
}

/// Where profiles are read from.
pub fn profiles_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("wasmhook").join("profiles.toml"))
}

impl Connection {
    /// Resolves the connection from flags, environment and profile, in that order.
    pub fn resolve(global: &Global) -> Result<Self, CliError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let named = global.profile.clone().or_else(|| env("WASMHOOK_PROFILE"));
        let profile = load_profile(named.as_deref())?;
        let url = global
            .url
            .clone()
            .or_else(|| env("WASMHOOK_URL"))
            .or(profile.url)
            .unwrap_or_else(|| DEFAULT_URL.to_owned());
        let key = global.key.clone().or_else(|| env("WASMHOOK_KEY")).or(profile.key);
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(CliError::Usage(format!("the server URL {url:?} must start with http:// or https://")));
        }
        Ok(Self { url: url.trim_end_matches('/').to_owned(), key })
    }
}

/// The named profile (`default` when none is named). A named profile must exist; `default`
/// may be absent, as may the file.
fn load_profile(named: Option<&str>) -> Result<Profile, CliError> {
    let Some(path) = profiles_path() else { return Ok(Profile::default()) };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && named.is_none() => return Ok(Profile::default()),
        Err(error) => return Err(CliError::Profile(format!("cannot read {}: {error}", path.display()))),
    };
    let mut profiles: BTreeMap<String, Profile> =
        // The message only: the error's own display quotes the line, which may be a `key = "…"`.
        toml::from_str(&text).map_err(|e| CliError::Profile(format!("{}: {}", path.display(), e.message())))?;
    let name = named.unwrap_or("default");
    match profiles.remove(name) {
        Some(profile) => Ok(profile),
        None if named.is_none() => Ok(Profile::default()),
        None => Err(CliError::Profile(format!("no profile [{name}] in {}", path.display()))),
    }
}
