//! Service tokens: how verifiers (gateways, backends) authenticate. Each is
//! bound to one environment and compared in constant time.

use app::domain::{Environment, TokenHash};
use std::fmt;

/// The configured service tokens, as SHA-256 digests.
#[derive(Clone, Default)]
pub struct ServiceTokens(Vec<(TokenHash, Environment)>);

impl fmt::Debug for ServiceTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceTokens({} configured)", self.0.len())
    }
}

/// Shortest accepted service token.
pub const MIN_LEN: usize = 24;

impl ServiceTokens {
    /// Parses `environment:token` pairs separated by commas, e.g.
    /// `production:abc…,staging:def…`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (env, token) = pair
                .split_once(':')
                .ok_or("service tokens are written environment:token, separated by commas")?;
            let env: Environment = env.trim().parse()?;
            if token.len() < MIN_LEN {
                return Err(format!("a service token needs at least {MIN_LEN} characters"));
            }
            tokens.push((TokenHash::of(token), env));
        }
        Ok(ServiceTokens(tokens))
    }

    /// Adds one token (demo mode generates them).
    pub fn add(&mut self, token: &str, env: Environment) {
        self.0.push((TokenHash::of(token), env));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The environment of the presented token, comparing against every
    /// configured one in constant time.
    pub fn authenticate(&self, presented: &str) -> Option<Environment> {
        let presented = TokenHash::of(presented);
        let mut found = None;
        for (hash, env) in &self.0 {
            if hash.matches(&presented) {
                found = Some(*env);
            }
        }
        found
    }
}

/// The bearer token `/metrics` asks for when the operator sets one
/// (`metrics_token`), kept as a digest and compared in constant time.
#[derive(Clone)]
pub struct MetricsToken(TokenHash);

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken(…)")
    }
}

impl MetricsToken {
    /// A token of at least [`MIN_LEN`] characters.
    pub fn parse(token: &str) -> Result<Self, String> {
        if token.trim().len() < MIN_LEN {
            return Err(format!("the metrics token needs at least {MIN_LEN} characters"));
        }
        Ok(MetricsToken(TokenHash::of(token.trim())))
    }

    /// Whether `presented` is this token.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.matches(&TokenHash::of(presented))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_authenticate_to_their_environment_only() {
        let t = ServiceTokens::parse(
            "production:prod-token-0123456789abcdef, staging:stg-token-0123456789abcdefgh",
        )
        .unwrap();
        assert_eq!(t.authenticate("prod-token-0123456789abcdef"), Some(Environment::Production));
        assert_eq!(t.authenticate("stg-token-0123456789abcdefgh"), Some(Environment::Staging));
        assert_eq!(t.authenticate("prod-token-0123456789abcdeX"), None);
        assert_eq!(t.authenticate(""), None);
        assert!(!format!("{t:?}").contains("prod-token"));
    }

    #[test]
    fn bad_specs_are_refused() {
        assert!(ServiceTokens::parse("production").is_err());
        assert!(ServiceTokens::parse("moon:0123456789abcdefghijklmnop").is_err());
        assert!(ServiceTokens::parse("production:short").is_err());
        assert!(ServiceTokens::parse("").unwrap().is_empty());
    }

    #[test]
    fn the_metrics_token_matches_itself_only_and_hides_in_debug() {
        assert!(MetricsToken::parse("short").is_err());
        let t = MetricsToken::parse("metrics-token-0123456789abcdef").unwrap();
        assert!(t.matches("metrics-token-0123456789abcdef"));
        assert!(!t.matches("metrics-token-0123456789abcdeF"));
        assert!(!format!("{t:?}").contains("metrics-token"));
    }
}
