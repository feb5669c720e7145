//! Run-scoped API keys: every run gets `WASMHOOK_API_KEY`, a key of its block's team that may
//! execute blocks and docs and use key-value state, and that lives exactly as long as the run.
//! Keys exist only in this process's memory (as SHA-256 hashes): never stored, never logged,
//! and gone with the run (or the process).

use std::collections::HashMap;
use std::sync::Arc;
use wasmhook_domain::ids::{ExecutionId, TeamId};

use parking_lot::Mutex;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The prefix that tells a run key from a stored API key.
pub const RUN_KEY_PREFIX: &str = "whrun_";

/// Whose a run key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunKeyOwner {
    /// The run's team.
    pub team_id: TeamId,
    /// The run.
    pub execution_id: ExecutionId,
}

/// The run keys alive now, by the hash of their text.
#[derive(Debug, Default)]
pub struct RunKeys {
    live: Mutex<HashMap<[u8; 32], RunKeyOwner>>,
}

/// A live run key: its text (for the run's env) and the registration that ends when dropped.
#[derive(Debug)]
pub struct RunKey {
    text: Zeroizing<String>,
    hash: [u8; 32],
    keys: Arc<RunKeys>,
}

impl RunKey {
    /// The key's text.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl Drop for RunKey {
    fn drop(&mut self) {
        self.keys.live.lock().remove(&self.hash);
    }
}

fn hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

impl RunKeys {
    /// A new key for a run; valid until the returned [`RunKey`] is dropped.
    pub fn issue(self: &Arc<Self>, owner: RunKeyOwner) -> RunKey {
        let mut secret = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(secret.as_mut());
        let text = Zeroizing::new(format!("{RUN_KEY_PREFIX}{}", hex::encode(secret.as_ref())));
        let hash = hash(&text);
        self.live.lock().insert(hash, owner);
        RunKey { text, hash, keys: Arc::clone(self) }
    }

    /// The owner of a live key. The lookup is by SHA-256 of the text, so its timing says
    /// nothing about the text itself.
    pub fn owner(&self, text: &str) -> Option<RunKeyOwner> {
        self.live.lock().get(&hash(text)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_key_is_valid_exactly_while_it_is_held() {
        let keys = Arc::new(RunKeys::default());
        let owner = RunKeyOwner { team_id: TeamId::new_v4(), execution_id: ExecutionId::new_v4() };
        let key = keys.issue(owner);
        let text = key.text().to_owned();
        assert!(text.starts_with(RUN_KEY_PREFIX) && text.len() == RUN_KEY_PREFIX.len() + 64);
        assert_eq!(keys.owner(&text), Some(owner));
        assert_eq!(keys.owner(&format!("{text}0")), None);
        drop(key);
        assert_eq!(keys.owner(&text), None);
    }
}
