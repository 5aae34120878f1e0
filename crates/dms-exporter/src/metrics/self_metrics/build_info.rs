//! Build facts for `dms_exporter_build_info`, `--version` and the landing page.

use super::families::encode_family;
use crate::metrics::catalog;
use crate::metrics::exposition::Format;

/// Build facts (set by `build.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct BuildInfo {
    pub version: String,
    pub revision: String,
    pub rustc: String,
    pub build_date: String,
}

impl BuildInfo {
    pub fn current() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            revision: env!("DMS_EXPORTER_REVISION").to_owned(),
            rustc: env!("DMS_EXPORTER_RUSTC").to_owned(),
            build_date: env!("DMS_EXPORTER_BUILD_DATE").to_owned(),
        }
    }

    /// What `--version` prints, in the Prometheus programs' style.
    pub fn version_line(&self) -> String {
        format!(
            "dms_exporter, version {} (revision: {}) build date: {} rustc: {}",
            self.version, self.revision, self.build_date, self.rustc
        )
    }

    /// Writes `dms_exporter_build_info` (always 1).
    pub fn encode(&self, format: Format, out: &mut String) {
        let labels = vec![
            self.version.clone(),
            self.revision.clone(),
            self.rustc.clone(),
        ];
        encode_family(&catalog::BUILD_INFO, [(labels, 1.0)], format, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_info_carries_the_revision_from_git() {
        let build = BuildInfo::current();
        // The tests run from a git checkout, so build.rs found a revision.
        assert_eq!(build.revision.len(), 40, "{build:?}");
        assert!(
            build.revision.chars().all(|c| c.is_ascii_hexdigit()),
            "{build:?}"
        );
        assert!(build.rustc.starts_with("1."), "{build:?}");
        let line = build.version_line();
        assert!(
            line.starts_with(&format!(
                "dms_exporter, version {} (revision: {}) build date: ",
                env!("CARGO_PKG_VERSION"),
                build.revision
            )) && line.ends_with(&format!(" rustc: {}", build.rustc)),
            "{line}"
        );
    }
}
