//! `--web.config.file` over real sockets: TLS with client certificates, basic auth, headers.

use std::path::PathBuf;
use std::time::Duration;

use dms_exporter::http::{self, web_config};
use dms_sim::{SimConfig, Simulator};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio_util::sync::CancellationToken;

use crate::support::in_process;

struct Pki {
    dir: PathBuf,
    ca_pem: String,
    client_pem: String,
}

/// Limits with a short head deadline, for a test to see it.
fn limits(read_header_timeout: Duration) -> http::server::Limits {
    let mut limits = http::server::Limits::new(16);
    limits.read_header_timeout = read_header_timeout;
    limits
}

fn pki() -> Pki {
    let dir = std::env::temp_dir().join(format!("dms-web-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().expect("server key");
    let server_cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("server params")
        .signed_by(&server_key, &issuer)
        .expect("server certificate");
    let client_key = KeyPair::generate().expect("client key");
    let client_cert = CertificateParams::new(vec!["prometheus".to_owned()])
        .expect("client params")
        .signed_by(&client_key, &issuer)
        .expect("client certificate");
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("write");
    std::fs::write(dir.join("server.pem"), server_cert.pem()).expect("write");
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).expect("write");
    Pki {
        ca_pem: ca_cert.pem(),
        client_pem: format!("{}{}", client_cert.pem(), client_key.serialize_pem()),
        dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_client_certificates_basic_auth_and_headers() {
    let pki = pki();
    let hash = bcrypt::hash("scrape-secret", 4).expect("bcrypt");
    let web_file = pki.dir.join("web.yml");
    std::fs::write(
        &web_file,
        format!(
            "tls_server_config:\n  cert_file: {dir}/server.pem\n  key_file: {dir}/server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {dir}/ca.pem\nbasic_auth_users:\n  prometheus: \"{hash}\"\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n",
            dir = pki.dir.display()
        ),
    )
    .expect("write web.yml");
    let web = web_config::load(&web_file).expect("valid web config");
    assert!(web.tls.is_some());

    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(SimConfig::deterministic());
    let shutdown = CancellationToken::new();
    let exporter = in_process(&sim, &sim_config, "", &shutdown);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(http::serve(
        listener,
        exporter.server_state("/metrics"),
        web,
        limits(Duration::from_secs(2)),
        shutdown.clone(),
    ));
    // A client that connects and never starts the TLS handshake is let go at the deadline.
    let mut silent = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let silent_closed = tokio::spawn(async move {
        let mut buffer = [0u8; 64];
        tokio::time::timeout(Duration::from_secs(20), async {
            while tokio::io::AsyncReadExt::read(&mut silent, &mut buffer)
                .await
                .unwrap_or(0)
                > 0
            {}
        })
        .await
        .is_ok()
    });

    let ca = reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).expect("CA");
    let identity = reqwest::Identity::from_pem(pki.client_pem.as_bytes()).expect("identity");
    let with_cert = reqwest::Client::builder()
        .tls_certs_only([ca.clone()])
        .identity(identity)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let url = format!("https://{address}/-/healthy");

    let ok = with_cert
        .get(&url)
        .basic_auth("prometheus", Some("scrape-secret"))
        .send()
        .await
        .expect("HTTPS request");
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-content-type-options"], "nosniff");

    let wrong = with_cert
        .get(&url)
        .basic_auth("prometheus", Some("guess"))
        .send()
        .await
        .expect("HTTPS request");
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().contains_key("www-authenticate"));

    let without_cert = reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    assert!(
        without_cert
            .get(&url)
            .basic_auth("prometheus", Some("scrape-secret"))
            .send()
            .await
            .is_err(),
        "a client without a certificate must be refused"
    );
    let plain = reqwest::Client::new()
        .get(format!("http://{address}/-/healthy"))
        .send()
        .await;
    assert!(
        plain.map(|r| !r.status().is_success()).unwrap_or(true),
        "plain HTTP must not be served"
    );

    assert_eq!(
        silent_closed.await.ok(),
        Some(true),
        "a silent TLS client is closed at the deadline"
    );
    shutdown.cancel();
    std::fs::remove_dir_all(&pki.dir).ok();
}

#[test]
fn web_config_errors_name_the_file_and_field() {
    let dir = std::env::temp_dir().join(format!("dms-web-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("web.yml");
    std::fs::write(&file, "tls_server_config:\n  cert_file: /nonexistent/cert.pem\n  key_file: /nonexistent/key.pem\n").expect("write");
    let error = web_config::load(&file)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("web.yml") && error.contains("tls_server_config.cert_file"),
        "{error}"
    );
    std::fs::write(&file, "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAnyClientCert\n").expect("write");
    std::fs::write(&file, "basic_auth_user:\n  a: b\n").expect("write");
    let error = web_config::load(&file)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("web.yml:1:1") && error.contains("unknown field"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
