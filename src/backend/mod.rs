//! Back ends: ASL JSON, EventBridge rules / Scheduler schedules, IAM policy documents.

pub mod asl;
pub mod eventbridge;
pub mod iam;
