//! The operator's catalog: which permissions exist and which key types
//! (named presets of permissions) people pick from. docs/design.md#concepts

use super::keys::RateLimit;
use serde::{Deserialize, Serialize};

/// The name of the type whose permissions are picked one by one.
pub const CUSTOM_TYPE: &str = "Custom";

/// A preset of permissions with a default rate limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyType {
    pub name: String,
    pub permissions: Vec<String>,
    pub rate_limit: RateLimit,
    /// Warn that keys of this type must never sit in client-side code.
    #[serde(default)]
    pub server_side_only: bool,
}

/// Permissions and key types, as configured by the operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub permissions: Vec<String>,
    pub key_types: Vec<KeyType>,
}

impl Default for Catalog {
    fn default() -> Self {
        let per_minute = |limit| RateLimit { limit, window_secs: 60 };
        let names = |ps: &[&str]| ps.iter().map(|p| p.to_string()).collect();
        Catalog {
            permissions: names(&["data:read", "events:write", "keys:read", "keys:write"]),
            key_types: vec![
                KeyType {
                    name: "Read".into(),
                    permissions: names(&["data:read"]),
                    rate_limit: per_minute(600),
                    server_side_only: false,
                },
                KeyType {
                    name: "Write".into(),
                    permissions: names(&["events:write"]),
                    rate_limit: per_minute(6000),
                    server_side_only: false,
                },
                KeyType {
                    name: "Admin".into(),
                    permissions: names(&["data:read", "events:write", "keys:read", "keys:write"]),
                    rate_limit: per_minute(120),
                    server_side_only: true,
                },
            ],
        }
    }
}

impl Catalog {
    /// The preset called `name`.
    pub fn key_type(&self, name: &str) -> Option<&KeyType> {
        self.key_types.iter().find(|t| t.name == name)
    }

    /// The rate limit a new key of type `type_name` gets unless one is
    /// asked for: its preset's, or 600 a minute for a custom key.
    pub fn default_rate_limit(&self, type_name: &str) -> RateLimit {
        self.key_type(type_name).map_or(RateLimit { limit: 600, window_secs: 60 }, |t| t.rate_limit)
    }

    /// The permissions of a key of type `type_name`; for [`CUSTOM_TYPE`], the
    /// `custom` selection, which must be a non-empty subset of the catalog.
    pub fn resolve(&self, type_name: &str, custom: &[String]) -> Result<Vec<String>, String> {
        if type_name == CUSTOM_TYPE {
            if custom.is_empty() {
                return Err("Choose at least one permission for a custom key.".into());
            }
            if let Some(unknown) = custom.iter().find(|p| !self.permissions.contains(p)) {
                return Err(format!("Unknown permission \u{201c}{unknown}\u{201d}."));
            }
            // Catalog order, no duplicates.
            return Ok(self.permissions.iter().filter(|p| custom.contains(p)).cloned().collect());
        }
        self.key_type(type_name)
            .map(|t| t.permissions.clone())
            .ok_or_else(|| format!("Unknown key type \u{201c}{type_name}\u{201d}."))
    }

    /// Whether a key with these permissions needs the Admin-key rights to
    /// create (it can manage keys).
    pub fn is_admin_grade(permissions: &[String]) -> bool {
        permissions.iter().any(|p| p == "keys:write" || p == "keys:read")
    }

    /// Checks an operator's catalog: presets use only known permissions.
    pub fn validate(&self) -> Result<(), String> {
        for t in &self.key_types {
            if t.name == CUSTOM_TYPE {
                return Err(format!("a key type cannot be called {CUSTOM_TYPE}"));
            }
            if let Some(p) = t.permissions.iter().find(|p| !self.permissions.contains(p)) {
                return Err(format!("key type {} uses unknown permission {p}", t.name));
            }
            // The same rule as the form's, so a default limit cannot be one
            // no person could enter (a zero window would divide by zero).
            let RateLimit { limit, window_secs } = t.rate_limit;
            RateLimit::parse(&limit.to_string(), &window_secs.to_string())
                .map_err(|e| format!("key type {}: {e}", t.name))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_presets_match_the_design() {
        let c = Catalog::default();
        assert_eq!(c.resolve("Read", &[]).unwrap(), ["data:read"]);
        assert_eq!(c.resolve("Write", &[]).unwrap(), ["events:write"]);
        assert_eq!(
            c.resolve("Admin", &[]).unwrap(),
            ["data:read", "events:write", "keys:read", "keys:write"]
        );
        assert!(c.key_type("Admin").unwrap().server_side_only);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn key_type_rate_limits_follow_the_forms_rules() {
        for (limit, window_secs) in [(0, 60), (10, 0), (10, 7), (2_000_000, 60)] {
            let mut c = Catalog::default();
            c.key_types[0].rate_limit = RateLimit { limit, window_secs };
            assert!(c.validate().is_err(), "{limit}/{window_secs}");
        }
    }

    #[test]
    fn custom_keys_take_a_known_non_empty_subset_in_catalog_order() {
        let c = Catalog::default();
        let pick = |ps: &[&str]| ps.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        assert_eq!(
            c.resolve(CUSTOM_TYPE, &pick(&["events:write", "data:read", "data:read"])).unwrap(),
            ["data:read", "events:write"]
        );
        assert!(c.resolve(CUSTOM_TYPE, &[]).is_err());
        assert!(c.resolve(CUSTOM_TYPE, &pick(&["root:all"])).unwrap_err().contains("root:all"));
        assert!(c.resolve("Superuser", &[]).is_err());
    }

    #[test]
    fn keys_that_manage_keys_are_admin_grade() {
        assert!(Catalog::is_admin_grade(&["keys:read".into()]));
        assert!(!Catalog::is_admin_grade(&["data:read".into(), "events:write".into()]));
    }
}
