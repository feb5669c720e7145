//! Encryption at rest of what the server must read back (secret values, webhook signing
//! secrets): XChaCha20-Poly1305 under the master key, a random 192-bit nonce per value, and the
//! value's place (team and name) as associated data, so a sealed value copied to another row or
//! team does not open.
//!
//! Sealed text: `v1:{key id}:{base64(nonce ‖ ciphertext ‖ tag)}`. The key id (the first 8 hex
//! digits of the key's SHA-256) says which master key sealed it, so a rotation can tell the
//! values still under the previous key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use wasmhook_domain::ids::TeamId;
use zeroize::Zeroizing;

const FORMAT: &str = "v1";

/// A value did not seal or open (wrong key, moved from its row, tampered, not sealed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret encryption: {0}")]
pub struct SealError(String);

/// The context a team secret is sealed in: the value opens only in its own row.
pub fn secret_context(team_id: TeamId, name: &str) -> String {
    format!("secret:{team_id}:{name}")
}

/// The context a webhook's signature check (with its signing secrets) is sealed in: its team's
/// (not its id, which changes when the URL is regenerated).
pub fn signature_context(team_id: TeamId) -> String {
    format!("webhook-signature:{team_id}")
}

/// The context a callback's secret is sealed in: its team's (not its target's: a trigger
/// webhook's id changes when its URL is regenerated, and its callback moves with it).
pub fn callback_context(team_id: TeamId) -> String {
    format!("callback:{team_id}")
}
const NONCE_BYTES: usize = 24;

/// One 256-bit master key and its id.
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
    id: String,
    /// The key itself, kept only to derive purpose-bound subkeys ([`Sealer::derive_key`]).
    bytes: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl MasterKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let id = hex::encode(&Sha256::digest(bytes)[..4]);
        Self { cipher: XChaCha20Poly1305::new(bytes.into()), id, bytes: Zeroizing::new(*bytes) }
    }

    /// The key's id, as written in the values it seals.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Seals under the current master key; opens under it or the previous one (during a rotation).
#[derive(Debug)]
pub struct Sealer {
    current: MasterKey,
    previous: Option<MasterKey>,
}

impl Sealer {
    /// A sealer over `current`, also opening values sealed under `previous`.
    pub fn new(current: MasterKey, previous: Option<MasterKey>) -> Self {
        Self { current, previous }
    }

    /// A 256-bit key for one `purpose` (e.g. signing dashboard sessions), derived from the
    /// current master key with HMAC-SHA256: every node sharing the master key derives the same
    /// one, a key for one purpose says nothing of another's, and rotating the master key
    /// changes them all.
    pub fn derive_key(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        use hmac::Mac as _;
        let mut mac = <hmac::Hmac<Sha256> as hmac::Mac>::new_from_slice(self.current.bytes.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(b"wasmhook/derive/v1/");
        mac.update(purpose.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().into())
    }

    /// Seals `plaintext`, bound to `context` (e.g. `secret:{team}:{name}`).
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .current
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .map_err(|_| SealError("sealing failed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{FORMAT}:{}:{}", self.current.id, BASE64.encode(bytes)))
    }

    /// Opens a value sealed by [`Sealer::seal`] with the same `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(FORMAT), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SealError("not a sealed value".into()));
        };
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|key| key.id == key_id)
            .ok_or_else(|| {
                SealError(format!(
                    "sealed under master key {key_id}, which this server does not have (set it as \
                     WASMHOOK_MASTER_KEY_PREVIOUS to rotate)"
                ))
            })?;
        let bytes = BASE64.decode(body).map_err(|_| SealError("sealed value is not base64".into()))?;
        if bytes.len() < NONCE_BYTES {
            return Err(SealError("sealed value is truncated".into()));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let plain = key
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| SealError("a sealed value does not open: tampered, or moved from its row".into()))?;
        Ok(Zeroizing::new(plain))
    }

    /// How every value sealed under the current key begins (`v1:{key id}:`), so the store can
    /// pick out the values a rotation must reseal without reading the others.
    pub fn current_prefix(&self) -> String {
        format!("{FORMAT}:{}:", self.current.id)
    }

    /// Whether `sealed` was sealed under the current key (else a rotation should reseal it).
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed.starts_with(&self.current_prefix())
    }
}

/// A sealer under a fixed key, for tests of what is stored sealed.
#[cfg(test)]
pub(crate) fn test_sealer() -> std::sync::Arc<Sealer> {
    std::sync::Arc::new(Sealer::new(MasterKey::from_bytes(&[7; 32]), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_bytes(&[byte; 32])
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_context_and_under_its_key() {
        let sealer = Sealer::new(key(1), None);
        let sealed = sealer.seal("secret:team-a:stripe", b"sk_live_123").expect("seal");
        assert!(!sealed.contains("sk_live"));
        assert_eq!(&*sealer.open("secret:team-a:stripe", &sealed).expect("open"), b"sk_live_123");
        assert!(sealer.open("secret:team-b:stripe", &sealed).is_err(), "another team's row");
        assert!(Sealer::new(key(2), None).open("secret:team-a:stripe", &sealed).is_err(), "another key");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(sealer.open("secret:team-a:stripe", &tampered).is_err());
        assert_ne!(sealed, sealer.seal("secret:team-a:stripe", b"sk_live_123").expect("seal"), "fresh nonce");
    }

    #[test]
    fn a_rotation_opens_old_values_and_seals_new_ones_under_the_new_key() {
        let old = Sealer::new(key(1), None);
        let sealed = old.seal("c", b"v").expect("seal");
        let rotating = Sealer::new(key(2), Some(key(1)));
        assert!(!rotating.is_current(&sealed));
        assert_eq!(&*rotating.open("c", &sealed).expect("open"), b"v");
        let resealed = rotating.seal("c", b"v").expect("seal");
        assert!(rotating.is_current(&resealed));
        assert!(Sealer::new(key(2), None).open("c", &resealed).is_ok());
    }
}
