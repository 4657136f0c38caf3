//! Delivery.
pub mod resolve;
