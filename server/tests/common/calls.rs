//! One typed method per server function the tests call, each built from
//! the function's own argument struct, so a renamed or retyped argument
//! fails to compile instead of failing at run time.

use super::{Client, Reply};
use app::api::auth::{CurrentSession, GetOrgContext, Login, Logout};
use app::api::members::{
    AcceptInvitation, ChangeRole, GetInvitation, InviteMember, OrgMembers, RemoveMember,
    RevokeInvitation,
};
use app::api::org_settings::SavePolicies;
use app::api::platform::{
    AdminCreateOrg, AdminOrgs, AdminRenameOrg, AdminSuspendOrg, FoundOrg, PortalEnter,
};
use app::domain::{Founding, Role};

fn role(name: &str) -> Role {
    name.parse().unwrap_or_else(|_| panic!("{name:?} is not a role"))
}

/// A new organisation with its owner, as the setup and sign-up forms send
/// it: organisation name, slug, the owner's email and password.
pub struct NewOrg<'a>(pub &'a str, pub &'a str, pub &'a str, pub &'a str);

/// An org's policies as the Organisation page sends them: maximum key
/// lifetime, rotation period and unused-keys period in days ("" for off),
/// and whether two-factor sign-in is required.
pub struct Policy<'a>(pub &'a str, pub &'a str, pub &'a str, pub bool);

impl NewOrg<'_> {
    /// The form's fields, owned: organisation name, slug, email, password.
    fn fields(self) -> (String, String, String, String) {
        (self.0.into(), self.1.into(), self.2.into(), self.3.into())
    }
}

impl Client {
    /// Saves `slug`'s policies on its Organisation page.
    pub async fn save_policies(&mut self, slug: &str, policy: Policy<'_>) -> Reply {
        let Policy(max_key_lifetime, rotation, disable_unused_after, require) = policy;
        self.form_fn(SavePolicies {
            slug: slug.into(),
            max_key_lifetime: max_key_lifetime.into(),
            rotation: rotation.into(),
            disable_unused_after: disable_unused_after.into(),
            require_two_factor: require.then(|| "on".into()),
        })
        .await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Reply {
        let (email, password) = (email.into(), password.into());
        self.form_fn(Login { email, password, next: None }).await
    }

    pub async fn sign_out(&mut self) -> Reply {
        self.form_fn(Logout {}).await
    }

    pub async fn session(&mut self) -> Reply {
        self.form_fn(CurrentSession {}).await
    }

    pub async fn org_context(&mut self, slug: &str) -> Reply {
        self.form_fn(GetOrgContext { slug: slug.into() }).await
    }

    pub async fn setup(&mut self, org: NewOrg<'_>) -> Reply {
        self.found_org(Founding::FirstRun, org).await
    }

    pub async fn sign_up(&mut self, org: NewOrg<'_>) -> Reply {
        self.found_org(Founding::SignUp, org).await
    }

    async fn found_org(&mut self, how: Founding, org: NewOrg<'_>) -> Reply {
        let (org_name, slug, email, password) = org.fields();
        self.form_fn(FoundOrg { how, org_name, slug, email, password }).await
    }

    pub async fn members(&mut self, slug: &str) -> Reply {
        self.form_fn(OrgMembers { slug: slug.into() }).await
    }

    /// Invites `email` as `role` ("admin", "member"…).
    pub async fn invite(&mut self, slug: &str, email: &str, role_name: &str) -> Reply {
        let (slug, email, role) = (slug.into(), email.into(), role(role_name));
        self.form_fn(InviteMember { slug, email, role }).await
    }

    pub async fn revoke_invitation(&mut self, slug: &str, invitation_id: &str) -> Reply {
        let (slug, invitation_id) = (slug.into(), invitation_id.into());
        self.form_fn(RevokeInvitation { slug, invitation_id }).await
    }

    pub async fn change_role(&mut self, slug: &str, user_id: &str, role_name: &str) -> Reply {
        let (slug, user_id, role) = (slug.into(), user_id.into(), role(role_name));
        self.form_fn(ChangeRole { slug, user_id, role }).await
    }

    pub async fn remove_member(&mut self, slug: &str, user_id: &str) -> Reply {
        let (slug, user_id) = (slug.into(), user_id.into());
        self.form_fn(RemoveMember { slug, user_id }).await
    }

    pub async fn invitation(&mut self, token: &str) -> Reply {
        self.form_fn(GetInvitation { token: token.into() }).await
    }

    pub async fn accept_invitation(&mut self, token: &str, password: &str) -> Reply {
        let (token, password) = (token.into(), password.into());
        self.form_fn(AcceptInvitation { token, password }).await
    }

    pub async fn admin_orgs(&mut self, search: &str, page: u32) -> Reply {
        self.form_fn(AdminOrgs { search: search.into(), page }).await
    }

    pub async fn admin_create_org(&mut self, name: &str, slug: &str, owner_email: &str) -> Reply {
        let (name, slug, owner_email) = (name.into(), slug.into(), owner_email.into());
        self.form_fn(AdminCreateOrg { name, slug, owner_email }).await
    }

    pub async fn admin_rename_org(&mut self, slug: &str, name: &str) -> Reply {
        self.form_fn(AdminRenameOrg { slug: slug.into(), name: name.into() }).await
    }

    pub async fn admin_suspend_org(&mut self, slug: &str, suspended: bool) -> Reply {
        self.form_fn(AdminSuspendOrg { slug: slug.into(), suspended }).await
    }

    pub async fn portal_enter(&mut self, token: &str) -> Reply {
        self.form_fn(PortalEnter { token: token.into() }).await
    }
}
