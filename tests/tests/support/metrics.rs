//! Reading `GET /metrics` (OpenMetrics text) in tests.

use reqwest::StatusCode;

/// The text of `GET {base}/metrics`, with `token` as a bearer token if given.
pub async fn scrape(client: &reqwest::Client, base: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut request = client.get(format!("{base}/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("scrape sent");
    (response.status(), response.text().await.expect("scrape body"))
}

/// The value of the sample `series` (`name` or `name{labels}`, labels in the order the server
/// writes them), if the text has it.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.split(' ').next()?.parse().ok()
    })
}

/// [`sample`], or 0 when the series was never created (a label set not yet seen).
pub fn count(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or(0.0)
}
