//! An organisation's policies (docs/design.md#roles, #lifecycle-and-status): the owner's rules for the
//! org's keys and members, and the arithmetic every layer applies the same
//! way.

use super::UnixTime;
use serde::{Deserialize, Serialize};

const DAY: i64 = 86_400;

/// How many days before a policy disables an unused key its list shows a
/// hint.
pub const UNUSED_HINT_DAYS: i64 = 7;

/// The org's rules; `None` leaves a rule off (or, for the rotation period,
/// to the operator's default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policies {
    /// Keys may not live longer than this many days from when their expiry
    /// is set (and must expire).
    pub max_key_lifetime_days: Option<i64>,
    /// Keys older than this since creation or the last regenerate show
    /// "Rotation due".
    pub rotation_days: Option<i64>,
    /// Keys unused this many days (since creation, if never used) are
    /// disabled by the policy.
    pub disable_unused_after_days: Option<i64>,
    /// Every member must sign in with two factors.
    pub require_two_factor: bool,
}

impl Policies {
    /// The choices the Organisation page offers, in days.
    pub const LIFETIMES: [i64; 4] = [30, 90, 180, 365];
    pub const ROTATIONS: [i64; 5] = [30, 60, 90, 180, 365];
    pub const UNUSED: [i64; 4] = [30, 60, 90, 180];

    /// Parses the form's fields (empty for off).
    pub fn parse(
        max_key_lifetime: &str,
        rotation: &str,
        disable_unused_after: &str,
        require_two_factor: bool,
    ) -> Result<Self, String> {
        let days = |raw: &str, allowed: &[i64], what: &str| -> Result<Option<i64>, String> {
            match raw.trim() {
                "" | "none" => Ok(None),
                text => {
                    text.parse().ok().filter(|d| allowed.contains(d)).map(Some).ok_or_else(|| {
                        let list: Vec<String> = allowed.iter().map(i64::to_string).collect();
                        format!("Choose a {what} of {} days, or none.", list.join(", "))
                    })
                }
            }
        };
        Ok(Policies {
            max_key_lifetime_days: days(
                max_key_lifetime,
                &Self::LIFETIMES,
                "maximum key lifetime",
            )?,
            rotation_days: days(rotation, &Self::ROTATIONS, "rotation period")?,
            disable_unused_after_days: days(disable_unused_after, &Self::UNUSED, "period")?,
            require_two_factor,
        })
    }

    /// Refuses an expiry the maximum lifetime does not allow: none at all,
    /// or later than the maximum from `now` (a date's whole last day
    /// counts).
    pub fn check_expiry(&self, now: UnixTime, expires_at: Option<UnixTime>) -> Result<(), String> {
        let Some(max) = self.max_key_lifetime_days else { return Ok(()) };
        match expires_at {
            None => Err(format!(
                "This organisation's keys must expire within {max} days. Choose an expiry."
            )),
            Some(t) if t > now + (max + 1) * DAY => Err(format!(
                "This organisation's keys must expire within {max} days. Choose an earlier expiry."
            )),
            Some(_) => Ok(()),
        }
    }

    /// Whether a key outlives what the policy would allow it if its expiry
    /// were set `now` ("exceeds policy": keys made before the policy; they
    /// are listed, never changed). The same rule as [`Self::check_expiry`],
    /// so a key just edited within the policy never shows it.
    pub fn exceeded_by(&self, now: UnixTime, expires_at: Option<UnixTime>) -> bool {
        self.check_expiry(now, expires_at).is_err()
    }

    /// The rotation period in days, the operator's `default` when unset.
    pub fn rotation_days_or(&self, default: i64) -> i64 {
        self.rotation_days.unwrap_or(default)
    }

    /// When the policy disables a key last used (or made) at `idle_since`;
    /// `None` when it never does.
    pub fn disables_at(&self, idle_since: UnixTime) -> Option<UnixTime> {
        self.disable_unused_after_days.map(|days| idle_since + days * DAY)
    }

    /// Whether a key idle since `idle_since` should show the "disabled
    /// soon" hint at `now`.
    pub fn disables_soon(&self, idle_since: UnixTime, now: UnixTime) -> Option<UnixTime> {
        self.disables_at(idle_since).filter(|at| *at - now <= UNUSED_HINT_DAYS * DAY)
    }
}

/// A number of days as the page says it ("90 days", "Never").
pub fn days_label(days: Option<i64>, none: &str) -> String {
    days.map_or_else(|| none.to_string(), |d| format!("{d} days"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_790_000_000;

    #[test]
    fn policies_parse_the_offered_choices_only() {
        let p = Policies::parse("90", "", "60", true).unwrap();
        assert_eq!(p.max_key_lifetime_days, Some(90));
        assert_eq!(p.rotation_days, None);
        assert_eq!(p.disable_unused_after_days, Some(60));
        assert!(p.require_two_factor);
        assert!(Policies::parse("45", "", "", false).unwrap_err().contains("30, 90, 180, 365"));
        assert!(Policies::parse("", "7", "", false).is_err());
        assert!(Policies::parse("", "", "-30", false).is_err());
        assert_eq!(Policies::parse("", "", "", false).unwrap(), Policies::default());
    }

    #[test]
    fn the_maximum_lifetime_refuses_never_and_later_expiries() {
        let p = Policies { max_key_lifetime_days: Some(90), ..Policies::default() };
        assert!(p.check_expiry(NOW, None).unwrap_err().contains("within 90 days"));
        assert!(p.check_expiry(NOW, Some(NOW + 90 * DAY)).is_ok());
        // A date 90 days out ends at that day's last second.
        assert!(p.check_expiry(NOW, Some(NOW + 91 * DAY)).is_ok());
        assert!(p.check_expiry(NOW, Some(NOW + 91 * DAY + 1)).is_err());
        assert!(p.check_expiry(NOW, Some(NOW + 365 * DAY)).is_err());
        assert!(Policies::default().check_expiry(NOW, None).is_ok());
    }

    #[test]
    fn older_keys_exceed_a_new_maximum_but_are_not_refused() {
        let p = Policies { max_key_lifetime_days: Some(30), ..Policies::default() };
        assert!(p.exceeded_by(NOW, None));
        assert!(p.exceeded_by(NOW, Some(NOW + 365 * DAY)));
        assert!(!p.exceeded_by(NOW, Some(NOW + 30 * DAY)));
        assert!(!Policies::default().exceeded_by(NOW, None));
        // A key made long ago and just given an expiry within the policy
        // does not exceed it (the same rule as the edit's check).
        let edited = Some(NOW + 29 * DAY);
        assert!(p.check_expiry(NOW, edited).is_ok() && !p.exceeded_by(NOW, edited));
        // Nor, in time, one whose remaining life has come within it.
        assert!(!p.exceeded_by(NOW + 340 * DAY, Some(NOW + 365 * DAY)));
    }

    #[test]
    fn unused_keys_are_disabled_after_the_period_with_a_hint_a_week_before() {
        let p = Policies { disable_unused_after_days: Some(30), ..Policies::default() };
        assert_eq!(p.disables_at(NOW), Some(NOW + 30 * DAY));
        assert_eq!(p.disables_soon(NOW, NOW + 22 * DAY), None);
        assert_eq!(p.disables_soon(NOW, NOW + 23 * DAY), Some(NOW + 30 * DAY));
        assert_eq!(Policies::default().disables_at(NOW), None);
        assert_eq!(p.rotation_days_or(90), 90);
        let r = Policies { rotation_days: Some(30), ..Policies::default() };
        assert_eq!(r.rotation_days_or(90), 30);
    }
}
