//! Domain types shared by the server and the browser: roles and their rights,
//! and the parsed forms of what people type.

mod inputs;
mod role;

pub use inputs::{Email, OrgName, Password, Slug};
pub use role::{Capability, Role};

/// Unix time in seconds. Stored as a 64-bit integer so SQLite and PostgreSQL
/// share one schema.
pub type UnixTime = i64;
