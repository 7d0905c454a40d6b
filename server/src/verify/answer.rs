//! The verify API's answer (§5.1) written straight into bytes. What a
//! known key's answers always say (id, org, name, type, permissions,
//! environment, expiry, customer, metadata) is serialised once per cached
//! key; each answer adds only its code, rate limit and usage. The
//! documented shape stays [`super::handler::VerifyResponse`]; a test holds
//! both to the same bytes.

use super::cache::{CachedKey, FixedAnswer as Fixed};
use super::{Decision, RateLimitInfo, UsageInfo};
use serde::Serialize;

#[derive(Serialize)]
struct Head<'a> {
    key_id: &'a str,
    org: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    key_type: &'a str,
    permissions: &'a [String],
    environment: &'static str,
    expires_at: Option<i64>,
}

#[derive(Serialize)]
struct Tail<'a> {
    customer: Option<&'a str>,
    meta: Option<&'a serde_json::value::RawValue>,
}

/// `value`'s JSON object without its braces.
fn members(value: &impl Serialize) -> Box<str> {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "{}".into());
    json[1..json.len() - 1].into()
}

/// The fixed part of `key`'s answers, serialised on first use.
pub fn fixed(key: &CachedKey) -> &Fixed {
    key.fixed_answer.get_or_init(|| of(key))
}

fn of(key: &CachedKey) -> Fixed {
    Fixed {
        head: members(&Head {
            key_id: &key.id,
            org: &key.org,
            name: &key.name,
            key_type: &key.key_type,
            permissions: &key.permissions,
            environment: key.environment.as_str(),
            expires_at: key.expires_at,
        }),
        tail: members(&Tail { customer: key.customer.as_deref(), meta: key.meta.as_deref() }),
    }
}

/// The answer describing `d`, as `POST /v1/keys/verify` sends it.
pub fn to_json(d: &Decision) -> Vec<u8> {
    let fixed = d.key.as_deref().map(self::fixed);
    let size = fixed.map_or(0, |f| f.head.len() + f.tail.len()) + 160;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(if d.code == super::Code::Valid {
        b"{\"valid\":true,\"code\":\""
    } else {
        b"{\"valid\":false,\"code\":\""
    });
    out.extend_from_slice(d.code.as_str().as_bytes());
    out.push(b'"');
    if let Some(fixed) = fixed {
        out.push(b',');
        out.extend_from_slice(fixed.head.as_bytes());
        if let Some(rl) = d.ratelimit {
            ratelimit(&mut out, rl);
        }
        out.push(b',');
        out.extend_from_slice(fixed.tail.as_bytes());
        if let Some(usage) = d.usage {
            self::usage(&mut out, usage);
        }
    }
    out.push(b'}');
    out
}

fn number(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn ratelimit(out: &mut Vec<u8>, rl: RateLimitInfo) {
    out.extend_from_slice(b",\"ratelimit\":{\"limit\":");
    number(out, rl.limit);
    out.extend_from_slice(b",\"remaining\":");
    number(out, rl.remaining);
    out.extend_from_slice(b",\"reset_ms\":");
    number(out, rl.reset_ms);
    out.push(b'}');
}

fn usage(out: &mut Vec<u8>, usage: UsageInfo) {
    out.extend_from_slice(b",\"usage\":{\"remaining\":");
    number(out, usage.remaining);
    out.extend_from_slice(b",\"refill\":\"");
    out.extend_from_slice(usage.refill.as_str().as_bytes());
    out.extend_from_slice(b"\",\"refills_at\":");
    match usage.refills_at {
        Some(at) => number(out, at),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::super::cache::tests::key_named;
    use super::super::handler::VerifyResponse;
    use super::super::{Code, Decision, RateLimitInfo, UsageInfo};
    use super::*;
    use app::domain::Refill;
    use std::sync::Arc;

    fn same_as_documented(d: &Decision) {
        let ours = String::from_utf8(to_json(d)).unwrap();
        let documented = serde_json::to_string(&VerifyResponse::of(d)).unwrap();
        assert_eq!(ours, documented);
    }

    #[test]
    fn every_answer_matches_the_documented_shape_byte_for_byte() {
        let plain = Arc::new(key_named("k1"));
        let mut odd = key_named("k2");
        odd.name = "Quote \" backslash \\ tab \t ünïcode \u{1}".into();
        odd.org = "acme".into();
        odd.permissions = vec!["events:write".into(), "a\"b".into()];
        odd.expires_at = Some(1_900_000_000);
        odd.customer = Some("cus_\"42\"".into());
        odd.meta =
            serde_json::value::RawValue::from_string(r#"{"plan": "pro", "n": [1, 2]}"#.into()).ok();
        let odd = Arc::new(odd);
        let rl = Some(RateLimitInfo { limit: 600, remaining: 0, reset_ms: 59_999 });
        let usages = [
            None,
            Some(UsageInfo {
                remaining: 41,
                refill: Refill::Monthly,
                refills_at: Some(1_800_000_000_000),
            }),
            Some(UsageInfo { remaining: 0, refill: Refill::None, refills_at: None }),
            Some(UsageInfo { remaining: -1, refill: Refill::Daily, refills_at: Some(0) }),
        ];
        for code in Code::ALL {
            same_as_documented(&Decision { code, key: None, ratelimit: None, usage: None });
            for key in [&plain, &odd] {
                for ratelimit in [None, rl] {
                    for usage in usages {
                        same_as_documented(&Decision {
                            code,
                            key: Some(key.clone()),
                            ratelimit,
                            usage,
                        });
                    }
                }
            }
        }
    }
}
