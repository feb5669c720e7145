//! Keeping sealed values under the current master key.

use async_trait::async_trait;
use zeroize::Zeroizing;

use crate::sealing::{callback_context, secret_context, signature_context};
use crate::{Store, StoreError, callbacks, secrets, webhooks};

/// Sealed values as a whole.
#[async_trait]
pub trait SealingRepo: Send + Sync {
    /// Reseals under the current master key every value still sealed under another (a
    /// rotation), and seals signature checks stored in plain text by earlier versions; how many
    /// it changed. A value that opens under neither key is an error (`Invalid`): going on would
    /// lose it silently.
    async fn reseal_all(&self) -> Result<usize, StoreError>;
}

#[async_trait]
impl SealingRepo for Store {
    async fn reseal_all(&self) -> Result<usize, StoreError> {
        let sealer = self.sealer().clone();
        self.write(move |conn| {
            let current = sealer.current_prefix();
            let mut count = 0usize;
            for (team, name, sealed) in secrets::sealed_elsewhere(conn, &current)? {
                let context = secret_context(team, &name);
                let reseal = sealer.open(&context, &sealed).and_then(|plain| sealer.seal(&context, &plain));
                let resealed =
                    reseal.map_err(|e| StoreError::Invalid(format!("secret {name:?} of team {team}: {e}")))?;
                secrets::reseal(conn, team, &name, &resealed)?;
                count += 1;
            }
            for (webhook, team, stored) in webhooks::signatures_sealed_elsewhere(conn, &current)? {
                let context = signature_context(team);
                // Checks stored before signing secrets were sealed are plain JSON: seal them.
                let plain = if stored.starts_with('{') {
                    Zeroizing::new(stored.into_bytes())
                } else {
                    sealer
                        .open(&context, &stored)
                        .map_err(|e| StoreError::Invalid(format!("the signature check of webhook {webhook}: {e}")))?
                };
                let sealed = sealer.seal(&context, &plain).map_err(|e| StoreError::Invalid(e.to_string()))?;
                webhooks::reseal_signature(conn, webhook, &sealed)?;
                count += 1;
            }
            for (team, target, sealed) in callbacks::sealed_elsewhere(conn, &current)? {
                let context = callback_context(team);
                let reseal = sealer.open(&context, &sealed).and_then(|plain| sealer.seal(&context, &plain));
                let resealed =
                    reseal.map_err(|e| StoreError::Invalid(format!("the callback secret of {target}: {e}")))?;
                callbacks::reseal(conn, target, &resealed)?;
                count += 1;
            }
            Ok(count)
        })
        .await
    }
}
