//! lower: IR → backend-ready plan (to be written).
