//! The demo city's statistics panel (数说): the bundled figures of 2021's
//! first three quarters with the same periods of 2019 and 2020
//! (`mashangban_domain::statistics::BUNDLED_STATISTICS`), so the panel
//! reproduces the report's numbers. Checked by the domain as a data file,
//! written through the store with a history entry each. Idempotent: nothing
//! is loaded when any value is stored.

use mashangban_domain::statistics::{BUNDLED_STATISTICS, parse_statistics_toml};
use mashangban_domain::time::Instant;
use mashangban_store::{StatisticsAuthor, StatisticsWrite, Store};

use crate::DemoError;

/// Loads the bundled catalogue and values unless values are stored; answers how many values were written.
pub async fn load_statistics<S: Store>(store: &S, now: Instant) -> Result<u64, DemoError> {
    let fail = |e: mashangban_store::StoreError| DemoError(format!("演示统计数据：{e}"));
    let held = store.statistics_data().await.map_err(fail)?;
    if !held.values.is_empty() {
        return Ok(0);
    }
    let demo = parse_statistics_toml(BUNDLED_STATISTICS).map_err(|e| DemoError(format!("演示统计数据：{e}")))?;
    let author = StatisticsAuthor { user_id: None, name: "演示数据".into(), at: now };
    let indicators = demo.catalog().indicators().to_vec();
    let version = store
        .save_statistics_catalog(demo.area().to_owned(), indicators, held.version, author.clone())
        .await
        .map_err(fail)?;
    let writes = demo
        .observations()
        .map(|o| StatisticsWrite {
            observation: o.clone(),
            source: demo.catalog().get(&o.indicator).and_then(|i| i.source.clone()),
            note: None,
        })
        .collect();
    let written = store.write_statistics_values(writes, true, version, author).await.map_err(fail)?;
    Ok(written.new)
}
