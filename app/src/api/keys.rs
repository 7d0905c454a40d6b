//! API keys: list, create, edit, regenerate, disable/enable, revoke, delete,
//! detail and the org's audit log. Every function checks the caller's org and
//! role on the server.

use super::key_types::{
    AuditPage, Grace, KeyDetail, KeyFormOptions, KeyInput, KeyPage, KeyQuery, RevealedKey,
};
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::api::key_types::{AuditView, KeyTypeOption, KeyView};
    pub use crate::backend::keys::{self, KeyRow, commit_change, not_revoked};
    pub use crate::backend::orgs::Membership;
    pub use crate::backend::session::SessionUser;
    pub use crate::backend::{AppState, audit, db, request};
    pub use crate::domain::{
        ApiToken, CUSTOM_TYPE, Capability, Catalog, Expiry, KeyName, RateLimit,
    };
    pub use http::header::{CACHE_CONTROL, HeaderValue};
    pub use leptos_axum::ResponseOptions;
    pub use sqlx::AnyConnection;

    pub const AUDIT_COLUMNS: &str = "at_ms, actor_email AS actor, action, target_type, target_id, target_label, changes, client_ip";

    /// The caller, their membership, and a refusal unless `allowed(role)`.
    pub async fn caller(
        slug: &str,
        capability: Capability,
    ) -> Result<(AppState, SessionUser, Membership), crate::AppError> {
        let state = request::app_state()?;
        let (user, m) = request::member_of(&state, slug).await?;
        m.allow(capability)?;
        Ok((state, user, m))
    }

    /// Type, permissions and rate limit from the form, checked against the
    /// catalog and the caller's right to create Admin-grade keys.
    pub fn resolve_grants(
        state: &AppState,
        m: &Membership,
        input: &super::KeyInput,
    ) -> Result<(String, Vec<String>, RateLimit), crate::AppError> {
        let catalog = &state.settings.catalog;
        let permissions = catalog
            .resolve(&input.key_type, &input.permissions)
            .map_err(crate::AppError::Invalid)?;
        if Catalog::is_admin_grade(&permissions) {
            m.allow(Capability::CreateAdminKey)?;
        }
        let default_limit = catalog
            .key_type(&input.key_type)
            .map(|t| t.rate_limit)
            .unwrap_or(RateLimit {
                limit: 600,
                window_secs: 60,
            });
        let rate_limit = if input.rate_limit.trim().is_empty() {
            default_limit
        } else {
            RateLimit::parse(&input.rate_limit, &input.rate_window_secs)
                .map_err(crate::AppError::Invalid)?
        };
        let key_type = if input.key_type == CUSTOM_TYPE {
            CUSTOM_TYPE.to_string()
        } else {
            input.key_type.clone()
        };
        Ok((key_type, permissions, rate_limit))
    }

    pub fn view(state: &AppState, row: &KeyRow) -> Result<KeyView, crate::AppError> {
        row.view(db::now(), state.settings.rotation_days)
    }

    /// The secret travels in this response only: keep it out of caches.
    pub fn no_store() {
        if let Some(res) = leptos::prelude::use_context::<ResponseOptions>() {
            res.insert_header(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }

    /// Loads the org's key `id` for a change, inside `tx`.
    pub async fn key_for_change(
        tx: &mut AnyConnection,
        m: &Membership,
        id: &str,
    ) -> Result<KeyRow, crate::AppError> {
        keys::find(tx, &m.org_id, id)
            .await?
            .ok_or(crate::AppError::NotFound)
    }

    pub async fn audit(
        tx: &mut AnyConnection,
        state: &AppState,
        m: &Membership,
        user: &SessionUser,
        action: &'static str,
        key: (&str, &str),
        changes: Option<serde_json::Value>,
    ) -> Result<(), crate::AppError> {
        audit::record_change(
            tx,
            state,
            &m.org_id,
            user,
            action,
            ("key", key.0, key.1),
            changes,
        )
        .await
    }

    /// Commits `tx` and answers with the key and its new secret, kept out of
    /// caches: the one response that ever carries it.
    pub async fn reveal(
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        state: &AppState,
        m: &Membership,
        id: &str,
        token: &ApiToken,
    ) -> Result<super::RevealedKey, crate::AppError> {
        let row = key_for_change(&mut tx, m, id).await?;
        commit_change(tx, state, id).await?;
        no_store();
        Ok(super::RevealedKey {
            key: view(state, &row)?,
            token: token.expose().to_string(),
        })
    }

    pub fn type_options(catalog: &Catalog, may_admin: bool) -> Vec<KeyTypeOption> {
        catalog
            .key_types
            .iter()
            .filter(|t| may_admin || !Catalog::is_admin_grade(&t.permissions))
            .map(|t| KeyTypeOption {
                name: t.name.clone(),
                permissions: t.permissions.clone(),
                rate_limit: t.rate_limit,
                server_side_only: t.server_side_only,
            })
            .collect()
    }
}

/// One page of the org's keys.
#[server(endpoint = "keys/list", input = Json)]
pub async fn list_keys(slug: String, query: KeyQuery) -> Result<KeyPage, AppError> {
    use ssr::*;
    let result = async {
        let (state, _user, m) = caller(&slug, Capability::ViewKeys).await?;
        let (rows, total) = keys::list(&state.db, &m.org_id, &query, db::now()).await?;
        let keys = rows
            .iter()
            .map(|r| view(&state, r))
            .collect::<Result<Vec<_>, _>>()?;
        let org_has_keys = total > 0 || keys::org_has_keys(&state.db, &m.org_id).await?;
        Ok(KeyPage {
            keys,
            total,
            page: query.page.max(1),
            per_page: keys::PER_PAGE,
            org_has_keys,
            can_manage: m.can(Capability::ManageKeys),
            can_delete: m.can(Capability::DeleteKey),
            can_view_detail: m.can(Capability::ViewKeyDetail),
            now: db::now(),
        })
    }
    .await;
    request::respond(result)
}

/// Key types and permissions the caller may give a key.
#[server(endpoint = "keys/options", input = Json)]
pub async fn get_key_options(slug: String) -> Result<KeyFormOptions, AppError> {
    use ssr::*;
    let result = async {
        let (state, _user, m) = caller(&slug, Capability::ManageKeys).await?;
        let catalog = &state.settings.catalog;
        let may_admin = m.can(Capability::CreateAdminKey);
        let permissions = catalog
            .permissions
            .iter()
            .filter(|p| may_admin || !Catalog::is_admin_grade(std::slice::from_ref(p)))
            .cloned()
            .collect();
        Ok(KeyFormOptions {
            key_types: type_options(catalog, may_admin),
            permissions,
        })
    }
    .await;
    request::respond(result)
}

/// Creates a key and reveals its secret, once.
#[server(endpoint = "keys/create", input = Json)]
pub async fn create_key(slug: String, input: KeyInput) -> Result<RevealedKey, AppError> {
    use ssr::*;
    let result = async {
        let (state, user, m) = caller(&slug, Capability::ManageKeys).await?;
        let name = KeyName::parse(&input.name).map_err(AppError::Invalid)?;
        let environment = input
            .environment
            .ok_or_else(|| AppError::Invalid("Choose an environment.".into()))?;
        let (key_type, permissions, rate_limit) = resolve_grants(&state, &m, &input)?;
        let expires_at = Expiry::parse(&input.expiry, &input.expiry_date)
            .and_then(|e| e.resolve(db::now()))
            .map_err(AppError::Invalid)?;
        let token = ApiToken::generate(&state.settings.key_prefix, environment);

        let mut tx = state.db.begin().await?;
        let new = keys::NewKey {
            org_id: &m.org_id,
            name: name.as_str(),
            environment,
            key_type: &key_type,
            permissions: &permissions,
            token: &token,
            expires_at,
            rate_limit,
            created_by: Some(&user.id),
        };
        let id = keys::insert(&mut tx, new).await?;
        let changes = serde_json::json!({
            "environment": environment.as_str(), "type": key_type, "permissions": permissions,
            "expires_at": expires_at, "rate_limit": rate_limit.label(),
        });
        audit(
            &mut tx,
            &state,
            &m,
            &user,
            "key.created",
            (&id, name.as_str()),
            Some(changes),
        )
        .await?;
        reveal(tx, &state, &m, &id, &token).await
    }
    .await;
    request::respond(result)
}

/// Edits a key's name, permissions, rate limit and expiry.
#[server(endpoint = "keys/update", input = Json)]
pub async fn update_key(slug: String, id: String, input: KeyInput) -> Result<(), AppError> {
    use ssr::*;
    let result = async {
        let (state, user, m) = caller(&slug, Capability::ManageKeys).await?;
        let name = KeyName::parse(&input.name).map_err(AppError::Invalid)?;
        let (key_type, permissions, rate_limit) = resolve_grants(&state, &m, &input)?;
        let mut tx = state.db.begin().await?;
        let before = key_for_change(&mut tx, &m, &id).await?;
        not_revoked(&before)?;
        if Catalog::is_admin_grade(&before.permission_list()) {
            m.allow(Capability::CreateAdminKey)?;
        }
        let expires_at = if input.expiry == "keep" {
            before.expires_at
        } else {
            Expiry::parse(&input.expiry, &input.expiry_date)
                .and_then(|e| e.resolve(db::now()))
                .map_err(AppError::Invalid)?
        };
        keys::update(
            &mut tx,
            &id,
            name.as_str(),
            &key_type,
            &permissions,
            rate_limit,
            expires_at,
        )
        .await?;
        let changes = keys::edit_changes(
            &before,
            name.as_str(),
            &key_type,
            &permissions,
            rate_limit,
            expires_at,
        );
        if changes.is_some() {
            audit(
                &mut tx,
                &state,
                &m,
                &user,
                "key.updated",
                (&id, name.as_str()),
                changes,
            )
            .await?;
        }
        commit_change(tx, &state, &id).await
    }
    .await;
    request::respond(result)
}

/// Issues a new secret for the same key; the old one stops now or after
/// the grace period (never after the key's own expiry).
#[server(endpoint = "keys/regenerate", input = Json)]
pub async fn regenerate_key(
    slug: String,
    id: String,
    grace: Grace,
) -> Result<RevealedKey, AppError> {
    use ssr::*;
    let result = async {
        let (state, user, m) = caller(&slug, Capability::ManageKeys).await?;
        let mut tx = state.db.begin().await?;
        let row = key_for_change(&mut tx, &m, &id).await?;
        not_revoked(&row)?;
        let now = db::now();
        let grace_until = keys::grace_until(now, grace.secs(), row.expires_at)?;
        let environment = row.view(now, state.settings.rotation_days)?.environment;
        let token = ApiToken::generate(&state.settings.key_prefix, environment);
        keys::rotate(&mut tx, &id, &token, grace_until).await?;
        let changes = serde_json::json!({ "grace_until": grace_until });
        audit(
            &mut tx,
            &state,
            &m,
            &user,
            "key.regenerated",
            (&id, &row.name),
            Some(changes),
        )
        .await?;
        reveal(tx, &state, &m, &id, &token).await
    }
    .await;
    request::respond(result)
}

/// Disables (`enabled = false`) or enables a key.
#[server(endpoint = "keys/set_enabled", input = Json)]
pub async fn set_key_enabled(slug: String, id: String, enabled: bool) -> Result<(), AppError> {
    use ssr::*;
    let result = async {
        let (state, user, m) = caller(&slug, Capability::ManageKeys).await?;
        let mut tx = state.db.begin().await?;
        let row = key_for_change(&mut tx, &m, &id).await?;
        not_revoked(&row)?;
        if (row.disabled == 0) != enabled {
            keys::set_disabled(&mut tx, &id, !enabled).await?;
            let action = if enabled {
                "key.enabled"
            } else {
                "key.disabled"
            };
            audit(&mut tx, &state, &m, &user, action, (&id, &row.name), None).await?;
        }
        commit_change(tx, &state, &id).await
    }
    .await;
    request::respond(result)
}

/// Revokes a key for good; it stays listed as Revoked.
#[server(endpoint = "keys/revoke", input = Json)]
pub async fn revoke_key(slug: String, id: String) -> Result<(), AppError> {
    use ssr::*;
    let result = async {
        let (state, user, m) = caller(&slug, Capability::ManageKeys).await?;
        let mut tx = state.db.begin().await?;
        let row = key_for_change(&mut tx, &m, &id).await?;
        not_revoked(&row)?;
        keys::revoke(&mut tx, &id).await?;
        audit(
            &mut tx,
            &state,
            &m,
            &user,
            "key.revoked",
            (&id, &row.name),
            None,
        )
        .await?;
        commit_change(tx, &state, &id).await
    }
    .await;
    request::respond(result)
}

/// Erases a key (owners only); the audit log keeps its history.
#[server(endpoint = "keys/delete", input = Json)]
pub async fn delete_key(slug: String, id: String) -> Result<(), AppError> {
    use ssr::*;
    let result = async {
        let (state, user, m) = caller(&slug, Capability::DeleteKey).await?;
        let mut tx = state.db.begin().await?;
        let row = key_for_change(&mut tx, &m, &id).await?;
        keys::delete(&mut tx, &id).await?;
        let changes = serde_json::json!({ "start": row.start, "environment": row.environment });
        audit(
            &mut tx,
            &state,
            &m,
            &user,
            "key.deleted",
            (&id, &row.name),
            Some(changes),
        )
        .await?;
        commit_change(tx, &state, &id).await
    }
    .await;
    request::respond(result)
}

/// A key's fields and its audit trail (not for viewers).
#[server(endpoint = "keys/detail", input = Json)]
pub async fn get_key_detail(slug: String, id: String) -> Result<KeyDetail, AppError> {
    use ssr::*;
    let result = async {
        let (state, _user, m) = caller(&slug, Capability::ViewKeyDetail).await?;
        let mut conn = state.db.acquire().await?;
        let row = keys::find(&mut conn, &m.org_id, &id)
            .await?
            .ok_or(AppError::NotFound)?;
        // The history is audit data: owners and admins only (§2).
        let audit = if m.can(Capability::ViewAuditLog) {
            let sql = format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE org_id = $1 AND target_type = 'key' \
                 AND target_id = $2 ORDER BY at_ms DESC, id DESC LIMIT 100"
            );
            let entries: Vec<AuditView> = sqlx::query_as(&sql)
                .bind(&m.org_id)
                .bind(&id)
                .fetch_all(&mut *conn)
                .await?;
            Some(entries)
        } else {
            None
        };
        Ok(KeyDetail {
            key: view(&state, &row)?,
            audit,
            can_manage: m.can(Capability::ManageKeys),
            can_delete: m.can(Capability::DeleteKey),
            now: db::now(),
        })
    }
    .await;
    request::respond(result)
}

/// Audit entries per page.
pub const AUDIT_PER_PAGE: u32 = 50;

/// The org's audit log, newest first, optionally by action and by key.
#[server(endpoint = "audit", input = Json)]
pub async fn audit_log(
    slug: String,
    action: Option<String>,
    key_id: Option<String>,
    page: u32,
) -> Result<AuditPage, AppError> {
    use ssr::*;
    let result = async {
        let (state, _user, m) = caller(&slug, Capability::ViewAuditLog).await?;
        let mut filter = "org_id = $1".to_string();
        let mut n = 2;
        let action = action.filter(|a| !a.is_empty());
        let key_id = key_id.filter(|k| !k.is_empty());
        if action.is_some() {
            filter.push_str(&format!(" AND action = ${n}"));
            n += 1;
        }
        if key_id.is_some() {
            filter.push_str(&format!(" AND target_type = 'key' AND target_id = ${n}"));
        }
        let page = page.max(1);
        let offset = i64::from(page - 1) * i64::from(AUDIT_PER_PAGE);
        let rows_sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE {filter} ORDER BY at_ms DESC, id DESC LIMIT {AUDIT_PER_PAGE} OFFSET {offset}"
        );
        let count_sql = format!("SELECT COUNT(*) FROM audit_log WHERE {filter}");
        macro_rules! bind_all {
            ($q:expr) => {{
                let mut q = $q.bind(&m.org_id);
                if let Some(a) = &action {
                    q = q.bind(a);
                }
                if let Some(k) = &key_id {
                    q = q.bind(k);
                }
                q
            }};
        }
        let entries: Vec<AuditView> = bind_all!(sqlx::query_as(&rows_sql)).fetch_all(&state.db).await?;
        let (total,): (i64,) = bind_all!(sqlx::query_as(&count_sql)).fetch_one(&state.db).await?;
        let actions: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT action FROM audit_log WHERE org_id = $1 ORDER BY action")
            .bind(&m.org_id)
            .fetch_all(&state.db)
            .await?;
        Ok(AuditPage {
            entries,
            total,
            page,
            per_page: AUDIT_PER_PAGE,
            actions: actions.into_iter().map(|(a,)| a).collect(),
        })
    }
    .await;
    request::respond(result)
}
