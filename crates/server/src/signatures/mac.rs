//! HMAC computation and constant-time comparison, over content given in pieces so that a
//! multi-megabyte body is never copied to be prefixed.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The MAC of the concatenated `parts` under `key`.
fn mac<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else { return Vec::new() };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// HMAC-SHA256 of the concatenated `parts`.
pub(super) fn sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    mac::<Hmac<Sha256>>(key, parts)
}

/// HMAC-SHA1 of the concatenated `parts` (legacy senders).
pub(super) fn sha1(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    mac::<Hmac<Sha1>>(key, parts)
}

/// Whether any of `candidates` equals any of `expected`; every pair is compared, in
/// constant time per comparison.
pub(super) fn any_matches(expected: &[Vec<u8>], candidates: &[Vec<u8>]) -> bool {
    let mut found = subtle::Choice::from(0);
    for want in expected {
        for got in candidates.iter().filter(|got| !got.is_empty()) {
            found |= want.as_slice().ct_eq(got.as_slice());
        }
    }
    bool::from(found)
}
