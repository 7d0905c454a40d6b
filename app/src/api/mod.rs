//! Server functions: the typed calls the UI makes, each checking the caller's
//! session, org and role on the server.

pub mod auth;
pub mod members;
pub mod types;
