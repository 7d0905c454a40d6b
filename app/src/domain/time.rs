//! Times as the pages and the command line show them (UTC), the same on
//! the server and in the browser.

use super::UnixTime;
use super::calendar::civil_from_days;

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A Unix time as a UTC date, e.g. `22 Nov 2026`. Formatted identically on
/// the server and in the browser, so hydration sees the same text.
pub fn format_date(t: UnixTime) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    format!("{d} {} {y}", MONTHS[(m - 1) as usize])
}

/// A date for a table cell: `22 Nov` in the year of `now`, else
/// `22 Nov 2027`.
pub fn format_day(t: UnixTime, now: UnixTime) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let (this_year, _, _) = civil_from_days(now.div_euclid(86_400));
    let month = MONTHS[(m - 1) as usize];
    if y == this_year { format!("{d} {month}") } else { format!("{d} {month} {y}") }
}

/// A Unix time as an exact UTC timestamp, e.g. `2026-11-22 21:55 UTC`.
pub fn format_datetime(t: UnixTime) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let secs = t.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", secs / 3600, secs % 3600 / 60)
}

/// A Unix time to the second, without the zone, e.g. `2026-11-22 21:55:07`
/// (for tables headed "UTC").
pub fn format_timestamp(t: UnixTime) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let secs = t.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// `t` relative to `now`: "just now", "5 minutes ago", "in 3 days".
pub fn relative(t: UnixTime, now: UnixTime) -> String {
    let delta = now - t;
    let (amount, future) = (delta.abs(), delta < 0);
    if amount < 60 {
        return if future { "in under a minute".into() } else { "just now".into() };
    }
    let (n, unit) = match amount {
        a if a < 3600 => (a / 60, "minute"),
        a if a < 86_400 => (a / 3600, "hour"),
        a if a < 60 * 86_400 => (a / 86_400, "day"),
        a if a < 730 * 86_400 => (a / (30 * 86_400), "month"),
        a => (a / (365 * 86_400), "year"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if future { format!("in {n} {unit}{plural}") } else { format!("{n} {unit}{plural} ago") }
}

#[cfg(test)]
mod tests {
    use super::format_date;

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(format_date(0), "1 Jan 1970");
        assert_eq!(format_date(951_782_400), "29 Feb 2000");
        assert_eq!(format_date(1_795_392_000 - 1), "22 Nov 2026");
        assert_eq!(format_date(-86_400), "31 Dec 1969");
    }

    #[test]
    fn exact_and_relative_times() {
        use super::{format_datetime, relative};
        assert_eq!(format_datetime(1_795_392_000 - 60), "2026-11-22 23:59 UTC");
        let now = 1_000_000;
        assert_eq!(relative(now - 5, now), "just now");
        assert_eq!(relative(now - 60, now), "1 minute ago");
        assert_eq!(relative(now - 7200, now), "2 hours ago");
        assert_eq!(relative(now + 3 * 86_400, now), "in 3 days");
        assert_eq!(relative(now - 400 * 86_400, now), "13 months ago");
        assert_eq!(relative(now - 800 * 86_400, now), "2 years ago");
    }
}
