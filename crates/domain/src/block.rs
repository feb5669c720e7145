//! What identifies and shapes a block version: its content address and how it is called.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The sha256 of a block version's wasm bytes: its identity in caches and artifacts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockDigest([u8; 32]);

impl BlockDigest {
    /// Hashes wasm bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }
}

impl fmt::Display for BlockDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for BlockDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockDigest({self})")
    }
}

impl FromStr for BlockDigest {
    type Err = hex::FromHexError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes)?;
        Ok(Self(bytes))
    }
}

impl Serialize for BlockDigest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BlockDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How a block is called.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockShape {
    /// The `wasmhook:block` world: `run() -> result<string, failure>`.
    Block,
    /// A plain `wasi:cli/command`: exit code 0 = success, stdout = output.
    Command,
}

impl BlockShape {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Command => "command",
        }
    }

    /// The shape named `text`, as [`BlockShape::as_str`] writes it.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "block" => Some(Self::Block),
            "command" => Some(Self::Command),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_hex() {
        let digest = BlockDigest::of(b"wasm");
        let parsed: BlockDigest = digest.to_string().parse().expect("hex");
        assert_eq!(parsed, digest);
        assert_eq!(digest.to_string().len(), 64);
        let json = serde_json::to_string(&digest).expect("json");
        assert_eq!(json, format!("\"{digest}\""));
        assert_eq!(serde_json::from_str::<BlockDigest>(&json).expect("parses"), digest);
    }

    #[test]
    fn shapes_round_trip_by_name() {
        for shape in [BlockShape::Block, BlockShape::Command] {
            assert_eq!(BlockShape::parse(shape.as_str()), Some(shape));
            assert_eq!(serde_json::to_value(shape).expect("json"), shape.as_str());
        }
    }
}
