//! Audit entries in words: the stored JSON of a change ("before"/"after"
//! per field, or the values a key was made with) as lines a person reads,
//! e.g. "Rate limit: 600 / minute → 60 / minute", "Permissions: + keys:read",
//! "Expires: Never → 22 Feb 2027". The stored JSON itself is kept as it is.

use super::format_date;
use serde_json::{Map, Value};

/// The order fields are told in (others follow, alphabetically).
const ORDER: [&str; 13] = [
    "name",
    "environment",
    "type",
    "permissions",
    "expires_at",
    "rate_limit",
    "allowed_ips",
    "customer",
    "meta",
    "usage_limit",
    "role",
    "start",
    "grace_until",
];

/// How a field is named to people.
fn label(field: &str) -> String {
    match field {
        "name" => "Name".into(),
        "type" => "Type".into(),
        "permissions" => "Permissions".into(),
        "rate_limit" => "Rate limit".into(),
        "expires_at" => "Expires".into(),
        "grace_until" => "Old secret works until".into(),
        "environment" => "Environment".into(),
        "role" => "Role".into(),
        "start" => "Prefix".into(),
        "allowed_ips" => "Allowed IPs".into(),
        "customer" => "Customer ID".into(),
        "meta" => "Metadata".into(),
        "usage_limit" => "Usage limit".into(),
        "max_key_lifetime" => "Maximum key lifetime".into(),
        "rotation_period" => "Rotation period".into(),
        "disable_unused_after" => "Disable unused keys after".into(),
        "require_two_factor" => "Require two-factor sign-in".into(),
        other => {
            let mut words = other.replace('_', " ");
            if let Some(first) = words.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            words
        }
    }
}

/// One value of `field` in words.
fn value(field: &str, v: &Value) -> String {
    match (field, v) {
        ("expires_at", Value::Null) => "Never".into(),
        ("grace_until", Value::Null) => "Stopped at once".into(),
        ("allowed_ips", Value::String(s)) if s.is_empty() => "Any address".into(),
        ("expires_at" | "grace_until", Value::Number(n)) => {
            n.as_i64().map_or_else(|| n.to_string(), format_date)
        }
        ("role" | "environment", Value::String(s)) => {
            let mut s = s.clone();
            if let Some(first) = s.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            s
        }
        (_, Value::String(s)) => s.clone(),
        (_, Value::Array(items)) if items.is_empty() => "none".into(),
        (_, Value::Array(items)) => {
            items.iter().map(|i| value(field, i)).collect::<Vec<_>>().join(", ")
        }
        (_, Value::Null) => "none".into(),
        (_, other) => other.to_string(),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// One field's change in words.
fn line(field: &str, change: &Value) -> String {
    let name = label(field);
    let Some(obj) =
        change.as_object().filter(|o| o.contains_key("before") || o.contains_key("after"))
    else {
        return format!("{name}: {}", value(field, change));
    };
    match (obj.get("before"), obj.get("after")) {
        (Some(before), Some(after)) if field == "permissions" => {
            let (before, after) = (strings(Some(before)), strings(Some(after)));
            let mut parts: Vec<String> =
                after.iter().filter(|p| !before.contains(p)).map(|p| format!("+ {p}")).collect();
            parts.extend(
                before.iter().filter(|p| !after.contains(p)).map(|p| format!("\u{2212} {p}")),
            );
            format!("{name}: {}", parts.join(", "))
        }
        (Some(before), Some(after)) => {
            format!("{name}: {} \u{2192} {}", value(field, before), value(field, after))
        }
        (None, Some(after)) => format!("{name}: {}", value(field, after)),
        (Some(before), None) => format!("{name}: was {}", value(field, before)),
        (None, None) => name,
    }
}

/// The lines of a stored change (`None`, or JSON that is not an object,
/// gives what there is: nothing, or the text itself).
pub fn describe(changes: Option<&str>) -> Vec<String> {
    let Some(text) = changes.filter(|t| !t.is_empty()) else {
        return Vec::new();
    };
    match serde_json::from_str::<Map<String, Value>>(text) {
        Ok(fields) => {
            let mut fields: Vec<(&String, &Value)> = fields.iter().collect();
            fields.sort_by_key(|(f, _)| ORDER.iter().position(|o| o == f).unwrap_or(ORDER.len()));
            fields.into_iter().map(|(f, c)| line(f, c)).collect()
        }
        Err(_) => vec![text.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn an_edit_reads_as_before_and_after() {
        let changes = r#"{"name":{"before":"Old","after":"New"},
            "type":{"before":"Read","after":"Custom"},
            "permissions":{"before":["data:read"],"after":["events:write","keys:read"]},
            "rate_limit":{"before":"600 / minute","after":"60 / minute"},
            "expires_at":{"before":null,"after":1803254400}}"#;
        assert_eq!(
            describe(Some(changes)),
            [
                "Name: Old \u{2192} New",
                "Type: Read \u{2192} Custom",
                "Permissions: + events:write, + keys:read, \u{2212} data:read",
                "Expires: Never \u{2192} 22 Feb 2027",
                "Rate limit: 600 / minute \u{2192} 60 / minute",
            ]
        );
    }

    #[test]
    fn customer_options_read_in_words() {
        let changes = r#"{"allowed_ips":{"before":"","after":"10.0.0.0/8, 203.0.113.7"},
            "customer":{"before":"cus_1","after":null},
            "meta":{"before":null,"after":"{\"plan\":\"pro\"}"},
            "usage_limit":{"before":"2, no refill","after":"5, refilled monthly"}}"#;
        assert_eq!(
            describe(Some(changes)),
            [
                "Allowed IPs: Any address \u{2192} 10.0.0.0/8, 203.0.113.7",
                "Customer ID: cus_1 \u{2192} none",
                "Metadata: none \u{2192} {\"plan\":\"pro\"}",
                "Usage limit: 2, no refill \u{2192} 5, refilled monthly",
            ]
        );
    }

    #[test]
    fn every_action_reads_in_words() {
        let created = r#"{"environment":"production","type":"Write","permissions":["events:write"],
            "expires_at":null,"rate_limit":"6000 / minute"}"#;
        assert_eq!(
            describe(Some(created)),
            [
                "Environment: Production",
                "Type: Write",
                "Permissions: events:write",
                "Expires: Never",
                "Rate limit: 6000 / minute",
            ]
        );
        assert_eq!(
            describe(Some(r#"{"grace_until":null}"#)),
            ["Old secret works until: Stopped at once"]
        );
        assert_eq!(
            describe(Some(r#"{"grace_until":1767229200}"#)),
            ["Old secret works until: 1 Jan 2026"]
        );
        assert_eq!(
            describe(Some(r#"{"start":"kw_live_5Gf0","environment":"production"}"#)),
            ["Environment: Production", "Prefix: kw_live_5Gf0"]
        );
        assert_eq!(describe(Some(r#"{"role":{"after":"member"}}"#)), ["Role: Member"]);
        assert_eq!(
            describe(Some(r#"{"role":{"before":"member","after":"admin"}}"#)),
            ["Role: Member \u{2192} Admin"]
        );
        assert_eq!(
            describe(Some(r#"{"name":{"before":"Acme","after":"Acme Inc."}}"#)),
            ["Name: Acme \u{2192} Acme Inc."]
        );
        assert!(describe(None).is_empty());
        assert_eq!(describe(Some("not json")), ["not json"]);
    }
}
