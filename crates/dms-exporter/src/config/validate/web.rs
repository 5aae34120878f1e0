//! Forms of the web configuration's values (`--web.config.file`).

use std::ops::RangeInclusive;

/// The bcrypt costs a web configuration's hash may have: each step doubles the time of a
/// check, and a cost of 31 would take days per scrape.
pub(super) const BCRYPT_COST: RangeInclusive<u32> = 4..=16;

/// Why a `basic_auth_users` value is not a usable bcrypt hash, if it is not. The hash is never
/// quoted: it may be a password pasted by mistake.
pub fn bcrypt_hash_problem(hash: &str) -> Option<String> {
    // `$2x$` (and anything else) is a variant the bcrypt crate reads but cannot verify as
    // its writer meant: only the three current prefixes are accepted.
    if !["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
        return Some(
            "must be a bcrypt hash starting $2y$, $2b$ or $2a$, e.g. from htpasswd -nBC 10"
                .to_owned(),
        );
    }
    match hash.parse::<bcrypt::HashParts>() {
        Err(error) => Some(format!(
            "must be a bcrypt hash ($2y$…), e.g. from htpasswd -nBC 10: {error}"
        )),
        Ok(parts) if !BCRYPT_COST.contains(&parts.get_cost()) => Some(format!(
            "bcrypt cost {} is out of range: from {} to {}",
            parts.get_cost(),
            BCRYPT_COST.start(),
            BCRYPT_COST.end()
        )),
        Ok(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_hashes_are_parsed_and_their_cost_bounded() {
        let good = bcrypt::hash("pw", 4).unwrap_or_default();
        assert_eq!(bcrypt_hash_problem(&good), None);
        let truncated = &good[..good.len() - 1];
        let bad_base64 = format!("{}!", &good[..good.len() - 1]);
        for bad in [
            "plain",
            "$2y$10$short",
            truncated,
            &bad_base64,
            &good.replace("$2b$", "$3b$"),
        ] {
            let problem = bcrypt_hash_problem(bad).unwrap_or_default();
            assert!(problem.contains("bcrypt hash"), "{bad}: {problem}");
            assert!(!problem.contains(bad), "{problem}");
        }
        let expensive = good.replacen("$04$", "$31$", 1);
        let problem = bcrypt_hash_problem(&expensive).unwrap_or_default();
        assert!(problem.contains("cost 31 is out of range"), "{problem}");
    }
}
