//! Invalidations that come from elsewhere: another node's write to a shared database
//! (PostgreSQL announces every change to a cached row on its `wasmhook_cache` channel), or the
//! loss of that feed, after which nothing cached can be trusted.

use std::str::FromStr;

use wasmhook_domain::ids::{BlockId, DocId, UserId, WebhookId};

use super::CachedDatabase;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidation {
    /// A block's row (its settings or its active version).
    Block(BlockId),
    /// A doc or its datasets.
    Doc(DocId),
    /// A trigger webhook (its state, secret, settings, signature, arm, or its removal).
    Webhook(WebhookId),
    /// A user's keys (a revocation).
    KeysOf(UserId),
    /// Anything: the feed was interrupted, so changes may have been missed.
    All,
}

impl FromStr for Invalidation {
    type Err = String;

    /// Reads a notification's payload: `b <uuid>`, `d <uuid>`, `w <uuid>`, `k <uuid>` or `*`.
    fn from_str(payload: &str) -> Result<Self, Self::Err> {
        if payload == "*" {
            return Ok(Self::All);
        }
        let (kind, id) = payload.split_once(' ').ok_or_else(|| format!("no id in {payload:?}"))?;
        let id = uuid::Uuid::parse_str(id).map_err(|e| format!("{payload:?}: {e}"))?;
        match kind {
            "b" => Ok(Self::Block(id.into())),
            "d" => Ok(Self::Doc(id.into())),
            "w" => Ok(Self::Webhook(id.into())),
            "k" => Ok(Self::KeysOf(id.into())),
            other => Err(format!("unknown kind {other:?} in {payload:?}")),
        }
    }
}

impl CachedDatabase {
    /// Drops what `what` names (everything for [`Invalidation::All`]); the next read loads it
    /// again. A fill racing this loses, as it does to a local write.
    pub fn invalidate(&self, what: Invalidation) {
        match what {
            Invalidation::Block(id) => self.blocks.forget(id),
            Invalidation::Doc(id) => self.docs.forget(id),
            Invalidation::Webhook(id) => self.webhooks.forget(id),
            Invalidation::KeysOf(user) => self.tenancy.forget(user),
            Invalidation::All => {
                self.blocks.forget_all();
                self.docs.forget_all();
                self.webhooks.forget_all();
                self.tenancy.forget_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_and_bad_ones_are_named() {
        let id = uuid::Uuid::new_v4();
        assert_eq!(format!("b {id}").parse(), Ok(Invalidation::Block(id.into())));
        assert_eq!(format!("k {id}").parse(), Ok(Invalidation::KeysOf(id.into())));
        assert_eq!("*".parse(), Ok(Invalidation::All));
        assert!("x 1".parse::<Invalidation>().is_err());
        assert!(format!("z {id}").parse::<Invalidation>().expect_err("refused").contains("unknown kind"));
    }
}
