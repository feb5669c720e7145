//! The code behind `#[block]`: what happens between the host's `run` call and yours.

use serde::Serialize;

use crate::__private::Failure;
use crate::__private::bindings::wasmhook::block::logging::Level;
use crate::{Context, Error, logger};

/// Error code when the block's `Ok` value cannot be serialized to JSON.
const INVALID_OUTPUT: &str = "invalid_output";

/// Runs a block function and maps its result onto the WIT `run` result.
///
/// Panics cannot be caught on `wasm32` (panic = abort), so a hook sends the panic message to
/// the host log first; the host then reports the trap as kind `panic` with that message.
pub fn run_block<T, E, F>(block: F) -> Result<String, Failure>
where
    T: Serialize,
    E: Into<Error>,
    F: FnOnce(Context) -> Result<T, E>,
{
    logger::install();
    std::panic::set_hook(Box::new(|info| {
        // `PanicHookInfo` displays as "panicked at <file:line:col>:\n<message>".
        logger::emit(Level::Error, &info.to_string());
    }));
    match block(Context::new()) {
        Ok(value) => serde_json::to_string(&value).map_err(|e| Failure {
            message: format!("the block's output is not serializable to JSON: {e}"),
            code: Some(INVALID_OUTPUT.to_owned()),
        }),
        Err(error) => {
            let (message, code) = error.into().into_parts();
            Err(Failure { message, code })
        }
    }
}
