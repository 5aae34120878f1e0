//! Reading the files the configuration names, with a size cap: `--config.file /dev/zero` (or a
//! log file given by mistake) must fail at once, not grow the process without bound.

use std::fs::File;
use std::io::{self, BufReader, Read, Take};
use std::path::Path;

/// The largest configuration, web configuration or credential file read. Real ones are a few
/// KiB; a MiB leaves room for long comments and many regions.
pub(crate) const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A file read through a cap: [`open_capped`] gives it, [`over_cap`] tells whether it
/// went past the cap. The buffer is outside the cap so that byte-wise readers (a streaming
/// JSON parser) read from memory.
pub(crate) type CappedReader = BufReader<Take<File>>;

/// A file larger than its cap: its size when known (an endless device has none).
#[derive(Debug, thiserror::Error)]
#[error("{}larger than {} KiB", .bytes.map(|b| format!("{b} bytes, ")).unwrap_or_default(), .max_bytes / 1024)]
pub struct TooLarge {
    pub bytes: Option<u64>,
    pub max_bytes: u64,
}

/// Why [`open_capped`] refused a file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CappedOpenError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
}

/// Opens the file at `path` to read at most `max_bytes` of it: a directory, or a file whose
/// size is over the cap, is refused before anything is read; the reader stops one byte past
/// the cap, so a file that grows or an endless device shows in [`over_cap`].
pub(crate) fn open_capped(path: &Path, max_bytes: u64) -> Result<CappedReader, CappedOpenError> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(
            io::Error::new(io::ErrorKind::IsADirectory, "is a directory, not a file").into(),
        );
    }
    if meta.len() > max_bytes {
        return Err(TooLarge {
            bytes: Some(meta.len()),
            max_bytes,
        }
        .into());
    }
    Ok(BufReader::new(file.take(max_bytes.saturating_add(1))))
}

/// Whether `reader` read past the cap it was opened with.
pub(crate) fn over_cap(reader: &CappedReader) -> bool {
    reader.get_ref().limit() == 0
}

/// The whole text of a regular file of at most [`MAX_FILE_BYTES`]; a directory, a larger file
/// (or an endless device) and non-UTF-8 text are errors that say so.
pub fn read_capped(path: &Path) -> io::Result<String> {
    let not_configuration = |error: TooLarge| {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("{error}: not a configuration file"),
        )
    };
    let mut reader = open_capped(path, MAX_FILE_BYTES).map_err(|error| match error {
        CappedOpenError::TooLarge(error) => not_configuration(error),
        CappedOpenError::Io(error) => error,
    })?;
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    if over_cap(&reader) {
        return Err(not_configuration(TooLarge {
            bytes: None,
            max_bytes: MAX_FILE_BYTES,
        }));
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
