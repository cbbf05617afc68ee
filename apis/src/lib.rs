//! The `metallb.io` API as Lodestone understands it.
//!
//! ```text
//!   CRD objects (v1beta1/v1beta2) ──► Resources snapshot ──► Config::from_resources ──► Config
//!                                      (+ Secrets, Nodes,        (the one parser;         (pools, peers,
//!                                         Namespaces)              pure, no I/O)            adverts, BFD)
//! ```
//!
//! No client, no runtime, no clock: everything here is data and pure functions.
#![forbid(unsafe_code)]

pub mod config;
pub mod conversion;
pub mod crdgen;
pub mod v1beta1;
pub mod v1beta2;
