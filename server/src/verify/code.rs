//! The outcome codes of §5.1, in the order they are checked.

use serde::Serialize;

/// One verification's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    Malformed,
    NotFound,
    WrongEnvironment,
    Disabled,
    Revoked,
    Expired,
    IpNotAllowed,
    InsufficientPermissions,
    RateLimited,
    UsageExceeded,
    Valid,
}

impl Code {
    /// Every code, in the order of §5.1.
    pub const ALL: [Code; 11] = [
        Code::Malformed,
        Code::NotFound,
        Code::WrongEnvironment,
        Code::Disabled,
        Code::Revoked,
        Code::Expired,
        Code::IpNotAllowed,
        Code::InsufficientPermissions,
        Code::RateLimited,
        Code::UsageExceeded,
        Code::Valid,
    ];

    /// The code as it appears in answers, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Malformed => "MALFORMED",
            Code::NotFound => "NOT_FOUND",
            Code::WrongEnvironment => "WRONG_ENVIRONMENT",
            Code::Disabled => "DISABLED",
            Code::Revoked => "REVOKED",
            Code::Expired => "EXPIRED",
            Code::IpNotAllowed => "IP_NOT_ALLOWED",
            Code::InsufficientPermissions => "INSUFFICIENT_PERMISSIONS",
            Code::RateLimited => "RATE_LIMITED",
            Code::UsageExceeded => "USAGE_EXCEEDED",
            Code::Valid => "VALID",
        }
    }

    /// Its position in [`Code::ALL`] (for per-code counters).
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_as_in_the_design_and_index_their_position() {
        for (i, code) in Code::ALL.into_iter().enumerate() {
            assert_eq!(code.index(), i);
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(code.as_str()));
        }
        assert_eq!(Code::InsufficientPermissions.as_str(), "INSUFFICIENT_PERMISSIONS");
        let words: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(words, app::domain::OUTCOMES, "the UI knows every code, in order");
    }
}
