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
async fn sign_in_refuses_bad_keys_bodies_and_other_origins() {
    let server = TestServer::start().await;
    let url = format!("{}/ui/api/session", server.base);
    let wrong = server.client.post(&url).json(&json!({ "key": format!("{}x", server.key()) })).send().await;
    assert_eq!(wrong.expect("answer").status(), StatusCode::UNAUTHORIZED);
    let form = server.client.post(&url).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body("key=x");
    assert_eq!(form.send().await.expect("answer").status(), StatusCode::BAD_REQUEST, "a cross-site form is refused");
    // A `no-cors` fetch sends a body without a JSON content type: login CSRF.
    let body = json!({ "key": server.key() }).to_string();
    let untyped = server.client.post(&url).body(body.clone()).send().await.expect("answer");
    assert_eq!(untyped.status(), StatusCode::FORBIDDEN);
    assert!(untyped.headers().get(SET_COOKIE).is_none());
    for site in ["cross-site", "same-site"] {
        let foreign = server.client.post(&url).header(CONTENT_TYPE, "application/json").header("sec-fetch-site", site);
        let answer = foreign.body(body.clone()).send().await.expect("answer");
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{site}");
    }
    let none = server.client.get(&url).send().await.expect("answer");
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sign_out_ends_the_session_on_the_server_not_just_in_the_browser() {
    let server = TestServer::start().await;
    let session = sign_in(&server, server.key()).await;
    let copied = Session { cookie: session.cookie.clone(), csrf: session.csrf.clone(), info: Value::Null };
    let out = as_browser(&server, &session, Method::DELETE, "/ui/api/session", None, None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = as_browser(&server, &copied, Method::GET, "/v1/executions", None, None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "a copy of the cookie is over too");
    assert!(after.body["error"].as_str().expect("msg").contains("signed out"), "{}", after.body);
    assert_eq!(server.get("/v1/executions", server.key()).await.status, StatusCode::OK, "the key itself still works");
    let again = sign_in(&server, server.key()).await;
    let works = as_browser(&server, &again, Method::GET, "/v1/executions", None, None).await;
    assert_eq!(works.status, StatusCode::OK, "signing in again works");

    let cleared = server.client.delete(format!("{}/ui/api/session", server.base)).send().await.expect("answer");
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT, "signing out without a session is allowed");
    let cookie = cleared.headers().get(SET_COOKIE).expect("cookie").to_str().expect("ascii");
    assert!(cookie.starts_with("wasmhook_session=;") && cookie.contains("Max-Age=0"), "{cookie}");
}

#[tokio::test]
async fn changes_from_another_origin_or_with_a_planted_cookie_are_refused() {
    let server = TestServer::start().await;
    let session = sign_in(&server, server.key()).await;
    let body = json!({ "name": "planted" });
    let url = format!("{}/v1/blocks", server.base);
    let foreign = server
        .client
        .post(&url)
        .header(COOKIE, &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .header("sec-fetch-site", "same-site")
        .json(&body)
        .send()
        .await
        .expect("answer");
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN, "a sibling subdomain may not change anything");
    let planted = format!("{}; wasmhook_session=attacker", session.cookie);
    let twice = server.client.get(format!("{}/v1/blocks", server.base)).header(COOKIE, planted).send().await;
    assert_eq!(twice.expect("answer").status(), StatusCode::UNAUTHORIZED, "two session cookies: neither is trusted");
    let secure = server
        .client
        .post(format!("{}/ui/api/session", server.base))
        .header("x-forwarded-proto", "https")
        .json(&json!({ "key": server.key() }))
        .send()
        .await
        .expect("answer");
    let cookie = secure.headers().get(SET_COOKIE).expect("cookie").to_str().expect("ascii");
    assert!(cookie.starts_with("__Host-wasmhook_session=") && cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn executions_page_by_cursor_and_show_their_idempotency_key() {
    let server = TestServer::start().await;
    let key = server.key();
    let block = server.block(key, "echo", json!({})).await;
    let path = format!("/v2/webhook/blocks/{block}/execute");
    let keyed = server
        .client
        .post(format!("{}{path}", server.base))
        .bearer_auth(key)
        .header("idempotency-key", "invoice-77")
        .json(&json!({ "data": { "n": 0 } }))
        .send()
        .await
        .expect("run");
    let keyed: Value = keyed.json().await.expect("json");
    for n in 1..5 {
        assert_eq!(server.post(&path, key, json!({ "data": { "n": n } })).await.status, StatusCode::OK);
    }
    let shown = server.get(&format!("/v1/executions/{}", keyed["execution_id"].as_str().expect("id")), key).await;
    assert_eq!(shown.body["idempotencyKey"], "invoice-77");
    let mut seen = Vec::new();
    let mut query = String::from("limit=2");
    loop {
        let page = server.get(&format!("/v1/executions?{query}"), key).await;
        let rows = page.body.as_array().expect("list").clone();
        let Some(last) = rows.last() else { break };
        query = format!("limit=2&before={}", last["id"].as_str().expect("id"));
        seen.extend(rows.iter().map(|row| row["id"].clone()));
    }
    assert_eq!(seen.len(), 5, "every run once: {seen:?}");
    let unknown = server.get("/v1/executions?before=0190a0a0-0000-7000-8000-000000000000", key).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
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
    let seconds = server.get("/v1/executions/stats?bucket=1000", key).await;
    assert_eq!(seconds.body["series"].as_array().map(Vec::len), Some(1440), "1440 one-second slots: {}", seconds.body);
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
