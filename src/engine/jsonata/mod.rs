//! JSONata-mode expressions (to be written).
