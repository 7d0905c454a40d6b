//! Server functions of the platform: the admin console (instance admins
//! only; everyone else gets "not found"), portal links and open sign-up.

use crate::domain::{Founding, OrgOverview, OrgPage};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A new organisation and its owner's one-time invitation link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrgCreated {
    pub org: OrgOverview,
    pub invitation_link: Option<String>,
}

/// One page of every organisation, filtered by slug or name.
#[server(endpoint = "admin/orgs")]
pub async fn admin_orgs(search: String, page: u32) -> Result<OrgPage, AppError> {
    use crate::backend::{platform, request};
    request::serve(async {
        let state = request::app_state()?;
        request::instance_admin(&state).await?;
        platform::list(&state.db, &search, page).await
    })
    .await
}

/// Creates an organisation; with an owner email, returns their invitation.
#[server(endpoint = "admin/create_org")]
pub async fn admin_create_org(
    name: String,
    slug: String,
    owner_email: String,
) -> Result<OrgCreated, AppError> {
    use crate::backend::platform::{self, PlatformActor};
    use crate::backend::request;
    use crate::domain::{Email, OrgName, Slug};
    request::serve(async {
        let state = request::app_state()?;
        let admin = request::instance_admin(&state).await?;
        let name = OrgName::parse(&name).map_err(AppError::Invalid)?;
        let slug = Slug::parse(&slug).map_err(AppError::Invalid)?;
        let owner = match owner_email.trim() {
            "" => None,
            email => Some(Email::parse(email).map_err(AppError::Invalid)?),
        };
        let ip = request::client_ip(&state);
        let (org, token) = platform::create(
            &state.db,
            PlatformActor::Admin(&admin.id, &admin.email),
            &slug,
            &name,
            owner.as_ref(),
            state.settings.invitation_ttl_secs,
            ip.as_deref(),
        )
        .await?;
        let origin = request::public_origin(&state);
        Ok(OrgCreated { org, invitation_link: token.map(|t| format!("{origin}/invite/{t}")) })
    })
    .await
}

/// Renames an organisation (its slug stays).
#[server(endpoint = "admin/rename_org")]
pub async fn admin_rename_org(slug: String, name: String) -> Result<OrgOverview, AppError> {
    use crate::backend::platform::{self, OrgChange, PlatformActor};
    use crate::backend::request;
    use crate::domain::OrgName;
    request::serve(async {
        let state = request::app_state()?;
        let admin = request::instance_admin(&state).await?;
        let name = OrgName::parse(&name).map_err(AppError::Invalid)?;
        let ip = request::client_ip(&state);
        let actor = PlatformActor::Admin(&admin.id, &admin.email);
        let renaming = OrgChange::renaming(&name);
        platform::change(&state.db, &state.instance, actor, &slug, renaming, ip.as_deref()).await?;
        platform::find(&state.db, &slug).await?.ok_or(AppError::NotFound)
    })
    .await
}

/// Suspends or resumes an organisation; its keys follow at once.
#[server(endpoint = "admin/suspend_org")]
pub async fn admin_suspend_org(slug: String, suspended: bool) -> Result<(), AppError> {
    use crate::backend::platform::{self, OrgChange, PlatformActor};
    use crate::backend::request;
    request::serve(async {
        let state = request::app_state()?;
        let admin = request::instance_admin(&state).await?;
        let ip = request::client_ip(&state);
        let actor = PlatformActor::Admin(&admin.id, &admin.email);
        let suspending = OrgChange::suspending(suspended);
        let (org_id, changed) =
            platform::change(&state.db, &state.instance, actor, &slug, suspending, ip.as_deref())
                .await?;
        if changed {
            state.org_changed(&org_id);
        }
        Ok(())
    })
    .await
}

/// What a portal link shows before it is used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortalWelcome {
    pub org_name: String,
    pub email: String,
    /// Who is signed in in this browser already, if anyone: the link then
    /// asks before it ends that session.
    pub signed_in_as: Option<String>,
}

/// Describes the portal link behind `token` without using it.
#[server(endpoint = "portal/peek")]
pub async fn portal_peek(token: String) -> Result<PortalWelcome, AppError> {
    use crate::backend::{portal, request};
    request::serve(async {
        let state = request::app_state()?;
        let (org_name, email) = portal::peek(&state.db, &token).await?.ok_or(AppError::NotFound)?;
        let signed_in_as = request::signed_in(&state).await.ok().map(|u| u.email);
        Ok(PortalWelcome { org_name, email, signed_in_as })
    })
    .await
}

/// Uses a portal link: signs its email in and opens the org's API keys.
#[server(endpoint = "portal/enter")]
pub async fn portal_enter(token: String) -> Result<(), AppError> {
    use crate::backend::{portal, request};
    request::serve(async {
        let state = request::app_state()?;
        let ip = request::client_ip(&state);
        let redeemed = portal::redeem(&state.db, &token, ip.as_deref()).await?;
        request::start_session_returning(&state, &redeemed.user_id, redeemed.return_url.as_deref())
            .await?;
        leptos_axum::redirect(&format!("/orgs/{}/settings/api-keys", redeemed.org_slug));
        Ok(())
    })
    .await
}

/// Whether `/signup` is open on this instance.
#[server(endpoint = "signup_open")]
pub async fn signup_open() -> Result<bool, AppError> {
    use crate::backend::request;
    Ok(request::app_state()?.settings.open_signup)
}

/// First-run setup (refused once any user exists) and open sign-up (not
/// found unless open): the organisation and its owner, who is signed in.
#[server(endpoint = "found_org")]
pub async fn found_org(
    how: Founding,
    org_name: String,
    slug: String,
    email: String,
    password: String,
) -> Result<(), AppError> {
    let form = [org_name, slug, email, password];
    crate::backend::request::serve(found(how, form)).await
}

#[cfg(feature = "ssr")]
async fn found(
    how: Founding,
    [org_name, slug, email, password]: [String; 4],
) -> Result<(), AppError> {
    use crate::backend::platform;
    use crate::backend::request;
    use crate::domain::NewOwnedOrg;
    let state = request::app_state()?;
    match how {
        Founding::FirstRun if state.is_set_up().await? => return Err(platform::already_set_up()),
        Founding::SignUp if !state.settings.open_signup => return Err(AppError::NotFound),
        _ => {}
    }
    let org = NewOwnedOrg::parse(&org_name, &slug, &email, &password).map_err(AppError::Invalid)?;
    let ip = request::client_ip(&state);
    // Each sign-up counts against the address like a failed sign-in, so one
    // client cannot mint accounts and orgs in bulk.
    if how == Founding::SignUp
        && let Err(wait) = state.throttle.reserve(org.email.as_str(), ip.as_deref())
    {
        return Err(AppError::throttled(wait));
    }
    let (user_id, slug) = platform::found(&state, org, how, ip.as_deref()).await?;
    request::start_session(&state, &user_id).await?;
    leptos_axum::redirect(&format!("/orgs/{slug}/settings/api-keys"));
    Ok(())
}
