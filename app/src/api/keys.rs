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
use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::api::key_types::{KeyTypeOption, KeyView};
    pub use crate::backend::keys::{self, KeyEdit, KeyRow, NewKeySpec, service};
    pub use crate::backend::{AppState, audit, db, request};
    pub use crate::domain::{
        ApiToken, CUSTOM_TYPE, Capability, Catalog, Expiry, KeyName, RateLimit,
    };

    pub use crate::backend::request::{Caller, caller};

    /// Type, permissions and rate limit from the form, checked against the
    /// catalog (the right to grant them is the keys service's to check).
    pub fn resolve_grants(
        state: &AppState,
        input: &super::KeyInput,
    ) -> Result<(String, Vec<String>, RateLimit), crate::AppError> {
        let catalog = &state.settings.catalog;
        let permissions = catalog
            .resolve(&input.key_type, &input.permissions)
            .map_err(crate::AppError::Invalid)?;
        let rate_limit = if input.rate_limit.trim().is_empty() {
            catalog.default_rate_limit(&input.key_type)
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

    pub use crate::backend::keys::{view, views};

    /// The answer that carries a new secret, kept out of caches: the one
    /// response that ever holds it.
    pub async fn reveal(
        state: &AppState,
        (row, token): (KeyRow, ApiToken),
    ) -> Result<super::RevealedKey, crate::AppError> {
        request::no_store();
        let key = view(state, &row).await?;
        Ok(super::RevealedKey { key, token: token.expose().to_string() })
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
    request::serve(async {
        let Caller { state, membership: m, .. } = caller(&slug, Capability::ViewKeys).await?;
        let full = m.can(Capability::ViewKeyDetail);
        // A viewer neither sees customers nor finds keys by one.
        let query = if full { query } else { KeyQuery { customer: String::new(), ..query } };
        let (rows, total) = keys::list(&state.db, &m.org_id, &query, db::now()).await?;
        let mut keys = views(&state, &rows).await?;
        if !full {
            keys = keys.into_iter().map(KeyView::listed_for_viewer).collect();
        }
        let org_has_keys = total > 0 || keys::org_has_keys(&state.db, &m.org_id).await?;
        Ok(KeyPage {
            keys,
            total,
            page: query.page.max(1),
            per_page: keys::PER_PAGE,
            org_has_keys,
            can_manage: m.can(Capability::ManageKeys),
            can_delete: m.can(Capability::DeleteKey),
            can_view_detail: full,
            now: db::now(),
        })
    })
    .await
}

/// Key types and permissions the caller may give a key.
#[server(endpoint = "keys/options", input = Json)]
pub async fn get_key_options(slug: String) -> Result<KeyFormOptions, AppError> {
    request::serve(async {
        let Caller { state, membership: m, .. } = caller(&slug, Capability::ManageKeys).await?;
        let catalog = &state.settings.catalog;
        let may_admin = m.can(Capability::CreateAdminKey);
        let permissions = catalog
            .permissions
            .iter()
            .filter(|p| may_admin || !Catalog::is_admin_grade(std::slice::from_ref(p)))
            .cloned()
            .collect();
        let policies = crate::backend::policies::of_org_in(&state.db, &m.org_id).await?;
        Ok(KeyFormOptions {
            key_types: type_options(catalog, may_admin),
            permissions,
            max_lifetime_days: policies.max_key_lifetime_days,
        })
    })
    .await
}

/// Creates a key and reveals its secret, once.
#[server(endpoint = "keys/create", input = Json)]
pub async fn create_key(slug: String, input: KeyInput) -> Result<RevealedKey, AppError> {
    request::serve(async {
        let c = caller(&slug, Capability::ManageKeys).await?;
        let name = KeyName::parse(&input.name).map_err(AppError::Invalid)?;
        let environment =
            input.environment.ok_or_else(|| AppError::Invalid("Choose an environment.".into()))?;
        let (key_type, permissions, rate_limit) = resolve_grants(&c.state, &input)?;
        let expires_at = Expiry::parse(&input.expiry, &input.expiry_date)
            .and_then(|e| e.resolve(db::now()))
            .map_err(AppError::Invalid)?;
        let options = input.options().map_err(AppError::Invalid)?;
        let spec = NewKeySpec {
            name,
            environment,
            key_type,
            permissions,
            rate_limit,
            expires_at,
            options,
        };
        let created = service::create(&c.state, c.by(), spec).await?;
        reveal(&c.state, created).await
    })
    .await
}

/// Edits a key's name, permissions, rate limit and expiry.
#[server(endpoint = "keys/update", input = Json)]
pub async fn update_key(slug: String, id: String, input: KeyInput) -> Result<(), AppError> {
    request::serve(async {
        let c = caller(&slug, Capability::ManageKeys).await?;
        let name = KeyName::parse(&input.name).map_err(AppError::Invalid)?;
        let (key_type, permissions, rate_limit) = resolve_grants(&c.state, &input)?;
        let expires_at = if input.expiry == "keep" {
            None
        } else {
            Some(
                Expiry::parse(&input.expiry, &input.expiry_date)
                    .and_then(|e| e.resolve(db::now()))
                    .map_err(AppError::Invalid)?,
            )
        };
        let options = input.options().map_err(AppError::Invalid)?;
        let edit = KeyEdit {
            name: Some(name),
            grants: Some((key_type, permissions)),
            rate_limit: Some(rate_limit),
            expires_at,
            ip_allowlist: Some(options.ip_allowlist),
            customer: Some(options.customer),
            meta: Some(options.meta),
            usage_limit: Some(options.usage_limit),
        };
        service::update(&c.state, c.by(), &id, edit).await?;
        Ok(())
    })
    .await
}

/// Issues a new secret for the same key; the old one stops now or after
/// the grace period (never after the key's own expiry).
#[server(endpoint = "keys/regenerate", input = Json)]
pub async fn regenerate_key(
    slug: String,
    id: String,
    grace: Grace,
) -> Result<RevealedKey, AppError> {
    request::serve(async {
        let c = caller(&slug, Capability::ManageKeys).await?;
        let regenerated = service::regenerate(&c.state, c.by(), &id, grace.secs()).await?;
        reveal(&c.state, regenerated).await
    })
    .await
}

/// Disables (`enabled = false`) or enables a key.
#[server(endpoint = "keys/set_enabled", input = Json)]
pub async fn set_key_enabled(slug: String, id: String, enabled: bool) -> Result<(), AppError> {
    request::serve(async {
        let c = caller(&slug, Capability::ManageKeys).await?;
        service::set_enabled(&c.state, c.by(), &id, enabled).await?;
        Ok(())
    })
    .await
}

/// Revokes a key for good; it stays listed as Revoked.
#[server(endpoint = "keys/revoke", input = Json)]
pub async fn revoke_key(slug: String, id: String) -> Result<(), AppError> {
    request::serve(async {
        let c = caller(&slug, Capability::ManageKeys).await?;
        service::revoke(&c.state, c.by(), &id).await?;
        Ok(())
    })
    .await
}

/// Erases a key (owners only); the audit log keeps its history.
#[server(endpoint = "keys/delete", input = Json)]
pub async fn delete_key(slug: String, id: String) -> Result<(), AppError> {
    request::serve(async {
        let c = caller(&slug, Capability::DeleteKey).await?;
        service::delete(&c.state, c.by(), &id).await
    })
    .await
}

/// A key's fields and its audit trail (not for viewers).
#[server(endpoint = "keys/detail", input = Json)]
pub async fn get_key_detail(slug: String, id: String) -> Result<KeyDetail, AppError> {
    request::serve(async {
        let Caller { state, membership: m, .. } = caller(&slug, Capability::ViewKeyDetail).await?;
        // One connection at a time: a render holding one while it waits for
        // another starves the pool when many render at once.
        let row = keys::find(&mut *state.db.acquire().await?, &m.org_id, &id)
            .await?
            .ok_or(AppError::NotFound)?;
        // The history is audit data: owners and admins only (§2).
        let audit = if m.can(Capability::ViewAuditLog) {
            Some(audit::key_history(&state.db, &m.org_id, &id).await?)
        } else {
            None
        };
        Ok(KeyDetail {
            key: view(&state, &row).await?,
            audit,
            can_manage: m.can(Capability::ManageKeys),
            can_delete: m.can(Capability::DeleteKey),
            now: db::now(),
        })
    })
    .await
}

/// The org's audit log, newest first, optionally by action and by key.
#[server(endpoint = "audit", input = Json)]
pub async fn audit_log(
    slug: String,
    action: Option<String>,
    key_id: Option<String>,
    page: u32,
) -> Result<AuditPage, AppError> {
    request::serve(async {
        let Caller { state, membership: m, .. } = caller(&slug, Capability::ViewAuditLog).await?;
        let action = action.filter(|a| !a.is_empty());
        let key_id = key_id.filter(|k| !k.is_empty());
        let page = page.max(1);
        let (entries, total, actions) =
            audit::page(&state.db, &m.org_id, action.as_deref(), key_id.as_deref(), page).await?;
        Ok(AuditPage { entries, total, page, per_page: audit::PER_PAGE, actions })
    })
    .await
}
