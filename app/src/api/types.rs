//! The serialisable shapes server functions return to the UI.

pub use crate::domain::model::{InvitationView, MemberView, OrgSummary};
use crate::domain::{Role, UnixTime};
use serde::{Deserialize, Serialize};

/// The signed-in user and their organisations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub email: String,
    pub orgs: Vec<OrgSummary>,
    /// An instance admin, who may open `/admin`.
    pub is_admin: bool,
}

/// What the settings layout needs: the current org, the caller's role in
/// it, and the orgs to switch to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrgContext {
    pub slug: String,
    pub name: String,
    pub role: Role,
    pub email: String,
    pub orgs: Vec<OrgSummary>,
    /// Suspended by the platform: read-only, with a banner.
    pub suspended: bool,
    /// An instance admin (the sidebar links the console).
    pub is_admin: bool,
    /// "Back to <platform>" for sessions opened from a portal link.
    pub return_url: Option<String>,
}

/// The members page: who is in the org and what the caller may change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MembersPage {
    pub members: Vec<MemberView>,
    /// Pending invitations; empty for roles that cannot invite.
    pub invitations: Vec<InvitationView>,
    /// Roles the caller may invite; empty when they may not invite.
    pub invitable_roles: Vec<Role>,
    /// Whether the caller may change roles and remove members.
    pub can_manage: bool,
}

/// A new invitation; the link is shown once and not stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvitationCreated {
    pub link: String,
    pub email: String,
    pub role: Role,
    pub expires_at: UnixTime,
}

/// What the invitation page shows before the invitee accepts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvitationDetails {
    pub org_name: String,
    pub email: String,
    pub role: Role,
    /// Whether an account with the invited email exists (then the invitee
    /// confirms with its password instead of choosing one).
    pub account_exists: bool,
    /// The account signs in through its platform (no password): it accepts
    /// while signed in that way.
    pub portal_user: bool,
}
