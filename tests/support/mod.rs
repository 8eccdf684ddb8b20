//! Test helpers shared by integration tests.

pub mod moto;
