//! Data-driven check of the signer against the official vectors in `tests/vectors/*.json`.

use std::path::Path;

use dms_sign::{SigningRequest, authorization, canonical_request, parse_authorization, verify};
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Deserialize)]
struct Vector {
    source: String,
    access_key: String,
    secret_key: String,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    unsigned_headers: Vec<String>,
    body: String,
    canonical_request_sha256: Option<String>,
    authorization: String,
}

fn vectors() -> Vec<(String, Vector)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("vector directory exists") {
        let path = entry.expect("readable entry").path();
        let text = std::fs::read_to_string(&path).expect("readable vector");
        let vector: Vector =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        found.push((path.display().to_string(), vector));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

#[test]
fn every_official_vector_signs_to_the_published_authorization() {
    let all = vectors();
    assert!(
        all.len() >= 6,
        "expected at least six vector files, found {}",
        all.len()
    );
    for (file, vector) in all {
        let headers: Vec<(String, String)> = vector
            .headers
            .iter()
            .filter(|(name, _)| !vector.unsigned_headers.contains(name))
            .cloned()
            .collect();
        let request = SigningRequest {
            method: &vector.method,
            path: &vector.path,
            query: &vector.query,
            headers: &headers,
            body: vector.body.as_bytes(),
        };
        if let Some(expected) = &vector.canonical_request_sha256 {
            let actual = hex::encode(Sha256::digest(canonical_request(&request).as_bytes()));
            assert_eq!(
                &actual, expected,
                "{file} ({}): canonical request hash",
                vector.source
            );
        }
        let header = authorization(&vector.access_key, vector.secret_key.as_bytes(), &request);
        assert_eq!(header, vector.authorization, "{file} ({})", vector.source);
        let parsed = parse_authorization(&vector.authorization).expect("published header parses");
        assert!(
            verify(vector.secret_key.as_bytes(), &request, &parsed.signature),
            "{file}"
        );
    }
}
