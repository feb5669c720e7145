//! The dashboard's server side over real HTTP: signing in with a key for an `HttpOnly`,
//! `SameSite=Strict` session cookie, CSRF on changes, scope and team exactly as the API's,
//! revocation ending a session, the embedded files, and the run statistics it charts.

mod support;

use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::server::{TestServer, read};

/// A signed-in browser: its cookie and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
    info: Value,
}

async fn sign_in(server: &TestServer, key: &str) -> Session {
    let response = server
        .client
        .post(format!("{}/ui/api/session", server.base))
        .json(&json!({ "key": key }))
        .send()
        .await
        .expect("sign in");
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response.headers().get(SET_COOKIE).expect("cookie").to_str().expect("ascii").to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set_cookie.contains(attribute), "{set_cookie} lacks {attribute}");
    }
    let secret = key.rsplit_once('-').expect("key").1;
    assert!(!set_cookie.contains(secret), "the cookie never holds the key's secret");
    let cookie = set_cookie.split(';').next().expect("pair").to_owned();
    let info: Value = response.json().await.expect("json");
    Session { cookie, csrf: info["csrfToken"].as_str().expect("token").to_owned(), info }
}

/// A request carrying the session cookie, and the CSRF token when `csrf` is given.
async fn as_browser(
    server: &TestServer,
    session: &Session,
    method: Method,
    path: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> support::server::Response {
    let mut request = server.client.request(method, format!("{}{path}", server.base)).header(COOKIE, &session.cookie);
    if let Some(token) = csrf {
        request = request.header("x-csrf-token", token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.expect("request")).await
}

#[tokio::test]
async fn a_session_acts_as_its_key_and_changes_need_the_csrf_token() {
    let server = TestServer::start().await;
    let session = sign_in(&server, server.key()).await;
    assert_eq!((session.info["scope"].as_str(), session.info["teamName"].as_str()), (Some("admin"), Some("default")));

    let listed = as_browser(&server, &session, Method::GET, "/v1/blocks", None, None).await;
    assert_eq!(listed.status, StatusCode::OK, "a read needs no token");
    let body = json!({ "name": "from-the-dashboard" });
    let forged = as_browser(&server, &session, Method::POST, "/v1/blocks", None, Some(body.clone())).await;
    assert_eq!((forged.status, forged.body["error_code"].as_str()), (StatusCode::FORBIDDEN, Some("CSRF")));
    let wrong = as_browser(&server, &session, Method::POST, "/v1/blocks", Some("nope"), Some(body.clone())).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let made = as_browser(&server, &session, Method::POST, "/v1/blocks", Some(&session.csrf), Some(body)).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let blocks = server.get("/v1/blocks", server.key()).await;
    assert_eq!(blocks.body.as_array().map(Vec::len), Some(1), "the session's change is the team's");

    let again = as_browser(&server, &session, Method::GET, "/ui/api/session", None, None).await;
    assert_eq!(again.body["csrfToken"], session.info["csrfToken"], "the page reloads with the same token");
    let tampered = Session { cookie: format!("{}x", session.cookie), ..session };
    let refused = as_browser(&server, &tampered, Method::GET, "/v1/blocks", None, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_execute_key_session_sees_but_cannot_change_and_revocation_ends_it() {
    let server = TestServer::start().await;
    let created = server.post("/v1/keys", server.key(), json!({ "scope": "execute" })).await;
    let (key, key_id) =
        (created.body["apiKey"].as_str().expect("key"), created.body["key"]["id"].as_str().expect("id"));
    let session = sign_in(&server, key).await;
    assert_eq!(session.info["scope"], "execute");
    assert_eq!(as_browser(&server, &session, Method::GET, "/v1/executions", None, None).await.status, StatusCode::OK);
    let body = Some(json!({ "name": "nope" }));
    let refused = as_browser(&server, &session, Method::POST, "/v1/blocks", Some(&session.csrf), body).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    let revoked = server.request(Method::DELETE, &format!("/v1/keys/{key_id}"), Some(server.key()), None).await;
    assert!(revoked.status.is_success(), "{}", revoked.body);
    let ended = as_browser(&server, &session, Method::GET, "/v1/executions", None, None).await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED);
    assert!(ended.body["error"].as_str().expect("msg").contains("revoked"), "{}", ended.body);
}

#[tokio::test]
async fn another_teams_session_cannot_open_an_execution() {
    let server = TestServer::start().await;
    let block = server.block(server.key(), "echo", json!({})).await;
    let run =
        server.post(&format!("/v2/webhook/blocks/{block}/execute"), server.key(), json!({ "data": { "n": 1 } })).await;
    let execution = run.body["execution_id"].as_str().expect("id").to_owned();
    let ours = sign_in(&server, server.key()).await;
    let path = format!("/v1/executions/{execution}");
    assert_eq!(as_browser(&server, &ours, Method::GET, &path, None, None).await.status, StatusCode::OK);
    let theirs = sign_in(&server, &server.other_team().await).await;
    let hidden = as_browser(&server, &theirs, Method::GET, &path, None, None).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);
    let replay = as_browser(&server, &theirs, Method::POST, &format!("{path}/replay"), Some(&theirs.csrf), None).await;
    assert_eq!(replay.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sign_in_refuses_bad_keys_and_bodies_and_sign_out_clears_the_cookie() {
    let server = TestServer::start().await;
    let url = format!("{}/ui/api/session", server.base);
    let wrong = server.client.post(&url).json(&json!({ "key": format!("{}x", server.key()) })).send().await;
    assert_eq!(wrong.expect("answer").status(), StatusCode::UNAUTHORIZED);
    let form = server.client.post(&url).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body("key=x");
    assert_eq!(form.send().await.expect("answer").status(), StatusCode::BAD_REQUEST, "a cross-site form is refused");
    let none = server.client.get(&url).send().await.expect("answer");
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let out = server.client.delete(&url).send().await.expect("answer");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let cleared = out.headers().get(SET_COOKIE).expect("cookie").to_str().expect("ascii");
    assert!(cleared.starts_with("wasmhook_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn the_dashboard_files_are_embedded_and_served_with_a_strict_policy() {
    let server = TestServer::start().await;
    for path in ["/ui/", "/ui/executions/0190a0a0-0000-7000-8000-000000000000", "/ui/blocks"] {
        let page = server.client.get(format!("{}{path}", server.base)).send().await.expect("page");
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        let csp = page.headers().get("content-security-policy").expect("csp").to_str().expect("ascii");
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(page.text().await.expect("html").contains("/ui/assets/js/app.js"), "{path}");
    }
    let script = server.client.get(format!("{}/ui/assets/js/app.js", server.base)).send().await.expect("js");
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.headers()[CONTENT_TYPE].to_str().expect("ascii").contains("javascript"));
    let etag = script.headers()["etag"].clone();
    let cached = server
        .client
        .get(format!("{}/ui/assets/js/app.js", server.base))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("js");
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    let missing = server.client.get(format!("{}/ui/assets/js/nope.js", server.base)).send().await.expect("404");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn run_statistics_count_the_teams_runs_per_slot() {
    let server = TestServer::start().await;
    let key = server.key();
    let block = server.block(key, "echo", json!({})).await;
    for n in 0..3 {
        let run = server.post(&format!("/v2/webhook/blocks/{block}/execute"), key, json!({ "data": { "n": n } })).await;
        assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    }
    let stats = server.get("/v1/executions/stats", key).await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.body);
    assert_eq!(stats.body["totals"], json!({ "succeeded": 3 }));
    assert_eq!(
        (stats.body["bucketMs"].as_i64(), stats.body["series"].as_array().map(Vec::len)),
        (Some(60_000), Some(60))
    );
    assert!(stats.body["p50Us"].as_u64().is_some_and(|us| us > 0), "{}", stats.body);
    let other = server.other_team().await;
    assert_eq!(server.get("/v1/executions/stats", &other).await.body["totals"], json!({}));
    for bad in ["bucket=10", "bucket=x", "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "block=nope"] {
        let refused = server.get(&format!("/v1/executions/stats?{bad}"), key).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}: {}", refused.body);
    }
}
