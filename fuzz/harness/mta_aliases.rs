//! Fuzz entry for mailhub-mta-core's aliases(5) parser and envelope address splitter.

use mailhub_mta_core::route::{Address, AliasLimits, aliases};

/// Parses arbitrary bytes as an aliases file, a `:include:` list and an address; a parsed
/// file must survive render → parse unchanged.
pub fn aliases_input(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let limits = AliasLimits {
        max_logical_line: 4096,
        max_entries: 1000,
        ..AliasLimits::default()
    };
    if let Ok(entries) = aliases::parse_aliases(&text, &limits) {
        let rendered = aliases::render_aliases(&entries);
        let again = aliases::parse_aliases(&rendered, &AliasLimits::default())
            .unwrap_or_else(|e| panic!("re-parse of {rendered:?} failed: {e}"));
        assert_eq!(again.len(), entries.len());
        for (a, b) in entries.iter().zip(&again) {
            assert_eq!(a.name, b.name);
            assert_eq!(a.targets, b.targets);
        }
    }
    let _ = aliases::parse_list(&text, &limits);
    for line in text.lines().take(64) {
        if let Ok(a) = Address::parse(line) {
            let s = a.to_addr_string();
            let b = Address::parse(&s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
            let _ = b.relay_target();
            assert_eq!((a.local, a.domain), (b.local, b.domain));
        }
    }
}
