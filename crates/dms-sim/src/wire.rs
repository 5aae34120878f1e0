//! Formats every engine's answers share.

/// ISO-8601 UTC with milliseconds, e.g. `2020-05-15T03:19:51.046Z`.
pub(crate) fn iso_ms(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_have_milliseconds() {
        assert_eq!(iso_ms(1_589_512_791_046), "2020-05-15T03:19:51.046Z");
    }
}
