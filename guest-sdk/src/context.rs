use serde::de::DeserializeOwned;

use crate::Error;

/// Everything the host handed to this run: the delivery's data file and the environment.
///
/// Built by the `#[block]` entry point; a block receives it by value.
#[derive(Debug)]
pub struct Context {
    _private: (),
}

/// Error code of a failure caused by missing or malformed webhook data.
pub const INVALID_DATA: &str = "invalid_data";

impl Context {
    pub(crate) fn new() -> Self {
        Self { _private: () }
    }

    /// Reads `WEBHOOK_DATA_FILE` and deserializes it into `T`.
    ///
    /// Fails with code `invalid_data` and a message naming the problem (the path, or serde's
    /// line/column and the field) so the caller of the webhook can fix the payload.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let bytes = self.data_bytes()?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::with_code(INVALID_DATA, format!("webhook data does not match the expected shape: {e}")))
    }

    /// The raw bytes of the data file, for blocks that parse it themselves (or stream it).
    pub fn data_bytes(&self) -> Result<Vec<u8>, Error> {
        let path = self
            .env("WEBHOOK_DATA_FILE")
            .ok_or_else(|| Error::with_code(INVALID_DATA, "WEBHOOK_DATA_FILE is not set"))?;
        std::fs::read(&path)
            .map_err(|e| Error::with_code(INVALID_DATA, format!("cannot read webhook data file {path}: {e}")))
    }

    /// One environment variable of this run (block config, webhook-provided, or system).
    pub fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    /// This run's execution id (`EXECUTION_ID`), the one the webhook caller sees.
    pub fn execution_id(&self) -> Option<String> {
        self.env("EXECUTION_ID")
    }

    /// The dataset key when the block runs as part of a doc (`DATASET_KEY`).
    pub fn dataset_key(&self) -> Option<String> {
        self.env("DATASET_KEY")
    }

    /// The id of the block being run (`BLOCK_ID`).
    pub fn block_id(&self) -> Option<String> {
        self.env("BLOCK_ID")
    }
}
