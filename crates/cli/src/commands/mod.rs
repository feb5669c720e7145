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

/// A JSON file's object with the fields the flags set merged in, object by object (the flags
/// win where both set a value; `--async` does not drop the file's other `settings`).
pub fn with_file(body: Value, file: Option<&std::path::Path>) -> Result<Value, CliError> {
    let Some(file) = file else { return Ok(body) };
    let text =
        std::fs::read_to_string(file).map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))?;
    let mut merged: Value =
        serde_json::from_str(&text).map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", file.display())))?;
    if !merged.is_object() {
        return Err(CliError::Usage(format!("{} must hold a JSON object", file.display())));
    }
    merge(&mut merged, body);
    Ok(merged)
}

/// `over` into `base`: objects key by key, anything else replaced.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base, over) => *base = over,
    }
}

/// Everything but RFC 3986's unreserved characters.
const RESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Text as one URL path segment: a name, key or id typed by a person may hold `/`, `?`, `#`
/// or `..`, none of which may change which path is called.
pub fn segment(text: &str) -> String {
    let encoded = percent_encoding::utf8_percent_encode(text, RESERVED).to_string();
    // `.` and `..` are path steps even unencoded; as segments they are only ever names.
    match encoded.as_str() {
        "." => "%2E".to_owned(),
        ".." => "%2E%2E".to_owned(),
        _ => encoded,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn segments_cannot_leave_their_place() {
        assert_eq!(segment("a/b c?d#e"), "a%2Fb%20c%3Fd%23e");
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("stripe-key.v2_x~"), "stripe-key.v2_x~");
    }

    #[test]
    fn flags_merge_into_the_file_object_by_object() {
        let mut file = json!({ "settings": { "maxBodyBytes": 1024, "responseMode": "sync" }, "name": "a" });
        merge(&mut file, json!({ "settings": { "responseMode": "async" } }));
        assert_eq!(file, json!({ "settings": { "maxBodyBytes": 1024, "responseMode": "async" }, "name": "a" }));
    }
}
