//! API key fields people choose: name, expiry, rate limit; and the status
//! every view computes the same way.

use super::UnixTime;
use serde::{Deserialize, Serialize};

/// A key's name: 1–100 characters, trimmed, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyName(String);

impl KeyName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        super::inputs::label(raw, "Enter a name for the key.").map(KeyName)
    }
}

/// `limit` requests per `window_secs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub limit: u32,
    pub window_secs: u32,
}

impl RateLimit {
    /// The windows people choose from, with their names.
    pub const WINDOWS: [(u32, &'static str); 4] =
        [(1, "second"), (60, "minute"), (3600, "hour"), (86_400, "day")];

    /// Parses the form's two fields.
    pub fn parse(limit: &str, window_secs: &str) -> Result<Self, String> {
        let limit: u32 = limit
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or("Enter a rate limit between 1 and 1,000,000 requests.")?;
        let window_secs: u32 = window_secs
            .trim()
            .parse()
            .ok()
            .filter(|w| Self::WINDOWS.iter().any(|(s, _)| s == w))
            .ok_or("Choose a rate-limit window: second, minute, hour or day.")?;
        Ok(RateLimit { limit, window_secs })
    }

    /// e.g. `600 / min`, for a table cell.
    pub fn short_label(&self) -> String {
        let window = match self.window_secs {
            1 => "s".to_string(),
            60 => "min".into(),
            3600 => "h".into(),
            86_400 => "day".into(),
            other => format!("{other} s"),
        };
        format!("{} / {window}", self.limit)
    }

    /// e.g. `600 / minute`.
    pub fn label(&self) -> String {
        let window = Self::WINDOWS
            .iter()
            .find(|(s, _)| *s == self.window_secs)
            .map_or_else(|| format!("{} s", self.window_secs), |(_, name)| name.to_string());
        format!("{} / {window}", self.limit)
    }
}

/// When a key stops working, as chosen in the form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expiry {
    Never,
    InDays(i64),
    /// The end of this UTC day (`YYYY-MM-DD`).
    OnDate(String),
}

impl Expiry {
    /// Parses the form's choice (`never`, `30`, `90`, `365`, `date`) and date.
    pub fn parse(choice: &str, date: &str) -> Result<Self, String> {
        match choice.trim() {
            "" | "never" => Ok(Expiry::Never),
            "30" | "90" | "365" => {
                Ok(Expiry::InDays(choice.trim().parse().expect("matched digits")))
            }
            "date" => Ok(Expiry::OnDate(date.trim().to_string())),
            other => Err(format!(
                "Unknown expiry choice \u{201c}{}\u{201d}.",
                other.chars().take(40).collect::<String>()
            )),
        }
    }

    /// The expiry time, or `None` for never; a date must lie in the future.
    pub fn resolve(&self, now: UnixTime) -> Result<Option<UnixTime>, String> {
        match self {
            Expiry::Never => Ok(None),
            Expiry::InDays(days) => Ok(Some(now + days * 86_400)),
            Expiry::OnDate(date) => {
                let day = parse_date(date).ok_or("Enter the expiry date as YYYY-MM-DD.")?;
                let end_of_day = (day + 1) * 86_400 - 1;
                if end_of_day <= now {
                    return Err("The expiry date is in the past.".into());
                }
                Ok(Some(end_of_day))
            }
        }
    }
}

/// `YYYY-MM-DD` to days since 1970-01-01 (proleptic Gregorian).
fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    Some(super::calendar::days_from_civil(y, m, d))
}

/// A key's state; the same computation serves the list, the detail page and
/// verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Disabled,
    Expired,
    Revoked,
}

impl KeyStatus {
    pub const ALL: [KeyStatus; 4] =
        [KeyStatus::Active, KeyStatus::Disabled, KeyStatus::Expired, KeyStatus::Revoked];

    /// Revoked is final; an expired key shows as expired even if disabled.
    pub fn of(
        revoked_at: Option<UnixTime>,
        disabled: bool,
        expires_at: Option<UnixTime>,
        now: UnixTime,
    ) -> Self {
        if revoked_at.is_some() {
            KeyStatus::Revoked
        } else if expires_at.is_some_and(|t| t <= now) {
            KeyStatus::Expired
        } else if disabled {
            KeyStatus::Disabled
        } else {
            KeyStatus::Active
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Disabled => "Disabled",
            KeyStatus::Expired => "Expired",
            KeyStatus::Revoked => "Revoked",
        }
    }

    /// The lower-case name used in filters.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Disabled => "disabled",
            KeyStatus::Expired => "expired",
            KeyStatus::Revoked => "revoked",
        }
    }
}

super::text_type!(KeyName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(KeyName::parse("  Production Web SDK ").unwrap().as_str(), "Production Web SDK");
        assert!(KeyName::parse("").is_err());
        assert!(KeyName::parse("   ").is_err());
        assert!(KeyName::parse(&"n".repeat(100)).is_ok());
        assert!(KeyName::parse(&"n".repeat(101)).is_err());
        assert!(KeyName::parse("tab\there").is_err());
    }

    #[test]
    fn status_is_computed_in_one_order() {
        let now = 1_000;
        assert_eq!(KeyStatus::of(None, false, None, now), KeyStatus::Active);
        assert_eq!(KeyStatus::of(None, false, Some(now + 1), now), KeyStatus::Active);
        assert_eq!(KeyStatus::of(None, true, None, now), KeyStatus::Disabled);
        assert_eq!(KeyStatus::of(None, true, Some(now), now), KeyStatus::Expired);
        assert_eq!(KeyStatus::of(Some(5), true, Some(now), now), KeyStatus::Revoked);
    }

    #[test]
    fn expiry_choices_resolve() {
        let now = 1_795_392_000; // 2026-11-23T00:00:00Z
        assert_eq!(Expiry::parse("never", "").unwrap().resolve(now), Ok(None));
        assert_eq!(Expiry::parse("30", "").unwrap().resolve(now), Ok(Some(now + 30 * 86_400)));
        assert_eq!(
            Expiry::parse("date", "2026-11-23").unwrap().resolve(now),
            Ok(Some(now + 86_399))
        );
        assert!(
            Expiry::parse("date", "2026-11-22").unwrap().resolve(now).unwrap_err().contains("past")
        );
        for bad in ["2026-02-29", "2026-13-01", "26-01-01", "tomorrow", ""] {
            assert!(Expiry::parse("date", bad).unwrap().resolve(now).is_err(), "{bad}");
        }
        assert!(Expiry::parse("7", "").is_err());
        assert_eq!(parse_date("2000-02-29"), Some(11_016));
        assert_eq!(parse_date("1970-01-01"), Some(0));
    }

    #[test]
    fn rate_limits_parse_within_bounds() {
        assert_eq!(RateLimit::parse("100", "60"), Ok(RateLimit { limit: 100, window_secs: 60 }));
        assert_eq!(RateLimit { limit: 100, window_secs: 60 }.label(), "100 / minute");
        for (l, w) in [("0", "60"), ("1000001", "60"), ("ten", "60"), ("10", "7"), ("10", "")] {
            assert!(RateLimit::parse(l, w).is_err(), "{l} {w}");
        }
    }
}
