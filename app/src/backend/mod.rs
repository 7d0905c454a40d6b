//! Server-only code: storage, password hashing, sessions, throttling, and the
//! helpers server functions use to find their state and caller.

pub mod audit;
pub mod csp;
pub mod db;
pub mod invites;
pub mod keys;
pub mod log_copy;
pub mod log_file;
pub mod log_segments;
pub mod orgs;
pub mod password;
pub mod platform;
pub mod policies;
pub mod portal;
pub mod rate_sync;
pub mod request;
pub mod secret;
pub mod session;
pub mod sign_in;
pub mod state;
pub mod throttle;
pub mod two_factor;
pub mod usage;
pub mod usage_limits;
pub mod usage_writes;
pub mod users;

pub use db::Db;
pub use state::{AppState, KeyChangeListener, Settings};
