//! What a command prints: the server's JSON as is with `--json` (pretty, one document), else a
//! table of the columns that matter for a person (each a JSON pointer into a row).

use serde_json::Value;

/// A column: its header and the JSON pointer of its value in a row (`/delivery/status`).
pub type Column = (&'static str, &'static str);

/// How to print.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// The server's JSON instead of tables.
    pub json: bool,
}

impl Output {
    /// A list as a table (one row per element), or the JSON.
    pub fn list(&self, value: &Value, columns: &[Column]) {
        if self.json {
            return print_json(value);
        }
        let rows: Vec<Vec<String>> = value
            .as_array()
            .map(|items| {
                items.iter().map(|item| columns.iter().map(|(_, at)| cell(item.pointer(at))).collect()).collect()
            })
            .unwrap_or_default();
        print!("{}", table(columns, &rows));
    }

    /// One object as `name: value` lines of `columns`, or the JSON.
    pub fn item(&self, value: &Value, columns: &[Column]) {
        if self.json {
            return print_json(value);
        }
        let width = columns.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
        for (name, at) in columns {
            println!("{name:<width$}  {}", cell(value.pointer(at)));
        }
    }

    /// A command with nothing to show: `message` (or `{}` as JSON, so scripts can parse it).
    pub fn done(&self, value: &Value, message: &str) {
        if self.json {
            let empty = Value::Object(serde_json::Map::new());
            return print_json(if value.is_null() { &empty } else { value });
        }
        println!("{message}");
    }
}

fn print_json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()));
}

/// A value as one table cell: text as is, `-` for nothing, JSON for the rest (cut at 60).
pub fn cell(value: Option<&Value>) -> String {
    let text = match value {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    let text = text.replace(['\n', '\t'], " ");
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// Left-aligned columns two spaces apart, with a header line.
pub fn table(columns: &[Column], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = columns.iter().map(|(name, _)| name.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(columns.iter().map(|(name, _)| *name).collect());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_and_cells_stay_on_one_line() {
        let rows = vec![vec!["a".to_owned(), cell(Some(&json!("x\ny")))], vec!["longer".to_owned(), cell(None)]];
        assert_eq!(table(&[("ID", "/id"), ("NAME", "/name")], &rows), "ID      NAME\na       x y\nlonger  -\n");
        assert_eq!(cell(Some(&json!("é".repeat(61)))).chars().count(), 61, "cut at 60, plus the ellipsis");
    }
}
