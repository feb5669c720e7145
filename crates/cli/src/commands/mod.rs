//! One module per resource. Each subcommand is one API operation (named in its doc by the
//! `operationId` of `openapi.json`), or a few for conveniences such as `blocks rollback`.

pub mod blocks;
pub mod docs;
pub mod events;
pub mod executions;
pub mod keys;
pub mod kv;
pub mod secrets;
pub mod webhooks;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::CliError;

/// `KEY=VALUE` pairs as a JSON object of strings.
pub fn pairs(items: &[String], what: &str) -> Result<Value, CliError> {
    let mut map = BTreeMap::new();
    for item in items {
        let (key, value) =
            item.split_once('=').ok_or_else(|| CliError::Usage(format!("{what} {item:?} must be KEY=VALUE")))?;
        map.insert(key.to_owned(), Value::String(value.to_owned()));
    }
    Ok(serde_json::to_value(map).unwrap_or(Value::Null))
}

/// A JSON file's object, merged under the fields the flags set (the flags win).
pub fn with_file(mut body: Value, file: Option<&std::path::Path>) -> Result<Value, CliError> {
    let Some(file) = file else { return Ok(body) };
    let text =
        std::fs::read_to_string(file).map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))?;
    let Value::Object(mut from_file) =
        serde_json::from_str(&text).map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", file.display())))?
    else {
        return Err(CliError::Usage(format!("{} must hold a JSON object", file.display())));
    };
    if let Value::Object(flags) = &mut body {
        from_file.append(flags);
    }
    Ok(Value::Object(from_file))
}

/// Text as one URL path segment: unreserved characters as they are, every other byte
/// percent-encoded (a key-value key may hold `/`, `?` or spaces).
pub fn segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A value given inline, from a file, or (neither) from stdin.
pub fn value_bytes(inline: Option<&str>, file: Option<&std::path::Path>) -> Result<Vec<u8>, CliError> {
    match (inline, file) {
        (Some(text), None) => Ok(text.as_bytes().to_vec()),
        (None, Some(file)) => {
            std::fs::read(file).map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))
        }
        (None, None) => {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                .map_err(|e| CliError::Usage(format!("cannot read stdin: {e}")))?;
            Ok(bytes)
        }
        (Some(_), Some(_)) => Err(CliError::Usage("give the value inline or as a file, not both".into())),
    }
}
