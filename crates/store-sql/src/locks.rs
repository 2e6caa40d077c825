//! Transaction-scoped advisory locks that make publishers on several
//! PostgreSQL nodes take turns; SQLite's single writer needs none.
//!
//! The keys lie above the 32-bit range of `hashtext`, so they never meet a
//! job lock, next to the migration lock of `store-postgres`.

use mashangban_store::StoreResult;

use crate::args;
use crate::sql::Conn;

/// Publishers of the time-limit rule table (时限规则).
pub const RULES: i64 = 0x6d62_0000_0001;

/// Writers of the work calendar (工作日历).
pub const CALENDAR: i64 = 0x6d62_0000_0002;

/// Installers of command centres (指挥部): a new centre's number is the next
/// after the greatest, so two nodes installing at once must take turns.
pub const COMMAND_CENTRES: i64 = 0x6d62_0000_0003;

/// Waits for the publishers' lock `key`, held until the transaction ends.
pub async fn publishers(c: &dyn Conn, key: i64) -> StoreResult<()> {
    match c.dialect().advisory_xact_lock() {
        Some(sql) => c.execute(sql, &args![key]).await.map(drop),
        None => Ok(()),
    }
}
