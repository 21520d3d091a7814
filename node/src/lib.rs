//! The Zhibao node: the one program every city, province and national bureau runs.
//!
//! See `docs/ARCHITECTURE.md` for the map. Domain folders hold the rules of the
//! business and do no I/O; `store`, `web`, `federation` and `tls` are the thin
//! layers around them.

pub mod accounts;
pub mod aggregate;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod division;
pub mod federation;
pub mod jobs;
pub mod metadata;
pub mod node;
pub mod pki;
pub mod progress;
pub mod registry;
pub mod report;
pub mod review;
pub mod rules;
pub mod spreadsheet;
pub mod store;
pub mod tls;
pub mod unit_certs;
pub mod urging;
pub mod verify;
pub mod web;
