#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]
use mashangban_domain::ledger::bundled;

#[test]
fn every_bundled_type_parses() {
    for (name, text) in bundled::FILES {
        if let Err(e) = mashangban_domain::ledger::LedgerType::from_toml(text) {
            panic!("{name}: {e}");
        }
    }
}
