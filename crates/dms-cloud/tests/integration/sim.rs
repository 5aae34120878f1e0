//! The client against the DMS/IAM simulator, in process (the simulator's axum router behind a
//! `Transport`), under paused tokio time.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dms_cloud::transport::{Transport, TransportError};
use dms_cloud::{ClientConfig, Credentials, DmsClient, Engine, ErrorKind};
use dms_sim::{Fault, FaultRule, SimConfig, Simulator};
use futures::FutureExt;
use futures::future::BoxFuture;

use crate::support::{RecordingObserver, fast_retry, unlimited};

const SIM_AK: &str = "SIMULATORAK000000001";
const SIM_SK: &str = "simulator-secret-key-0001";
const CN_NORTH_4: &str = "0b0e4b5d1e8f4d6c9a7f3e2d1c0b9a88";

/// Dispatches requests into the simulator in-process.
pub(crate) struct SimTransport {
    pub(crate) sim: Simulator,
}

impl Transport for SimTransport {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'static, Result<http::Response<Bytes>, TransportError>> {
        let sim = self.sim.clone();
        async move {
            sim.handle(request)
                .await
                .map_err(|e| TransportError::Other(e.to_string()))
        }
        .boxed()
    }
}

fn sim_config(credentials: Credentials) -> ClientConfig {
    ClientConfig {
        region: "cn-north-4".into(),
        endpoint: "https://dms.cn-north-4.myhuaweicloud.com".into(),
        iam_endpoint: "https://iam.cn-north-4.myhuaweicloud.com".into(),
        ces_endpoint: "https://ces.cn-north-4.myhuaweicloud.com".into(),
        sts_endpoint: Some("https://sts.cn-north-4.myhuaweicloud.com".into()),
        project_id: None,
        credentials,
        request_timeout: Duration::from_secs(10),
        retry: fast_retry(),
    }
}

fn setup(credentials: Credentials) -> (Simulator, DmsClient, Arc<RecordingObserver>) {
    setup_with(SimConfig::deterministic(), credentials)
}

fn setup_with(
    config: SimConfig,
    credentials: Credentials,
) -> (Simulator, DmsClient, Arc<RecordingObserver>) {
    let sim = Simulator::new(config);
    let transport = Arc::new(SimTransport { sim: sim.clone() });
    let observer = Arc::new(RecordingObserver::default());
    let client = DmsClient::new(
        sim_config(credentials),
        transport,
        &unlimited(),
        observer.clone(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (sim, client, observer)
}

fn aksk() -> Credentials {
    Credentials::aksk(SIM_AK, SIM_SK)
}

fn password() -> Credentials {
    Credentials::password("monitor", "monitor-password", "example-domain")
}

fn count(sim: &Simulator, endpoint: &str) -> u64 {
    sim.request_counts().get(endpoint).copied().unwrap_or(0)
}

#[tokio::test(start_paused = true)]
async fn every_endpoint_works_against_the_simulator_with_aksk() {
    let (sim, client, observer) = setup(aksk());
    assert_eq!(client.project_id().await.ok().as_deref(), Some(CN_NORTH_4));
    let instances = client.list_instances(Engine::Kafka).await;
    let instances = instances.unwrap_or_else(|e| panic!("{e}"));
    assert!(!instances.is_empty());
    for instance in &instances {
        let id = instance.instance_id.as_str();
        assert!(!instance.name.is_empty());
        let cluster = client
            .kafka_cluster(id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cluster.brokers.len(), 3);
        let topics = client
            .kafka_topics(id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!topics.topics.is_empty());
        for topic in &topics.topics {
            let detail = client
                .kafka_topic_detail(id, &topic.name)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(detail.topic, topic.name);
            // The documented pace of R11: one call per second per instance.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let usage = client
            .kafka_disk_usage(id, "1K")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(usage.broker_list.iter().all(|b| b.size_bytes().is_some()));
        let groups = client
            .kafka_groups(id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(groups.len(), 3);
        for group in &groups {
            let detail = client
                .kafka_group(id, &group.group_id)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(detail.group_id, group.group_id);
        }
        client
            .kafka_coordinators(id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        client
            .instance_tags(Engine::Kafka, id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let tasks = client.tasks(id, 10).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tasks.task_count, 3);
    }
    assert!(
        sim.request_log().iter().all(|r| r.status == 200),
        "{:?}",
        sim.request_log()
            .iter()
            .filter(|r| r.status != 200)
            .collect::<Vec<_>>()
    );
    assert_eq!(observer.count("retried"), 0);
    assert_eq!(count(&sim, "iam_projects"), 1);
}

#[tokio::test(start_paused = true)]
async fn every_rocketmq_endpoint_works_against_the_simulator() {
    let (sim, client, observer) = setup(aksk());
    let instances = client
        .list_instances(Engine::RocketMq)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(instances.len(), 1);
    let instance = &instances[0];
    assert_eq!(instance.engine, "reliability");
    assert!(instance.created_at.is_some_and(|ms| ms > 0));
    let id = instance.instance_id.as_str();
    let ok = |e: dms_cloud::ApiError| -> ! { panic!("{e}") };
    let brokers = client.rocketmq_brokers(id).await.unwrap_or_else(|e| ok(e));
    assert_eq!(Some(brokers.brokers.len() as i64), instance.broker_num);
    let groups = client.rocketmq_groups(id).await.unwrap_or_else(|e| ok(e));
    assert_eq!(groups.total, Some(groups.items.len() as i64));
    for group in &groups.items {
        let detail = client
            .rocketmq_group(id, &group.name)
            .await
            .unwrap_or_else(|e| ok(e));
        assert_eq!(detail.name, group.name);
        client
            .rocketmq_group_clients(id, &group.name)
            .await
            .unwrap_or_else(|e| ok(e));
        for topic in client
            .rocketmq_group_topics(id, &group.name)
            .await
            .unwrap_or_else(|e| ok(e))
        {
            let lag = client
                .rocketmq_group_topic(id, &group.name, &topic)
                .await
                .unwrap_or_else(|e| ok(e));
            let status = client
                .rocketmq_topic_status(id, &topic)
                .await
                .unwrap_or_else(|e| ok(e));
            for (consumed, stored) in lag.brokers.iter().zip(&status.brokers) {
                for (q, s) in consumed.queues.iter().zip(&stored.queues) {
                    assert_eq!(q.broker_offset, s.max_offset);
                }
            }
        }
    }
    let topics = client.rocketmq_topics(id).await.unwrap_or_else(|e| ok(e));
    for topic in &topics.items {
        let detail = client
            .rocketmq_topic(id, &topic.name)
            .await
            .unwrap_or_else(|e| ok(e));
        assert_eq!(detail.total_read_queue_num, topic.total_read_queue_num);
    }
    if instance.enable_acl == Some(true) {
        let users = client.rocketmq_users(id).await.unwrap_or_else(|e| ok(e));
        assert!(users.iter().any(|u| u.admin == Some(true)));
    }
    client
        .instance_tags(Engine::RocketMq, id)
        .await
        .unwrap_or_else(|e| ok(e));
    assert_eq!(
        client
            .tasks(id, 10)
            .await
            .unwrap_or_else(|e| ok(e))
            .task_count,
        3
    );
    assert!(sim.request_log().iter().all(|r| r.status == 200));
    assert_eq!(observer.count("retried"), 0);
}

#[tokio::test(start_paused = true)]
async fn simulated_throttling_is_retried_and_paced() {
    let (sim, client, observer) = setup(aksk());
    let Some(id) = kafka_ids(&client).await.into_iter().next() else {
        panic!("the simulator has no instance in cn-north-4")
    };
    sim.set_fault(FaultRule {
        endpoint: "kafka_groups".into(),
        instance_id: None,
        fault: Fault::Throttle429,
        remaining: Some(2),
    });
    let groups = client
        .kafka_groups(&id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(groups.len(), 3);
    assert_eq!(observer.count("throttled"), 2);
    assert_eq!(observer.count("retried"), 2);
    let times: Vec<_> = sim
        .request_log()
        .into_iter()
        .filter(|r| r.endpoint == "kafka_groups")
        .map(|r| r.at)
        .collect();
    assert_eq!(times.len(), 3);
    assert!(times[1] - times[0] >= Duration::from_secs(2));
    assert!(times[2] - times[1] >= Duration::from_secs(2));

    sim.set_fault(FaultRule {
        endpoint: "kafka_cluster".into(),
        instance_id: Some(id.clone()),
        fault: Fault::Throttle404,
        remaining: Some(1),
    });
    assert!(client.kafka_cluster(&id).await.is_ok());
    assert_eq!(observer.count("throttled"), 3);
}

#[tokio::test(start_paused = true)]
async fn simulated_faults_map_to_error_kinds() {
    let (sim, client, _) = setup(aksk());
    let Some(id) = kafka_ids(&client).await.into_iter().next() else {
        panic!("the simulator has no instance in cn-north-4")
    };
    let id = id.as_str();
    for (fault, kind, attempts) in [
        (Fault::ServerError(503), ErrorKind::ServerError, 4),
        (Fault::Malformed, ErrorKind::Decode, 1),
        (Fault::Truncated, ErrorKind::Decode, 1),
        (Fault::Stall, ErrorKind::Timeout, 4),
    ] {
        sim.clear_faults();
        // The previous fault's backoff ends with its longest delay.
        tokio::time::sleep(dms_cloud::budget::backoff::MAX_DELAY).await;
        sim.set_fault(FaultRule {
            endpoint: "kafka_topics".into(),
            instance_id: None,
            fault: fault.clone(),
            remaining: None,
        });
        let before = count(&sim, "kafka_topics");
        let error = client.kafka_topics(id).await.err();
        assert_eq!(error.map(|e| e.kind), Some(kind), "{fault:?}");
        if fault != Fault::Stall {
            assert_eq!(count(&sim, "kafka_topics") - before, attempts, "{fault:?}");
        }
    }
    sim.clear_faults();
}

#[tokio::test(start_paused = true)]
async fn a_wrong_secret_is_unauthorized_and_not_retried() {
    let (sim, client, _) = setup(Credentials::aksk(SIM_AK, "wrong-secret"));
    let mut config = sim_config(Credentials::aksk(SIM_AK, "wrong-secret"));
    config.project_id = Some(CN_NORTH_4.into());
    drop(client);
    let client = DmsClient::new(
        config,
        Arc::new(SimTransport { sim: sim.clone() }),
        &unlimited(),
        Arc::new(dms_cloud::NoopObserver),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let error = client.list_instances(Engine::Kafka).await.err();
    let error = error.unwrap_or_else(|| panic!("expected an error"));
    assert_eq!(error.kind, ErrorKind::Unauthorized);
    assert_eq!(error.error_code.as_deref(), Some("APIGW.0301"));
    assert!(!error.to_string().contains("wrong-secret"));
    assert_eq!(count(&sim, "instances_list"), 1);
}

#[tokio::test(start_paused = true)]
async fn token_auth_against_the_simulator() {
    let (sim, client, _) = setup(password());
    assert_eq!(client.project_id().await.ok().as_deref(), Some(CN_NORTH_4));
    let instances = client
        .list_instances(Engine::Kafka)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for instance in &instances {
        assert!(client.kafka_cluster(&instance.instance_id).await.is_ok());
    }
    assert_eq!(count(&sim, "iam_tokens"), 1, "the token is cached");

    // Server-side invalidation: one 401, one refresh, one retry.
    sim.expire_tokens();
    let id = instances
        .first()
        .map(|i| i.instance_id.clone())
        .unwrap_or_default();
    assert!(client.kafka_cluster(&id).await.is_ok());
    assert_eq!(count(&sim, "iam_tokens"), 2);
    let statuses: Vec<u16> = sim
        .request_log()
        .into_iter()
        .filter(|r| r.endpoint == "kafka_cluster")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 1);

    // Refreshed an hour before the 24 h validity ends, never expired in use.
    tokio::time::advance(Duration::from_secs(23 * 3600 + 60)).await;
    assert!(client.kafka_cluster(&id).await.is_ok());
    assert_eq!(count(&sim, "iam_tokens"), 3);
    let unauthorized = sim
        .request_log()
        .into_iter()
        .filter(|r| r.status == 401)
        .count();
    assert_eq!(unauthorized, 1, "the proactive refresh avoided a 401");
}

async fn kafka_ids(client: &DmsClient) -> Vec<String> {
    client
        .list_instances(Engine::Kafka)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|i| i.instance_id)
        .collect()
}

fn unauthorized_answers(sim: &Simulator) -> usize {
    sim.request_log()
        .into_iter()
        .filter(|r| r.status == 401)
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_token_living_under_a_minute_is_refreshed_before_it_expires() {
    let config = SimConfig {
        token_validity: Duration::from_secs(30),
        ..SimConfig::deterministic()
    };
    let (sim, client, _) = setup_with(config, password());
    let id = kafka_ids(&client)
        .await
        .into_iter()
        .next()
        .unwrap_or_default();
    for _ in 0..12 {
        let cluster = client.kafka_cluster(&id).await;
        assert!(cluster.is_ok(), "{cluster:?}");
        tokio::time::advance(Duration::from_secs(10)).await;
    }
    assert_eq!(unauthorized_answers(&sim), 0, "never used an expired token");
    assert!(count(&sim, "iam_tokens") >= 6, "refreshed at half its life");
}

#[tokio::test(start_paused = true)]
async fn a_per_api_401_keeps_a_valid_token() {
    let (sim, client, _) = setup(password());
    let ids = kafka_ids(&client).await;
    let (Some(denied), Some(other)) = (ids.first(), ids.get(1)) else {
        panic!("the deterministic fleet has two Kafka instances in cn-north-4");
    };
    assert!(client.kafka_cluster(other).await.is_ok());
    for fault in [Fault::DmsUnauthorized, Fault::Forbidden] {
        sim.set_fault(FaultRule {
            endpoint: "kafka_cluster".into(),
            instance_id: Some(denied.clone()),
            fault,
            remaining: Some(1),
        });
        let error = client.kafka_cluster(denied).await.err().map(|e| e.kind);
        assert!(
            matches!(error, Some(ErrorKind::Unauthorized | ErrorKind::Forbidden)),
            "{error:?}"
        );
    }
    assert!(client.kafka_cluster(other).await.is_ok());
    assert_eq!(count(&sim, "iam_tokens"), 1, "the token was kept");

    // A real token rejection still refreshes.
    sim.set_fault(FaultRule {
        endpoint: "kafka_cluster".into(),
        instance_id: Some(other.clone()),
        fault: Fault::TokenExpired,
        remaining: Some(1),
    });
    assert!(client.kafka_cluster(other).await.is_ok());
    assert_eq!(count(&sim, "iam_tokens"), 2);
}

#[tokio::test(start_paused = true)]
async fn a_wrong_password_does_not_hammer_iam() {
    let (sim, client, _) = setup(Credentials::password("monitor", "nope", "example-domain"));
    for _ in 0..5 {
        let error = client.list_instances(Engine::Kafka).await.err();
        assert_eq!(error.map(|e| e.kind), Some(ErrorKind::Unauthorized));
    }
    assert_eq!(count(&sim, "iam_tokens"), 1);
}

#[tokio::test]
async fn reqwest_transport_over_tcp_is_signed_correctly() {
    let sim = Simulator::new(SimConfig::deterministic());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = {
        let sim = sim.clone();
        tokio::spawn(async move {
            sim.serve(listener, async move {
                let _ = stopped.await;
            })
            .await
        })
    };
    let transport = dms_cloud::ReqwestTransport::new(Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("transport: {e}"));
    let mut config = sim_config(aksk());
    config.endpoint = format!("http://{address}");
    config.iam_endpoint = format!("http://{address}");
    let client = DmsClient::new(
        config,
        Arc::new(transport),
        &unlimited(),
        Arc::new(dms_cloud::NoopObserver),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let instances = client
        .list_instances(Engine::Kafka)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!instances.is_empty());
    let groups = client
        .kafka_groups(&instances[0].instance_id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(groups.len(), 3);
    let _ = stop.send(());
    let _ = server.await;

    // A closed port is a transport error, not a hang.
    let transport = dms_cloud::ReqwestTransport::new(Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("transport: {e}"));
    let mut config = sim_config(aksk());
    config.endpoint = format!("http://{address}");
    config.project_id = Some(CN_NORTH_4.into());
    config.retry = dms_cloud::RetryPolicy::none();
    let client = DmsClient::new(
        config,
        Arc::new(transport),
        &unlimited(),
        Arc::new(dms_cloud::NoopObserver),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let error = client.kafka_cluster("x").await.err();
    let error = error.unwrap_or_else(|| panic!("expected an error"));
    assert_eq!(error.kind, ErrorKind::Transport, "{error}");
    assert!(!error.to_string().contains(SIM_SK));
}

#[tokio::test(start_paused = true)]
async fn the_account_id_comes_from_sts_for_keys_and_from_the_token_for_a_password() {
    let (sim, client, _) = setup(aksk());
    let id = client.account_id().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id, sim.domain_id());
    assert_eq!(sim.caller_identity_calls(), 1);

    // The password's token names its account: STS is not asked.
    let (sim, client, _) = setup(password());
    let id = client.account_id().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id, sim.domain_id());
    assert_eq!(sim.caller_identity_calls(), 0);

    // A wrong secret is the gateway's refusal, not an empty id.
    let (sim, client, _) = setup(Credentials::aksk(SIM_AK, "not-the-secret"));
    let error = client
        .account_id()
        .await
        .expect_err("a wrong signature has no account");
    assert_eq!(error.api, "sts_caller_identity");
    assert!(
        matches!(error.kind, ErrorKind::Unauthorized | ErrorKind::Forbidden),
        "{error:?}"
    );
    assert!(sim.caller_identity_calls() >= 1);
}
