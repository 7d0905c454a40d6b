//! The one place API keys change: create, edit, regenerate, disable or
//! enable, revoke, delete. The page's server functions and the REST API
//! parse their input, call these, and shape the answer; the checks that
//! belong to the domain (the member's role, or the calling key's
//! environment and permissions), the audit entry and commit-and-notify all
//! happen here, in one transaction per change.

use super::commit_change;
use super::rules::{edit_changes, grace_until, not_revoked, resets_usage};
use super::store::{self, Editable, KeyRow, NewKey};
use crate::backend::audit::{self, AuditEntry};
use crate::backend::orgs::Membership;
use crate::backend::policies;
use crate::backend::session::SessionUser;
use crate::backend::{AppState, db};
use crate::domain::{
    ApiToken, Capability, Catalog, CustomerId, Environment, IpAllowlist, KeyMeta, KeyName,
    KeyOptions, RateLimit, UnixTime, UsageLimit,
};
use crate::error::AppError;
use sqlx::AnyConnection;

/// Who changes a key and from which address (for the audit entry).
#[derive(Clone, Copy, Debug)]
pub struct By<'a> {
    pub actor: Actor<'a>,
    pub ip: Option<&'a str>,
}

impl crate::backend::request::Caller {
    /// The member on the page as the keys service's actor.
    pub fn by(&self) -> By<'_> {
        let actor = Actor::Member { user: &self.user, membership: &self.membership };
        By { actor, ip: self.ip.as_deref() }
    }
}

/// Who changes a key.
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    /// A member on the API Keys page: their role decides.
    Member { user: &'a SessionUser, membership: &'a Membership },
    /// One of the org's keys over the REST API (its scope already checked):
    /// it reaches only keys of its environment and never grants, or
    /// manages a key with, a permission it lacks.
    ApiKey {
        id: &'a str,
        name: &'a str,
        org_id: &'a str,
        environment: Environment,
        permissions: &'a [String],
    },
}

impl Actor<'_> {
    /// The org whose keys the actor reaches.
    pub fn org_id(&self) -> &str {
        match self {
            Actor::Member { membership, .. } => &membership.org_id,
            Actor::ApiKey { org_id, .. } => org_id,
        }
    }

    /// Whether the actor may change keys at all (`capability`: manage or
    /// delete).
    fn may(&self, capability: Capability) -> Result<(), AppError> {
        match (self, capability) {
            (Actor::Member { membership, .. }, c) => membership.allow(c),
            (Actor::ApiKey { .. }, Capability::DeleteKey) => Err(AppError::NotAllowed(
                "Keys are deleted by an owner on the API Keys page.".into(),
            )),
            (Actor::ApiKey { .. }, _) => Ok(()),
        }
    }

    /// Whether the actor may grant, or manage a key holding, `permissions`.
    fn may_handle(&self, permissions: &[String]) -> Result<(), AppError> {
        match self {
            Actor::Member { membership, .. } if Catalog::is_admin_grade(permissions) => {
                membership.allow(Capability::CreateAdminKey)
            }
            Actor::Member { .. } => Ok(()),
            Actor::ApiKey { permissions: own, .. } => {
                if permissions.iter().all(|p| own.contains(p)) {
                    Ok(())
                } else {
                    Err(AppError::NotAllowed(
                        "An API key can only grant, or manage keys with, permissions it holds itself."
                            .into(),
                    ))
                }
            }
        }
    }

    /// Whether the actor may make a key of `environment`.
    fn may_use(&self, environment: Environment) -> Result<(), AppError> {
        match self {
            Actor::ApiKey { environment: own, .. } if *own != environment => {
                Err(AppError::NotAllowed(format!("A {0} key creates {0} keys only.", own.as_str())))
            }
            _ => Ok(()),
        }
    }

    /// How the audit log names the actor: (id, label).
    fn audit(&self) -> (&str, String) {
        match self {
            Actor::Member { user, .. } => (&user.id, user.email.clone()),
            Actor::ApiKey { id, name, .. } => (id, format!("API key \u{201c}{name}\u{201d}")),
        }
    }

    fn created_by(&self) -> Option<&str> {
        match self {
            Actor::Member { user, .. } => Some(&user.id),
            Actor::ApiKey { .. } => None,
        }
    }
}

/// A new key, parsed and resolved by the caller's layer.
#[derive(Debug)]
pub struct NewKeySpec {
    pub name: KeyName,
    pub environment: Environment,
    pub key_type: String,
    pub permissions: Vec<String>,
    pub rate_limit: RateLimit,
    pub expires_at: Option<UnixTime>,
    pub options: KeyOptions,
}

/// An edit; `None` keeps a field as it is.
#[derive(Debug, Default)]
pub struct KeyEdit {
    pub name: Option<KeyName>,
    /// The key type and its resolved permissions.
    pub grants: Option<(String, Vec<String>)>,
    pub rate_limit: Option<RateLimit>,
    /// `Some(None)`: never expires.
    pub expires_at: Option<Option<UnixTime>>,
    pub ip_allowlist: Option<IpAllowlist>,
    /// `Some(None)` clears it; likewise below.
    pub customer: Option<Option<CustomerId>>,
    pub meta: Option<Option<KeyMeta>>,
    /// A changed limit starts the balance over.
    pub usage_limit: Option<Option<UsageLimit>>,
}

impl KeyEdit {
    /// The options after this edit of `before`'s.
    fn options(&mut self, before: KeyOptions) -> KeyOptions {
        KeyOptions {
            ip_allowlist: self.ip_allowlist.take().unwrap_or(before.ip_allowlist),
            customer: self.customer.take().unwrap_or(before.customer),
            meta: self.meta.take().unwrap_or(before.meta),
            usage_limit: self.usage_limit.take().unwrap_or(before.usage_limit),
        }
    }
}

/// The org's key `id` as the actor may see it: another org's key, or for
/// an API key one of another environment, does not exist. The one rule of
/// reach, for reading and for changing.
pub async fn reachable(
    conn: &mut AnyConnection,
    actor: &Actor<'_>,
    id: &str,
) -> Result<KeyRow, AppError> {
    store::find(conn, actor.org_id(), id)
        .await?
        .filter(|row| match actor {
            Actor::ApiKey { environment, .. } => row.environment == environment.as_str(),
            Actor::Member { .. } => true,
        })
        .ok_or(AppError::NotFound)
}

async fn record(
    conn: &mut AnyConnection,
    actor: &Actor<'_>,
    ip: Option<&str>,
    action: &'static str,
    key: (&str, &str),
    changes: Option<serde_json::Value>,
) -> Result<(), AppError> {
    let (actor_id, label) = actor.audit();
    audit::record(
        conn,
        AuditEntry {
            org_id: actor.org_id(),
            actor_id: Some(actor_id),
            actor_email: Some(&label),
            action,
            target_type: "key",
            target_id: Some(key.0),
            target_label: Some(key.1),
            changes,
            client_ip: ip,
        },
    )
    .await?;
    Ok(())
}

/// Starts a change to key `id`: the actor may manage keys and this one (of
/// its reach, not revoked, no permission beyond its own); returns the
/// transaction and the key as it was.
async fn open_change(
    state: &AppState,
    actor: &Actor<'_>,
    id: &str,
) -> Result<(sqlx::Transaction<'static, sqlx::Any>, KeyRow), AppError> {
    actor.may(Capability::ManageKeys)?;
    let mut tx = db::begin(&state.db).await?;
    let row = reachable(&mut tx, actor, id).await?;
    not_revoked(&row)?;
    actor.may_handle(&row.permission_list())?;
    Ok((tx, row))
}

/// Reads the changed key back, commits and tells every instance.
async fn finish(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    state: &AppState,
    actor: &Actor<'_>,
    id: &str,
) -> Result<KeyRow, AppError> {
    let row = reachable(&mut tx, actor, id).await?;
    commit_change(tx, state, id).await?;
    Ok(row)
}

/// Creates a key; returns it and its secret (to be shown once).
pub async fn create(
    state: &AppState,
    by: By<'_>,
    spec: NewKeySpec,
) -> Result<(KeyRow, ApiToken), AppError> {
    let By { actor, ip } = by;
    actor.may(Capability::ManageKeys)?;
    actor.may_use(spec.environment)?;
    actor.may_handle(&spec.permissions)?;
    let token = ApiToken::generate(&state.settings.key_prefix, spec.environment);
    let mut tx = db::begin(&state.db).await?;
    let policies = policies::of_org(&mut tx, actor.org_id()).await?;
    policies.check_expiry(db::now(), spec.expires_at).map_err(AppError::Invalid)?;
    let new = NewKey {
        org_id: actor.org_id(),
        name: spec.name.as_str(),
        environment: spec.environment,
        key_type: &spec.key_type,
        permissions: &spec.permissions,
        token: &token,
        expires_at: spec.expires_at,
        rate_limit: spec.rate_limit,
        options: &spec.options,
        created_by: actor.created_by(),
    };
    let id = store::insert(&mut tx, new).await?;
    let mut changes = serde_json::json!({
        "environment": spec.environment.as_str(), "type": spec.key_type,
        "permissions": spec.permissions, "expires_at": spec.expires_at,
        "rate_limit": spec.rate_limit.label(),
    });
    let options = &spec.options;
    let extra = [
        (
            "allowed_ips",
            (!options.ip_allowlist.is_empty()).then(|| options.ip_allowlist.entries().join(", ")),
        ),
        ("customer", options.customer.as_ref().map(|c| c.as_str().to_string())),
        ("meta", options.meta.as_ref().map(|m| m.as_str().to_string())),
        ("usage_limit", options.usage_limit.map(|u| u.label())),
    ];
    for (field, value) in extra {
        if let Some(value) = value {
            changes[field] = value.into();
        }
    }
    let name = spec.name.as_str();
    record(&mut tx, &actor, ip, "key.created", (&id, name), Some(changes)).await?;
    let row = finish(tx, state, &actor, &id).await?;
    Ok((row, token))
}

/// Edits a key's name, type and permissions, rate limit or expiry.
pub async fn update(
    state: &AppState,
    by: By<'_>,
    id: &str,
    mut edit: KeyEdit,
) -> Result<KeyRow, AppError> {
    let By { actor, ip } = by;
    let (mut tx, before) = open_change(state, &actor, id).await?;
    if let Some(expires_at) = edit.expires_at {
        // A key kept as it was is never refused; a new expiry must comply.
        let policies = policies::of_org(&mut tx, actor.org_id()).await?;
        policies.check_expiry(db::now(), expires_at).map_err(AppError::Invalid)?;
    }
    let options = edit.options(before.options());
    let name = edit.name.map_or_else(|| before.name.clone(), |n| n.as_str().to_string());
    let (key_type, permissions) =
        edit.grants.unwrap_or_else(|| (before.key_type.clone(), before.permission_list()));
    actor.may_handle(&permissions)?;
    let after = Editable {
        name: &name,
        key_type: &key_type,
        permissions: &permissions,
        rate_limit: edit.rate_limit.unwrap_or(before.rate()),
        expires_at: edit.expires_at.unwrap_or(before.expires_at),
        options: &options,
    };
    store::update(&mut tx, id, &after, resets_usage(&before, &options)).await?;
    let changes = edit_changes(&before, &after);
    if changes.is_some() {
        record(&mut tx, &actor, ip, "key.updated", (id, &name), changes).await?;
    }
    finish(tx, state, &actor, id).await
}

/// Issues a new secret for the same key; the old one stops now or after
/// `grace_secs` (never after the key's own expiry).
pub async fn regenerate(
    state: &AppState,
    by: By<'_>,
    id: &str,
    grace_secs: i64,
) -> Result<(KeyRow, ApiToken), AppError> {
    let By { actor, ip } = by;
    let (mut tx, row) = open_change(state, &actor, id).await?;
    let grace_until = grace_until(db::now(), grace_secs, row.expires_at)?;
    let environment: Environment = row
        .environment
        .parse()
        .map_err(|_| AppError::internal(format_args!("bad environment {:?}", row.environment)))?;
    let token = ApiToken::generate(&state.settings.key_prefix, environment);
    store::rotate(&mut tx, id, &token, grace_until).await?;
    let changes = serde_json::json!({ "grace_until": grace_until });
    record(&mut tx, &actor, ip, "key.regenerated", (id, &row.name), Some(changes)).await?;
    let row = finish(tx, state, &actor, id).await?;
    Ok((row, token))
}

/// Disables (`enabled = false`) or enables a key.
pub async fn set_enabled(
    state: &AppState,
    by: By<'_>,
    id: &str,
    enabled: bool,
) -> Result<KeyRow, AppError> {
    let By { actor, ip } = by;
    let (mut tx, row) = open_change(state, &actor, id).await?;
    if (row.disabled == 0) != enabled {
        store::set_disabled(&mut tx, id, !enabled).await?;
        let action = if enabled { "key.enabled" } else { "key.disabled" };
        record(&mut tx, &actor, ip, action, (id, &row.name), None).await?;
    }
    finish(tx, state, &actor, id).await
}

/// Revokes a key for good; it stays listed as Revoked.
pub async fn revoke(state: &AppState, by: By<'_>, id: &str) -> Result<KeyRow, AppError> {
    let By { actor, ip } = by;
    let (mut tx, row) = open_change(state, &actor, id).await?;
    store::revoke(&mut tx, id).await?;
    record(&mut tx, &actor, ip, "key.revoked", (id, &row.name), None).await?;
    finish(tx, state, &actor, id).await
}

/// Erases a key (owners only); the audit log keeps its history.
pub async fn delete(state: &AppState, by: By<'_>, id: &str) -> Result<(), AppError> {
    let By { actor, ip } = by;
    actor.may(Capability::DeleteKey)?;
    let mut tx = db::begin(&state.db).await?;
    let row = reachable(&mut tx, &actor, id).await?;
    store::delete(&mut tx, id).await?;
    let changes = serde_json::json!({ "start": row.start, "environment": row.environment });
    record(&mut tx, &actor, ip, "key.deleted", (id, &row.name), Some(changes)).await?;
    commit_change(tx, state, id).await
}
