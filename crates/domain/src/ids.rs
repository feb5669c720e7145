//! One newtype per kind of id, so a block id cannot be passed where a team id is expected: the
//! compiler refuses `blocks.get(block_id, team_id)`, which a bare `Uuid` let through silently.
//!
//! Each id is a UUID underneath. It serializes as the bare UUID string (`#[serde(transparent)]`),
//! so the JSON the API returns and the rows the store writes are unchanged. Parsing one from
//! text gives [`IdError`], which names the id, for the API's 400 message. With the `postgres`
//! feature each id is also a PostgreSQL `uuid` parameter and column type, so the PostgreSQL
//! store binds and reads typed ids as it does on SQLite.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// A string that is not a UUID where an id of the named kind was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be a UUID, got {raw:?}")]
pub struct IdError {
    /// The id's name as the API spells it (`block_id`, `execution_id`, …).
    pub name: &'static str,
    /// The text that did not parse.
    pub raw: String,
}

/// What every id type shares: its API name and its UUID.
pub trait Id: Copy + Eq + std::hash::Hash + fmt::Display + FromStr<Err = IdError> + From<Uuid> + Into<Uuid> {
    /// The name the API gives this id in paths and messages (`block_id`).
    const NAME: &'static str;
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $api_name:literal) => {
        $(#[$doc])*
        #[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random id (UUID v4).
            pub fn new_v4() -> Self {
                Self(Uuid::new_v4())
            }
            /// A fresh time-ordered id (UUID v7): rows inserted in order stay close in the index.
            pub fn now_v7() -> Self {
                Self(Uuid::now_v7())
            }
            /// The nil id (all zeros): only a placeholder, never stored.
            pub const fn nil() -> Self {
                Self(Uuid::nil())
            }
            /// The UUID underneath.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Id for $name {
            const NAME: &'static str = $api_name;
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(raw: &str) -> Result<Self, IdError> {
                Uuid::parse_str(raw).map(Self).map_err(|_| IdError { name: $api_name, raw: raw.to_owned() })
            }
        }

        #[cfg(feature = "postgres")]
        impl<'a> postgres_types::FromSql<'a> for $name {
            fn from_sql(
                ty: &postgres_types::Type,
                raw: &'a [u8],
            ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                Uuid::from_sql(ty, raw).map(Self)
            }
            postgres_types::accepts!(UUID);
        }

        #[cfg(feature = "postgres")]
        impl postgres_types::ToSql for $name {
            fn to_sql(
                &self,
                ty: &postgres_types::Type,
                out: &mut bytes::BytesMut,
            ) -> Result<postgres_types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
                self.0.to_sql(ty, out)
            }
            postgres_types::accepts!(UUID);
            postgres_types::to_sql_checked!();
        }
    };
}

id_type!(
    /// A team: the unit of tenancy; every other row belongs to one.
    TeamId,
    "team_id"
);
id_type!(
    /// A user of a team (an API key's owner).
    UserId,
    "user_id"
);
id_type!(
    /// An API key (not its secret).
    KeyId,
    "key_id"
);
id_type!(
    /// A block: an uploaded component and its settings.
    BlockId,
    "block_id"
);
id_type!(
    /// A doc: a group of datasets, each backed by a block.
    DocId,
    "doc_id"
);
id_type!(
    /// A trigger webhook.
    WebhookId,
    "webhook_id"
);
id_type!(
    /// One execution (one attempt of one run).
    ExecutionId,
    "execution_id"
);
id_type!(
    /// A bulk replay job.
    ReplayJobId,
    "job_id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_as_bare_uuids() {
        let id = BlockId::now_v7();
        let json = serde_json::to_string(&id).expect("serialize");
        assert_eq!(json, format!("\"{}\"", id.as_uuid()));
        assert_eq!(serde_json::from_str::<BlockId>(&json).expect("deserialize"), id);
        assert_eq!(id.to_string().parse::<BlockId>(), Ok(id));
    }

    #[test]
    fn a_bad_id_names_itself() {
        let err = "nope".parse::<ExecutionId>().expect_err("not a uuid");
        assert_eq!(err.to_string(), "execution_id must be a UUID, got \"nope\"");
    }
}
