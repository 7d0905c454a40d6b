//! The Keywarden server: configuration, startup, probes and the HTTP
//! middleware around the Leptos app.

pub mod assets;
pub mod cli;
pub mod config;
pub mod demo;
pub mod docs;
pub mod error_body;
pub mod health;
pub mod hedge;
pub mod limits;
pub mod openapi;
pub mod operator;
pub mod owner;
pub mod rest;
pub mod security;
pub mod stall;
pub mod startup;
pub mod verify;
