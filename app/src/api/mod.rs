//! Server functions: the typed calls the UI makes, each checking the caller's
//! session, org and role on the server.

pub mod account;
pub mod auth;
pub mod key_types;
pub mod keys;
pub mod members;
pub mod org_settings;
pub mod platform;
pub mod types;
pub mod usage;
