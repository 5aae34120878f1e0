//! Keys of an agency in another account, bought at the simulator's STS with the caller's
//! keys under paused time: refreshed a margin ahead of expiry (one STS call per refresh, not
//! more), a wrong external id or an agency that does not trust the caller refused with the
//! reason and no secret, the old keys kept through a failing STS, and agency chaining from
//! temporary base keys held to STS's hour.

use std::sync::Arc;
use std::time::Duration;

use dms_cloud::{
    AgencySource, BaseKeys, CredentialProvider, CredentialSource, Credentials, RefreshError,
    SigningKeys,
};
use dms_sim::{AccessKey, Agency, AgencyFault, SimConfig, Simulator};
use secrecy::SecretString;

use crate::sim::SimTransport;

const STS: &str = "https://sts.cn-north-4.myhuaweicloud.com";
const MINUTE: Duration = Duration::from_secs(60);
const MARGIN: Duration = Duration::from_secs(15 * 60);
const EXTERNAL_ID: &str = "shared-external-id-7f3a";

/// The monitoring account's principal (its key is not one of the simulated account's).
fn principal() -> AccessKey {
    AccessKey {
        access_key: "MONITORINGACCOUNTAK01".to_owned(),
        secret_key: "monitoring-account-secret".to_owned(),
    }
}

/// An account whose agency `dms-monitoring` trusts [`principal`] with [`EXTERNAL_ID`].
fn account() -> Simulator {
    Simulator::new(SimConfig {
        agencies: vec![Agency {
            name: "dms-monitoring".to_owned(),
            trusted: principal(),
            external_id: Some(EXTERNAL_ID.to_owned()),
            max_duration: Duration::from_secs(12 * 3600),
        }],
        ..SimConfig::deterministic()
    })
}

fn agency(
    sim: &Simulator,
    base: BaseKeys,
    external_id: Option<&str>,
    duration: Duration,
) -> CredentialProvider {
    CredentialProvider::new(
        CredentialSource::Agency(Box::new(AgencySource {
            base,
            sts_endpoint: STS.to_owned(),
            agency_urn: format!("iam::{}:agency:dms-monitoring", sim.domain_id()),
            session_name: "dms-exporter".to_owned(),
            external_id: external_id.map(|id| SecretString::from(id.to_owned())),
            duration,
        })),
        Arc::new(SimTransport { sim: sim.clone() }),
        MARGIN,
    )
}

fn principal_keys() -> BaseKeys {
    let key = principal();
    BaseKeys::Static(SigningKeys {
        access_key: key.access_key,
        secret_key: SecretString::from(key.secret_key),
        security_token: None,
    })
}

fn client(sim: &Simulator, provider: &CredentialProvider) -> dms_cloud::DmsClient {
    crate::temporary::client_of(sim, Credentials::Provided(provider.clone()))
}

#[tokio::test(start_paused = true)]
async fn agency_keys_are_refreshed_a_margin_ahead_with_one_sts_call_each() {
    let sim = account();
    let provider = agency(
        &sim,
        principal_keys(),
        Some(EXTERNAL_ID),
        Duration::from_secs(3600),
    );
    let client = client(&sim, &provider);
    assert!(
        crate::temporary::list(&client).await.is_ok(),
        "first keys bought on demand"
    );
    assert_eq!(sim.agency_assumes(), 1);
    let running = {
        let provider = provider.clone();
        tokio::spawn(async move { provider.run().await })
    };
    // Six hours, a call every five minutes: keys of an hour renewed every 45 minutes.
    for _ in 0..72 {
        tokio::time::sleep(5 * MINUTE).await;
        assert!(
            crate::temporary::list(&client).await.is_ok(),
            "a call was refused"
        );
    }
    let assumes = sim.agency_assumes();
    assert!(
        (8..=10).contains(&assumes),
        "{assumes} STS calls in 6 h (≈ 6 h / 45 min)"
    );
    assert_eq!(provider.status().failed_refreshes, 0);
    running.abort();
}

#[tokio::test(start_paused = true)]
async fn a_wrong_external_id_or_an_untrusting_agency_is_refused_with_its_reason_only() {
    let sim = account();
    for external_id in [Some("not-the-external-id"), None] {
        let provider = agency(
            &sim,
            principal_keys(),
            external_id,
            Duration::from_secs(3600),
        );
        let error = provider.keys().await.err();
        let Some(RefreshError::Refused { status, hint, .. }) = &error else {
            panic!("{error:?}");
        };
        assert_eq!(*status, 403);
        assert!(hint.contains("external_id"), "{hint}");
        let shown = format!(
            "{error:?} {} {provider:?}",
            error.as_ref().map(ToString::to_string).unwrap_or_default()
        );
        for secret in [
            "not-the-external-id",
            EXTERNAL_ID,
            "monitoring-account-secret",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
    // Another principal's keys: the agency does not trust it.
    let key = &SimConfig::deterministic().credentials[0];
    let other = BaseKeys::Static(SigningKeys {
        access_key: key.access_key.clone(),
        secret_key: SecretString::from(key.secret_key.clone()),
        security_token: None,
    });
    let provider = agency(&sim, other, Some(EXTERNAL_ID), Duration::from_secs(3600));
    assert!(matches!(
        provider.keys().await,
        Err(RefreshError::Refused { status: 403, .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_refused_refresh_keeps_the_agency_keys_while_they_live() {
    let sim = account();
    let provider = agency(
        &sim,
        principal_keys(),
        Some(EXTERNAL_ID),
        Duration::from_secs(3600),
    );
    let client = client(&sim, &provider);
    assert!(crate::temporary::list(&client).await.is_ok());
    let running = {
        let provider = provider.clone();
        tokio::spawn(async move { provider.run().await })
    };
    sim.set_agency_fault(AgencyFault::NotAuthorized);
    // Past the refresh (45 min) but before the expiry: still collecting, failures counted.
    tokio::time::sleep(50 * MINUTE).await;
    assert!(crate::temporary::list(&client).await.is_ok());
    assert!(provider.status().failed_refreshes >= 1);
    // Past the expiry: nothing is sent with expired keys.
    tokio::time::sleep(15 * MINUTE).await;
    assert!(crate::temporary::list(&client).await.is_err());
    sim.set_agency_fault(AgencyFault::None);
    tokio::time::sleep(2 * MINUTE).await;
    assert!(
        crate::temporary::list(&client).await.is_ok(),
        "new keys after the fault"
    );
    running.abort();
}

#[tokio::test(start_paused = true)]
async fn an_agency_assumed_with_temporary_keys_asks_for_an_hour_at_most() {
    // The principal's keys are themselves temporary (the ECS metadata service's), so STS
    // refuses sessions over an hour: twelve are asked for, one is.
    let sim = account();
    let metadata = CredentialProvider::new(
        CredentialSource::EcsMetadata {
            endpoint: "http://ecs-metadata.sim.invalid".to_owned(),
        },
        Arc::new(SimTransport { sim: sim.clone() }),
        MARGIN,
    );
    let provider = agency(
        &sim,
        BaseKeys::Provided(metadata),
        Some(EXTERNAL_ID),
        Duration::from_secs(12 * 3600),
    );
    // The metadata keys are the simulated account's own, which this agency does not trust:
    // refused for that, not for the duration (a 400 would say the duration was too long).
    let refused = provider.keys().await;
    assert!(
        matches!(refused, Err(RefreshError::Refused { status: 403, .. })),
        "{refused:?}"
    );
}
