//! What a platform sets on its customers' keys (docs/design.md#concepts, #verify-api): the
//! customer a key belongs to, free metadata, and a usage limit with its
//! refill (the addresses it may be used from are [`IpAllowlist`]). Each
//! parses what people type, with a message fit to show next to the field,
//! and checks the length before any other work.

use super::UnixTime;
use super::calendar::{civil_from_days, days_from_civil};
use super::ip_allowlist::IpAllowlist;
use serde::{Deserialize, Serialize};

/// The platform's own id for the customer a key belongs to, e.g. `cus_123`:
/// 1–255 characters, trimmed, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerId(String);

impl CustomerId {
    pub const MAX_CHARS: usize = 255;

    /// `None` for an empty field.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        let id = raw.trim();
        if id.is_empty() {
            return Ok(None);
        }
        // A character is at most 4 bytes: past that, nothing is counted.
        if id.len() > 4 * Self::MAX_CHARS || id.chars().count() > Self::MAX_CHARS {
            return Err(format!("Use at most {} characters for the customer ID.", Self::MAX_CHARS));
        }
        if id.chars().any(char::is_control) {
            return Err("The customer ID cannot contain control characters.".into());
        }
        Ok(Some(CustomerId(id.to_string())))
    }
}

/// A key's metadata: a JSON object of at most 4 KiB, kept compact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMeta(String);

impl KeyMeta {
    /// Most bytes of the compact JSON.
    pub const MAX_BYTES: usize = 4096;
    /// Most bytes of the JSON as typed (spaces and line breaks included).
    pub const MAX_TYPED_BYTES: usize = 4 * Self::MAX_BYTES;

    /// `None` for an empty field.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        if raw.trim().is_empty() {
            return Ok(None);
        }
        // Room for indentation around 4 KiB of compact JSON, and no more:
        // nothing larger is parsed at all.
        if raw.len() > Self::MAX_TYPED_BYTES {
            return Err(format!(
                "Metadata is {} bytes; keep it to {} (4 KiB).",
                raw.len(),
                Self::MAX_BYTES
            ));
        }
        let value: serde_json::Value = serde_json::from_str(raw).map_err(|e| {
            format!("Metadata must be valid JSON, like {{\"plan\": \"pro\"}} ({e}).")
        })?;
        Self::from_value(value).map(Some)
    }

    /// Metadata sent as JSON already (the REST API).
    pub fn from_value(value: serde_json::Value) -> Result<Self, String> {
        if !value.is_object() {
            return Err("Metadata must be a JSON object, like {\"plan\": \"pro\"}.".into());
        }
        let compact = value.to_string();
        if compact.len() > Self::MAX_BYTES {
            return Err(format!(
                "Metadata is {} bytes; keep it to {} (4 KiB).",
                compact.len(),
                Self::MAX_BYTES
            ));
        }
        Ok(KeyMeta(compact))
    }

    /// The stored form, read back (trusted: it was parsed on the way in).
    pub fn from_stored(stored: String) -> Self {
        KeyMeta(stored)
    }

    /// Indented for reading.
    pub fn pretty(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.0)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|_| self.0.clone())
    }
}

/// When a usage limit's balance is set back to the limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refill {
    #[default]
    None,
    /// At 00:00 UTC.
    Daily,
    /// At 00:00 UTC on the 1st.
    Monthly,
}

impl Refill {
    pub const ALL: [Refill; 3] = [Refill::None, Refill::Daily, Refill::Monthly];

    pub fn as_str(self) -> &'static str {
        match self {
            Refill::None => "none",
            Refill::Daily => "daily",
            Refill::Monthly => "monthly",
        }
    }

    /// As the form offers it.
    pub fn label(self) -> &'static str {
        match self {
            Refill::None => "Never",
            Refill::Daily => "Daily",
            Refill::Monthly => "Monthly",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "" | "none" | "never" => Ok(Refill::None),
            "daily" => Ok(Refill::Daily),
            "monthly" => Ok(Refill::Monthly),
            _ => Err("Choose how the usage limit refills: never, daily or monthly.".into()),
        }
    }

    /// The start of the refill period holding `now` (0 for `None`: one
    /// period forever).
    pub fn period_start(self, now: UnixTime) -> UnixTime {
        let day = now.div_euclid(86_400);
        match self {
            Refill::None => 0,
            Refill::Daily => day * 86_400,
            Refill::Monthly => {
                let (y, m, _) = civil_from_days(day);
                days_from_civil(y, m, 1) * 86_400
            }
        }
    }

    /// The next refill after `now`, or `None` when it never refills.
    pub fn next_after(self, now: UnixTime) -> Option<UnixTime> {
        let day = now.div_euclid(86_400);
        match self {
            Refill::None => None,
            Refill::Daily => Some((day + 1) * 86_400),
            Refill::Monthly => {
                let (y, m, _) = civil_from_days(day);
                let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                Some(days_from_civil(y, m, 1) * 86_400)
            }
        }
    }
}

/// A number of VALID verifications a key may make, refilled or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageLimit {
    pub limit: i64,
    pub refill: Refill,
}

impl UsageLimit {
    pub const MAX: i64 = 1_000_000_000;

    /// Parses the form's two fields; an empty limit is no limit.
    pub fn parse(limit: &str, refill: &str) -> Result<Option<Self>, String> {
        let refill = Refill::parse(refill)?;
        let limit = limit.trim();
        if limit.len() > 32 {
            return Err("Enter a usage limit between 1 and 1,000,000,000.".into());
        }
        let limit = limit.replace([',', '_'], "");
        if limit.is_empty() {
            if refill != Refill::None {
                return Err("Enter a usage limit for it to refill.".into());
            }
            return Ok(None);
        }
        Self::new(limit.parse().unwrap_or(-1), refill).map(Some)
    }

    /// A limit of `limit` uses (1 to 1,000,000,000).
    pub fn new(limit: i64, refill: Refill) -> Result<Self, String> {
        if !(1..=Self::MAX).contains(&limit) {
            return Err("Enter a usage limit between 1 and 1,000,000,000.".into());
        }
        Ok(UsageLimit { limit, refill })
    }

    /// e.g. `1000, refilled daily`.
    pub fn label(&self) -> String {
        match self.refill {
            Refill::None => format!("{}, no refill", self.limit),
            r => format!("{}, refilled {}", self.limit, r.as_str()),
        }
    }
}

/// The four options together, as create and edit carry them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyOptions {
    pub ip_allowlist: IpAllowlist,
    pub customer: Option<CustomerId>,
    pub meta: Option<KeyMeta>,
    pub usage_limit: Option<UsageLimit>,
}

impl KeyOptions {
    /// Parses the form's fields: allowed IPs (one per line), customer id,
    /// metadata (JSON), usage limit and refill.
    pub fn parse(
        ip_allowlist: &str,
        customer: &str,
        meta: &str,
        usage_limit: &str,
        refill: &str,
    ) -> Result<Self, String> {
        Ok(KeyOptions {
            ip_allowlist: IpAllowlist::parse(ip_allowlist)?,
            customer: CustomerId::parse(customer)?,
            meta: KeyMeta::parse(meta)?,
            usage_limit: UsageLimit::parse(usage_limit, refill)?,
        })
    }
}

super::text_type!(CustomerId, KeyMeta);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_ids_are_bounded() {
        assert_eq!(CustomerId::parse("  cus_123 ").unwrap().unwrap().as_str(), "cus_123");
        assert_eq!(CustomerId::parse("   ").unwrap(), None);
        assert!(CustomerId::parse(&"c".repeat(255)).unwrap().is_some());
        assert!(CustomerId::parse(&"c".repeat(256)).is_err());
        assert!(CustomerId::parse("cus\u{0}1").is_err());
    }

    #[test]
    fn metadata_is_a_small_json_object() {
        let meta = KeyMeta::parse("{ \"plan\": \"pro\",\n \"seats\": 5 }").unwrap().unwrap();
        assert_eq!(meta.as_str(), r#"{"plan":"pro","seats":5}"#);
        assert_eq!(KeyMeta::parse("  ").unwrap(), None);
        assert!(KeyMeta::parse("{\"plan\": ").unwrap_err().contains("valid JSON"));
        for not_object in ["[1,2]", "\"text\"", "42", "null"] {
            assert!(KeyMeta::parse(not_object).unwrap_err().contains("object"), "{not_object}");
        }
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(4096 - 8));
        assert_eq!(big.len(), 4096);
        assert!(KeyMeta::parse(&big).is_ok());
        let too_big = format!("{{\"x\":\"{}\"}}", "a".repeat(4096 - 7));
        assert!(KeyMeta::parse(&too_big).unwrap_err().contains("4 KiB"));
        let typed = format!("{{\n{}\"x\": 1}}", " ".repeat(KeyMeta::MAX_TYPED_BYTES));
        assert!(KeyMeta::parse(&typed).unwrap_err().contains("4 KiB"));
    }

    /// Unix seconds of `y-m-d h:00` UTC.
    fn at(y: i64, m: i64, d: i64, h: i64) -> UnixTime {
        days_from_civil(y, m, d) * 86_400 + h * 3600
    }

    #[test]
    fn daily_refills_at_midnight_utc() {
        let t = at(2026, 11, 23, 18);
        assert_eq!(Refill::Daily.period_start(t), at(2026, 11, 23, 0));
        assert_eq!(Refill::Daily.next_after(t), Some(at(2026, 11, 24, 0)));
        // At midnight itself a new period has begun.
        assert_eq!(Refill::Daily.period_start(at(2026, 11, 24, 0)), at(2026, 11, 24, 0));
        assert_eq!(Refill::Daily.period_start(at(2026, 11, 24, 0) - 1), at(2026, 11, 23, 0));
        assert_eq!(Refill::None.next_after(t), None);
        assert_eq!(Refill::None.period_start(t), 0);
    }

    #[test]
    fn monthly_refills_cross_month_and_year_ends_and_leap_days() {
        assert_eq!(Refill::Monthly.period_start(at(2026, 1, 31, 23)), at(2026, 1, 1, 0));
        assert_eq!(Refill::Monthly.next_after(at(2026, 1, 31, 23)), Some(at(2026, 2, 1, 0)));
        assert_eq!(Refill::Monthly.next_after(at(2026, 12, 15, 0)), Some(at(2027, 1, 1, 0)));
        assert_eq!(Refill::Monthly.period_start(at(2027, 1, 1, 0)), at(2027, 1, 1, 0));
        // February of a leap year has 29 days, of 2100 (not leap) 28.
        assert_eq!(Refill::Monthly.next_after(at(2028, 2, 29, 12)), Some(at(2028, 3, 1, 0)));
        assert_eq!(Refill::Monthly.period_start(at(2028, 2, 29, 12)), at(2028, 2, 1, 0));
        assert_eq!(Refill::Monthly.next_after(at(2100, 2, 28, 12)), Some(at(2100, 3, 1, 0)));
        assert_eq!(at(2100, 3, 1, 0) - at(2100, 2, 1, 0), 28 * 86_400);
        assert_eq!(at(2000, 3, 1, 0) - at(2000, 2, 1, 0), 29 * 86_400);
    }

    #[test]
    fn usage_limits_parse() {
        assert_eq!(UsageLimit::parse("", "none").unwrap(), None);
        assert_eq!(
            UsageLimit::parse("1,000", "daily").unwrap(),
            Some(UsageLimit { limit: 1000, refill: Refill::Daily })
        );
        assert!(UsageLimit::parse("", "monthly").is_err());
        for bad in ["0", "-5", "abc", "1000000001"] {
            assert!(UsageLimit::parse(bad, "none").is_err(), "{bad}");
        }
        assert!(UsageLimit::parse("10", "weekly").is_err());
    }
}
