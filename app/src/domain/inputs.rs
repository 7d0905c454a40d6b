//! Newtypes that parse what people type into values that are valid by
//! construction. Each `parse` returns a message fit to show next to the field.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A normalised (trimmed, lower-cased) email address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    /// Longest accepted address, in bytes (RFC 5321's path limit).
    pub const MAX_LEN: usize = 254;

    /// Parses an email address; the check is deliberately loose (one `@`,
    /// a dotted domain, no spaces) since only a sent mail proves an address.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let invalid = || Err("Enter a valid email address, like name@example.com.".to_string());
        // Lower-casing can grow a string: the length is checked before it.
        if raw.trim().len() > Self::MAX_LEN {
            return invalid();
        }
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("Enter an email address.".into());
        }
        if email.len() > Self::MAX_LEN || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return invalid();
        }
        let Some((local, domain)) = email.split_once('@') else {
            return invalid();
        };
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && domain.split('.').all(|part| !part.is_empty());
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return invalid();
        }
        Ok(Email(email))
    }
}

/// A new password that meets the length rules. `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Shortest accepted password, in characters.
    pub const MIN_CHARS: usize = 10;
    /// Longest accepted password, in characters (bounds the hashing cost).
    pub const MAX_CHARS: usize = 256;

    /// Parses a password chosen by a person (at sign-up or invitation).
    pub fn parse(raw: &str) -> Result<Self, String> {
        // A character is at most 4 bytes: past that, nothing is counted.
        if raw.len() > 4 * Self::MAX_CHARS {
            return Err(format!("Choose a password of at most {} characters.", Self::MAX_CHARS));
        }
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(format!("Choose a password of at least {} characters.", Self::MIN_CHARS));
        }
        if chars > Self::MAX_CHARS {
            return Err(format!("Choose a password of at most {} characters.", Self::MAX_CHARS));
        }
        Ok(Password(raw.to_string()))
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// An organisation's URL name: 2–40 chars of `[a-z0-9-]`, starting and
/// ending with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let rule = "Use 2–40 lowercase letters, digits or hyphens, starting and ending with a letter or digit.";
        if raw.trim().len() > 4 * 40 {
            return Err(rule.into());
        }
        let slug = raw.trim().to_lowercase();
        let len = slug.chars().count();
        let allowed =
            slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let edges = !slug.starts_with('-') && !slug.ends_with('-');
        if !(2..=40).contains(&len) || !allowed || !edges || slug.contains("--") {
            return Err(rule.into());
        }
        Ok(Slug(slug))
    }
}

/// An organisation's display name: 1–100 characters, trimmed, no control
/// characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgName(String);

impl OrgName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        label(raw, "Enter the organisation's name.").map(OrgName)
    }
}

/// A display label: trimmed, 1–100 characters, no control characters.
pub(super) fn label(raw: &str, when_empty: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(when_empty.into());
    }
    if name.len() > 4 * 100 || name.chars().count() > 100 {
        return Err("Use at most 100 characters for the name.".into());
    }
    if name.chars().any(char::is_control) {
        return Err("The name cannot contain control characters.".into());
    }
    Ok(name.to_string())
}

super::text_type!(Email, Slug, OrgName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(Email::parse("  Owner@Acme.TEST ").unwrap().as_str(), "owner@acme.test");
    }

    #[test]
    fn bad_emails_are_refused() {
        let too_long = format!("{}@example.com", "a".repeat(250));
        for bad in ["", "   ", "plain", "a@b", "a@@b.c", "@b.co", "a b@c.de", "a@b..c", &too_long] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn passwords_have_length_bounds_counted_in_characters() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("keywarden-demo").is_ok());
        assert!(Password::parse(&"é".repeat(10)).is_ok());
        assert!(Password::parse(&"x".repeat(257)).is_err());
    }

    #[test]
    fn password_debug_hides_the_secret() {
        let p = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn slugs_follow_the_rule() {
        assert_eq!(Slug::parse(" Acme ").unwrap().as_str(), "acme");
        assert!(Slug::parse("acme-labs-2").is_ok());
        for bad in ["a", "-acme", "acme-", "ac--me", "ac me", "acmé", "acme_co", &"a".repeat(41)] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn org_names_are_trimmed_and_bounded() {
        assert_eq!(OrgName::parse("  Acme Inc. ").unwrap().as_str(), "Acme Inc.");
        assert!(OrgName::parse("   ").is_err());
        assert!(OrgName::parse(&"n".repeat(101)).is_err());
        assert!(OrgName::parse(&"n".repeat(100)).is_ok());
        assert!(OrgName::parse("bad\u{7}name").is_err());
    }
}
