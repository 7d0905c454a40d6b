//! What the platform sees of its organisations (the admin console, the CLI
//! and the operator API), and the return address of portal sessions.

use super::{Email, OrgName, Password, Slug, UnixTime};
use serde::{Deserialize, Serialize};

/// How an owned organisation comes to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Founding {
    /// First-run setup (`/setup`): only while no user exists; its owner
    /// becomes the instance admin.
    FirstRun,
    /// Open sign-up (`/signup`).
    SignUp,
}

impl Founding {
    /// The form value (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            Founding::FirstRun => "first_run",
            Founding::SignUp => "sign_up",
        }
    }
}

/// A new organisation and its first owner, as `/setup` and `/signup` take
/// them: every field parsed, or the first problem in words.
#[derive(Debug)]
pub struct NewOwnedOrg {
    pub name: OrgName,
    pub slug: Slug,
    pub email: Email,
    pub password: Password,
}

impl NewOwnedOrg {
    pub fn parse(name: &str, slug: &str, email: &str, password: &str) -> Result<Self, String> {
        Ok(NewOwnedOrg {
            name: OrgName::parse(name)?,
            slug: Slug::parse(slug)?,
            email: Email::parse(email)?,
            password: Password::parse(password)?,
        })
    }
}

/// One organisation as the platform sees it: counts, never keys or members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgOverview {
    pub slug: String,
    pub name: String,
    pub members: i64,
    /// Keys that verify now (not disabled, revoked or expired).
    pub active_keys: i64,
    /// Every key in the list (revoked ones included).
    pub keys: i64,
    /// Verifications of the org's keys in the last 24 hours.
    pub verifications_24h: i64,
    pub created_at: UnixTime,
    /// When the org was suspended; `null` while it is active.
    pub suspended_at: Option<UnixTime>,
}

impl OrgOverview {
    /// `"Suspended"` or `"Active"`.
    pub fn status(&self) -> &'static str {
        if self.suspended_at.is_some() { "Suspended" } else { "Active" }
    }
}

/// One page of organisations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPage {
    pub orgs: Vec<OrgOverview>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// Where a portal session's "Back to …" link leads: an absolute `http` or
/// `https` URL without whitespace or control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnUrl(String);

impl ReturnUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let problem = || "return_url must be an http or https URL.".to_string();
        let rest = raw
            .strip_prefix("https://")
            .or_else(|| raw.strip_prefix("http://"))
            .ok_or_else(problem)?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if raw.len() > Self::MAX_LEN
            || host.is_empty()
            || host.contains(['@', '\\'])
            || !raw.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(problem());
        }
        Ok(ReturnUrl(raw.to_string()))
    }

    /// The host, to name the platform in "Back to <host>".
    pub fn host(url: &str) -> &str {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        rest.split(['/', '?', '#']).next().unwrap_or(rest)
    }
}

super::text_type!(ReturnUrl);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_org_is_parsed_whole_or_refused_with_the_first_problem() {
        let ok = NewOwnedOrg::parse("Acme", "acme", "Owner@Acme.test", "long enough pw").unwrap();
        assert_eq!((ok.slug.as_str(), ok.email.as_str()), ("acme", "owner@acme.test"));
        assert!(NewOwnedOrg::parse("", "acme", "o@acme.test", "long enough pw").is_err());
        assert!(NewOwnedOrg::parse("Acme", "Bad Slug", "o@acme.test", "long enough pw").is_err());
        assert!(NewOwnedOrg::parse("Acme", "acme", "nope", "long enough pw").is_err());
        assert!(NewOwnedOrg::parse("Acme", "acme", "o@acme.test", "short").is_err());
    }

    #[test]
    fn return_urls_are_absolute_http_only() {
        for ok in [
            "https://platform.example/settings",
            "http://localhost:8080",
            "https://app.example/back?to=keys#top",
        ] {
            assert_eq!(ReturnUrl::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "javascript:alert(1)",
            "//evil.example",
            "/relative",
            "ftp://files.example",
            "https://",
            "https://user@evil.example",
            "https://evil.example\\@good.example",
            "https://a.example/\tx",
            "https://a.example/ x",
            "data:text/html,hi",
        ] {
            assert!(ReturnUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(ReturnUrl::parse(&format!("https://a.example/{}", "x".repeat(3000))).is_err());
        assert_eq!(
            ReturnUrl::host("https://platform.example:8443/settings"),
            "platform.example:8443"
        );
    }
}
