//! Policy.
mod reply;
pub use reply::Reply;
