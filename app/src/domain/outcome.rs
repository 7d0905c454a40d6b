//! Verification outcome codes (DESIGN.md §5.1) as the UI shows them.

/// Every outcome code, in the order verification checks them.
pub const OUTCOMES: [&str; 9] = [
    "MALFORMED",
    "NOT_FOUND",
    "WRONG_ENVIRONMENT",
    "DISABLED",
    "REVOKED",
    "EXPIRED",
    "INSUFFICIENT_PERMISSIONS",
    "RATE_LIMITED",
    "VALID",
];

/// An outcome in words, e.g. `RATE_LIMITED` → "Rate limited".
pub fn outcome_label(code: &str) -> &'static str {
    match code {
        "MALFORMED" => "Malformed",
        "NOT_FOUND" => "Not found",
        "WRONG_ENVIRONMENT" => "Wrong environment",
        "DISABLED" => "Disabled",
        "REVOKED" => "Revoked",
        "EXPIRED" => "Expired",
        "INSUFFICIENT_PERMISSIONS" => "Missing permission",
        "RATE_LIMITED" => "Rate limited",
        "VALID" => "Valid",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_words() {
        for code in OUTCOMES {
            assert_ne!(outcome_label(code), "Unknown", "{code}");
        }
        assert_eq!(outcome_label("SOMETHING"), "Unknown");
    }
}
