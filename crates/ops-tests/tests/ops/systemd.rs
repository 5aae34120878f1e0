//! The systemd unit (`systemd/dms_exporter.service`) and its environment file: `systemd-analyze
//! verify` accepts the unit without a word, `systemd-analyze security` rates its exposure at
//! 2.0 or below, every hardening directive the unit promises is there, and every flag it (or
//! the environment file) passes exists in `dms_exporter --help`, and `--state.file` is in
//! the unit's `StateDirectory=`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ops_tests::{read, run_tool, workspace_binary};

const UNIT: &str = "systemd/dms_exporter.service";
const SOCKET: &str = "systemd/dms_exporter.socket";
const ENV_FILE: &str = "systemd/dms_exporter.default";
const INSTALLED_BINARY: &str = "/usr/local/bin/dms_exporter";
/// The highest exposure `systemd-analyze security` may give the unit (0 = locked down, 10 =
/// unprotected; systemd calls up to 2.9 "OK").
const MAX_EXPOSURE: f64 = 2.0;

/// The long flags `dms_exporter --help` documents, such as `--config.file`.
pub(crate) fn help_flags() -> BTreeSet<String> {
    let output = run_tool(
        workspace_binary("dms_exporter")
            .to_str()
            .expect("binary path is UTF-8"),
        &["--help"],
    );
    assert!(
        output.status.success(),
        "dms_exporter --help failed: {output:?}"
    );
    let help = String::from_utf8(output.stdout).expect("--help prints UTF-8");
    let flags = flags_in(&help);
    assert!(
        flags.contains("--config.file"),
        "unexpected --help output:\n{help}"
    );
    flags
}

/// Every `--long.flag` mentioned in a text (values after `=` and trailing dots left out).
pub(crate) fn flags_in(text: &str) -> BTreeSet<String> {
    let pattern = regex::Regex::new(r"(?:^|[\s\[\x22'=(])(--[a-z][a-z0-9.-]*)").expect("regex");
    pattern
        .captures_iter(text)
        .map(|c| c[1].trim_end_matches(['.', '-']).to_owned())
        .collect()
}

/// Asserts that every flag is one `dms_exporter --help` documents.
pub(crate) fn assert_flags_exist(flags: &BTreeSet<String>, source: &str) {
    let known = help_flags();
    let unknown: Vec<&String> = flags.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "{source} uses flags dms_exporter does not have: {unknown:?} (known: {known:?})"
    );
}

/// The `[Service]` (or any) section's assignments, in order, with comments left out.
fn directives(unit: &str, section: &str) -> Vec<(String, String)> {
    let mut current = String::new();
    let mut out = Vec::new();
    for line in unit.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            current = line.trim_matches(['[', ']']).to_owned();
            continue;
        }
        if current == section {
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{UNIT}: {line}"));
            out.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    out
}

fn values<'a>(directives: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    directives
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A scratch directory of this test, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dms_exporter-ops-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// The unit copied into a scratch directory, its `ExecStart` pointing at the workspace's
/// binary (`systemd-analyze verify` checks that the executable exists).
fn unit_copy(name: &str) -> (PathBuf, PathBuf) {
    let unit = read(UNIT);
    let binary = workspace_binary("dms_exporter");
    let binary = binary.to_str().expect("binary path is UTF-8");
    assert!(
        !binary.contains(char::is_whitespace),
        "binary path has spaces: {binary}"
    );
    assert!(unit.contains(&format!("ExecStart={INSTALLED_BINARY} ")));
    let copy = unit.replace(&format!("={INSTALLED_BINARY} "), &format!("={binary} "));
    let dir = scratch(name);
    let path = dir.join("dms_exporter.service");
    std::fs::write(&path, copy).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (dir, path)
}

fn analyze(dir: &Path, args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new("systemd-analyze")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("systemd-analyze must be installed ({e}); scripts/test installs it (Debian's systemd)")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn systemd_unit_verifies_cleanly() {
    let (dir, path) = unit_copy("verify");
    let path = path.to_str().expect("UTF-8 path");
    let (ok, text) = analyze(&dir, &["verify", path]);
    // `verify` also loads the units this one names (network-online.target, multi-user.target)
    // from the host, and some hosts' own units draw warnings; those are not ours, so only lines
    // about this unit fail the test. The others are shown.
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("dms_exporter"))
        .collect();
    let noise: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("dms_exporter"))
        .collect();
    if !noise.is_empty() {
        eprintln!(
            "systemd-analyze verify, about other units (ignored):\n{}",
            noise.join("\n")
        );
    }
    assert!(
        ok && ours.is_empty(),
        "systemd-analyze verify {UNIT}:\n{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn systemd_socket_unit_verifies_cleanly_with_the_service() {
    let (dir, service) = unit_copy("verify-socket");
    let socket = dir.join("dms_exporter.socket");
    let text = read(SOCKET);
    std::fs::write(&socket, &text).unwrap_or_else(|e| panic!("{}: {e}", socket.display()));
    let socket_directives = directives(&text, "Socket");
    let listen = values(&socket_directives, "ListenStream");
    assert_eq!(listen, ["9866"], "{SOCKET} listens on the exporter's port");
    assert!(
        text.contains("--web.systemd-socket"),
        "{SOCKET} says how the service takes the socket"
    );
    assert_flags_exist(&flags_in(&text), SOCKET);
    let (ok, output) = analyze(
        &dir,
        &[
            "verify",
            socket.to_str().expect("UTF-8 path"),
            service.to_str().expect("UTF-8 path"),
        ],
    );
    let ours: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("dms_exporter"))
        .collect();
    assert!(
        ok && ours.is_empty(),
        "systemd-analyze verify {SOCKET}:\n{output}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn systemd_unit_exposure_is_low() {
    let (dir, path) = unit_copy("security");
    let path = path.to_str().expect("UTF-8 path");
    let (ok, text) = analyze(&dir, &["security", "--offline=yes", "--no-pager", path]);
    assert!(ok, "systemd-analyze security {UNIT}:\n{text}");
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{text}"));
    let score: f64 = line
        .split_once(": ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the exposure level from {line:?}"));
    println!("systemd-analyze security {UNIT}: overall exposure level {score:.1}");
    let deductions: Vec<&str> = text.lines().filter(|l| l.starts_with('✗')).collect();
    println!("what is left:\n{}", deductions.join("\n"));
    assert!(
        score <= MAX_EXPOSURE,
        "{UNIT}: exposure {score} > {MAX_EXPOSURE}; systemd-analyze says:\n{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn systemd_unit_has_the_hardening_it_promises() {
    let unit = read(UNIT);
    let service = directives(&unit, "Service");
    let required: &[(&str, &str)] = &[
        ("DynamicUser", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("NoNewPrivileges", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6"),
        ("SystemCallFilter", "@system-service"),
        ("SystemCallFilter", "~@privileged @resources"),
        ("SystemCallArchitectures", "native"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("MemoryDenyWriteExecute", "yes"),
        ("LockPersonality", "yes"),
        ("RestrictRealtime", "yes"),
        ("RestrictNamespaces", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("ProtectClock", "yes"),
        ("ProtectHostname", "yes"),
        ("ProtectProc", "invisible"),
        ("ProcSubset", "pid"),
        ("UMask", "0077"),
        ("Restart", "on-failure"),
        ("LoadCredential", "access_key:/etc/dms_exporter/access_key"),
        ("LoadCredential", "secret_key:/etc/dms_exporter/secret_key"),
        ("EnvironmentFile", "-/etc/default/dms_exporter"),
    ];
    let missing: Vec<String> = required
        .iter()
        .filter(|(k, v)| !values(&service, k).contains(v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert!(missing.is_empty(), "{UNIT} lacks: {missing:?}");
    for key in ["RestartSec", "MemoryMax"] {
        assert!(!values(&service, key).is_empty(), "{UNIT} lacks {key}=");
    }
    // Reaching Huawei Cloud and being scraped must stay possible: no blanket deny, and no
    // private network.
    for (key, forbidden) in [("IPAddressDeny", "any"), ("PrivateNetwork", "yes")] {
        assert!(
            !values(&service, key).contains(&forbidden),
            "{UNIT}: {key}={forbidden}"
        );
    }
    // The exporter re-reads its configuration on SIGHUP.
    assert_eq!(
        values(&service, "ExecReload"),
        ["/bin/kill -HUP $MAINPID"],
        "{UNIT}: ExecReload="
    );
    // Credentials reach the service through LoadCredential=, never the environment.
    for (_, value) in &service {
        assert!(!value.contains("HUAWEICLOUD_SDK_AK") && !value.contains("HUAWEICLOUD_SDK_SK"));
    }
    let exec = values(&service, "ExecStart");
    assert_eq!(
        exec,
        [format!(
            "{INSTALLED_BINARY} --config.file=/etc/dms_exporter/dms_exporter.yml \
             --state.file=%S/dms_exporter/state.json $DMS_EXPORTER_ARGS"
        )],
        "{UNIT}: ExecStart"
    );
    // ProtectSystem=strict leaves one writable place, the state directory: --state.file
    // (written through a temporary file beside it) must be in it, %S being /var/lib.
    assert_eq!(
        values(&service, "StateDirectory"),
        ["dms_exporter"],
        "{UNIT}: StateDirectory="
    );
    assert!(values(&directives(&unit, "Install"), "WantedBy").contains(&"multi-user.target"));
}

#[test]
fn systemd_flags_exist() {
    let unit = read(UNIT);
    let exec: String = values(&directives(&unit, "Service"), "ExecStart").join(" ");
    let flags = flags_in(&exec);
    assert!(flags.contains("--config.file"), "ExecStart={exec}");
    assert_flags_exist(&flags, UNIT);
    // The environment file's DMS_EXPORTER_ARGS, set or in its examples.
    let env = read(ENV_FILE);
    let args: String = env
        .lines()
        .filter(|l| l.contains("DMS_EXPORTER_ARGS="))
        .collect();
    assert_flags_exist(&flags_in(&args), ENV_FILE);
    assert!(
        env.lines().any(|l| l.starts_with("DMS_EXPORTER_ARGS=")),
        "{ENV_FILE} sets DMS_EXPORTER_ARGS"
    );
    assert!(
        !env.lines()
            .any(|l| !l.starts_with('#') && l.contains("HUAWEICLOUD_SDK_SK")),
        "{ENV_FILE} must not carry the secret key"
    );
}
