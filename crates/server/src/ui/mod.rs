//! The web dashboard at `/ui/`: a small single-page app, embedded in the binary, that talks to
//! the same JSON API as every other client, authenticated by a session cookie instead of a
//! bearer key (README "Dashboard"). So the dashboard can see and change exactly what its
//! key could through the API: the scope and team checks are the API's own.

mod assets;
mod session;

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;

use crate::state::AppState;

/// `/ui`, its files and its sign-in. Not part of the OpenAPI description: the session
/// routes are the dashboard's own, and every other request it makes is an API operation.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(assets::shell))
        .route("/ui/assets/{*path}", get(assets::asset))
        .route("/ui/api/session", get(session::current).post(session::sign_in).delete(session::sign_out))
        .route("/ui/{*page}", get(assets::shell))
}
