//! API keys: `{user_id}-{secret}`, split at the last `-` (the user id is a hyphenated UUID).
//!
//! The secret is 40 random alphanumeric characters (≈ 238 bits), so a single SHA-256 is the
//! right hash: it is not a password, there is nothing to brute-force, and verification stays
//! in the microseconds. Comparison is constant-time and does not stop at the first match.

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wasmhook_domain::ids::UserId;

use wasmhook_store::tenancy::ApiKeyRecord;

const SECRET_LEN: usize = 40;
/// Shortest secret accepted when parsing (the format promises 32+ characters).
const MIN_SECRET_LEN: usize = 32;

/// A new key: the text is shown once and never stored.
#[derive(Debug)]
pub struct GeneratedKey {
    /// `{user_id}-{secret}`: give this to the user, once.
    pub text: String,
    /// SHA-256 of the secret: what the store keeps.
    pub hash: [u8; 32],
    /// Last 4 characters, to tell keys apart in listings.
    pub hint: String,
}

/// Mints a key for `user_id`.
pub fn generate(user_id: UserId) -> GeneratedKey {
    let secret: String = rand::rng().sample_iter(&Alphanumeric).take(SECRET_LEN).map(char::from).collect();
    GeneratedKey {
        hash: hash_secret(&secret),
        hint: secret[SECRET_LEN - 4..].to_owned(),
        text: format!("{user_id}-{secret}"),
    }
}

/// SHA-256 of a secret.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A syntactically valid key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedKey<'a> {
    /// The user the key claims to belong to.
    pub user_id: UserId,
    /// The secret part.
    pub secret: &'a str,
}

/// Splits `{user_id}-{secret}` at the last `-`; `None` when the text cannot be a key.
pub fn parse(text: &str) -> Option<ParsedKey<'_>> {
    let (user, secret) = text.rsplit_once('-')?;
    let user_id: UserId = user.parse().ok()?;
    let well_formed = secret.len() >= MIN_SECRET_LEN && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    well_formed.then_some(ParsedKey { user_id, secret })
}

/// The candidate whose stored hash matches `hash` (of the presented secret), comparing against
/// every candidate in constant time per comparison.
pub fn verify<'k>(candidates: &'k [ApiKeyRecord], hash: &[u8; 32]) -> Option<&'k ApiKeyRecord> {
    let mut found = None;
    for key in candidates {
        if bool::from(key.secret_hash.as_slice().ct_eq(hash.as_slice())) {
            found = Some(key);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmhook_domain::ids::{KeyId, TeamId};
    use wasmhook_store::tenancy::KeyScope;

    fn record(hash: [u8; 32]) -> ApiKeyRecord {
        ApiKeyRecord {
            id: KeyId::new_v4(),
            user_id: UserId::new_v4(),
            team_id: TeamId::new_v4(),
            scope: KeyScope::Execute,
            label: None,
            hint: String::new(),
            created_at: 0,
            revoked_at: None,
            secret_hash: hash.to_vec(),
            sessions_after: None,
        }
    }

    #[test]
    fn generated_keys_parse_back_to_their_user_and_verify() {
        let user = UserId::new_v4();
        let key = generate(user);
        let parsed = parse(&key.text).expect("parses");
        assert_eq!(parsed.user_id, user);
        assert!(!parsed.secret.contains('-'));
        let records = [record([0; 32]), record(key.hash)];
        assert_eq!(verify(&records, &hash_secret(parsed.secret)).map(|r| r.id), Some(records[1].id));
        assert!(verify(&records, &hash_secret(&"x".repeat(40))).is_none());
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        let user = UserId::new_v4();
        assert!(parse("no-dashes-but-not-a-uuid").is_none());
        assert!(parse(&format!("{user}-short")).is_none());
        assert!(parse(&format!("{user}")).is_none());
        assert!(parse(&format!("{user}-{}!", "a".repeat(40))).is_none());
    }
}
