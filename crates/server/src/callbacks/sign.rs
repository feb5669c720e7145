//! Standard Webhooks signing (<https://www.standardwebhooks.com/>): a `whsec_` secret of 32
//! random bytes, and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore;
use zeroize::Zeroizing;

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";
const SECRET_BYTES: usize = 32;

/// A new secret, `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; SECRET_BYTES]);
    rand::rng().fill_bytes(bytes.as_mut());
    Zeroizing::new(format!("{SECRET_PREFIX}{}", BASE64.encode(bytes.as_ref())))
}

/// The first characters of a secret, shown to tell secrets apart.
pub fn hint(secret: &str) -> String {
    secret.chars().take(SECRET_PREFIX.len() + 4).collect::<String>() + "…"
}

/// The `webhook-signature` value of a message signed with `secret` (as `new_secret` made it).
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = Zeroizing::new(BASE64.decode(encoded).map_err(|e| format!("the callback secret is not base64: {e}"))?);
    let timestamp = timestamp.to_string();
    let mac = crate::signatures::hmac_sha256(&key, &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body]);
    Ok(format!("v1,{}", BASE64.encode(mac)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn matches_the_specification_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let got = signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).expect("signs");
        assert_eq!(got, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_are_new_each_time_and_decode_to_32_bytes() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(*a, *b);
        let decoded = BASE64.decode(a.strip_prefix(SECRET_PREFIX).expect("prefix")).expect("base64");
        assert_eq!(decoded.len(), SECRET_BYTES);
        assert!(hint(&a).starts_with("whsec_") && hint(&a).len() < a.len());
    }
}
