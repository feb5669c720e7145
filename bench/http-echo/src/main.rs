//! Echoes a POST body back as JSON: the `wasmtime serve` counterpart of the `echo` block
//! (one fresh instance per request, as `wasmtime serve` runs it).

use wstd::http::body::IncomingBody;
use wstd::http::server::{Finished, Responder};
use wstd::http::{HeaderValue, IntoBody, Request, Response};
use wstd::io::AsyncRead;

#[wstd::http_server]
async fn main(request: Request<IncomingBody>, responder: Responder) -> Finished {
    let mut bytes = Vec::new();
    let status = match request.into_body().read_to_end(&mut bytes).await {
        Ok(_) => 200,
        Err(_) => 400,
    };
    let mut response = Response::new(bytes.into_body());
    *response.status_mut() = wstd::http::StatusCode::from_u16(status).unwrap_or_default();
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    responder.respond(response).await
}
