//! Members and invitations of an organisation.

use super::types::{InvitationCreated, InvitationDetails, MembersPage};
use crate::domain::Role;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::{audit, session::SessionUser};

/// The org's members and, for those who may invite, pending invitations.
#[server(endpoint = "members")]
pub async fn org_members(slug: String) -> Result<MembersPage, AppError> {
    use crate::backend::{invites, orgs, request};
    use crate::domain::Capability;
    request::serve(async {
        let state = request::app_state()?;
        let (user, m) = request::member_of(&state, &slug).await?;
        let members = orgs::members(&state.db, &m.org_id, &user.id).await?;
        let may_invite = m.can(Capability::InviteMembers);
        let invitations = if may_invite {
            invites::list_pending(&state.db, &m.org_id).await?
        } else {
            Vec::new()
        };
        Ok(MembersPage {
            members,
            invitations,
            invitable_roles: if may_invite { m.role.invitable_roles() } else { Vec::new() },
            can_manage: m.can(Capability::ManageMembers),
        })
    })
    .await
}

/// Invites `email` into the org as `role`; returns the one-time link.
#[server(endpoint = "invite")]
pub async fn invite_member(
    slug: String,
    email: String,
    role: Role,
) -> Result<InvitationCreated, AppError> {
    use crate::backend::{invites, orgs, request};
    use crate::domain::{Capability, Email};
    request::serve(async {
        let request::Caller { state, user, membership: m, .. } =
            request::caller(&slug, Capability::InviteMembers).await?;
        request::require(m.role.can_invite(role))?;
        let email = Email::parse(&email).map_err(AppError::Invalid)?;

        let mut tx = crate::backend::db::begin(&state.db).await?;
        if orgs::has_member_email(&mut tx, &m.org_id, email.as_str()).await? {
            return Err(AppError::Conflict(format!(
                "{email} is already a member of {}.",
                m.org_name
            )));
        }
        let ttl = state.settings.invitation_ttl_secs;
        let (id, token) = invites::insert(
            &mut tx,
            &m.org_id,
            &email,
            role,
            invites::Inviter::User(&user.id),
            ttl,
        )
        .await?;
        let changes = serde_json::json!({ "role": { "after": role.as_str() } });
        let target = ("invitation", id.as_str(), email.as_str());
        audit::record_change(
            &mut tx,
            &state,
            &m.org_id,
            &user,
            "member.invited",
            target,
            Some(changes),
        )
        .await?;
        tx.commit().await?;

        Ok(InvitationCreated {
            link: format!("{}/invite/{token}", request::public_origin(&state)),
            email: email.to_string(),
            role,
            expires_at: crate::backend::db::now() + ttl,
        })
    })
    .await
}

/// Withdraws a pending invitation.
#[server(endpoint = "revoke_invitation")]
pub async fn revoke_invitation(slug: String, invitation_id: String) -> Result<(), AppError> {
    use crate::backend::{invites, request};
    use crate::domain::Capability;
    request::serve(async {
        let request::Caller { state, user, membership: m, .. } =
            request::caller(&slug, Capability::InviteMembers).await?;
        let mut tx = crate::backend::db::begin(&state.db).await?;
        let (email, role) = invites::pending_in_org(&mut tx, &m.org_id, &invitation_id)
            .await?
            .ok_or(AppError::NotFound)?;
        request::require(m.role.can_invite(role))?;
        invites::revoke(&mut tx, &invitation_id).await?;
        let target = ("invitation", invitation_id.as_str(), email.as_str());
        audit::record_change(&mut tx, &state, &m.org_id, &user, "invitation.revoked", target, None)
            .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// Changes a member's role (owners only); the last owner stays an owner.
#[server(endpoint = "change_role")]
pub async fn change_role(slug: String, user_id: String, role: Role) -> Result<(), AppError> {
    crate::backend::request::serve(change_member(&slug, &user_id, Some(role))).await
}

/// Removes a member (owners only); their access ends with their next request.
#[server(endpoint = "remove_member")]
pub async fn remove_member(slug: String, user_id: String) -> Result<(), AppError> {
    crate::backend::request::serve(change_member(&slug, &user_id, None)).await
}

/// Gives a member another role (`Some`) or removes them (`None`), with its
/// audit entry, in one transaction that holds the org's lock, so two owners
/// demoting each other at once cannot leave the org without one.
#[cfg(feature = "ssr")]
async fn change_member(slug: &str, user_id: &str, to: Option<Role>) -> Result<(), AppError> {
    use crate::backend::{orgs, request};
    use crate::domain::Capability;
    let request::Caller { state, user, membership: m, .. } =
        request::caller(slug, Capability::ManageMembers).await?;
    let mut tx = crate::backend::db::begin(&state.db).await?;
    orgs::lock_org(&mut tx, &m.org_id).await?;
    let (before, email) =
        orgs::member_in_tx(&mut tx, &m.org_id, user_id).await?.ok_or(AppError::NotFound)?;
    if to == Some(before) {
        return Ok(());
    }
    if before == Role::Owner && orgs::owner_count(&mut tx, &m.org_id).await? <= 1 {
        return Err(AppError::Conflict(
            match to {
                Some(_) => {
                    "An organisation needs at least one owner. Make someone else an owner first."
                }
                None => "The last owner cannot be removed. Make someone else an owner first.",
            }
            .into(),
        ));
    }
    let (action, changes) = match to {
        Some(role) => {
            orgs::set_role(&mut tx, &m.org_id, user_id, role).await?;
            let change = serde_json::json!({ "before": before.as_str(), "after": role.as_str() });
            ("member.role_changed", change)
        }
        None => {
            orgs::remove_member(&mut tx, &m.org_id, user_id).await?;
            ("member.removed", serde_json::json!({ "before": before.as_str() }))
        }
    };
    let target = ("member", user_id, email.as_str());
    let changes = Some(serde_json::json!({ "role": changes }));
    audit::record_change(&mut tx, &state, &m.org_id, &user, action, target, changes).await?;
    tx.commit().await?;
    Ok(())
}

/// What an invitation link offers, for the invitation page.
#[server(endpoint = "invitation")]
pub async fn get_invitation(token: String) -> Result<InvitationDetails, AppError> {
    use crate::backend::{invites, request, users};
    request::serve(async {
        let state = request::app_state()?;
        let inv = invites::find_pending(&state.db, &token).await?.ok_or(AppError::NotFound)?;
        let existing = users::find_by_email(&state.db, &inv.email).await?;
        let account_exists = existing.is_some();
        let portal_user = existing.is_some_and(|u| u.password_hash.is_empty());
        Ok(InvitationDetails {
            org_name: inv.org_name,
            email: inv.email,
            role: inv.role,
            account_exists,
            portal_user,
        })
    })
    .await
}

/// Accepts an invitation: a new invitee chooses a password, an existing
/// account confirms with its own. Signs the invitee in and opens the org.
#[server(endpoint = "accept_invitation")]
pub async fn accept_invitation(token: String, password: String) -> Result<(), AppError> {
    use crate::backend::{invites, orgs, password as pw, request, users};
    use crate::domain::{Email, Password};
    request::serve(async {
        let state = request::app_state()?;
        let inv = invites::find_pending(&state.db, &token)
            .await?
            .ok_or(AppError::NotFound)?;
        let email = Email::parse(&inv.email).map_err(AppError::internal)?;
        let ip = request::client_ip(&state);
        let existing = users::find_by_email(&state.db, email.as_str()).await?;
        let new_hash = match &existing {
            Some(user) if !user.password_hash.is_empty() => {
                if password.len() > pw::MAX_PASSWORD_BYTES {
                    return Err(AppError::InvalidCredentials);
                }
                if let Err(wait) = state.throttle.reserve(email.as_str(), ip.as_deref()) {
                    return Err(AppError::throttled(wait));
                }
                if !pw::verify(&state.hashing, password, Some(user.password_hash.clone())).await? {
                    return Err(AppError::InvalidCredentials);
                }
                state.throttle.succeeded(email.as_str(), ip.as_deref());
                None
            }
            // A portal user has no password, and the link proves nothing
            // about who holds the email: only that user, signed in through
            // their platform, accepts it, and may then choose a password to
            // sign in directly too.
            Some(user) => {
                let signed_in = request::signed_in(&state).await.ok().map(|u| u.id);
                if signed_in.as_deref() != Some(user.id.as_str()) {
                    return Err(AppError::NotAllowed(
                        "This email signs in through its platform. Open Keywarden from the platform first, then this invitation again.".into(),
                    ));
                }
                match password.as_str() {
                    "" => None,
                    chosen => Some(
                        pw::hash(
                            &state.hashing,
                            Password::parse(chosen).map_err(AppError::Invalid)?,
                        )
                        .await?,
                    ),
                }
            }
            None => Some(
                pw::hash(
                    &state.hashing,
                    Password::parse(&password).map_err(AppError::Invalid)?,
                )
                .await?,
            ),
        };

        let mut tx = crate::backend::db::begin(&state.db).await?;
        if let Err(refused) = orgs::lock_open_org(&mut tx, &inv.org_id).await {
            tx.rollback().await?;
            let (org, email) = (&inv.org_id, email.as_str());
            orgs::audit_refused_joining(&state.db, org, email, "invitation", ip.as_deref()).await;
            return Err(refused);
        }
        if !invites::mark_accepted(&mut tx, &inv.id).await? {
            return Err(AppError::NotFound);
        }
        let user_id = match (existing, new_hash) {
            (Some(user), Some(hash)) => {
                users::set_password(&mut tx, &user.id, &hash).await?;
                user.id
            }
            (Some(user), None) => user.id,
            (None, Some(hash)) => users::insert(&mut tx, &email, &hash).await?,
            (None, None) => {
                return Err(AppError::internal(
                    "invitee has neither account nor password",
                ));
            }
        };
        orgs::add_member(&mut tx, &inv.org_id, &user_id, inv.role).await?;
        let actor = SessionUser {
            id: user_id.clone(),
            email: email.to_string(),
            ..Default::default()
        };
        let changes = serde_json::json!({ "role": { "after": inv.role.as_str() } });
        let target = ("member", user_id.as_str(), email.as_str());
        audit::record_change(
            &mut tx,
            &state,
            &inv.org_id,
            &actor,
            "member.joined",
            target,
            Some(changes),
        )
        .await?;
        tx.commit().await?;

        let keys = format!("/orgs/{}/settings/api-keys", inv.org_slug);
        if crate::backend::two_factor::status(&state.db, &user_id).await?.enabled {
            // The password alone opens no session for a two-factor account:
            // it signs in with its code, then lands in the org.
            leptos_axum::redirect(&format!("/login?next={keys}"));
            return Ok(());
        }
        request::start_session(&state, &user_id).await?;
        leptos_axum::redirect(&keys);
        Ok(())
    })
    .await
}
