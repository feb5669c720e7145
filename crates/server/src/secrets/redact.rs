//! Replaces the values of a run's secrets with `[secret:NAME]` in everything the run produced
//! (logs, output, error, outbound record) before it is stored or returned: a block that logs or
//! echoes a token does not publish it.

use std::borrow::Cow;

use zeroize::Zeroizing;

use wasmhook_sandbox::Outcome;

/// The secrets one run was given, by name.
#[derive(Default)]
pub struct Redactor {
    /// (name, value, value as it appears inside a JSON string), longest value first so a
    /// secret containing another is replaced whole.
    entries: Vec<(String, Zeroizing<String>, Zeroizing<String>)>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|(name, ..)| name.as_str()).collect();
        f.debug_struct("Redactor").field("secrets", &names).finish()
    }
}

impl Redactor {
    /// Adds a secret.
    pub fn add(&mut self, name: &str, value: &str) {
        if value.is_empty() || self.entries.iter().any(|(n, ..)| n == name) {
            return;
        }
        let quoted = serde_json::to_string(value).unwrap_or_default();
        let escaped = quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default().to_owned();
        self.entries.push((name.to_owned(), Zeroizing::new(value.to_owned()), Zeroizing::new(escaped)));
        self.entries.sort_by_key(|(_, value, _)| std::cmp::Reverse(value.len()));
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `text` with every secret value replaced.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.replace(text, |(_, value, _)| value)
    }

    /// JSON `text` with every secret replaced inside its strings (as JSON escapes it); the
    /// marker needs no escaping, so the result is still JSON.
    pub fn json<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.replace(text, |(_, _, escaped)| escaped)
    }

    fn replace<'a>(
        &self,
        text: &'a str,
        form: impl Fn(&(String, Zeroizing<String>, Zeroizing<String>)) -> &Zeroizing<String>,
    ) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for entry in &self.entries {
            let needle = form(entry);
            if !needle.is_empty() && out.contains(needle.as_str()) {
                out = Cow::Owned(out.replace(needle.as_str(), &format!("[secret:{}]", entry.0)));
            }
        }
        out
    }

    /// Redacts everything a run produced.
    pub fn outcome(&self, outcome: &mut Outcome) {
        if self.is_empty() {
            return;
        }
        let own = |cow: Cow<'_, str>| cow.into_owned();
        match &mut outcome.result {
            Ok(output) => *output = own(self.json(output)),
            Err(failure) => {
                failure.message = own(self.text(&failure.message));
                if let Some(code) = &mut failure.code {
                    *code = own(self.text(code));
                }
            }
        }
        for line in &mut outcome.logs.lines {
            line.message = own(self.text(&line.message));
        }
        for call in &mut outcome.outbound {
            call.url = own(self.text(&call.url));
            if let Some(error) = &mut call.error {
                *error = own(self.text(error));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_replaced_in_text_and_inside_json_strings() {
        let mut redactor = Redactor::default();
        redactor.add("stripe", "sk_live_\"quoted\"");
        redactor.add("short", "sk_live");
        assert_eq!(redactor.text("key=sk_live_\"quoted\" and sk_live"), "key=[secret:stripe] and [secret:short]");
        let json = serde_json::json!({ "echo": "Bearer sk_live_\"quoted\"" }).to_string();
        let redacted = redactor.json(&json);
        assert_eq!(redacted, r#"{"echo":"Bearer [secret:stripe]"}"#);
        assert!(serde_json::from_str::<serde_json::Value>(&redacted).is_ok());
    }
}
