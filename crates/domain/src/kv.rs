//! Key-value state as blocks and the store share it.

/// A value with the version a compare-and-swap compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The bytes.
    pub value: Vec<u8>,
    /// Changes with every write.
    pub version: i64,
}
