//! The checking and lowering passes, one file each, each behind one entry function. Every
//! pass collects all the problems it finds (not only the first) into a `Vec<Diagnostic>`.

pub mod budget;
pub mod lower;
pub mod resolve;
pub mod schedule;
pub mod validate;
