//! Credentials and the IAM token cache.
//!
//! AK/SK requests are signed (`dms_sign`). Password credentials obtain a project-scoped IAM
//! token (`POST {iam}/v3/auth/tokens`, token in `X-Subject-Token`), cached and refreshed before
//! it expires: one hour before, or at half its validity when that is shorter. A 401 from DMS
//! causes one refresh and one retry. After IAM rejects the credentials, IAM is not asked again
//! for [`AUTH_FAILURE_BACKOFF`] (five failed logins lock the account).

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::error::ApiError;
use crate::provider::CredentialProvider;

/// How the client authenticates.
#[derive(Clone)]
pub enum Credentials {
    /// Access key / secret key, optionally temporary (with a security token).
    AkSk {
        access_key: String,
        secret_key: SecretString,
        security_token: Option<SecretString>,
    },
    /// IAM user password, exchanged for a project-scoped token.
    Password {
        user: String,
        password: SecretString,
        domain: String,
    },
    /// Temporary keys from a source that renews them ([`CredentialProvider`]): every request
    /// is signed with the provider's current keys and their security token.
    Provided(CredentialProvider),
}

/// Shows at most the first four characters of an access key.
fn masked(access_key: &str) -> String {
    let head: String = access_key.chars().take(4).collect();
    format!("{head}…")
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::AkSk {
                access_key,
                security_token,
                ..
            } => f
                .debug_struct("AkSk")
                .field("access_key", &masked(access_key))
                .field("secret_key", &"[REDACTED]")
                .field(
                    "security_token",
                    &security_token.as_ref().map(|_| "[REDACTED]"),
                )
                .finish(),
            Credentials::Password { user, domain, .. } => f
                .debug_struct("Password")
                .field("user", user)
                .field("password", &"[REDACTED]")
                .field("domain", domain)
                .finish(),
            Credentials::Provided(provider) => f.debug_tuple("Provided").field(provider).finish(),
        }
    }
}

impl Credentials {
    pub fn aksk(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials::AkSk {
            access_key: access_key.into(),
            secret_key: SecretString::from(secret_key.into()),
            security_token: None,
        }
    }

    pub fn password(
        user: impl Into<String>,
        password: impl Into<String>,
        domain: impl Into<String>,
    ) -> Self {
        Credentials::Password {
            user: user.into(),
            password: SecretString::from(password.into()),
            domain: domain.into(),
        }
    }

    pub fn is_token_based(&self) -> bool {
        matches!(self, Credentials::Password { .. })
    }
}

/// After IAM rejected the credentials, wait at least this long before asking again.
pub const AUTH_FAILURE_BACKOFF: Duration = Duration::from_secs(60);
/// Refresh a token this long before it expires (or at half its validity if that is shorter).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(3600);
/// Assumed validity when the token body has no readable `expires_at`.
pub const FALLBACK_VALIDITY: Duration = Duration::from_secs(3600);
/// Least time before a refresh, so a clock-skewed `expires_at` never causes a fast loop; for a
/// token that lives less than twice this, half its validity instead (it must be refreshed
/// before it expires), but never less than [`MIN_REFRESH_FLOOR`].
pub const MIN_REFRESH_DELAY: Duration = Duration::from_secs(60);
/// The absolute least time before a refresh, whatever the token's times say.
pub const MIN_REFRESH_FLOOR: Duration = Duration::from_secs(1);

/// The JSON body of `POST /v3/auth/tokens` (the shape of `fixtures/api/kafka/iam_token_request.json`).
pub(crate) fn token_request_body(
    user: &str,
    password: &SecretString,
    domain: &str,
    project_name: &str,
) -> Vec<u8> {
    let body = serde_json::json!({
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": user,
                        "password": password.expose_secret(),
                        "domain": { "name": domain }
                    }
                }
            },
            "scope": { "project": { "name": project_name } }
        }
    });
    body.to_string().into_bytes()
}

/// A token and when to refresh it.
#[derive(Clone)]
pub(crate) struct CachedToken {
    pub value: SecretString,
    pub generation: u64,
    pub refresh_at: Instant,
    pub expires_at: Instant,
    pub project_id: Option<String>,
    /// The account (domain) id the token body names.
    pub domain_id: Option<String>,
}

impl fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedToken")
            .field("value", &"[REDACTED]")
            .field("generation", &self.generation)
            .field("refresh_at", &self.refresh_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// When to refresh and when the token expires, as tokio instants, from the body's times.
pub(crate) fn token_schedule(
    expires_at: &str,
    issued_at: &str,
    wall_now: OffsetDateTime,
    now: Instant,
) -> (Instant, Instant) {
    let parse = |text: &str| {
        OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()
    };
    let remaining = parse(expires_at)
        .map(|at| Duration::try_from(at - wall_now).unwrap_or(Duration::ZERO))
        .unwrap_or(FALLBACK_VALIDITY);
    let validity = match (parse(issued_at), parse(expires_at)) {
        (Some(issued), Some(expires)) => Duration::try_from(expires - issued).unwrap_or(remaining),
        _ => remaining,
    };
    let margin = REFRESH_MARGIN.min(validity / 2);
    // An expiry already past by our clock says nothing about the validity: wait the minimum.
    let least = if validity.is_zero() {
        MIN_REFRESH_DELAY
    } else {
        MIN_REFRESH_DELAY.min(validity / 2).max(MIN_REFRESH_FLOOR)
    };
    let refresh_in = remaining.saturating_sub(margin).max(least);
    (now + refresh_in, now + remaining.max(refresh_in))
}

/// The token cache state (behind an async mutex in the client, so refreshes are single-flight).
#[derive(Debug, Default)]
pub(crate) struct TokenState {
    pub token: Option<CachedToken>,
    pub next_generation: u64,
    pub last_failure: Option<(Instant, ApiError)>,
}

impl TokenState {
    /// The cached token when it needs no refresh.
    pub(crate) fn fresh(&self, now: Instant) -> Option<CachedToken> {
        self.token.as_ref().filter(|t| now < t.refresh_at).cloned()
    }

    /// The cached token while it has not expired (used when a refresh fails transiently).
    pub(crate) fn unexpired(&self, now: Instant) -> Option<CachedToken> {
        self.token.as_ref().filter(|t| now < t.expires_at).cloned()
    }

    /// The error to return instead of asking IAM, while in the back-off after an auth failure.
    pub(crate) fn backing_off(&self, now: Instant) -> Option<ApiError> {
        let (at, error) = self.last_failure.as_ref()?;
        let until = *at + AUTH_FAILURE_BACKOFF;
        (now < until).then(|| {
            let mut error = error.clone();
            error.message = format!(
                "{} (IAM not asked again for {} s after an authentication failure)",
                error.message,
                (until - now).as_secs().max(1)
            );
            error
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let creds = Credentials::AkSk {
            access_key: "AKIDEXAMPLE123".into(),
            secret_key: SecretString::from("super-secret-sk".to_owned()),
            security_token: Some(SecretString::from("session-token-xyz".to_owned())),
        };
        let text = format!("{creds:?}");
        assert!(!text.contains("super-secret-sk"), "{text}");
        assert!(!text.contains("session-token-xyz"), "{text}");
        assert!(!text.contains("AKIDEXAMPLE123"), "{text}");
        let creds = Credentials::password("monitor", "monitor-password", "example-domain");
        let text = format!("{creds:?}");
        assert!(!text.contains("monitor-password"), "{text}");
        assert!(text.contains("monitor"));
    }

    #[test]
    fn token_body_has_the_documented_shape() {
        let body = token_request_body(
            "monitor",
            &SecretString::from("pw".to_owned()),
            "example-domain",
            "cn-north-4",
        );
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(value["auth"]["identity"]["methods"][0], "password");
        assert_eq!(
            value["auth"]["identity"]["password"]["user"]["name"],
            "monitor"
        );
        assert_eq!(
            value["auth"]["identity"]["password"]["user"]["password"],
            "pw"
        );
        assert_eq!(
            value["auth"]["identity"]["password"]["user"]["domain"]["name"],
            "example-domain"
        );
        assert_eq!(value["auth"]["scope"]["project"]["name"], "cn-north-4");
    }

    /// A fixed wall clock and tokio's now.
    fn clocks() -> (OffsetDateTime, Instant) {
        let wall = OffsetDateTime::from_unix_timestamp(1_700_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        (wall, Instant::now())
    }

    fn fmt(at: OffsetDateTime) -> String {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }

    #[test]
    fn schedule_refreshes_an_hour_early_or_at_half_validity() {
        let (wall, now) = clocks();
        let day = fmt(wall + time::Duration::hours(24));
        let (refresh, expires) = token_schedule(&day, &fmt(wall), wall, now);
        assert_eq!(refresh - now, Duration::from_secs(23 * 3600));
        assert_eq!(expires - now, Duration::from_secs(24 * 3600));
        let short = fmt(wall + time::Duration::minutes(30));
        let (refresh, _) = token_schedule(&short, &fmt(wall), wall, now);
        assert_eq!(refresh - now, Duration::from_secs(15 * 60));
        let (refresh, _) = token_schedule("garbage", "", wall, now);
        assert_eq!(refresh - now, Duration::from_secs(30 * 60));
        let past = fmt(wall - time::Duration::hours(1));
        let (refresh, _) = token_schedule(&past, "", wall, now);
        assert_eq!(refresh - now, MIN_REFRESH_DELAY, "no known validity");
        let skewed = token_schedule(&past, &fmt(wall - time::Duration::hours(25)), wall, now);
        assert_eq!(
            skewed.0 - now,
            MIN_REFRESH_DELAY,
            "a skewed clock never loops fast"
        );
    }

    #[test]
    fn a_token_under_a_minute_is_refreshed_before_it_expires() {
        let (wall, now) = clocks();
        let expires = fmt(wall + time::Duration::seconds(40));
        let (refresh, expiry) = token_schedule(&expires, &fmt(wall), wall, now);
        assert_eq!(refresh - now, Duration::from_secs(20), "at half its life");
        assert!(refresh < expiry);
    }
}
