//! The ECS metadata service and the gateway's checks of the temporary keys it issues: the
//! security token must be sent and signed, the keys expire, the session token is checked,
//! and the service's faults.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dms_sim::MetadataFault;
use time::OffsetDateTime;

use crate::common::*;

struct Issued {
    access: String,
    secret: String,
    token: String,
}

async fn securitykey(sim: &dms_sim::Simulator, session: Option<&str>) -> Reply {
    let mut builder = Request::get("/openstack/latest/securitykey");
    if let Some(session) = session {
        builder = builder.header("X-Metadata-Token", session);
    }
    send(sim, builder.body(Body::empty()).expect("request")).await
}

async fn issued(sim: &dms_sim::Simulator) -> Issued {
    let reply = securitykey(sim, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let credential = &reply.json()["credential"];
    let field = |name: &str| credential[name].as_str().unwrap_or_default().to_owned();
    Issued {
        access: field("access"),
        secret: field("secret"),
        token: field("securitytoken"),
    }
}

/// The instance list signed with `keys`; the security token sent `token_sent`, and among the
/// signed headers when `token_signed`.
async fn list_with(
    sim: &dms_sim::Simulator,
    keys: &Issued,
    token_sent: Option<&str>,
    token_signed: bool,
) -> Reply {
    let path = format!("/v2/{PROJECT}/instances");
    let mut headers = vec![
        ("Host".to_owned(), HOST.to_owned()),
        (
            "X-Sdk-Date".to_owned(),
            dms_sign::sdk_date(OffsetDateTime::now_utc()),
        ),
    ];
    if let (Some(token), true) = (token_sent, token_signed) {
        headers.push(("X-Security-Token".to_owned(), token.to_owned()));
    }
    let signing = dms_sign::SigningRequest {
        method: "GET",
        path: &path,
        query: &[],
        headers: &headers,
        body: b"",
    };
    let authorization = dms_sign::authorization(&keys.access, keys.secret.as_bytes(), &signing);
    let mut builder = Request::get(path.as_str()).header("Authorization", authorization);
    for (name, value) in &headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let (Some(token), false) = (token_sent, token_signed) {
        builder = builder.header("X-Security-Token", token);
    }
    send(sim, builder.body(Body::empty()).expect("request")).await
}

#[tokio::test(start_paused = true)]
async fn temporary_keys_need_their_signed_token_and_expire() {
    let sim = sim();
    let keys = issued(&sim).await;
    assert!(keys.access.starts_with("SIMTEMPAK"), "{}", keys.access);
    let ok = list_with(&sim, &keys, Some(&keys.token), true).await;
    assert_eq!(ok.status, StatusCode::OK);
    for (token, signed, case) in [
        (None, false, "no token"),
        (
            Some(keys.token.as_str()),
            false,
            "the token sent but not signed",
        ),
        (Some("another-token"), true, "another token"),
    ] {
        let reply = list_with(&sim, &keys, token, signed).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(reply.error_code(), "APIGW.0301", "{case}");
    }
    tokio::time::advance(Duration::from_secs(3600)).await;
    let expired = list_with(&sim, &keys, Some(&keys.token), true).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.error_code(), "APIGW.0301");
}

#[tokio::test(start_paused = true)]
async fn the_metadata_service_rotates_ten_minutes_early_and_checks_its_session() {
    let sim = sim();
    let first = issued(&sim).await;
    tokio::time::advance(Duration::from_secs(49 * 60)).await;
    assert_eq!(issued(&sim).await.access, first.access, "the same keys");
    tokio::time::advance(Duration::from_secs(2 * 60)).await;
    let second = issued(&sim).await;
    assert_ne!(second.access, first.access, "new keys 10 min before expiry");
    let old = list_with(&sim, &first, Some(&first.token), true).await;
    assert_eq!(
        old.status,
        StatusCode::OK,
        "the old keys live until their expiry"
    );

    let session = send(
        &sim,
        Request::put("/meta-data/latest/api/token")
            .header("X-Metadata-Token-Ttl-Seconds", "21600")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(session.status, StatusCode::OK);
    let session = String::from_utf8_lossy(&session.body).into_owned();
    assert_eq!(
        securitykey(&sim, Some(&session)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        securitykey(&sim, Some("not-a-session")).await.status,
        StatusCode::UNAUTHORIZED
    );

    sim.set_metadata_fault(MetadataFault::Unavailable);
    assert_eq!(
        securitykey(&sim, None).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    sim.set_metadata_fault(MetadataFault::NoAgency);
    let reply = securitykey(&sim, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        String::from_utf8_lossy(&reply.body)
            .contains("Please configure Cloud Service Agency first")
    );
}
