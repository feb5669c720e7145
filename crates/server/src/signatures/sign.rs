//! Signing as the senders do it: the mirror of [`super::schemes`], for `wasmhook dev`, which
//! fires sample events at a webhook that checks signatures. Tested by verifying what it signs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{Scheme, SignatureConfig, mac, schemes};

/// Why a request cannot be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The config lists no secret.
    #[error("the signature config has no secret")]
    NoSecret,
    /// A Standard Webhooks secret that is not base64.
    #[error("the Standard Webhooks secret is not base64 (after `whsec_`)")]
    BadSecret,
    /// The generic HMAC scheme is the receiver's own description of a sender; sign such
    /// requests as that sender does.
    #[error("signing for the `hmac` scheme is left to its sender")]
    Unsupported,
}

/// The headers that sign `body` under the config's first secret, at `now` (unix seconds), as
/// message `id` (Standard Webhooks' `webhook-id`).
pub fn sign(config: &SignatureConfig, body: &[u8], now: i64, id: &str) -> Result<Vec<(String, String)>, SignError> {
    let secret = config.secrets.first().ok_or(SignError::NoSecret)?;
    let ts = now.to_string();
    let headers = match config.scheme {
        Scheme::StandardWebhooks => {
            let key = schemes::standard_key(secret).map_err(|_| SignError::BadSecret)?;
            let signature = BASE64.encode(mac::sha256(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]));
            vec![
                ("webhook-id".to_owned(), id.to_owned()),
                ("webhook-timestamp".to_owned(), ts),
                ("webhook-signature".to_owned(), format!("v1,{signature}")),
            ]
        }
        Scheme::Stripe => {
            let signature = hex::encode(mac::sha256(secret.as_bytes(), &[ts.as_bytes(), b".", body]));
            vec![("stripe-signature".to_owned(), format!("t={ts},v1={signature}"))]
        }
        Scheme::Github => {
            let signature = hex::encode(mac::sha256(secret.as_bytes(), &[body]));
            vec![
                ("x-hub-signature-256".to_owned(), format!("sha256={signature}")),
                ("x-github-delivery".to_owned(), id.to_owned()),
            ]
        }
        Scheme::Slack => {
            let signature = hex::encode(mac::sha256(secret.as_bytes(), &[b"v0:", ts.as_bytes(), b":", body]));
            vec![
                ("x-slack-request-timestamp".to_owned(), ts),
                ("x-slack-signature".to_owned(), format!("v0={signature}")),
            ]
        }
        Scheme::Hmac => return Err(SignError::Unsupported),
    };
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderName, HeaderValue};

    use super::*;
    use crate::signatures::SignatureCheck;

    #[test]
    fn what_is_signed_verifies_under_each_scheme() {
        let body = br#"{"id":"evt_1","type":"invoice.paid"}"#;
        for (scheme, secret) in [
            (Scheme::StandardWebhooks, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            (Scheme::Stripe, "whsec_test_secret_0123456789"),
            (Scheme::Github, "It's a Secret to Everybody"),
            (Scheme::Slack, "8f742231b10e8888abcd99yyyzzz85a5"),
        ] {
            let config =
                SignatureConfig { scheme, secrets: vec![secret.to_owned()], tolerance_seconds: 300, hmac: None };
            let signed = sign(&config, body, 1_700_000_000, "msg_1").expect("signs");
            let headers: HeaderMap = signed
                .iter()
                .map(|(k, v)| {
                    (HeaderName::try_from(k.as_str()).expect("name"), HeaderValue::from_str(v).expect("value"))
                })
                .collect();
            assert!(config.verify(&headers, body, 1_700_000_010).is_ok(), "{scheme:?}");
            assert!(config.verify(&headers, b"tampered", 1_700_000_010).is_err(), "{scheme:?}");
        }
        let hmac =
            SignatureConfig { scheme: Scheme::Hmac, secrets: vec!["s".repeat(16)], tolerance_seconds: 300, hmac: None };
        assert_eq!(sign(&hmac, b"", 0, "m"), Err(SignError::Unsupported));
    }
}
