//! The ceiling of the benchmark suite: the same HTTP stack as wasmhook (axum on tokio, HTTP/1)
//! answering `POST /echo` with the request body as JSON, and nothing else.
//!
//! `axum-echo 127.0.0.1:18700`

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;

async fn echo(body: Bytes) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], body)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18700".into());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    axum::serve(listener, Router::new().route("/echo", post(echo))).await?;
    Ok(())
}
