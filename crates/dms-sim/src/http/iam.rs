//! The IAM endpoints: password tokens and the project list.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Answer;
use crate::error::ApiError;
use crate::locks::lock;
use crate::query::first;
use crate::wire::iso_ms;
use crate::{Simulator, Token};

pub(super) fn issue_token(sim: &Simulator, body: &[u8]) -> Result<Answer, ApiError> {
    let config = &sim.inner.config;
    let bad_request = || {
        ApiError::iam(
            400,
            "Bad Request",
            "The request you have made requires authentication.",
        )
    };
    let request: Value = serde_json::from_slice(body).map_err(|_| bad_request())?;
    let auth = &request["auth"];
    let user = &auth["identity"]["password"]["user"];
    let (Some(name), Some(password)) = (user["name"].as_str(), user["password"].as_str()) else {
        return Err(bad_request());
    };
    let domain = user["domain"]["name"].as_str().unwrap_or_default();
    let known = config
        .iam_users
        .iter()
        .any(|u| u.name == name && u.password == password && u.domain == domain);
    if !known {
        return Err(ApiError::iam(
            401,
            "Unauthorized",
            "The username or password is wrong.",
        ));
    }
    let Some(region) = auth["scope"]["project"]["name"].as_str() else {
        return Err(bad_request());
    };
    let projects = sim.projects();
    let Some(project) = projects.iter().find(|p| p.region == region) else {
        return Err(ApiError::iam(
            400,
            "Bad Request",
            &format!("Project {region} not found."),
        ));
    };
    let mut state = lock(&sim.inner.state);
    state.token_serial += 1;
    let mut rng = fastrand::Rng::with_seed(config.seed ^ state.token_serial.rotate_left(17));
    let token = format!(
        "MIISim{:08x}{}",
        state.token_serial,
        crate::generate::hex_id(&mut rng, 56)
    );
    state.tokens.insert(
        token.clone(),
        Token {
            project_id: project.project_id.clone(),
            expires: tokio::time::Instant::now() + config.token_validity,
        },
    );
    drop(state);
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(0);
    let validity_ms = i64::try_from(config.token_validity.as_millis()).unwrap_or(i64::MAX / 4);
    let domain_json = json!({ "id": sim.inner.domain_id, "name": domain });
    Ok(Answer {
        status: StatusCode::CREATED,
        body: json!({
            "token": {
                "expires_at": iso_ms(now_ms.saturating_add(validity_ms)),
                "issued_at": iso_ms(now_ms),
                "methods": ["password"],
                "catalog": [],
                "project": {
                    "id": project.project_id,
                    "name": project.region,
                    "domain": domain_json,
                },
                "user": {
                    "id": format!("{:0>32}", name.len()),
                    "name": name,
                    "domain": domain_json,
                    "password_expires_at": "",
                },
                "roles": [{ "id": "0", "name": "readonly" }],
            }
        }),
        headers: vec![("x-subject-token", token)],
    })
}

/// `GET /v3/projects` (`name` = a region): the configured projects.
pub(super) fn projects(sim: &Simulator, query: &[(String, String)]) -> Answer {
    let name = first(query, "name");
    let projects: Vec<Value> = sim
        .projects()
        .iter()
        .filter(|p| name.is_none_or(|n| n == p.region))
        .map(|p| {
            json!({
                "id": p.project_id,
                "name": p.region,
                "domain_id": sim.inner.domain_id,
                "enabled": true,
                "is_domain": false,
                "parent_id": sim.inner.domain_id,
                "description": "",
            })
        })
        .collect();
    Answer::ok(json!({
        "projects": projects,
        "links": { "self": "https://iam.myhuaweicloud.com/v3/projects", "next": null, "previous": null },
    }))
}
