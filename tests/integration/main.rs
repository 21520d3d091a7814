//! The one integration-test binary. Each module is a scenario against real
//! nodes over real sockets and real TLS; see `tests/src/lib.rs` for the kit.

// why: test code may unwrap and panic; a failure should stop the test with its message
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod backup;
mod browser;
mod cli;
mod county;
mod crash_mid_flow;
mod data_report;
mod demo;
mod durability;
mod federation_delivery;
mod federation_refusals;
mod federation_tls;
mod lineage;
mod node_start;
mod offline_entry;
mod openapi;
mod overseers;
mod progress_summaries;
mod registry;
mod registry_pages;
mod reminders;
mod reporting;
mod review_flow;
mod roles;
mod standards;
mod totals;
mod unit_certificates;
mod urging;
mod webhook;
