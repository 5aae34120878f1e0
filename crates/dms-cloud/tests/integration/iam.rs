//! IAM token auth and project-id discovery against a scripted IAM + DMS.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dms_cloud::{Credentials, ErrorKind};
use serde_json::json;
use time::OffsetDateTime;

use crate::support::*;

const PASSWORD: &str = "monitor-password-do-not-leak";

fn password_config() -> dms_cloud::ClientConfig {
    let mut cfg = config(Credentials::password("monitor", PASSWORD, "example-domain"));
    cfg.project_id = None;
    cfg
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// IAM issuing token `tok-N` valid 24 h; DMS accepting tokens for which `accept` says yes.
fn iam_and_dms(
    accept: impl Fn(&str) -> bool + Send + Sync + 'static,
) -> (Arc<dyn dms_cloud::Transport>, FakeServer) {
    let issued = Arc::new(AtomicUsize::new(0));
    fake(move |r| {
        if r.host == "iam.test" && r.path == "/v3/auth/tokens" {
            let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
            let now = OffsetDateTime::now_utc();
            return Reply::json(
                201,
                json!({"token": {
                    "expires_at": rfc3339(now + time::Duration::hours(24)),
                    "issued_at": rfc3339(now),
                    "methods": ["password"],
                    "project": {"id": PROJECT, "name": "cn-north-4"}
                }}),
            )
            .header("X-Subject-Token", &format!("tok-{n}"));
        }
        let token = r.header("x-auth-token").unwrap_or_default();
        if accept(token) {
            Reply::json(200, fixture("R3_cluster.json"))
        } else {
            Reply::error(401, "DMS.10240102", "Expired token")
        }
    })
}

#[tokio::test(start_paused = true)]
async fn token_is_obtained_once_and_cached() {
    let (transport, server) = iam_and_dms(|t| t == "tok-1");
    let (client, observer) = client_with(password_config(), transport, &unlimited());
    for _ in 0..3 {
        let cluster = client.kafka_cluster("inst").await;
        assert!(cluster.is_ok(), "{cluster:?}");
    }
    assert_eq!(client.project_id().await.ok().as_deref(), Some(PROJECT));
    assert_eq!(server.count_path("/v3/auth/tokens"), 1);
    let requests = server.requests();
    let token_request = &requests[0];
    assert_eq!(token_request.method, "POST");
    let body: serde_json::Value = serde_json::from_slice(&token_request.body).unwrap_or_default();
    assert_eq!(
        body["auth"]["identity"]["password"]["user"]["name"],
        "monitor"
    );
    assert_eq!(
        body["auth"]["identity"]["password"]["user"]["domain"]["name"],
        "example-domain"
    );
    assert_eq!(body["auth"]["scope"]["project"]["name"], "cn-north-4");
    for dms in requests.iter().filter(|r| r.host == "dms.test") {
        assert_eq!(dms.header("x-auth-token"), Some("tok-1"));
        assert!(dms.header("authorization").is_none());
        assert_eq!(
            dms.path,
            format!("/v2/{PROJECT}/instances/inst/management/cluster")
        );
    }
    let apis: Vec<String> = observer
        .events_of("finished")
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(apis[0], "iam_token");
}

#[tokio::test(start_paused = true)]
async fn token_is_refreshed_before_expiry() {
    let (transport, server) = iam_and_dms(|t| t.starts_with("tok-"));
    let (client, _) = client_with(password_config(), transport, &unlimited());
    assert!(client.kafka_cluster("inst").await.is_ok());
    tokio::time::advance(Duration::from_secs(22 * 3600)).await;
    assert!(client.kafka_cluster("inst").await.is_ok());
    assert_eq!(
        server.count_path("/v3/auth/tokens"),
        1,
        "still fresh after 22 h"
    );
    tokio::time::advance(Duration::from_secs(3600 + 1)).await;
    assert!(client.kafka_cluster("inst").await.is_ok());
    assert_eq!(
        server.count_path("/v3/auth/tokens"),
        2,
        "refreshed 1 h before expiry"
    );
    let last = server.requests().into_iter().last();
    assert_eq!(
        last.and_then(|r| r.header("x-auth-token").map(str::to_owned))
            .as_deref(),
        Some("tok-2")
    );
}

#[tokio::test(start_paused = true)]
async fn a_401_refreshes_once_and_retries_once() {
    // tok-1 is rejected (as if expired server-side); tok-2 is accepted.
    let (transport, server) = iam_and_dms(|t| t == "tok-2");
    let (client, observer) = client_with(password_config(), transport, &unlimited());
    let cluster = client.kafka_cluster("inst").await;
    assert!(cluster.is_ok(), "{cluster:?}");
    assert_eq!(server.count_path("/v3/auth/tokens"), 2);
    assert_eq!(server.count_path("/management/cluster"), 2);
    assert_eq!(observer.count("retried"), 0, "a 401 is not a backoff retry");
}

#[tokio::test(start_paused = true)]
async fn a_persistent_401_is_not_a_loop() {
    let (transport, server) = iam_and_dms(|_| false);
    let (client, _) = client_with(password_config(), transport, &unlimited());
    let error = client.kafka_cluster("inst").await.err();
    assert_eq!(error.map(|e| e.kind), Some(ErrorKind::Unauthorized));
    assert_eq!(
        server.count_path("/v3/auth/tokens"),
        2,
        "one initial token, one refresh"
    );
    assert_eq!(
        server.count_path("/management/cluster"),
        2,
        "one try, one retry"
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_401s_share_one_refresh() {
    let (transport, server) = iam_and_dms(|t| t != "tok-1");
    let (client, _) = client_with(password_config(), transport, &unlimited());
    assert!(client.project_id().await.is_ok());
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.kafka_cluster("inst").await })
        })
        .collect();
    for call in calls {
        assert!(matches!(call.await, Ok(Ok(_))));
    }
    assert_eq!(server.count_path("/v3/auth/tokens"), 2);
}

#[tokio::test(start_paused = true)]
async fn iam_auth_failure_backs_off_for_a_minute() {
    let (transport, server) = fake(|r| {
        if r.path == "/v3/auth/tokens" {
            Reply::json(
                401,
                json!({"error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}}),
            )
        } else {
            Reply::json(200, fixture("R3_cluster.json"))
        }
    });
    let (client, _) = client_with(password_config(), transport, &unlimited());
    let first = client.kafka_cluster("inst").await.err();
    let first = first.unwrap_or_else(|| panic!("expected an error"));
    assert_eq!(first.kind, ErrorKind::Unauthorized);
    assert!(first.message.contains("password is wrong"));
    assert!(!first.to_string().contains(PASSWORD));
    for _ in 0..5 {
        assert!(client.kafka_cluster("inst").await.is_err());
    }
    assert_eq!(
        server.count_path("/v3/auth/tokens"),
        1,
        "no IAM call within 60 s"
    );
    tokio::time::advance(Duration::from_secs(61)).await;
    assert!(client.kafka_cluster("inst").await.is_err());
    assert_eq!(server.count_path("/v3/auth/tokens"), 2);
}

#[tokio::test(start_paused = true)]
async fn token_request_debug_and_errors_hide_the_password() {
    let cfg = password_config();
    assert!(!format!("{cfg:?}").contains(PASSWORD));
}

fn projects(list: serde_json::Value) -> (Arc<dyn dms_cloud::Transport>, FakeServer) {
    fake(move |r| {
        if r.path == "/v3/projects" {
            Reply::json(200, json!({"projects": list.clone()})).header("X-IAM-Trace-Id", "trace-1")
        } else {
            Reply::json(200, fixture("R3_cluster.json"))
        }
    })
}

#[tokio::test(start_paused = true)]
async fn project_id_is_discovered_once_with_a_signed_call() {
    let (transport, server) = projects(json!([{"id": PROJECT, "name": "cn-north-4"}]));
    let mut cfg = config(aksk_with_token());
    cfg.project_id = None;
    let (client, _) = client_with(cfg, transport, &unlimited());
    assert!(client.kafka_cluster("i").await.is_ok());
    assert!(client.kafka_cluster("i").await.is_ok());
    assert_eq!(client.project_id().await.ok().as_deref(), Some(PROJECT));
    assert_eq!(server.count_path("/v3/projects"), 1);
    let requests = server.requests();
    let discovery = &requests[0];
    assert_eq!(discovery.host, "iam.test");
    assert_eq!(discovery.query, "name=cn-north-4");
    assert!(discovery.header("x-project-id").is_none());
    let authorization = discovery.header("authorization").unwrap_or_default();
    let parsed = dms_sign::parse_authorization(authorization).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        parsed.signed_headers,
        ["host", "x-sdk-date", "x-security-token"]
    );
    assert_eq!(requests[1].header("x-project-id"), Some(PROJECT));
}

#[tokio::test(start_paused = true)]
async fn zero_or_several_projects_are_clear_errors() {
    for list in [
        json!([]),
        json!([{"id": "p1", "name": "cn-north-4"}, {"id": "p2", "name": "cn-north-4"}]),
    ] {
        let (transport, server) = projects(list);
        let mut cfg = config(aksk_with_token());
        cfg.project_id = None;
        let (client, _) = client_with(cfg, transport, &unlimited());
        let error = client.kafka_cluster("i").await.err();
        let error = error.unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(error.kind, ErrorKind::Config);
        assert!(error.message.contains("cn-north-4"), "{error}");
        assert!(error.message.contains("project_id"), "{error}");
        assert_eq!(server.count_path("/management/"), 0);
        // The failure is remembered: no IAM call storm.
        assert!(client.kafka_cluster("i").await.is_err());
        assert_eq!(server.count_path("/v3/projects"), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn exact_name_wins_over_subprojects() {
    let (transport, _) = projects(json!([
        {"id": "sub", "name": "cn-north-4_sub"},
        {"id": PROJECT, "name": "cn-north-4"}
    ]));
    let mut cfg = config(aksk_with_token());
    cfg.project_id = None;
    let (client, _) = client_with(cfg, transport, &unlimited());
    assert_eq!(client.project_id().await.ok().as_deref(), Some(PROJECT));
}
