//! The duplicate and hot-issue thresholds' SQL: versions appended, the newest in force.

use mashangban_domain::duplicates::{Thresholds, Weights};
use mashangban_domain::time::Instant;
use mashangban_store::{DuplicateStore, StoreError, StoreResult, ThresholdsVersion};

use crate::settings_versions::{append, newest};
use crate::sql::{Database, Row, job};
use crate::{SqlStore, args};

const TABLE: &str = "duplicate_thresholds";
const COLUMNS: &str = "version, similarity, window_days, hot_min_size, hot_window_days, hot_similarity, \
    cross_town_similarity, same_asker_weight, same_place_weight, same_category_and_town_weight, changed_by, changed_at";

fn version(row: Row) -> StoreResult<ThresholdsVersion> {
    let mut c = row.cols();
    let version = c.get()?;
    let similarity = c.get()?;
    let count = |x: i64| u32::try_from(x).map_err(StoreError::backend);
    let window_days = count(c.get()?)?;
    let hot_min_size = count(c.get()?)?;
    let hot_window_days = count(c.get()?)?;
    let hot_similarity = c.get()?;
    let cross_town_similarity = c.get()?;
    let weights = Weights { same_asker: c.get()?, same_place: c.get()?, same_category_and_town: c.get()? };
    Ok(ThresholdsVersion {
        version,
        thresholds: Thresholds {
            similarity,
            window_days,
            hot_min_size,
            hot_window_days,
            hot_similarity,
            cross_town_similarity,
            weights,
        },
        changed_by: c.get()?,
        changed_at: c.get()?,
    })
}

impl<D: Database> DuplicateStore for SqlStore<D> {
    async fn duplicate_thresholds(&self) -> StoreResult<Option<ThresholdsVersion>> {
        let read = job(move |c| Box::pin(async move { newest(c, TABLE, COLUMNS, 1, version).await }));
        Ok(self.db.read(read).await?.pop())
    }

    async fn duplicate_thresholds_history(&self, limit: u32) -> StoreResult<Vec<ThresholdsVersion>> {
        self.db.read(job(move |c| Box::pin(async move { newest(c, TABLE, COLUMNS, limit, version).await }))).await
    }

    async fn save_duplicate_thresholds(
        &self,
        t: Thresholds,
        changed_by: String,
        at: Instant,
    ) -> StoreResult<ThresholdsVersion> {
        let save = job(move |c| {
            Box::pin(async move {
                let values = args![
                    t.similarity,
                    i64::from(t.window_days),
                    i64::from(t.hot_min_size),
                    i64::from(t.hot_window_days),
                    t.hot_similarity,
                    t.cross_town_similarity,
                    t.weights.same_asker,
                    t.weights.same_place,
                    t.weights.same_category_and_town,
                    changed_by.as_str(),
                    &at
                ];
                append(c, TABLE, COLUMNS, &values, &at, version).await
            })
        });
        self.db.write(save).await
    }
}
