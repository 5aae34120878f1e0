//! Data-driven configuration tests: every `tests/config/*.ok.yaml` loads; every `*.bad.yaml`
//! fails with exactly the problems written in the `*.bad.err` beside it.

use std::path::PathBuf;

use dms_exporter::config;

fn fixtures(suffix: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/config");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/config exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

#[test]
fn ok_fixtures_load() {
    let files = fixtures(".ok.yaml");
    assert!(
        files.len() >= 3,
        "expected ok fixtures, found {}",
        files.len()
    );
    for path in files {
        if let Err(error) = config::load_file(&path) {
            panic!("{} should load:\n{error}", path.display());
        }
    }
}

#[test]
fn bad_fixtures_fail_with_the_exact_problems() {
    let files = fixtures(".bad.yaml");
    assert!(
        files.len() >= 5,
        "expected bad fixtures, found {}",
        files.len()
    );
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for path in files {
        let error = match config::load_file(&path) {
            Ok(_) => panic!("{} should fail", path.display()),
            Err(error) => error,
        };
        // Errors name the file relative to the fixture directory, as a user would see it.
        let actual = error
            .to_string()
            .replace(&format!("{}/", path.parent().expect("dir").display()), "")
            + "\n";
        let expected_path = path.with_extension("err");
        if update {
            std::fs::write(&expected_path, &actual).expect("write .err");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        assert_eq!(actual, expected, "{}", path.display());
    }
}

/// The secrets the fixtures misplace (an SK as a key, as an engine, inside `secret_key`): their
/// errors must locate the problem without printing them.
#[test]
fn errors_never_echo_a_misplaced_secret() {
    const SECRET_MARKERS: [&str; 2] = ["Sk7Qw9Secret", "Pa55word"];
    let mut checked = 0;
    for path in fixtures(".bad.yaml") {
        let text = std::fs::read_to_string(&path).expect("fixture");
        if !SECRET_MARKERS.iter().any(|m| text.contains(m)) {
            continue;
        }
        checked += 1;
        let error = config::load_file(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!error.is_empty(), "{} should fail", path.display());
        for marker in SECRET_MARKERS {
            assert!(!error.contains(marker), "{}: {error}", path.display());
        }
    }
    assert!(
        checked >= 4,
        "expected fixtures with secrets, found {checked}"
    );
}
