//! The client against a scripted in-process server: signing, retries, timeouts, budget,
//! pagination, fallbacks. Time is paused, so every timing assertion is exact.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dms_cloud::{BudgetConfig, Budgets, ClientError, DmsClient, EndpointError, Engine, ErrorKind};
use serde_json::json;
use tokio::time::Instant;

use crate::support::*;

fn groups_page(ids: &[&str], total: usize) -> Reply {
    let groups: Vec<_> = ids
        .iter()
        .map(|id| json!({"group_id": id, "state": "STABLE", "coordinator_id": 1}))
        .collect();
    Reply::json(200, json!({"groups": groups, "total": total}))
}

#[tokio::test(start_paused = true)]
async fn signed_request_verifies_from_the_wire() {
    let (transport, server) = fake(|_| Reply::json(200, fixture("R6_diskusage.json")));
    let (client, _) = client_with(config(aksk_with_token()), transport, &unlimited());
    let usage = client.kafka_disk_usage("inst-1", "1K").await;
    assert!(usage.is_ok(), "{usage:?}");
    let group = client.kafka_group("inst-1", "my group:1/x").await;
    assert!(group.is_ok() || group.is_err());

    let requests = server.requests();
    assert_eq!(
        requests[0].path,
        format!("/v2/{PROJECT}/instances/inst-1/topics/diskusage")
    );
    assert_eq!(requests[0].query, "minSize=1K");
    assert_eq!(
        requests[1].path,
        format!("/v2/{PROJECT}/instances/inst-1/groups/my%20group%3A1%2Fx")
    );
    for request in &requests {
        assert_eq!(request.header("host"), Some("dms.test:8080"));
        assert_eq!(request.header("x-project-id"), Some(PROJECT));
        assert_eq!(request.header("x-security-token"), Some(SECURITY_TOKEN));
        assert!(request.header("x-auth-token").is_none());
        let authorization = request.header("authorization").unwrap_or_default();
        let parsed = dms_sign::parse_authorization(authorization)
            .unwrap_or_else(|e| panic!("{authorization}: {e}"));
        assert_eq!(parsed.access_key, AK);
        assert_eq!(
            parsed.signed_headers,
            ["host", "x-project-id", "x-sdk-date", "x-security-token"]
        );
        let headers: Vec<(String, String)> = parsed
            .signed_headers
            .iter()
            .map(|name| {
                (
                    name.clone(),
                    request.header(name).unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let query = request.query_pairs();
        let path = dms_sign::decode_path(&request.path);
        let signing = dms_sign::SigningRequest {
            method: &request.method,
            path: &path,
            query: &query,
            headers: &headers,
            body: &request.body,
        };
        assert!(dms_sign::verify(SK.as_bytes(), &signing, &parsed.signature));
        assert!(!dms_sign::verify(b"wrong", &signing, &parsed.signature));
        // Tampering with the signed project id breaks the signature.
        let mut tampered = headers.clone();
        tampered[1].1 = "other-project".into();
        let signing = dms_sign::SigningRequest {
            headers: &tampered,
            ..signing
        };
        assert!(!dms_sign::verify(
            SK.as_bytes(),
            &signing,
            &parsed.signature
        ));
    }
}

#[tokio::test(start_paused = true)]
async fn throttled_429_then_success_is_retried_once() {
    let (transport, server) = fake(|r| {
        if r.index == 0 {
            Reply::error(
                429,
                "APIGW.0308",
                "The throttling threshold has been reached",
            )
        } else {
            groups_page(&["g1"], 1)
        }
    });
    let (client, observer) = client_with(config(aksk_with_token()), transport, &unlimited());
    let start = Instant::now();
    let groups = client.kafka_groups("inst").await.unwrap_or_default();
    assert_eq!(groups.len(), 1);
    assert_eq!(server.count(), 2);
    assert_eq!(observer.codes(), ["429", "200"]);
    assert_eq!(
        observer.events_of("throttled"),
        [("kafka_groups".to_owned(), String::new())]
    );
    assert_eq!(observer.count("retried"), 1);
    // At least the throttle floor passed before the retry.
    let requests = server.requests();
    assert!(requests[1].at - requests[0].at >= Duration::from_secs(2));
    assert!(Instant::now() - start < Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn dms_10240407_as_404_counts_as_throttled() {
    let (transport, server) = fake(|r| {
        if r.index < 2 {
            Reply::error(404, "DMS.10240407", "The request is too frequent")
        } else {
            Reply::json(200, fixture("R3_cluster.json"))
        }
    });
    let (client, observer) = client_with(config(aksk_with_token()), transport, &unlimited());
    let cluster = client.kafka_cluster("inst").await;
    assert!(cluster.is_ok(), "{cluster:?}");
    assert_eq!(server.count(), 3);
    assert_eq!(observer.count("throttled"), 2);
    assert_eq!(observer.count("retried"), 2);
    // Counted apart from real 404s, which say a resource does not exist.
    assert_eq!(
        observer.codes(),
        [
            dms_cloud::FLOW_CONTROL_CODE,
            dms_cloud::FLOW_CONTROL_CODE,
            "200"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_that_persists_ends_as_throttled_error() {
    let (transport, server) = fake(|_| Reply::error(429, "APIG.0308", "slow down"));
    let (client, observer) = client_with(config(aksk_with_token()), transport, &unlimited());
    let error = client.kafka_topics("inst").await.err();
    let error = error.unwrap_or_else(|| panic!("expected an error"));
    assert_eq!(error.kind, ErrorKind::Throttled);
    assert_eq!(error.status, Some(429));
    assert_eq!(error.error_code.as_deref(), Some("APIG.0308"));
    // Throttling slows a call without using up `max_retries` (3): it is retried until its
    // scope has been throttled `THROTTLED_TRIP` times in a row, which holds it.
    let trip = dms_cloud::budget::backoff::THROTTLED_TRIP as usize;
    assert!(trip > 4, "more tries than `max_retries` allows");
    assert_eq!(server.count(), trip);
    assert_eq!(observer.count("retried"), trip - 1);
}

#[tokio::test(start_paused = true)]
async fn unauthorized_and_client_errors_are_not_retried() {
    for (status, code, kind) in [
        (401, "APIGW.0301", ErrorKind::Unauthorized),
        (403, "DMS.00403001", ErrorKind::Forbidden),
        (400, "DMS.00400002", ErrorKind::ClientError),
        (404, "DMS.00404022", ErrorKind::NotFound),
    ] {
        let (transport, server) =
            fake(move |_| Reply::error(status, code, "nope").header("X-Request-Id", "req-42"));
        let (client, observer) = client_with(config(aksk_with_token()), transport, &unlimited());
        let error = client.kafka_cluster("inst").await.err();
        let error = error.unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(error.kind, kind);
        assert_eq!(error.request_id.as_deref(), Some("req-42"));
        assert_eq!(server.count(), 1, "{status} must not be retried");
        assert_eq!(observer.count("retried"), 0);
        let text = error.to_string();
        assert!(
            text.contains("kafka_cluster") && text.contains(code),
            "{text}"
        );
        assert!(!text.contains(SK) && !text.contains(SECURITY_TOKEN));
    }
}

#[tokio::test(start_paused = true)]
async fn a_rejected_signature_holds_signed_calls_without_sending_them() {
    let (transport, server) =
        fake(|_| Reply::error(401, "APIGW.0301", "verify aksk signature fail"));
    let (client, _observer) = client_with(config(aksk_with_token()), transport, &unlimited());
    let start = Instant::now();
    assert!(client.kafka_cluster("inst").await.is_err());
    let held = client.kafka_cluster("inst").await.err();
    let held = held.unwrap_or_else(|| panic!("expected an error"));
    assert_eq!(held.kind, ErrorKind::Unauthorized, "not a timeout: {held}");
    assert!(held.message.contains("not sent"), "{held}");
    assert_eq!(server.count(), 1, "the held call was not sent");
    assert_eq!(Instant::now(), start, "and it failed at once");
    tokio::time::sleep(dms_cloud::budget::signature::FIRST_DELAY).await;
    assert!(client.kafka_cluster("inst").await.is_err());
    assert_eq!(server.count(), 2, "one probe after the delay");
}

/// Five cluster reads of five instances, started together.
fn five_cluster_reads_at_once(
    client: &DmsClient,
) -> Vec<tokio::task::JoinHandle<Result<dms_cloud::dto::kafka::Cluster, dms_cloud::ApiError>>> {
    (0..5)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.kafka_cluster(&format!("inst-{i}")).await })
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn signatures_are_probed_one_at_a_time_until_one_is_accepted() {
    // A key the gateway rejects: five calls at once send one signature, not five.
    let (transport, server) =
        fake(|_| Reply::error(401, "APIGW.0301", "verify aksk signature fail"));
    let (client, _observer) = client_with(config(aksk_with_token()), transport, &unlimited());
    let calls = five_cluster_reads_at_once(&client);
    for call in calls {
        assert!(matches!(call.await, Ok(Err(_))));
    }
    assert_eq!(server.count(), 1);
    // A key the gateway accepts: the first call's answer lets the others go.
    let (transport, server) = fake(|_| Reply::json(200, fixture("R3_cluster.json")));
    let (client, _observer) = client_with(config(aksk_with_token()), transport, &unlimited());
    let calls = five_cluster_reads_at_once(&client);
    for call in calls {
        assert!(matches!(call.await, Ok(Ok(_))));
    }
    assert_eq!(server.count(), 5);
}

#[tokio::test(start_paused = true)]
async fn an_api_the_account_may_not_call_fails_alone() {
    let (transport, server) = fake(|r| {
        if r.path.contains("/instances/inst-a/") {
            Reply::error(401, "DMS.10240104", "no permission for this API")
        } else {
            Reply::json(200, fixture("R3_cluster.json"))
        }
    });
    let (client, _observer) = client_with(config(aksk_with_token()), transport, &unlimited());
    let start = Instant::now();
    let error = client.kafka_cluster("inst-a").await.err();
    assert_eq!(error.map(|e| e.kind), Some(ErrorKind::Unauthorized));
    assert!(client.kafka_cluster("inst-b").await.is_ok());
    assert_eq!(Instant::now(), start, "the host was not paused");
    // The same API on the same instance is held: asked now, it fails at once, unsent;
    // after the hold-off it is asked again.
    let held = client.kafka_cluster("inst-a").await.err();
    assert_eq!(held.map(|e| e.kind), Some(ErrorKind::Unauthorized));
    assert_eq!(server.requests().len(), 2);
    assert_eq!(Instant::now(), start, "without waiting");
    tokio::time::sleep(dms_cloud::DENIED_API_HOLD_OFF).await;
    assert!(client.kafka_cluster("inst-a").await.is_err());
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests[2].at - start >= dms_cloud::DENIED_API_HOLD_OFF);
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_up_to_the_maximum() {
    let (transport, server) = fake(|_| Reply::raw(502, "<html>Bad Gateway</html>"));
    let mut cfg = config(aksk_with_token());
    cfg.retry.max_retries = 2;
    let (client, observer) = client_with(cfg, transport, &unlimited());
    let error = client.kafka_cluster("inst").await.err();
    let error = error.unwrap_or_else(|| panic!("expected an error"));
    assert_eq!(error.kind, ErrorKind::ServerError);
    assert_eq!(error.status, Some(502));
    assert!(error.message.contains("Bad Gateway"));
    assert_eq!(server.count(), 3);
    assert_eq!(observer.count("retried"), 2);
    assert_eq!(observer.count("throttled"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_server_times_out_after_request_timeout() {
    let (transport, server) = fake(|_| Reply::stall());
    let mut cfg = config(aksk_with_token());
    cfg.retry.max_retries = 0;
    cfg.request_timeout = Duration::from_secs(10);
    let (client, observer) = client_with(cfg, transport, &unlimited());
    let start = Instant::now();
    let error = client.kafka_cluster("inst").await.err();
    assert_eq!(Instant::now() - start, Duration::from_secs(10));
    assert_eq!(error.map(|e| e.kind), Some(ErrorKind::Timeout));
    assert_eq!(observer.codes(), ["timeout"]);
    assert_eq!(server.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn timeouts_are_retried() {
    let (transport, server) = fake(|r| {
        if r.index == 0 {
            Reply::stall()
        } else {
            Reply::json(200, fixture("R3_cluster.json"))
        }
    });
    let (client, observer) = client_with(config(aksk_with_token()), transport, &unlimited());
    assert!(client.kafka_cluster("inst").await.is_ok());
    assert_eq!(server.count(), 2);
    assert_eq!(observer.codes(), ["timeout", "200"]);
}

#[tokio::test(start_paused = true)]
async fn transport_errors_are_retried_and_reported() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let transport = Arc::new(dms_cloud::transport::FnTransport::new(move |_req| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                Err(dms_cloud::TransportError::Connect(
                    "connection refused".into(),
                ))
            } else {
                let mut response = http::Response::new(bytes::Bytes::from_static(b"{\"tags\":[]}"));
                *response.status_mut() = http::StatusCode::OK;
                Ok(response)
            }
        }
    }));
    let (client, observer) = client_with(config(aksk_with_token()), transport, &unlimited());
    let tags = client.instance_tags(Engine::Kafka, "inst").await;
    assert_eq!(tags.ok(), Some(vec![]));
    assert_eq!(observer.codes(), ["transport_error", "200"]);
    assert_eq!(observer.events_of("finished")[0].0, "kafka_tags");
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let (transport, server) = fake(|r| match r.index {
        0 => Reply::error(429, "APIGW.0308", "wait").header("Retry-After", "7"),
        1 => Reply::raw(503, "busy").header("Retry-After", "5"),
        _ => Reply::json(200, fixture("R21_instance_tags.json")),
    });
    let (client, _) = client_with(config(aksk_with_token()), transport, &unlimited());
    let tags = client
        .instance_tags(Engine::Kafka, "inst")
        .await
        .unwrap_or_default();
    assert_eq!(tags.len(), 2);
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1].at - requests[0].at, Duration::from_secs(7));
    assert_eq!(requests[2].at - requests[1].at, Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn each_retry_is_signed_afresh() {
    let (transport, server) = fake(|r| {
        if r.index == 0 {
            Reply::raw(500, "")
        } else {
            Reply::json(200, fixture("R21_instance_tags.json"))
        }
    });
    let (client, _) = client_with(config(aksk_with_token()), transport, &unlimited());
    assert!(client.instance_tags(Engine::Kafka, "inst").await.is_ok());
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    // Both carry a complete signature of their own (dates are wall-clock seconds, so they may
    // coincide; what matters is that each attempt was built and signed).
    for request in &requests {
        assert!(request.header("x-sdk-date").is_some());
        assert!(request.header("authorization").is_some());
    }
}

#[tokio::test(start_paused = true)]
async fn budget_caps_rate_and_concurrency() {
    let (transport, server) =
        fake(|_| Reply::json(200, fixture("R3_cluster.json")).delayed(Duration::from_millis(300)));
    let budgets = Budgets::new(BudgetConfig {
        rate_per_second: 5.0,
        burst: 1,
        concurrency: 3,
    });
    let (client, _) = client_with(config(aksk_with_token()), transport, &budgets);
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.kafka_cluster(&format!("inst-{i}")).await })
        })
        .collect();
    for call in calls {
        assert!(matches!(call.await, Ok(Ok(_))));
    }
    let times: Vec<Instant> = server.requests().iter().map(|r| r.at).collect();
    assert_eq!(times.len(), 50);
    for (i, start) in times.iter().enumerate() {
        let in_window = times
            .iter()
            .filter(|t| **t >= *start && **t < *start + Duration::from_secs(1))
            .count();
        assert!(
            in_window <= 6,
            "window starting at request {i} holds {in_window}"
        );
    }
    assert!(
        server.max_in_flight() <= 3,
        "in flight {}",
        server.max_in_flight()
    );
    assert!(server.max_in_flight() >= 2);
}

#[tokio::test(start_paused = true)]
async fn concurrency_cap_alone_is_respected() {
    let (transport, server) =
        fake(|_| Reply::json(200, fixture("R3_cluster.json")).delayed(Duration::from_secs(1)));
    let budgets = Budgets::new(BudgetConfig {
        rate_per_second: 1000.0,
        burst: 100,
        concurrency: 4,
    });
    let (client, _) = client_with(config(aksk_with_token()), transport, &budgets);
    let start = Instant::now();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.kafka_cluster("inst").await })
        })
        .collect();
    for call in calls {
        assert!(matches!(call.await, Ok(Ok(_))));
    }
    assert_eq!(server.max_in_flight(), 4);
    // The first signed call goes alone (until the gateway accepts a signature, one at a
    // time), then 19 calls four at a time.
    assert_eq!(Instant::now() - start, Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_on_throttling_pauses_every_request_to_the_host() {
    let (transport, server) = fake(|r| {
        let reply = if r.index == 0 {
            Reply::error(429, "APIGW.0308", "throttled").header("Retry-After", "2")
        } else {
            Reply::json(200, fixture("R3_cluster.json"))
        };
        reply.delayed(Duration::from_millis(100))
    });
    let budgets = unlimited();
    let (client, observer) = client_with(config(aksk_with_token()), transport, &budgets);
    let first = {
        let client = client.clone();
        tokio::spawn(async move { client.kafka_cluster("a").await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    let others: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.kafka_cluster("b").await })
        })
        .collect();
    assert!(matches!(first.await, Ok(Ok(_))));
    for call in others {
        assert!(matches!(call.await, Ok(Ok(_))));
    }
    let requests = server.requests();
    let throttled_at = requests[0].at + Duration::from_millis(100);
    for request in &requests[1..] {
        assert!(
            request.at >= throttled_at + Duration::from_secs(2),
            "request {} sent {:?} after the throttled answer",
            request.index,
            request.at - throttled_at
        );
    }
    assert!(start - throttled_at < Duration::from_secs(1));
    assert_eq!(observer.count("throttled"), 1);
}

fn instances_server(
    total: usize,
    honour_offset: bool,
) -> (Arc<dyn dms_cloud::Transport>, FakeServer) {
    fake(move |r| {
        let offset: usize = r.param("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
        let limit: usize = r.param("limit").and_then(|v| v.parse().ok()).unwrap_or(10);
        let start = if honour_offset { offset } else { 0 };
        let instances: Vec<_> = (start..total.min(start + limit))
            .map(|i| json!({"instance_id": format!("id-{i}"), "name": format!("n{i}"), "engine": "kafka", "partition_num": "300"}))
            .collect();
        Reply::json(200, json!({"instances": instances, "instance_num": total}))
    })
}

#[tokio::test(start_paused = true)]
async fn instances_are_paged() {
    let (transport, server) = instances_server(120, true);
    let (client, _) = client_with(config(aksk_with_token()), transport, &unlimited());
    let instances = client
        .list_instances(Engine::Kafka)
        .await
        .unwrap_or_default();
    assert_eq!(instances.len(), 120);
    assert_eq!(instances[119].instance_id, "id-119");
    assert_eq!(instances[0].partition_num, Some(300));
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].path, format!("/v2/{PROJECT}/instances"));
    assert_eq!(requests[2].query, "engine=kafka&limit=50&offset=100");
}

#[tokio::test(start_paused = true)]
async fn a_server_ignoring_offset_does_not_loop() {
    let (transport, server) = instances_server(120, false);
    let (client, _) = client_with(config(aksk_with_token()), transport, &unlimited());
    let instances = client
        .list_instances(Engine::Kafka)
        .await
        .unwrap_or_default();
    assert_eq!(instances.len(), 50);
    assert_eq!(server.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn groups_are_paged_by_total() {
    let (transport, server) = fake(|r| {
        let offset: usize = r.param("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
        let ids: Vec<String> = (offset..75.min(offset + 50))
            .map(|i| format!("g{i}"))
            .collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        groups_page(&refs, 75)
    });
    let (client, _) = client_with(config(aksk_with_token()), transport, &unlimited());
    let groups = client.kafka_groups("inst").await.unwrap_or_default();
    assert_eq!(groups.len(), 75);
    assert_eq!(server.count(), 2);
    assert_eq!(server.requests()[1].param("offset").as_deref(), Some("50"));
}

#[tokio::test(start_paused = true)]
async fn groups_with_a_server_ignoring_offset_stop() {
    let (transport, server) = fake(|_| groups_page(&["a", "b"], 10));
    let (client, _) = client_with(config(aksk_with_token()), transport, &unlimited());
    let groups = client.kafka_groups("inst").await.unwrap_or_default();
    assert_eq!(groups.len(), 2);
    assert_eq!(server.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn v1_fallback_is_per_call_and_v2_is_back_when_it_answers() {
    let v2_missing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let missing = v2_missing.clone();
    let (transport, server) = fake(move |r| {
        if r.path.starts_with("/v1.0/") {
            Reply::json(200, fixture("R28_instances_v1_b.json"))
        } else if missing.load(std::sync::atomic::Ordering::SeqCst) {
            Reply::error(404, "DMS.00404001", "The API does not exist")
        } else {
            Reply::json(
                200,
                json!({"instances": [{"instance_id": "v2-a", "broker_num": 3}], "instance_num": 1}),
            )
        }
    });
    let (client, observer) = client_with(config(aksk_with_token()), transport, &unlimited());
    let instances = client
        .list_instances(Engine::Kafka)
        .await
        .unwrap_or_default();
    assert_eq!(instances.len(), 1);
    assert_eq!(
        instances[0].instance_id,
        "b2fa82cc-3682-4e8c-bc20-e4a4d23ec142"
    );
    assert!(instances[0].listed_by_v1);
    assert!(client.uses_v1_instance_list());
    let again = client
        .list_instances(Engine::Kafka)
        .await
        .unwrap_or_default();
    assert_eq!(again.len(), 1);
    let requests = server.requests();
    assert_eq!(requests.len(), 4, "V2 is tried again on every call");
    assert_eq!(requests[1].path, format!("/v1.0/{PROJECT}/instances"));
    assert_eq!(requests[1].query, "engine=kafka&limit=50&start=1");
    let apis: Vec<String> = observer
        .events_of("finished")
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(
        apis,
        [
            "instances_list",
            "instances_list_v1",
            "instances_list",
            "instances_list_v1"
        ]
    );

    v2_missing.store(false, std::sync::atomic::Ordering::SeqCst);
    let back = client
        .list_instances(Engine::Kafka)
        .await
        .unwrap_or_default();
    assert!(!back.is_empty() && back.iter().all(|i| !i.listed_by_v1));
    assert!(!client.uses_v1_instance_list(), "back on V2");
    assert_eq!(server.count_path("/v1.0/"), 2);
}

#[tokio::test(start_paused = true)]
async fn throttling_404_does_not_trigger_v1_fallback() {
    let (transport, server) = fake(|r| {
        if r.index == 0 {
            Reply::error(404, "DMS.10240407", "too frequent")
        } else {
            Reply::json(200, json!({"instances": [], "instance_num": 0}))
        }
    });
    let (client, _) = client_with(config(aksk_with_token()), transport, &unlimited());
    assert_eq!(
        client.list_instances(Engine::Kafka).await.ok(),
        Some(vec![])
    );
    assert!(!client.uses_v1_instance_list());
    assert_eq!(server.count_path("/v1.0/"), 0);
}

#[tokio::test(start_paused = true)]
async fn undecodable_bodies_are_decode_errors_naming_the_path() {
    let (transport, server) = fake(|r| {
        if r.path.ends_with("/groups") {
            Reply::json(200, json!({"groups": 5, "total": 1}))
        } else {
            Reply::raw(200, "{\"cluster\": {\"brokers\": [")
        }
    });
    let (client, observer) = client_with(config(aksk_with_token()), transport, &unlimited());
    let error = client
        .kafka_groups("inst")
        .await
        .err()
        .unwrap_or_else(|| panic!("expected error"));
    assert_eq!(error.kind, ErrorKind::Decode);
    assert!(error.message.contains("groups"), "{error}");
    let error = client
        .kafka_cluster("inst")
        .await
        .err()
        .unwrap_or_else(|| panic!("expected error"));
    assert_eq!(error.kind, ErrorKind::Decode);
    assert!(error.to_string().contains("kafka_cluster"), "{error}");
    assert_eq!(server.count(), 2, "decode errors are not retried");
    assert_eq!(observer.count("retried"), 0);
}

#[tokio::test(start_paused = true)]
async fn tasks_query_and_parse() {
    let (transport, server) = fake(|_| Reply::json(200, fixture("R19_tasks.json")));
    let (client, _) = client_with(config(aksk_with_token()), transport, &unlimited());
    let tasks = client.tasks("inst", 20).await.unwrap_or_default();
    assert_eq!(tasks.task_count, 4);
    assert_eq!(tasks.tasks.len(), 2);
    assert_eq!(server.requests()[0].query, "limit=20&start=1");
    assert_eq!(
        server.requests()[0].path,
        format!("/v2/{PROJECT}/instances/inst/tasks")
    );
}

#[tokio::test(start_paused = true)]
async fn every_kafka_endpoint_uses_its_documented_path() {
    let (transport, server) = fake(|r| {
        let name = if r.path.ends_with("/management/cluster") {
            "R3_cluster.json"
        } else if r.path.ends_with("/message") {
            "R15_message_at_offset.json"
        } else if r.path.ends_with("/management/coordinators") {
            "R5_coordinators.json"
        } else if r.path.contains("/management/topics/") {
            "R11_topic_detail.json"
        } else if r.path.ends_with("/topics") {
            "R10_topics.json"
        } else if r.path.contains("/groups/") {
            "R8_group.json"
        } else {
            "R21_instance_tags.json"
        };
        Reply::json(200, fixture(name))
    });
    let (client, observer) = client_with(config(aksk_with_token()), transport, &unlimited());
    assert_eq!(
        client
            .kafka_cluster("i")
            .await
            .map(|c| c.brokers.len())
            .ok(),
        Some(3)
    );
    assert_eq!(
        client.kafka_coordinators("i").await.map(|c| c.len()).ok(),
        Some(3)
    );
    assert_eq!(
        client
            .kafka_topic_detail("i", "test")
            .await
            .map(|t| t.partitions.len())
            .ok(),
        Some(3)
    );
    assert_eq!(
        client.kafka_topics("i").await.map(|t| t.total).ok(),
        Some(Some(1))
    );
    assert_eq!(
        client
            .kafka_group("i", "test-consumer-group")
            .await
            .map(|g| g.group_message_offsets.len())
            .ok(),
        Some(5)
    );
    assert_eq!(
        client
            .instance_tags(Engine::Kafka, "i")
            .await
            .map(|t| t.len())
            .ok(),
        Some(2)
    );
    assert_eq!(
        client
            .kafka_partition_message("i", "mytest", 0, 7)
            .await
            .map(|m| m.produced_ms(7))
            .ok(),
        Some(Some(1_568_125_036_045))
    );
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.path.replace(PROJECT, "P"))
        .collect();
    assert_eq!(
        paths,
        [
            "/v2/P/instances/i/management/cluster",
            "/v2/P/instances/i/management/coordinators",
            "/v2/P/instances/i/management/topics/test",
            "/v2/P/instances/i/topics",
            "/v2/P/instances/i/groups/test-consumer-group",
            "/v2/P/kafka/i/tags",
            "/v2/P/instances/i/management/topics/mytest/partitions/0/message",
        ]
    );
    let last = server.requests().last().map(|r| r.query.clone());
    assert_eq!(last.as_deref(), Some("message_offset=7"));
    let apis: Vec<String> = observer
        .events_of("finished")
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(
        apis,
        [
            "kafka_cluster",
            "kafka_coordinators",
            "kafka_topic_detail",
            "kafka_topics",
            "kafka_group",
            "kafka_tags",
            "kafka_partition_message"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_bad_endpoint_makes_no_client() {
    let (transport, server) = fake(|_| Reply::raw(200, "{}"));
    let mut cfg = config(aksk_with_token());
    cfg.endpoint = "dms.example.com".into();
    let observer = Arc::new(RecordingObserver::default());
    let error = DmsClient::new(cfg, transport.clone(), &unlimited(), observer.clone()).err();
    assert_eq!(
        error,
        Some(ClientError::Dms(EndpointError::Scheme(
            "dms.example.com".into()
        )))
    );
    let mut cfg = config(aksk_with_token());
    cfg.iam_endpoint = "https://".into();
    let error = DmsClient::new(cfg, transport, &unlimited(), observer).err();
    let message = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.starts_with("IAM endpoint \"https://\""),
        "{message}"
    );
    assert_eq!(server.count(), 0);
}

#[test]
fn client_debug_does_not_show_secrets() {
    let (transport, _) = fake(|_| Reply::raw(200, "{}"));
    let (client, _) = client_with(config(aksk_with_token()), transport, &unlimited());
    let text = format!("{client:?}");
    assert!(
        !text.contains(SK) && !text.contains(SECURITY_TOKEN),
        "{text}"
    );
    let text = format!("{:?}", config(aksk_with_token()));
    assert!(
        !text.contains(SK) && !text.contains(SECURITY_TOKEN),
        "{text}"
    );
}

/// Issue 16, item 3: DMS's flow control, on any path (an instance's API, an engine's tags,
/// the project's instance list), never lowers the host's rate; only the gateway's 429 does.
#[tokio::test(start_paused = true)]
async fn flow_control_never_lowers_the_hosts_rate() {
    let (transport, _server) = fake(|r| {
        if r.index % 5 == 0 {
            Reply::error(404, "DMS.10240407", "The request is too frequent")
        } else if r.path.ends_with("/tags") {
            Reply::json(200, serde_json::json!({"tags": []}))
        } else {
            Reply::json(200, fixture("R3_cluster.json"))
        }
    });
    let budgets = Budgets::new(BudgetConfig {
        rate_per_second: 10.0,
        burst: 5,
        concurrency: 4,
    });
    let (client, observer) = client_with(config(aksk_with_token()), transport, &budgets);
    for round in 0..20 {
        let _ = client.kafka_cluster(&format!("inst-{round}")).await;
        let _ = client
            .instance_tags(Engine::Kafka, &format!("inst-{round}"))
            .await;
        let _ = client.list_instances(Engine::Kafka).await;
    }
    assert!(
        observer.count("throttled") >= 10,
        "flow control was answered"
    );
    let status = &budgets.statuses()[0];
    assert_eq!(
        status.effective_rate, 10.0,
        "the host's rate is untouched by DMS's flow control"
    );
}
