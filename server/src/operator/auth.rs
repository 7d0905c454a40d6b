//! Operator tokens: how the platform's backend authenticates to the
//! operator API. Separate from service tokens and API keys (neither is
//! accepted here, nor an operator token there), stored as digests and
//! compared in constant time.

use super::OperatorState;
use crate::rest::error::RestError;
use app::domain::TokenHash;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use std::fmt;

/// The configured operator tokens, as SHA-256 digests.
#[derive(Clone, Default)]
pub struct OperatorTokens(Vec<TokenHash>);

impl fmt::Debug for OperatorTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OperatorTokens({} configured)", self.0.len())
    }
}

/// Shortest accepted operator token.
pub const MIN_LEN: usize = 24;

impl OperatorTokens {
    /// Comma-separated tokens of at least [`MIN_LEN`] characters.
    pub fn parse(spec: &str) -> Result<Self, String> {
        spec.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                if t.len() < MIN_LEN {
                    Err(format!("an operator token needs at least {MIN_LEN} characters"))
                } else {
                    Ok(TokenHash::of(t))
                }
            })
            .collect::<Result<_, _>>()
            .map(OperatorTokens)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `presented` is one of the tokens (every one is compared).
    pub fn accepts(&self, presented: &str) -> bool {
        let presented = TokenHash::of(presented);
        self.0.iter().fold(false, |found, t| found | t.matches(&presented))
    }
}

/// A call made with a valid operator token.
pub struct Operator {
    /// The client's address, for the audit log.
    pub ip: Option<String>,
}

impl FromRequestParts<OperatorState> for Operator {
    type Rejection = RestError;

    #[tracing::instrument(name = "operator", skip_all)]
    async fn from_request_parts(
        parts: &mut Parts,
        state: &OperatorState,
    ) -> Result<Self, RestError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or("");
        if !state.tokens.accepts(presented) {
            return Err(RestError::NoOperatorToken);
        }
        Ok(Operator {
            ip: app::backend::request::client_addr(parts, state.app.settings.trust_proxy_headers),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_matched_exactly_and_hidden() {
        assert!(OperatorTokens::parse("short").is_err());
        let t =
            OperatorTokens::parse("op-token-0123456789abcdef, op-token-second-0123456789").unwrap();
        assert!(t.accepts("op-token-0123456789abcdef"));
        assert!(t.accepts("op-token-second-0123456789"));
        assert!(!t.accepts("op-token-0123456789abcdeF"));
        assert!(!t.accepts(""));
        assert!(!format!("{t:?}").contains("op-token"));
        assert!(OperatorTokens::parse("").unwrap().is_empty());
        assert!(!OperatorTokens::parse("").unwrap().accepts(""));
    }
}
