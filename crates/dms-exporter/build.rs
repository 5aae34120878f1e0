//! Build facts for `--version` and `dms_exporter_build_info`: the git revision
//! (`DMS_EXPORTER_REVISION` when set, else `git rev-parse HEAD`, else `unknown`), the rustc version and the build date (`SOURCE_DATE_EPOCH` when set, for
//! reproducible builds). Reruns only when HEAD moves, not on every build.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // A build from a tree without `.git` (a container build context) can name its revision.
    println!("cargo:rerun-if-env-changed=DMS_EXPORTER_REVISION");
    let revision = std::env::var("DMS_EXPORTER_REVISION")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .or_else(|| git(&["rev-parse", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    watch_git_head();
    println!("cargo:rustc-env=DMS_EXPORTER_REVISION={revision}");
    println!("cargo:rustc-env=DMS_EXPORTER_RUSTC={}", rustc_version());
    println!("cargo:rustc-env=DMS_EXPORTER_BUILD_DATE={}", build_date());
}

/// Runs git in the crate's directory; `None` without git or outside a repository.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        // Read at run time: the build script binary may be reused from another checkout.
        .current_dir(std::env::var_os("CARGO_MANIFEST_DIR")?)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Asks cargo to rerun when HEAD changes or the branch it points to moves. Only files that
/// exist are named: cargo reruns on every build for a missing one.
fn watch_git_head() {
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(head) = git(&["rev-parse", "--path-format=absolute", "--git-path", "HEAD"]) {
        files.push(head.into());
    }
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(path) = git(&[
            "rev-parse",
            "--path-format=absolute",
            "--git-path",
            &reference,
        ]) {
            files.push(path.into());
        }
        // A branch whose loose ref was packed moves in packed-refs.
        if let Some(packed) = git(&[
            "rev-parse",
            "--path-format=absolute",
            "--git-path",
            "packed-refs",
        ]) {
            files.push(packed.into());
        }
    }
    for file in files.iter().filter(|f| Path::new(f).is_file()) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}

/// `1.95.0` from `rustc 1.95.0 (59807616e 2026-04-14)`.
fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The build date in UTC, RFC 3339: `SOURCE_DATE_EPOCH` when set, else now.
fn build_date() -> String {
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok());
    let date = match epoch {
        Some(seconds) => time::OffsetDateTime::from_unix_timestamp(seconds).ok(),
        // The wall clock is what a build date means.
        None => Some(time::OffsetDateTime::now_utc()),
    };
    date.and_then(|d| d.replace_nanosecond(0).ok())
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "unknown".to_owned())
}
