//! Helpers shared by the integration test binaries (each binary uses a subset).
#![allow(dead_code)]

pub mod binary;
pub mod metrics;
pub mod postgres;
pub mod queue;
pub mod rows;
pub mod sandbox;
pub mod server;
pub mod signers;
pub mod upstream;
