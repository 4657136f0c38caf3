//! Placeholder: the split bench comes in a later commit.

fn main() {}
