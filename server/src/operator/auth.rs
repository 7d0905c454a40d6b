//! Operator tokens: how the platform's backend authenticates to the
//! operator API. Separate from service tokens and API keys (neither is
//! accepted here, nor an operator token there), stored as digests and
//! compared in constant time.

use super::OperatorState;
use crate::rest::error::RestError;
use crate::verify::service::{Tokens, bearer};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The configured operator tokens.
pub type OperatorTokens = Tokens<()>;

impl OperatorTokens {
    /// Comma-separated tokens of at least [`MIN_LEN`](crate::verify::service::MIN_LEN)
    /// characters.
    pub fn parse(spec: &str) -> Result<Self, String> {
        Self::parse_with(spec, "an operator token", |token| Ok((token, ())))
    }

    /// Whether `presented` is one of the tokens (every one is compared).
    pub fn accepts(&self, presented: &str) -> bool {
        self.authenticate(presented).is_some()
    }
}

/// A call made with a valid operator token.
pub struct Operator {
    /// The client's address, for the audit log.
    pub ip: Option<String>,
    /// Where people reach this instance (`https://keys.example.com`), for
    /// the links the operator API answers.
    pub origin: String,
}

impl FromRequestParts<OperatorState> for Operator {
    type Rejection = RestError;

    #[tracing::instrument(name = "operator", skip_all)]
    async fn from_request_parts(
        parts: &mut Parts,
        state: &OperatorState,
    ) -> Result<Self, RestError> {
        let presented = bearer(&parts.headers).unwrap_or("");
        if !state.tokens.accepts(presented) {
            return Err(RestError::NoOperatorToken);
        }
        use app::backend::request::{client_addr, origin_of};
        Ok(Operator {
            ip: client_addr(parts, state.app.settings.trust_proxy_headers),
            origin: origin_of(&state.app, &parts.headers, &parts.uri),
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
