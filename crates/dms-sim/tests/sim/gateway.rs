//! The API gateway: the per-AK request limit and the added latency, and the topic-detail
//! limit counted on arrival while latency delays the answers.

use std::time::Duration;

use axum::http::StatusCode;
use dms_sim::{SimConfig, Simulator};
use tokio::time::Instant;

use crate::common::*;

fn sim_with(latency: Duration, rate_limit: Option<u32>) -> Simulator {
    Simulator::new(SimConfig {
        latency,
        rate_limit,
        ..SimConfig::deterministic()
    })
}

fn list_path() -> String {
    format!("/v2/{PROJECT}/instances")
}

#[tokio::test(start_paused = true)]
async fn beyond_the_rate_limit_the_gateway_answers_429() {
    let sim = sim_with(Duration::ZERO, Some(10));
    for n in 0..10 {
        let reply = get(&sim, &list_path(), &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "request {n} of the burst");
    }
    let reply = get(&sim, &list_path(), &[]).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.error_code(), "APIGW.0308");
    assert_eq!(
        reply.json()["error_msg"],
        "The throttling threshold has been reached: policy user over ratelimit,limit:10,time:1 second"
    );
    // The bucket refills at 10 per second.
    tokio::time::advance(Duration::from_millis(100)).await;
    assert_eq!(get(&sim, &list_path(), &[]).await.status, StatusCode::OK);
    assert_eq!(
        get(&sim, &list_path(), &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(start_paused = true)]
async fn at_the_rate_limit_nothing_is_refused() {
    let sim = sim_with(Duration::ZERO, Some(10));
    // 10 a second for 5 seconds, after a full burst: exactly the limit, never above it.
    for n in 0..10 {
        assert_eq!(
            get(&sim, &list_path(), &[]).await.status,
            StatusCode::OK,
            "{n}"
        );
    }
    for n in 0..50 {
        tokio::time::advance(Duration::from_millis(100)).await;
        let reply = get(&sim, &list_path(), &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "request {n} at 10/s");
    }
}

#[tokio::test(start_paused = true)]
async fn without_a_limit_nothing_is_throttled() {
    let sim = sim_with(Duration::ZERO, None);
    for _ in 0..200 {
        assert_eq!(get(&sim, &list_path(), &[]).await.status, StatusCode::OK);
    }
}

#[tokio::test(start_paused = true)]
async fn latency_delays_every_answer_errors_included() {
    let sim = sim_with(Duration::from_millis(50), None);
    let started = Instant::now();
    assert_eq!(get(&sim, &list_path(), &[]).await.status, StatusCode::OK);
    assert_eq!(started.elapsed(), Duration::from_millis(50));
    let started = Instant::now();
    let rejected = send(
        &sim,
        signed_request(
            "GET",
            &list_path(),
            &[],
            &Signing {
                sk: "wrong".to_owned(),
                ..Signing::default()
            },
        ),
    )
    .await;
    assert_eq!(rejected.status, StatusCode::UNAUTHORIZED);
    assert_eq!(started.elapsed(), Duration::from_millis(50));
    // The default answers at once.
    let sim = sim_with(Duration::ZERO, None);
    let started = Instant::now();
    assert_eq!(get(&sim, &list_path(), &[]).await.status, StatusCode::OK);
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn topic_detail_limit_counts_arrivals_not_answers() {
    let sim = sim_with(Duration::from_millis(500), None);
    let id = first_instance(&sim).await;
    let detail = format!("/v2/{PROJECT}/instances/{id}/management/topics/orders");
    let start = Instant::now();
    let in_flight = {
        let sim = sim.clone();
        let detail = detail.clone();
        tokio::spawn(async move { get(&sim, &detail, &[]).await.status })
    };
    // 300 ms later the first call is still waiting for its answer, but it has arrived.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = get(&sim, &detail, &[]).await;
    assert_eq!(second.status, StatusCode::NOT_FOUND);
    assert_eq!(second.error_code(), "DMS.10240407");
    assert_eq!(in_flight.await.ok(), Some(StatusCode::OK));
    // One second after the first arrival (though only 500 ms after its answer) it is allowed.
    tokio::time::sleep_until(start + Duration::from_secs(1)).await;
    let third = get(&sim, &detail, &[]).await;
    assert_eq!(third.status, StatusCode::OK);
    assert_eq!(start.elapsed(), Duration::from_millis(1500));
}

#[tokio::test(start_paused = true)]
async fn the_gateway_limit_is_per_access_key() {
    let mut config = SimConfig {
        rate_limit: Some(2),
        ..SimConfig::deterministic()
    };
    config.credentials.push(dms_sim::AccessKey {
        access_key: "SECONDAK".to_owned(),
        secret_key: "second-secret".to_owned(),
    });
    let sim = Simulator::new(config);
    let second = Signing {
        ak: "SECONDAK".to_owned(),
        sk: "second-secret".to_owned(),
        ..Signing::default()
    };
    for _ in 0..2 {
        assert_eq!(get(&sim, &list_path(), &[]).await.status, StatusCode::OK);
    }
    assert_eq!(
        get(&sim, &list_path(), &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let reply = send(&sim, signed_request("GET", &list_path(), &[], &second)).await;
    assert_eq!(reply.status, StatusCode::OK);
}
