//! The Organisation page (docs/design.md#roles, #lifecycle-and-status): the org's name and policies.
//! Owners change them; admins read them; members and viewers do neither.

use crate::domain::Policies;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// What the Organisation page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrgSettings {
    pub name: String,
    pub slug: String,
    pub policies: Policies,
    /// The operator's rotation period, used while the org sets none.
    pub default_rotation_days: i64,
    /// Owners only.
    pub can_edit: bool,
}

#[cfg(feature = "ssr")]
use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::backend::request::{self, Caller, caller};
    pub use crate::domain::Capability;
}

/// The org's name and policies.
#[server(endpoint = "org/settings", input = Json)]
pub async fn get_org_settings(slug: String) -> Result<OrgSettings, AppError> {
    request::serve(async {
        let Caller { state, membership: m, .. } =
            caller(&slug, Capability::ViewOrgSettings).await?;
        let policies = crate::backend::policies::of_org_in(&state.db, &m.org_id).await?;
        Ok(OrgSettings {
            can_edit: m.can(Capability::ManageOrg),
            name: m.org_name,
            slug: m.org_slug,
            policies,
            default_rotation_days: state.settings.rotation_days,
        })
    })
    .await
}

/// Renames the org (the slug stays).
#[server(endpoint = "org/rename")]
pub async fn rename_org(slug: String, name: String) -> Result<(), AppError> {
    use crate::backend::platform::{self, OrgChange, PlatformActor};
    use crate::domain::OrgName;
    request::serve(async {
        let Caller { state, user, .. } = caller(&slug, Capability::ManageOrg).await?;
        let name = OrgName::parse(&name).map_err(AppError::Invalid)?;
        let (ip, actor) = (request::client_ip(&state), PlatformActor::Owner(&user.id, &user.email));
        let renaming = OrgChange::renaming(&name);
        platform::change(&state.db, &state.instance, actor, &slug, renaming, ip.as_deref()).await?;
        Ok(())
    })
    .await
}

/// Sets the org's policies (empty fields: off).
#[server(endpoint = "org/policies")]
pub async fn save_policies(
    slug: String,
    max_key_lifetime: String,
    rotation: String,
    disable_unused_after: String,
    require_two_factor: Option<String>,
) -> Result<(), AppError> {
    use crate::backend::policies::{self, ChangedBy};
    request::serve(async {
        let Caller { state, user, membership: m, .. } =
            caller(&slug, Capability::ManageOrg).await?;
        let new = Policies::parse(
            &max_key_lifetime,
            &rotation,
            &disable_unused_after,
            require_two_factor.is_some_and(|v| v == "on" || v == "true"),
        )
        .map_err(AppError::Invalid)?;
        let ip = request::client_ip(&state);
        let by = ChangedBy { user_id: &user.id, email: &user.email, ip: ip.as_deref() };
        policies::save(&state.db, &m.org_id, &m.org_name, by, new).await
    })
    .await
}
