//! Where the master key comes from: `WASMHOOK_MASTER_KEY` (32 bytes, base64 or hex), else a key
//! file in the data directory, created on first start with mode `0600`.
//!
//! Rotation: start with the new key as `WASMHOOK_MASTER_KEY` and the old one as
//! `WASMHOOK_MASTER_KEY_PREVIOUS`; at boot every value still sealed under the old key is
//! resealed under the new one (see `AppState::open`), after which the old key can go.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore;
use zeroize::Zeroizing;

use super::MasterKey;
use super::SecretsError;

/// Key text from the configuration: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyText(Zeroizing<String>);

impl KeyText {
    /// Wraps configured key text.
    pub fn new(text: impl Into<String>) -> Self {
        Self(Zeroizing::new(text.into()))
    }

    /// The text, for the one place that uses it (never to print).
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for KeyText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyText(<redacted>)")
    }
}

/// Parses 32 key bytes written as base64 (44 characters) or hex (64).
pub fn parse(text: &KeyText, what: &str) -> Result<MasterKey, SecretsError> {
    let text = text.0.trim();
    let bytes = Zeroizing::new(if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|_| SecretsError::BadKey(format!("{what} is not hex")))?
    } else {
        BASE64.decode(text).map_err(|_| SecretsError::BadKey(format!("{what} is neither base64 nor hex")))?
    });
    let bytes: &[u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| SecretsError::BadKey(format!("{what} must be 32 bytes (it has {})", bytes.len())))?;
    Ok(MasterKey::from_bytes(bytes))
}

/// The key in `path`, created (32 random bytes, base64, mode `0600`) when there is none.
pub fn load_or_create(path: &Path) -> Result<MasterKey, SecretsError> {
    let io = |source| SecretsError::KeyFile { path: path.to_path_buf(), source };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "the master key file is readable by others: chmod 600 it");
            }
            parse(&KeyText::new(text), &format!("the key in {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = Zeroizing::new([0u8; 32]);
            rand::rng().fill_bytes(bytes.as_mut());
            let text = Zeroizing::new(BASE64.encode(bytes.as_ref()));
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let mut file =
                std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io)?;
            file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(io)?;
            tracing::info!(path = %path.display(), "created the master key: back it up, secrets cannot be read without it");
            Ok(MasterKey::from_bytes(&bytes))
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_file_is_private_and_reloads_to_the_same_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let created = load_or_create(&path).expect("create");
        assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
        assert_eq!(load_or_create(&path).expect("reload").id(), created.id());
    }

    #[test]
    fn configured_keys_are_32_bytes_of_base64_or_hex() {
        assert!(parse(&KeyText::new("ab".repeat(32)), "k").is_ok());
        assert!(parse(&KeyText::new(BASE64.encode([7u8; 32])), "k").is_ok());
        assert!(parse(&KeyText::new(BASE64.encode([7u8; 16])), "k").is_err());
        assert!(parse(&KeyText::new("not a key"), "k").is_err());
        assert_eq!(format!("{:?}", KeyText::new("secret")), "KeyText(<redacted>)");
    }
}
