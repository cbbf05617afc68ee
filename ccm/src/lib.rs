//! lodestone-ccm: node initialisation, LoadBalancer address assignment and Gateway API addresses.
#![forbid(unsafe_code)]

pub mod controller;
pub mod ipam;
pub mod lease;
pub mod metrics;
pub mod node;
pub mod run;
pub mod validate;
