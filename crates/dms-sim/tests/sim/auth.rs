//! AK/SK verification and IAM tokens.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

fn list_path() -> String {
    format!("/v2/{PROJECT}/instances")
}

#[tokio::test]
async fn valid_aksk_passes_and_every_response_has_a_request_id() {
    let sim = sim();
    let reply = get(&sim, &list_path(), &[("engine", "kafka"), ("limit", "10")]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers.contains_key("x-request-id"));
    // Query values needing escapes are verified from the decoded wire query.
    let reply = get(&sim, &list_path(), &[("name", "kafka orders/é")]).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.json()["instance_num"], 0);
    // With a matching X-Project-Id.
    let signing = Signing {
        project_header: Some(PROJECT.to_owned()),
        ..Signing::default()
    };
    let reply = send(&sim, signed_request("GET", &list_path(), &[], &signing)).await;
    assert_eq!(reply.status, StatusCode::OK);
}

async fn rejected(signing: Signing) -> (StatusCode, Value) {
    let sim = sim();
    let reply = send(&sim, signed_request("GET", &list_path(), &[], &signing)).await;
    assert!(reply.headers.contains_key("x-request-id"));
    (reply.status, reply.json())
}

#[tokio::test]
async fn wrong_secret_is_rejected() {
    let (status, body) = rejected(Signing {
        sk: "not-the-secret".to_owned(),
        ..Signing::default()
    })
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_code"], "APIGW.0301");
    assert_eq!(
        body["error_msg"],
        "Incorrect IAM authentication information: verify aksk signature fail"
    );
}

#[tokio::test]
async fn unknown_ak_is_rejected() {
    let (status, body) = rejected(Signing {
        ak: "UNKNOWNAK".to_owned(),
        ..Signing::default()
    })
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_code"], "APIGW.0301");
    assert_eq!(
        body["error_msg"],
        "Incorrect IAM authentication information: ak not found"
    );
}

#[tokio::test]
async fn missing_signed_header_is_rejected() {
    let (status, body) = rejected(Signing {
        drop_header: Some("host"),
        ..Signing::default()
    })
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_code"], "APIGW.0301");
}

#[tokio::test]
async fn clock_skew_is_rejected() {
    for minutes in [-16, 16] {
        let (status, body) = rejected(Signing {
            date: time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes),
            ..Signing::default()
        })
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error_code"], "APIGW.0303");
    }
    // Within the window is fine.
    let sim = sim();
    let signing = Signing {
        date: time::OffsetDateTime::now_utc() - time::Duration::minutes(14),
        ..Signing::default()
    };
    let reply = send(&sim, signed_request("GET", &list_path(), &[], &signing)).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn missing_authentication_is_rejected() {
    let sim = sim();
    let reply = send_json(&sim, "GET", &list_path(), None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "APIGW.0301");
}

#[tokio::test]
async fn tampered_query_is_rejected() {
    let sim = sim();
    let request = signed_request("GET", &list_path(), &[("limit", "10")], &Signing::default());
    let (mut parts, body) = request.into_parts();
    parts.uri = format!("{}?limit=20", list_path()).parse().expect("uri");
    let reply = send(&sim, Request::from_parts(parts, body)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "APIGW.0301");
}

#[tokio::test]
async fn unknown_project_and_project_header_mismatch() {
    let sim = sim();
    let reply = get(&sim, "/v2/ffffffffffffffffffffffffffffffff/instances", &[]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let signing = Signing {
        project_header: Some(PROJECT2.to_owned()),
        ..Signing::default()
    };
    let reply = send(&sim, signed_request("GET", &list_path(), &[], &signing)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "DMS.10240104");
}

pub(crate) fn token_body(password: &str, region: &str) -> Value {
    json!({
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": "monitor",
                        "password": password,
                        "domain": { "name": "example-domain" }
                    }
                }
            },
            "scope": { "project": { "name": region } }
        }
    })
}

pub(crate) async fn with_token(sim: &dms_sim::Simulator, token: &str, path: &str) -> Reply {
    let request = Request::builder()
        .uri(path)
        .header("X-Auth-Token", token)
        .body(Body::empty())
        .expect("request");
    send(sim, request).await
}

#[tokio::test(start_paused = true)]
async fn token_flow_and_expiry() {
    let sim = sim();
    let reply = send_json(
        &sim,
        "POST",
        "/v3/auth/tokens",
        Some(token_body("monitor-password", "cn-north-4")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let token = reply.headers["x-subject-token"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let body = reply.json();
    assert_eq!(body["token"]["project"]["id"], PROJECT);
    assert_eq!(body["token"]["project"]["name"], "cn-north-4");
    assert_eq!(body["token"]["methods"], json!(["password"]));
    assert!(
        body["token"]["expires_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );

    let ok = with_token(&sim, &token, &list_path()).await;
    assert_eq!(ok.status, StatusCode::OK);
    // The token is scoped to its project.
    let other = with_token(&sim, &token, &format!("/v2/{PROJECT2}/instances")).await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
    assert_eq!(other.error_code(), "DMS.10240104");
    // An unknown token.
    let bad = with_token(&sim, "MIInotatoken", &list_path()).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);

    tokio::time::advance(Duration::from_secs(24 * 3600 - 1)).await;
    assert_eq!(
        with_token(&sim, &token, &list_path()).await.status,
        StatusCode::OK
    );
    tokio::time::advance(Duration::from_secs(2)).await;
    let expired = with_token(&sim, &token, &list_path()).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.error_code(), "DMS.10240102");
}

#[tokio::test]
async fn expire_tokens_invalidates_all() {
    let sim = sim();
    let reply = send_json(
        &sim,
        "POST",
        "/v3/auth/tokens",
        Some(token_body("monitor-password", "ap-southeast-1")),
    )
    .await;
    let token = reply.headers["x-subject-token"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let path = format!("/v2/{PROJECT2}/instances");
    assert_eq!(with_token(&sim, &token, &path).await.status, StatusCode::OK);
    sim.expire_tokens();
    assert_eq!(
        with_token(&sim, &token, &path).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn wrong_password_gets_the_iam_error() {
    let sim = sim();
    let reply = send_json(
        &sim,
        "POST",
        "/v3/auth/tokens",
        Some(token_body("wrong", "cn-north-4")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.json(),
        json!({"error":{"code":401,"message":"The username or password is wrong.","title":"Unauthorized"}})
    );
    assert!(!reply.headers.contains_key("x-subject-token"));
}

#[tokio::test]
async fn iam_projects_resolves_a_region() {
    let sim = sim();
    let body = get_ok(&sim, "/v3/projects", &[("name", "ap-southeast-1")]).await;
    let projects = body["projects"].as_array().expect("projects");
    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0]["id"], PROJECT2);
    assert_eq!(projects[0]["name"], "ap-southeast-1");
    assert_eq!(projects[0]["enabled"], true);
    assert!(projects[0]["domain_id"].is_string());
    let none = get_ok(&sim, "/v3/projects", &[("name", "eu-west-0")]).await;
    assert_eq!(none["projects"], json!([]));
    // Signed, never anonymous.
    let reply = send_json(&sim, "GET", "/v3/projects?name=cn-north-4", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}
