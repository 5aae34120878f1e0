//! Reading the files the configuration names, with a size cap: `--config.file /dev/zero` (or a
//! log file given by mistake) must fail at once, not grow the process without bound.

use std::io::{self, Read};
use std::path::Path;

/// The largest configuration, web configuration or credential file read. Real ones are a few
/// KiB; a MiB leaves room for long comments and many regions.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The whole text of a regular file of at most [`MAX_FILE_BYTES`]; a directory, a larger file
/// (or an endless device) and non-UTF-8 text are errors that say so.
pub fn read_capped(path: &Path) -> io::Result<String> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory, not a file",
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "larger than {} KiB: not a configuration file",
                MAX_FILE_BYTES / 1024
            ),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "is not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_device_is_refused_after_the_cap() {
        let error = read_capped(Path::new("/dev/zero")).expect_err("/dev/zero is endless");
        assert_eq!(error.kind(), io::ErrorKind::FileTooLarge);
        assert!(error.to_string().contains("1024 KiB"), "{error}");
    }

    #[test]
    fn a_directory_is_refused_by_name() {
        let error = read_capped(&std::env::temp_dir()).expect_err("a directory");
        assert!(error.to_string().contains("is a directory"), "{error}");
    }

    #[test]
    fn a_file_at_the_cap_is_read_and_one_byte_more_is_not() {
        let path = std::env::temp_dir().join(format!("dms-capped-{}", std::process::id()));
        let size = usize::try_from(MAX_FILE_BYTES).unwrap_or(usize::MAX);
        std::fs::write(&path, "a".repeat(size)).expect("write");
        assert_eq!(read_capped(&path).map(|t| t.len()).ok(), Some(size));
        std::fs::write(&path, "a".repeat(size + 1)).expect("write");
        assert!(read_capped(&path).is_err());
        std::fs::remove_file(path).ok();
    }
}
