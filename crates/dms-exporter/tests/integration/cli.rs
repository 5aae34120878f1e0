//! The binary's `--check-config` exit codes and messages.

use std::path::PathBuf;
use std::process::Command;

fn check(file: &str) -> (bool, String, String) {
    check_with(file, &[])
}

/// `--check-config` of a fixture with extra flags.
fn check_with(file: &str, flags: &[&str]) -> (bool, String, String) {
    let mut command = exporter();
    command
        .env("HUAWEICLOUD_SDK_AK", "AKTESTONLY")
        .env("HUAWEICLOUD_SDK_SK", "sk-test-only");
    check_command(command, file, flags)
}

/// The binary with no credential source in its environment.
fn exporter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dms_exporter"));
    for name in [
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
        "HUAWEICLOUD_SDK_SECURITY_TOKEN",
        "HUAWEICLOUD_SDK_PASSWORD",
        "HUAWEICLOUD_SDK_IDP_ID",
        "HUAWEICLOUD_SDK_ID_TOKEN_FILE",
        "HUAWEICLOUD_SDK_IAM_ENDPOINT",
        "CREDENTIALS_DIRECTORY",
    ] {
        command.env_remove(name);
    }
    command
}

fn check_command(mut command: Command, file: &str, flags: &[&str]) -> (bool, String, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/config")
        .join(file);
    let output = command
        .arg("--check-config")
        .arg("--config.file")
        .arg(&path)
        .args(flags)
        .output()
        .expect("the binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn check_config_accepts_a_valid_file() {
    let (ok, stdout, stderr) = check("minimal.ok.yaml");
    assert!(ok, "{stderr}");
    assert!(stdout.contains("configuration is valid"), "{stdout}");
}

/// Start-up refuses a configuration no source gives keys for, so the check does too, and
/// says where it looked.
#[test]
fn check_config_refuses_a_configuration_without_credentials() {
    let (ok, stdout, stderr) = check_command(exporter(), "minimal.ok.yaml", &[]);
    assert!(!ok, "{stdout}");
    assert!(!stdout.contains("configuration is valid"), "{stdout}");
    for place in [
        "minimal.ok.yaml: no credentials: ",
        "credentials.access_key_file/secret_key_file",
        "HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK",
        "$CREDENTIALS_DIRECTORY (unset)",
    ] {
        assert!(stderr.contains(place), "{place:?} missing from {stderr}");
    }
}

/// Start-up would fail on these, so `--check-config` must too: full.ok.yaml names systemd's
/// credential files, which do not exist outside the unit.
#[test]
fn check_config_refuses_credential_files_it_cannot_read() {
    let (ok, stdout, stderr) = check("full.ok.yaml");
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains(
            "full.ok.yaml:2:3: credentials.access_key_file: cannot read /run/credentials/"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("credentials.secret_key_file"), "{stderr}");
}

/// The renewing sources: the metadata service is not asked offline (the configuration holds
/// no key and is valid); an id token file that does not exist is named with its line.
#[test]
fn check_config_takes_temporary_sources_and_names_a_missing_id_token_file() {
    let (ok, stdout, stderr) = check_command(exporter(), "ecs_metadata.ok.yaml", &[]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("configuration is valid"), "{stdout}");
    let (ok, stdout, stderr) = check_command(exporter(), "id_token.ok.yaml", &[]);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains(
            "id_token.ok.yaml:7:5: credentials.id_token.token_file: cannot read /var/run/secrets/tokens/oidc-token: "
        ),
        "{stderr}"
    );
}

#[test]
fn check_config_exits_non_zero_naming_line_and_field() {
    let (ok, _, stderr) = check("semantic.bad.yaml");
    assert!(!ok);
    assert!(stderr.contains("semantic.bad.yaml:3:"), "{stderr}");
    assert!(stderr.contains("regions[0].endpoint"), "{stderr}");
}

#[test]
fn check_config_reports_a_missing_file() {
    let (ok, _, stderr) = check("does-not-exist.yaml");
    assert!(!ok);
    assert!(stderr.contains("cannot read"), "{stderr}");
}

#[test]
fn check_config_validates_the_shard_flags_over_the_file() {
    let (ok, stdout, stderr) =
        check_with("minimal.ok.yaml", &["--shard", "1", "--total-shards", "2"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("configuration is valid"), "{stdout}");

    let (ok, _, stderr) = check_with("minimal.ok.yaml", &["--shard", "2", "--total-shards", "2"]);
    assert!(!ok);
    assert!(
        stderr.contains("--shard 2 must be less than --total-shards 2"),
        "{stderr}"
    );

    // The file says shard 2 of 3; a smaller --total-shards leaves shard 2 out of range.
    let (ok, _, stderr) = check_with("sharding.ok.yaml", &["--total-shards", "2"]);
    assert!(!ok);
    assert!(
        stderr.contains(
            "2 (sharding.shard in the configuration file) must be less than --total-shards 2"
        ),
        "{stderr}"
    );
    // A flag that fixes the file's shard makes it valid.
    let (ok, _, stderr) = check_with("sharding.ok.yaml", &["--shard", "0", "--total-shards", "2"]);
    assert!(ok, "{stderr}");

    let (ok, _, stderr) = check_with("minimal.ok.yaml", &["--total-shards", "0"]);
    assert!(!ok);
    assert!(stderr.contains("--total-shards"), "{stderr}");
}

#[test]
fn check_config_refuses_a_telemetry_path_that_collides() {
    for path in ["/", "/-/healthy", "metrics", ""] {
        let (ok, _, stderr) = check_with("minimal.ok.yaml", &["--web.telemetry-path", path]);
        assert!(!ok, "{path:?} accepted");
        assert!(
            stderr.contains("--web.telemetry-path") && !stderr.contains("panicked"),
            "{path:?}: {stderr}"
        );
    }
}

#[test]
fn check_config_warns_of_plain_http_with_ak_sk() {
    let (ok, _, stderr) = check("plain_http_aksk.ok.yaml");
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("warning: regions[0].endpoint: http://127.0.0.1:9000 is plain HTTP"),
        "{stderr}"
    );
    assert!(stderr.contains("insecure_http: true"), "{stderr}");
    let (ok, _, stderr) = check("plain_http_allowed.ok.yaml");
    assert!(!stderr.contains("warning"), "{ok} {stderr}");
}

/// A region the SDK does not know is probably a typo, but new regions appear: a warning.
#[test]
fn check_config_warns_of_an_unknown_region() {
    let (ok, stdout, stderr) = check("unknown_region.ok.yaml");
    assert!(ok, "{stderr}");
    assert!(stdout.contains("configuration is valid"), "{stdout}");
    assert!(
        stderr.contains(
            "warning: regions[0].name: \"cn-nort-4\" is not a region the Huawei Cloud SDK knows"
        ),
        "{stderr}"
    );
}

#[test]
fn check_config_refuses_a_ca_file_without_certificates() {
    // The file loads (its keys are fine); only reading the CA file fails.
    let (ok, _, stderr) = check("ca_file_without_certificates.yaml");
    assert!(!ok);
    assert!(
        stderr.contains("ca_file_without_certificates.yaml: api.ca_file: transport error: CA certificates: no PEM certificate"),
        "{stderr}"
    );
}

/// An endless file is refused after 1 MiB instead of filling memory (it grew to 1.1 GB).
#[test]
fn check_config_refuses_endless_files() {
    let (ok, _, stderr) = check("/dev/zero");
    assert!(!ok);
    assert!(
        stderr.contains("/dev/zero: cannot read: larger than 1024 KiB"),
        "{stderr}"
    );
    let (ok, _, stderr) = check_with("minimal.ok.yaml", &["--web.config.file", "/dev/zero"]);
    assert!(!ok);
    assert!(
        stderr.contains("/dev/zero: cannot read: larger than 1024 KiB"),
        "{stderr}"
    );
}

/// Agencies and accounts: valid files pass without reaching STS; an account's unreadable
/// credential file is named with its account's line and field; no external id or secret key
/// is ever printed.
#[test]
fn check_config_takes_agencies_and_accounts_and_names_an_accounts_file() {
    for file in ["agency.ok.yaml", "accounts.ok.yaml"] {
        let (ok, stdout, stderr) = check_command(exporter(), file, &[]);
        assert!(ok, "{file}: {stderr}");
        assert!(stdout.contains("configuration is valid"), "{stdout}");
        for secret in [
            "example-external-id",
            "monitoring-secret",
            "payments-secret",
        ] {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "{secret}"
            );
        }
    }
    let (ok, stdout, stderr) = check_command(exporter(), "accounts_missing_file.yaml", &[]);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains(
            "accounts_missing_file.yaml:11:7: accounts[1].credentials.secret_key_file: cannot read /nonexistent/logistics/secret_key"
        ),
        "{stderr}"
    );
    for secret in ["never-shown-external-id", "payments-secret"] {
        assert!(!stderr.contains(secret), "{stderr}");
    }
    let (ok, _, stderr) = check_command(exporter(), "agency_contradictions.bad.yaml", &[]);
    assert!(!ok);
    assert!(stderr.contains("credentials.agency.urn"), "{stderr}");
    assert!(!stderr.contains("misplaced"), "{stderr}");
}
