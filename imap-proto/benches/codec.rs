//! Criterion benches of the codec (placeholder until the parsers land).

fn main() {}
