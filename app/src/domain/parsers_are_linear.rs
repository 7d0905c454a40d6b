//! No parser of what people send does more than linear work: for hostile
//! input of every shape, parsing 64 times as much takes at most a few times
//! 64 times as long (plus 10 ms for a busy machine's noise). Most refuse
//! long input by its length before anything else, so their time stays flat.

use super::*;
use proptest::prelude::*;
use std::time::{Duration, Instant};

/// A parser run for its time alone.
type Parse = fn(&str);

/// Every parser of user input in the domain, by name.
fn parsers() -> Vec<(&'static str, Parse)> {
    vec![
        ("IpAllowlist", |s| drop(IpAllowlist::parse(s))),
        ("KeyMeta", |s| drop(KeyMeta::parse(s))),
        ("CustomerId", |s| drop(CustomerId::parse(s))),
        ("UsageLimit", |s| drop(UsageLimit::parse(s, "daily"))),
        ("Refill", |s| drop(Refill::parse(s))),
        ("Email", |s| drop(Email::parse(s))),
        ("Password", |s| drop(Password::parse(s))),
        ("Slug", |s| drop(Slug::parse(s))),
        ("OrgName", |s| drop(OrgName::parse(s))),
        ("KeyName", |s| drop(KeyName::parse(s))),
        ("Expiry", |s| drop(Expiry::parse(s, s))),
        ("RateLimit", |s| drop(RateLimit::parse(s, "60"))),
        ("Role", |s| drop(s.parse::<Role>())),
        ("ReturnUrl", |s| drop(ReturnUrl::parse(&format!("https://{s}")))),
        ("next", |s| drop(safe_next(Some(s)))),
    ]
}

/// The fastest of five runs of `parse` on `input`.
fn time(parse: Parse, input: &str) -> Duration {
    (0..5)
        .map(|_| {
            let started = Instant::now();
            parse(input);
            started.elapsed()
        })
        .min()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn no_parser_grows_faster_than_its_input(
        unit in "[0-9a-f.:/, \\n{}\\[\\]\"@é-]{1,48}",
    ) {
        let small = unit.repeat(4096 / unit.len() + 1);
        let large = unit.repeat(64 * (4096 / unit.len() + 1));
        for (name, parse) in parsers() {
            let (t_small, t_large) = (time(parse, &small), time(parse, &large));
            prop_assert!(
                t_large <= t_small * 64 * 4 + Duration::from_millis(10),
                "{name}: {t_small:?} for {} bytes, {t_large:?} for {}",
                small.len(),
                large.len()
            );
        }
    }
}
