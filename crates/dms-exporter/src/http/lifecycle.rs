//! `POST /-/reload`, the lifecycle endpoint: off unless `--web.enable-lifecycle` (as in
//! Prometheus), and never for a request a browser could send from another site.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use tokio::sync::oneshot;

use super::ServerState;

/// Why a reload request looks cross-site, if it does. A web page can make a browser send a
/// form (or a `no-cors` fetch) to any address without preflight, with only these content
/// types; such a request also carries `Origin` and, in current browsers, `Sec-Fetch-Site`.
/// `curl -X POST` sends none of them.
fn cross_site(headers: &HeaderMap) -> Option<String> {
    let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(content_type) = value(header::CONTENT_TYPE) {
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        let form = [
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "text/plain",
        ];
        if form.iter().any(|f| media_type.eq_ignore_ascii_case(f)) {
            return Some(format!(
                "Content-Type {media_type} (what a web form sends) is refused; send no body (curl -X POST)"
            ));
        }
    }
    if let Some(site) = value(header::HeaderName::from_static("sec-fetch-site"))
        && !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none"))
    {
        return Some(format!("Sec-Fetch-Site {site} is refused"));
    }
    if let Some(origin) = value(header::ORIGIN) {
        let authority = origin.split_once("://").map(|(_, rest)| rest);
        let same = authority
            .zip(value(header::HOST))
            .is_some_and(|(authority, host)| authority.eq_ignore_ascii_case(host));
        if !same {
            return Some(format!("Origin {origin} is not this server's"));
        }
    }
    None
}

/// Asks the exporter to re-read its configuration and answers with the outcome.
pub(super) async fn reload(
    State(state): State<ServerState>,
    headers: HeaderMap,
) -> (StatusCode, String) {
    if !state.lifecycle {
        return (
            StatusCode::FORBIDDEN,
            "Lifecycle API is not enabled: start with --web.enable-lifecycle, or send SIGHUP\n"
                .to_owned(),
        );
    }
    if let Some(reason) = cross_site(&headers) {
        return (
            StatusCode::FORBIDDEN,
            format!("looks like a cross-site request: {reason}\n"),
        );
    }
    let Some(requests) = &state.reload else {
        return (
            StatusCode::BAD_REQUEST,
            "nothing to reload: no configuration file\n".to_owned(),
        );
    };
    let shutting_down = || {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down\n".to_owned(),
        )
    };
    let (reply, answer) = oneshot::channel();
    if requests.send(reply).await.is_err() {
        return shutting_down();
    }
    match answer.await {
        Ok(Ok(())) => (StatusCode::OK, "configuration reloaded\n".to_owned()),
        Ok(Err(error)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload failed: {error}\n"),
        ),
        Err(_) => shutting_down(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn requests_a_browser_could_send_cross_site_are_refused() {
        let cases: [(&[(&str, &str)], bool); 12] = [
            (&[], false),
            (&[("host", "127.0.0.1:9866")], false),
            (&[("content-type", "application/json")], false),
            (
                &[("content-type", "application/x-www-form-urlencoded")],
                true,
            ),
            (&[("content-type", "Multipart/Form-Data; boundary=x")], true),
            (&[("content-type", "text/plain;charset=UTF-8")], true),
            (&[("sec-fetch-site", "cross-site")], true),
            (&[("sec-fetch-site", "same-site")], true),
            (&[("sec-fetch-site", "same-origin")], false),
            (
                &[
                    ("host", "exporter:9866"),
                    ("origin", "http://exporter:9866"),
                ],
                false,
            ),
            (
                &[
                    ("host", "exporter:9866"),
                    ("origin", "https://evil.example"),
                ],
                true,
            ),
            (&[("host", "exporter:9866"), ("origin", "null")], true),
        ];
        for (pairs, refused) in cases {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(
                    header::HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                );
            }
            assert_eq!(cross_site(&headers).is_some(), refused, "{pairs:?}");
        }
    }
}
