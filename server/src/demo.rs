//! Demo mode: the organisation `acme` with one user of each role, and a
//! second one, `globex`, where acme's owner is an admin; acme's owner is
//! also an instance admin, so the org switcher and the console can be tried.

use app::backend::{Db, keys, orgs, password, platform, users};
use app::domain::{
    ApiToken, Catalog, Email, Environment, KeyOptions, KeyPrefix, OrgName, Password, Role, Slug,
};
use app::error::AppError;

/// The demo users: email and role.
pub const USERS: [(&str, Role); 4] = [
    ("owner@acme.test", Role::Owner),
    ("admin@acme.test", Role::Admin),
    ("member@acme.test", Role::Member),
    ("viewer@acme.test", Role::Viewer),
];

/// The second demo org's members.
pub const GLOBEX_USERS: [(&str, Role); 2] =
    [("owner@globex.test", Role::Owner), ("owner@acme.test", Role::Admin)];

/// Keys seeded into an empty demo org: name, environment, type.
const KEYS: [(&str, Environment, &str); 3] = [
    ("Production Web SDK", Environment::Production, "Write"),
    ("Nightly reporting", Environment::Staging, "Read"),
    ("CI key rotation", Environment::Development, "Admin"),
];

/// Seeds `acme`, its users and, while it has none, a few keys (whose secrets
/// are thrown away). Idempotent: what exists is left as it is (a demo user
/// whose password was changed keeps it).
pub async fn seed(
    db: &Db,
    demo_password: &str,
    prefix: &KeyPrefix,
    catalog: &Catalog,
) -> Result<(), AppError> {
    let password = Password::parse(demo_password).map_err(AppError::Invalid)?;
    let org_id = seed_org(db, "acme", "Acme Inc.", &USERS, &password).await?;
    seed_org(db, "globex", "Globex Corp.", &GLOBEX_USERS, &password).await?;
    platform::set_instance_admin(db, USERS[0].0, true).await?;
    let mut tx = app::backend::db::begin(db).await?;
    if !keys::org_has_keys(db, &org_id).await? {
        let owner = users::find_by_email(db, USERS[0].0)
            .await?
            .ok_or_else(|| AppError::internal("the demo owner is missing"))?
            .id;
        for (name, environment, key_type) in KEYS {
            let Some(preset) = catalog.key_type(key_type) else {
                continue;
            };
            let token = ApiToken::generate(prefix, environment);
            let new = keys::NewKey {
                org_id: &org_id,
                name,
                environment,
                key_type,
                permissions: &preset.permissions,
                token: &token,
                expires_at: None,
                rate_limit: preset.rate_limit,
                options: &KeyOptions::default(),
                created_by: Some(&owner),
            };
            keys::insert(&mut tx, new).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The org `slug` with `members` (created with `password` when new);
/// returns its id.
async fn seed_org(
    db: &Db,
    slug: &str,
    name: &str,
    members: &[(&str, Role)],
    password: &Password,
) -> Result<String, AppError> {
    let slug = Slug::parse(slug).map_err(AppError::Invalid)?;
    let name = OrgName::parse(name).map_err(AppError::Invalid)?;
    let existing = platform::org_id(db, slug.as_str()).await?;
    let mut tx = app::backend::db::begin(db).await?;
    let org_id = match existing {
        Some(id) => id,
        None => orgs::insert(&mut tx, &slug, &name).await?,
    };
    for (email, role) in members {
        let email = Email::parse(email).map_err(AppError::Invalid)?;
        let user_id = match users::find_by_email(db, email.as_str()).await? {
            Some(user) => user.id,
            None => {
                let hash =
                    password::hash(&password::HashingSlots::per_core(), password.clone()).await?;
                users::insert(&mut tx, &email, &hash).await?
            }
        };
        orgs::add_member(&mut tx, &org_id, &user_id, *role).await?;
    }
    tx.commit().await?;
    Ok(org_id)
}

/// The banner printed at start in demo mode.
pub fn banner(url: &str, password_from_env: bool) -> String {
    let mut text = String::from(
        "\n  DEMO MODE: organisation \"acme\" (Acme Inc.) is seeded with these users,\n  \
         and \"globex\" (Globex Corp.) with owner@globex.test as owner and owner@acme.test\n  \
         as admin. owner@acme.test is an instance admin (/admin).\n  \
         Never use demo mode for real keys.\n\n",
    );
    for (email, role) in USERS {
        text.push_str(&format!("    {:<8} {email}\n", role.label()));
    }
    if password_from_env {
        text.push_str("\n  Password: the value of KEYWARDEN_DEMO_PASSWORD\n");
    } else {
        text.push_str("\n  Password: keywarden-demo\n");
    }
    text.push_str(&format!("  Sign in at {url}/login\n"));
    text
}
