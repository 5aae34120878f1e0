//! Temporary credentials from the simulator's ECS metadata service, under paused time: calls
//! signed with them and their security token, refreshed ahead of expiry across the service's
//! rotation, a failing refresh while the old keys live, and the gateway's answer to expired
//! or unknown keys.

use std::sync::Arc;
use std::time::Duration;

use dms_cloud::{
    ClientConfig, CredentialProvider, CredentialSource, Credentials, DmsClient, Engine, ErrorKind,
    OidcAgencySource,
};
use dms_sim::{IdentityFault, MetadataFault, SimConfig, Simulator};
use secrecy::ExposeSecret;

use crate::sim::SimTransport;
use crate::support::{RecordingObserver, fast_retry, unlimited};

/// Any address: the in-process transport hands every request to the simulator, and no test
/// may reach a real link-local metadata service.
const METADATA: &str = "http://ecs-metadata.sim.invalid";
/// Kafka instances of the deterministic fleet in cn-north-4 (three, spread over two projects).
const KAFKA_HERE: usize = 2;
const MINUTE: Duration = Duration::from_secs(60);
const MARGIN: Duration = Duration::from_secs(15 * 60);

fn provider(sim: &Simulator) -> CredentialProvider {
    CredentialProvider::new(
        CredentialSource::EcsMetadata {
            endpoint: METADATA.to_owned(),
        },
        Arc::new(SimTransport { sim: sim.clone() }),
        MARGIN,
    )
}

pub(crate) fn client_of(sim: &Simulator, credentials: Credentials) -> DmsClient {
    let config = ClientConfig {
        region: "cn-north-4".into(),
        endpoint: "https://dms.cn-north-4.myhuaweicloud.com".into(),
        iam_endpoint: "https://iam.cn-north-4.myhuaweicloud.com".into(),
        ces_endpoint: "https://ces.cn-north-4.myhuaweicloud.com".into(),
        sts_endpoint: Some("https://sts.cn-north-4.myhuaweicloud.com".into()),
        project_id: None,
        credentials,
        request_timeout: Duration::from_secs(10),
        retry: fast_retry(),
    };
    DmsClient::new(
        config,
        Arc::new(SimTransport { sim: sim.clone() }),
        &unlimited(),
        Arc::new(RecordingObserver::default()),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) async fn list(client: &DmsClient) -> Result<usize, dms_cloud::ApiError> {
    client
        .list_instances(Engine::Kafka)
        .await
        .map(|instances| instances.len())
}

fn current_access_key(provider: &CredentialProvider) -> String {
    provider
        .current()
        .map(|keys| keys.access_key)
        .unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn metadata_keys_are_refreshed_ahead_of_expiry_across_the_rotation() {
    let sim = Simulator::new(SimConfig::deterministic());
    let provider = provider(&sim);
    let client = client_of(&sim, Credentials::Provided(provider.clone()));
    assert_eq!(
        list(&client).await.ok(),
        Some(KAFKA_HERE),
        "first keys fetched on demand"
    );
    let first = current_access_key(&provider);
    assert!(first.starts_with("SIMTEMPAK"), "{first}");
    let mut renewals = provider.renewals();
    renewals.mark_unchanged();
    let refresher = tokio::spawn({
        let provider = provider.clone();
        async move { provider.run().await }
    });
    // 45 min: the margin is reached, but the service still hands out the same keys (it
    // rotates 10 min before expiry); the provider asks again at half the rest.
    tokio::time::sleep(46 * MINUTE).await;
    assert_eq!(current_access_key(&provider), first);
    assert_eq!(
        renewals.has_changed().ok(),
        Some(false),
        "the same keys are no renewal"
    );
    tokio::time::sleep(8 * MINUTE).await;
    assert_eq!(
        renewals.has_changed().ok(),
        Some(true),
        "new keys are announced (the host schedulers probe them at once)"
    );
    let second = current_access_key(&provider);
    assert_ne!(second, first, "new keys after the service rotated them");
    assert_eq!(provider.status().consecutive_failures, 0);
    assert_eq!(
        list(&client).await.ok(),
        Some(KAFKA_HERE),
        "signed with the new keys"
    );
    // The overlap: the old keys still work until their own expiry, then the gateway refuses.
    let old = client_of(&sim, sim_keys(&sim, &first));
    assert_eq!(
        list(&old).await.ok(),
        Some(KAFKA_HERE),
        "old keys valid in the overlap"
    );
    tokio::time::sleep(7 * MINUTE).await;
    let refused = list(&old).await.err();
    assert_eq!(
        refused.as_ref().and_then(|e| e.error_code.as_deref()),
        Some("APIGW.0301"),
        "{refused:?}"
    );
    assert_eq!(list(&client).await.ok(), Some(KAFKA_HERE));
    // Hours later the keys are still fresh: one fetch per rotation, not a loop.
    let asked = sim.metadata_requests();
    tokio::time::sleep(5 * 60 * MINUTE).await;
    assert_eq!(list(&client).await.ok(), Some(KAFKA_HERE));
    let per_hour = (sim.metadata_requests() - asked) as f64 / 5.0;
    assert!(
        (1.0..=4.0).contains(&per_hour),
        "{per_hour} fetches an hour"
    );
    refresher.abort();
}

/// A client signing with the simulator's issued key `access_key` as static credentials.
fn sim_keys(sim: &Simulator, access_key: &str) -> Credentials {
    let issued = sim.temporary_key(access_key);
    let (secret, token) = issued.unwrap_or_default();
    Credentials::AkSk {
        access_key: access_key.to_owned(),
        secret_key: secret.into(),
        security_token: Some(token.into()),
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_refresh_keeps_the_old_keys_retries_with_backoff_and_sends_nothing_expired() {
    let sim = Simulator::new(SimConfig::deterministic());
    let provider = provider(&sim);
    let client = client_of(&sim, Credentials::Provided(provider.clone()));
    assert_eq!(list(&client).await.ok(), Some(KAFKA_HERE));
    assert!(provider.status().expires_at.is_some());
    let first = current_access_key(&provider);
    sim.set_metadata_fault(MetadataFault::Unavailable);
    let refresher = tokio::spawn({
        let provider = provider.clone();
        async move { provider.run().await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let asked = sim.metadata_requests();
    // Past the margin: every refresh fails; the old keys are kept and still sign.
    tokio::time::sleep(50 * MINUTE).await;
    let status = provider.status();
    assert!(status.consecutive_failures >= 5, "{status:?}");
    assert_eq!(
        current_access_key(&provider),
        first,
        "the old keys are kept"
    );
    assert!(status.expires_at.is_some(), "and shown while they live");
    assert_eq!(
        list(&client).await.ok(),
        Some(KAFKA_HERE),
        "old keys still used"
    );
    // Backoff: over five minutes of failures, at most one try a minute (after the ramp).
    let before = sim.metadata_requests();
    tokio::time::sleep(5 * MINUTE).await;
    let tries = sim.metadata_requests() - before;
    assert!((4..=6).contains(&tries), "{tries} tries in 5 min");
    assert!(sim.metadata_requests() - asked < 40, "no tight loop");
    // Expired: nothing is sent with them.
    tokio::time::sleep(6 * MINUTE).await;
    let sent = sim.request_counts().get("instances_list").copied();
    let error = list(&client).await.err();
    assert_eq!(
        error.as_ref().map(|e| e.kind),
        Some(ErrorKind::Unauthorized)
    );
    assert_eq!(error.as_ref().and_then(|e| e.status), None, "not sent");
    assert_eq!(sim.request_counts().get("instances_list").copied(), sent);
    // The service comes back: new keys within the backoff's minute.
    sim.set_metadata_fault(MetadataFault::None);
    tokio::time::sleep(MINUTE + Duration::from_secs(1)).await;
    assert_eq!(provider.status().consecutive_failures, 0);
    assert_ne!(current_access_key(&provider), first, "new keys");
    assert_eq!(list(&client).await.ok(), Some(KAFKA_HERE));
    refresher.abort();
}

#[tokio::test(start_paused = true)]
async fn an_ecs_without_an_agency_is_named_and_no_secret_leaks() {
    let sim = Simulator::new(SimConfig::deterministic());
    sim.set_metadata_fault(MetadataFault::NoAgency);
    let provider = provider(&sim);
    let error = provider.keys().await.err().map(|e| e.to_string());
    let error = error.unwrap_or_default();
    assert!(error.contains("no agency is bound"), "{error}");
    assert!(error.contains("HTTP 401"), "{error}");
    // Asked again only after the backoff, whatever the callers.
    let asked = sim.metadata_requests();
    for _ in 0..10 {
        assert!(provider.keys().await.is_err());
    }
    assert_eq!(sim.metadata_requests(), asked);
    sim.set_metadata_fault(MetadataFault::None);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let keys = provider.keys().await.unwrap_or_else(|e| panic!("{e}"));
    let secret = keys.secret_key.expose_secret().to_owned();
    let token = keys
        .security_token
        .as_ref()
        .map(|t| t.expose_secret().to_owned())
        .unwrap_or_default();
    let shown = format!("{provider:?} {:?} {keys:?}", provider.status());
    for hidden in [&secret, &token, &keys.access_key] {
        assert!(!shown.contains(hidden.as_str()), "{shown}");
    }
}

#[tokio::test(start_paused = true)]
async fn temporary_keys_are_refused_without_their_token_expired_or_unknown() {
    let sim = Simulator::new(SimConfig::deterministic());
    let provider = provider(&sim);
    let keys = provider.keys().await.unwrap_or_else(|e| panic!("{e}"));
    let without_token = Credentials::AkSk {
        access_key: keys.access_key.clone(),
        secret_key: keys.secret_key.clone(),
        security_token: None,
    };
    let error = list(&client_of(&sim, without_token)).await.err();
    assert_eq!(
        error.as_ref().and_then(|e| e.status),
        Some(401),
        "{error:?}"
    );
    let wrong_token = Credentials::AkSk {
        access_key: keys.access_key.clone(),
        secret_key: keys.secret_key.clone(),
        security_token: Some("not-the-token".to_owned().into()),
    };
    assert!(list(&client_of(&sim, wrong_token)).await.is_err());
    let unknown = Credentials::AkSk {
        access_key: "SIMTEMPAK99999999999".to_owned(),
        secret_key: keys.secret_key.clone(),
        security_token: keys.security_token.clone(),
    };
    let error = list(&client_of(&sim, unknown)).await.err();
    assert_eq!(
        error.as_ref().and_then(|e| e.error_code.as_deref()),
        Some("APIGW.0301")
    );
    let as_issued = Credentials::AkSk {
        access_key: keys.access_key.clone(),
        secret_key: keys.secret_key.clone(),
        security_token: keys.security_token.clone(),
    };
    let static_client = client_of(&sim, as_issued);
    assert_eq!(list(&static_client).await.ok(), Some(KAFKA_HERE));
    tokio::time::sleep(61 * MINUTE).await;
    let error = list(&static_client).await.err();
    assert_eq!(error.as_ref().and_then(|e| e.status), Some(401));
    assert_eq!(
        error.as_ref().and_then(|e| e.error_code.as_deref()),
        Some("APIGW.0301"),
        "the gateway's answer to expired keys"
    );
}

/// A CCE-style projected token file under the system's temporary directory.
fn token_file(name: &str, token: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dms-id-token-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("token");
    std::fs::write(&path, format!("{token}\n")).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// Why `provider` has no keys ("" when it has).
async fn refusal(provider: &CredentialProvider) -> String {
    provider
        .keys()
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

fn id_token_provider(sim: &Simulator, token_file: &std::path::Path) -> CredentialProvider {
    CredentialProvider::new(
        CredentialSource::IdToken {
            iam_endpoint: "https://iam.cn-north-4.myhuaweicloud.com".to_owned(),
            idp_id: sim.config().id_token_idp.clone(),
            token_file: token_file.to_owned(),
            lifetime: Duration::from_secs(3600),
        },
        Arc::new(SimTransport { sim: sim.clone() }),
        MARGIN,
    )
}

#[tokio::test(start_paused = true)]
async fn an_id_token_buys_keys_that_are_renewed_with_the_rotated_token() {
    // Both routes: IAM's identity provider (an unscoped token, then keys), and STS for the
    // agency that trusts the provider (no IAM token between).
    for route in ["iam", "sts"] {
        let sim = Simulator::new(SimConfig::deterministic());
        let path = token_file(
            &format!("renewed-{route}"),
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkbXMifQ.c2lnbmF0dXJl",
        );
        let (provider, label) = if route == "iam" {
            (id_token_provider(&sim, &path), "id_token")
        } else {
            let idp = sim.config().id_token_idp.clone();
            (oidc_agency_provider(&sim, &path, &idp), "oidc_agency")
        };
        assert_eq!(provider.source().label(), label);
        let exchanges = || sim.id_token_exchanges() + sim.agency_assumes();
        let client = client_of(&sim, Credentials::Provided(provider.clone()));
        assert_eq!(list(&client).await.ok(), Some(KAFKA_HERE), "{route}");
        assert_eq!(exchanges(), 1, "{route}");
        let first = current_access_key(&provider);
        let refresher = tokio::spawn({
            let provider = provider.clone();
            async move { provider.run().await }
        });
        // The kubelet rotates the projected token; the next refresh presents the new one.
        std::fs::write(
            &path,
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkbXMyIn0.bmV3c2lnbmF0dXJl\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        tokio::time::sleep(46 * MINUTE).await;
        assert_eq!(exchanges(), 2, "{route}: renewed 15 min before the hour");
        if route == "sts" {
            assert_eq!(sim.id_token_exchanges(), 0, "no IAM token between");
        }
        assert_ne!(current_access_key(&provider), first, "{route}");
        assert_eq!(list(&client).await.ok(), Some(KAFKA_HERE), "{route}");
        refresher.abort();
        std::fs::remove_dir_all(path.parent().unwrap_or(&path)).ok();
    }
}

#[tokio::test(start_paused = true)]
async fn a_rejected_or_missing_id_token_is_named_and_never_shown() {
    let sim = Simulator::new(SimConfig::deterministic());
    let secret_token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZWNyZXQifQ.dG9wc2VjcmV0";
    let path = token_file("rejected", secret_token);
    sim.set_identity_fault(IdentityFault::RejectIdTokens);
    let provider = id_token_provider(&sim, &path);
    let error = refusal(&provider).await;
    assert!(error.contains("HTTP 401"), "{error}");
    assert!(error.contains("identity provider"), "{error}");
    let client = client_of(&sim, Credentials::Provided(provider.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let failed = list(&client).await.err();
    assert_eq!(failed.as_ref().and_then(|e| e.status), None, "not sent");
    let shown = format!("{error} {failed:?} {provider:?}");
    assert!(!shown.contains(secret_token), "{shown}");

    let missing = id_token_provider(&sim, &path.with_file_name("absent"));
    let error = refusal(&missing).await;
    assert!(error.contains("cannot read the id token file"), "{error}");
    assert!(error.contains("absent"), "{error}");
    std::fs::remove_dir_all(path.parent().unwrap_or(&path)).ok();
}

#[tokio::test(start_paused = true)]
async fn keys_are_not_used_in_their_last_seconds() {
    let sim = Simulator::new(SimConfig::deterministic());
    let provider = provider(&sim);
    assert!(provider.keys().await.is_ok());
    // No refresh task: the keys' own hour runs out.
    tokio::time::sleep(60 * MINUTE - dms_cloud::provider::EXPIRY_GUARD - Duration::from_secs(2))
        .await;
    assert!(provider.current().is_some(), "usable until the guard");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        provider.current().is_none(),
        "a call could outlive the keys: not used"
    );
}

/// The agency of `sim` that trusts its identity provider, assumed with the token of `file`
/// at STS; `provider` names the provider (the right one, or another to be refused).
fn oidc_agency_provider(
    sim: &Simulator,
    token_file: &std::path::Path,
    provider: &str,
) -> CredentialProvider {
    let domain = sim.domain_id();
    CredentialProvider::new(
        CredentialSource::OidcAgency(Box::new(OidcAgencySource {
            sts_endpoint: "https://sts.cn-north-4.myhuaweicloud.com".to_owned(),
            provider_urn: format!("iam::{domain}:identity-provider:{provider}"),
            agency_urn: format!("iam::{domain}:agency:{}", sim.config().oidc_agency),
            session_name: "dms-exporter".to_owned(),
            token_file: token_file.to_owned(),
            duration: Duration::from_secs(3600),
        })),
        Arc::new(SimTransport { sim: sim.clone() }),
        MARGIN,
    )
}

#[tokio::test(start_paused = true)]
async fn an_agency_refuses_the_token_of_another_provider_and_never_shows_it() {
    let sim = Simulator::new(SimConfig::deterministic());
    let path = token_file(
        "oidc-refused",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkbXMifQ.c2lnbmF0dXJl",
    );
    // Another identity provider, or an agency that no longer trusts this one: refused,
    // named, and the token never shown.
    let other = oidc_agency_provider(&sim, &path, "another-cluster");
    let error = refusal(&other).await;
    assert!(error.contains("HTTP 403"), "{error}");
    assert!(error.contains("assume-with-oidc"), "{error}");
    sim.set_agency_fault(dms_sim::AgencyFault::NotAuthorized);
    let idp = sim.config().id_token_idp.clone();
    let refused = oidc_agency_provider(&sim, &path, &idp);
    let error = refusal(&refused).await;
    assert!(error.contains("HTTP 403"), "{error}");
    let shown = format!("{error} {refused:?}");
    assert!(!shown.contains("c2lnbmF0dXJl"), "{shown}");
    std::fs::remove_dir_all(path.parent().unwrap_or(&path)).ok();
}
