//! Keywarden's integration tests, one binary (zero-to-production's
//! `tests/api/` layout): the real router on a real database, each test on
//! SQLite and PostgreSQL (`on_both_engines!`), plus the real binary where
//! only a process shows it (the CLI, signals, nginx in front). The
//! log-secrets test is its own binary: it captures every log line of its
//! process, which parallel tests here would muddle.

#[path = "../common/mod.rs"]
#[macro_use]
mod common;

mod accounts;
mod assets;
mod authorize;
mod cli;
mod customer_keys;
mod hardening;
mod hostile;
mod instances;
mod key_list;
mod keys;
mod log_days;
mod members;
mod nginx;
mod org_settings;
mod oversize;
mod page_policy;
mod platform;
mod portal;
mod rest;
mod role_fields;
mod shared_limits;
mod shutdown;
mod suspended;
mod two_factor;
mod usage;
mod verify;
