//! Verification outcome codes (docs/design.md#verify-api) as the UI shows them.

/// Every outcome code, in the order verification checks them.
pub const OUTCOMES: [&str; 11] = [
    "MALFORMED",
    "NOT_FOUND",
    "WRONG_ENVIRONMENT",
    "DISABLED",
    "REVOKED",
    "EXPIRED",
    "IP_NOT_ALLOWED",
    "INSUFFICIENT_PERMISSIONS",
    "RATE_LIMITED",
    "USAGE_EXCEEDED",
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
        "IP_NOT_ALLOWED" => "IP not allowed",
        "INSUFFICIENT_PERMISSIONS" => "Missing permission",
        "RATE_LIMITED" => "Rate limited",
        "USAGE_EXCEEDED" => "Usage limit spent",
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
