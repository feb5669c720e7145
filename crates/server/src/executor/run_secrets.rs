//! The secrets one run uses: read sealed from the store, opened, and turned into env values,
//! injected headers and the redactor of the run's outcome. Nothing here is stored or logged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::{ExecError, Executor};
use crate::secrets::{Redactor, secret_context};
use wasmhook_sandbox::{InjectedHeader, NetworkPolicy};
use wasmhook_store::block_settings::{EnvValue, NetworkSettings, SECRET_PLACEHOLDER};
use wasmhook_store::blocks::Block;

/// The opened values of the secrets a run's block references, by name.
#[derive(Default)]
pub(crate) struct RunSecrets {
    values: BTreeMap<String, Zeroizing<String>>,
}

impl std::fmt::Debug for RunSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunSecrets").field("names", &self.values.keys().collect::<Vec<_>>()).finish()
    }
}

impl RunSecrets {
    fn value(&self, name: &str) -> Result<&str, ExecError> {
        self.values.get(name).map(|v| v.as_str()).ok_or_else(|| ExecError::MissingSecret(name.to_owned()))
    }

    /// The block's env with every secret reference resolved.
    pub(crate) fn env(&self, block: &Block) -> Result<BTreeMap<String, String>, ExecError> {
        block
            .env
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    EnvValue::Text(text) => text.clone(),
                    EnvValue::Secret(reference) => self.value(&reference.secret)?.to_owned(),
                };
                Ok((name.clone(), value))
            })
            .collect()
    }

    /// The run's network policy: `None` (deny all, the sandbox's default limits) for a block
    /// that allows no host, so the common case builds nothing.
    pub(crate) fn network_policy(&self, settings: &NetworkSettings) -> Result<Option<Arc<NetworkPolicy>>, ExecError> {
        if settings.allowed_hosts.is_empty() && settings.credentials.is_empty() {
            return Ok(None);
        }
        let injected = settings
            .credentials
            .iter()
            .map(|credential| {
                let value = credential.inject.value.replace(SECRET_PLACEHOLDER, self.value(&credential.secret)?);
                let invalid = |what: &str| {
                    ExecError::InvalidCredential(format!(
                        "credential {:?}: {what} is not a valid HTTP header {what}",
                        credential.secret
                    ))
                };
                let mut value = http::HeaderValue::try_from(value).map_err(|_| invalid("value"))?;
                value.set_sensitive(true);
                Ok(InjectedHeader {
                    host: credential.inject.host.clone(),
                    name: http::HeaderName::try_from(credential.inject.header.as_str()).map_err(|_| invalid("name"))?,
                    value,
                })
            })
            .collect::<Result<_, ExecError>>()?;
        let defaults = NetworkPolicy::default();
        Ok(Some(Arc::new(NetworkPolicy {
            allowed_hosts: settings.allowed_hosts.clone(),
            injected,
            max_requests: settings.max_requests.unwrap_or(defaults.max_requests),
            max_request_bytes: settings.max_request_bytes.unwrap_or(defaults.max_request_bytes),
            max_response_bytes: settings.max_response_bytes.unwrap_or(defaults.max_response_bytes),
            connect_timeout: settings.connect_timeout_ms.map_or(defaults.connect_timeout, Duration::from_millis),
        })))
    }

    /// Replaces every value in what the run produced.
    pub(crate) fn redactor(&self) -> Redactor {
        let mut redactor = Redactor::default();
        for (name, value) in &self.values {
            redactor.add(name, value);
        }
        redactor
    }
}

impl Executor {
    /// Opens the secrets `block` references; a block that references none costs nothing.
    pub(crate) async fn open_secrets(&self, block: &Block) -> Result<RunSecrets, ExecError> {
        let names = block.secret_names();
        if names.is_empty() {
            return Ok(RunSecrets::default());
        }
        let team = block.team_id;
        let wanted: Vec<String> = names.iter().cloned().collect();
        let sealed = self.store.secrets().sealed(team, &wanted).await?;
        let mut values = BTreeMap::new();
        for (name, sealed) in sealed {
            let plain =
                self.sealer.open(&secret_context(team, &name), &sealed).map_err(crate::secrets::SecretsError::from)?;
            let text = std::str::from_utf8(&plain)
                .map_err(|_| ExecError::InvalidCredential(format!("secret {name:?} is not UTF-8")))?;
            values.insert(name, Zeroizing::new(text.to_owned()));
        }
        if let Some(missing) = names.iter().find(|name| !values.contains_key(*name)) {
            return Err(ExecError::MissingSecret(missing.clone()));
        }
        Ok(RunSecrets { values })
    }
}
