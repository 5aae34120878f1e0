//! The binary's `--check-config` exit codes and messages.

use std::path::PathBuf;
use std::process::Command;

fn check(file: &str) -> (bool, String, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/config")
        .join(file);
    let output = Command::new(env!("CARGO_BIN_EXE_dms_exporter"))
        .arg("--check-config")
        .arg("--config.file")
        .arg(&path)
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
    let (ok, stdout, _) = check("full.ok.yaml");
    assert!(ok);
    assert!(stdout.contains("configuration is valid"), "{stdout}");
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
