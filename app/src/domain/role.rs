use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A member's role in one organisation (docs/design.md#roles).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
}

/// Something a role may or may not do in its organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// See the key list.
    ViewKeys,
    /// See a key's detail page, usage and request log.
    ViewKeyDetail,
    /// See the organisation's audit log.
    ViewAuditLog,
    /// Create, edit, regenerate, disable/enable and revoke keys.
    ManageKeys,
    /// Create a key of type Admin.
    CreateAdminKey,
    /// Delete a key.
    DeleteKey,
    /// Create invitations (which roles: see [`Role::can_invite`]).
    InviteMembers,
    /// Change members' roles and remove members.
    ManageMembers,
    /// See the organisation's name and policies (the Organisation page).
    ViewOrgSettings,
    /// Rename the organisation and set its policies.
    ManageOrg,
}

impl Capability {
    /// Whether using it changes something (refused in a suspended org).
    pub fn changes_something(self) -> bool {
        use Capability::*;
        !matches!(self, ViewKeys | ViewKeyDetail | ViewAuditLog | ViewOrgSettings)
    }
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    /// The stored and serialised name, e.g. `"owner"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    /// The name shown to people, e.g. `"Owner"`.
    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Member => "Member",
            Role::Viewer => "Viewer",
        }
    }

    /// Whether this role has `capability` (the table in docs/design.md#roles).
    pub fn can(self, capability: Capability) -> bool {
        use Capability::*;
        match capability {
            ViewKeys => true,
            ViewKeyDetail => self != Role::Viewer,
            ViewAuditLog | ManageKeys | CreateAdminKey | InviteMembers | ViewOrgSettings => {
                matches!(self, Role::Owner | Role::Admin)
            }
            DeleteKey | ManageMembers | ManageOrg => self == Role::Owner,
        }
    }

    /// Whether this role may invite someone into `target`: owners any role,
    /// admins only members and viewers.
    pub fn can_invite(self, target: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => matches!(target, Role::Member | Role::Viewer),
            Role::Member | Role::Viewer => false,
        }
    }

    /// The roles this role may hand out in an invitation.
    pub fn invitable_roles(self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|r| self.can_invite(*r)).collect()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            format!("Unknown role \u{201c}{}\u{201d}.", s.chars().take(40).collect::<String>())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Capability::*;

    #[test]
    fn rights_follow_the_design_table() {
        let table: [(Capability, [bool; 4]); 10] = [
            (ViewKeys, [true, true, true, true]),
            (ViewKeyDetail, [true, true, true, false]),
            (ViewAuditLog, [true, true, false, false]),
            (ManageKeys, [true, true, false, false]),
            (CreateAdminKey, [true, true, false, false]),
            (DeleteKey, [true, false, false, false]),
            (InviteMembers, [true, true, false, false]),
            (ManageMembers, [true, false, false, false]),
            (ViewOrgSettings, [true, true, false, false]),
            (ManageOrg, [true, false, false, false]),
        ];
        for (capability, expected) in table {
            for (role, allowed) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(role.can(capability), allowed, "{role:?} {capability:?}");
            }
        }
    }

    #[test]
    fn admins_invite_only_members_and_viewers() {
        assert_eq!(Role::Owner.invitable_roles(), Role::ALL.to_vec());
        assert_eq!(Role::Admin.invitable_roles(), vec![Role::Member, Role::Viewer]);
        assert!(Role::Member.invitable_roles().is_empty());
        assert!(Role::Viewer.invitable_roles().is_empty());
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!(" Admin ".parse::<Role>(), Ok(Role::Admin));
        assert!("superuser".parse::<Role>().is_err());
        assert!("".parse::<Role>().is_err());
    }
}
