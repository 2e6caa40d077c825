//! The statistics panel's catalogue and values, written once for both
//! databases. Every write first moves the data set's version from the one it
//! was checked against to the next (the row update also serialises writers
//! on PostgreSQL), then writes its rows, each value's history entry and a
//! change-feed row, all in one transaction.

use std::collections::BTreeMap;

use mashangban_domain::statistics::{Catalog, Dataset, Indicator, IndicatorEdit, Observation, Period};
use mashangban_store::{
    ChangeEntity, IndicatorAction, IndicatorChange, PublicationEntry, StatisticsAction, StatisticsAuthor,
    StatisticsChange, StatisticsData, StatisticsPublication, StatisticsStore, StatisticsValue, StatisticsWrite,
    StatisticsWritten, StoreError, StoreResult, indicator_changed, indicator_in_use, statistics_changed,
    unknown_indicator,
};

use crate::sql::{Conn, Database, Row, bad, job};
use crate::{SqlStore, args};

impl<D: Database> StatisticsStore for SqlStore<D> {
    async fn save_statistics_catalog(
        &self,
        area: String,
        indicators: Vec<Indicator>,
        expected_version: i64,
        author: StatisticsAuthor,
    ) -> StoreResult<i64> {
        // The same checks as a data file's: the area is named, the catalogue consistent.
        Dataset::new(&area, Catalog::new(indicators.clone())?)?;
        let save = job(move |c| {
            Box::pin(async move { save_catalog(c, area.trim(), indicators, expected_version, author).await })
        });
        self.db.write(save).await
    }

    async fn statistics_data(&self) -> StoreResult<StatisticsData> {
        let read = job(|c| {
            Box::pin(async move {
                let state = c.query_opt("SELECT version, area FROM statistics_state WHERE id = 1", &args![]).await?;
                let (version, area) = match state {
                    Some(row) => {
                        let mut cols = row.cols();
                        (cols.get()?, cols.get()?)
                    }
                    None => (0, DEFAULT_AREA.to_owned()),
                };
                let indicators = c
                    .map("SELECT definition FROM statistics_indicators ORDER BY position", &args![], indicator)
                    .await?;
                let sql = format!("SELECT {VALUE_COLUMNS} FROM statistics_values ORDER BY indicator, year, months");
                let values = c.map(&sql, &args![], stored_value).await?;
                let indicator_versions = indicator_versions(c).await?;
                Ok(StatisticsData { area, indicators, values, version, indicator_versions })
            })
        });
        self.db.read(read).await
    }

    async fn write_statistics_values(
        &self,
        writes: Vec<StatisticsWrite>,
        imported: bool,
        expected_version: i64,
        author: StatisticsAuthor,
    ) -> StoreResult<StatisticsWritten> {
        let write =
            job(move |c| Box::pin(async move { write_values(c, writes, imported, expected_version, author).await }));
        self.db.write(write).await
    }

    async fn save_statistics_data_file(
        &self,
        area: String,
        indicators: Vec<Indicator>,
        writes: Vec<StatisticsWrite>,
        expected_version: i64,
        author: StatisticsAuthor,
    ) -> StoreResult<StatisticsWritten> {
        Dataset::new(&area, Catalog::new(indicators.clone())?)?;
        let save = job(move |c| {
            Box::pin(async move {
                let version = save_catalog(c, area.trim(), indicators, expected_version, author.clone()).await?;
                write_values(c, writes, true, version, author).await
            })
        });
        self.db.write(save).await
    }

    async fn edit_statistics_indicator(
        &self,
        edit: IndicatorEdit,
        indicator_version: Option<i64>,
        expected_version: i64,
        author: StatisticsAuthor,
    ) -> StoreResult<i64> {
        let save = job(move |c| {
            Box::pin(async move {
                bump_version(c, expected_version).await?;
                let held = c
                    .map("SELECT definition FROM statistics_indicators ORDER BY position", &args![], indicator)
                    .await?;
                let state = c.query_opt("SELECT area FROM statistics_state WHERE id = 1", &args![]).await?;
                let area: Option<String> = state.map(|row| row.cols().get()).transpose()?;
                // The rules that span indicators, checked on the catalogue as it is under the version's lock.
                let catalog = Catalog::edited(&held, edit.clone())?;
                Dataset::new(area.as_deref().unwrap_or(DEFAULT_AREA), catalog)?;
                let (new, added) = match edit {
                    IndicatorEdit::Add(i) => (i, true),
                    IndicatorEdit::Change(i) => (i, false),
                };
                let current = indicator_versions(c).await?.get(&new.code).copied().unwrap_or(0);
                if indicator_version.is_some_and(|v| v != current) {
                    return Err(indicator_changed(current).into());
                }
                let before = held.iter().find(|i| i.code == new.code).cloned();
                let definition = serde_json::to_string(&new).map_err(StoreError::backend)?;
                if added {
                    c.execute(
                        "INSERT INTO statistics_indicators (code, position, definition, updated_at, updated_by)
                         VALUES ($1, (SELECT COALESCE(MAX(position), -1) + 1 FROM statistics_indicators), $2, $3, $4)",
                        &args![new.code.as_str(), definition, &author.at, author.name.as_str()],
                    )
                    .await?;
                } else {
                    c.execute(
                        "UPDATE statistics_indicators SET definition = $2, updated_at = $3, updated_by = $4
                         WHERE code = $1",
                        &args![new.code.as_str(), definition, &author.at, author.name.as_str()],
                    )
                    .await?;
                }
                let action = if added { IndicatorAction::Added } else { IndicatorAction::Changed };
                let version = current + 1;
                append_indicator_history(c, &new.code, version, action, "editor", before.as_ref(), Some(&new), &author)
                    .await?;
                crate::changes::append(c, ChangeEntity::Statistics, &new.code, "catalog", &author.at).await?;
                Ok(version)
            })
        });
        self.db.write(save).await
    }

    async fn statistics_indicator_history(&self, code: &str) -> StoreResult<Vec<IndicatorChange>> {
        let code = code.to_owned();
        let read = job(move |c| {
            Box::pin(async move {
                c.map(
                    "SELECT code, version, action, via, definition_before, definition, at, by_name, by_user_id
                     FROM statistics_indicator_history WHERE code = $1 ORDER BY version",
                    &args![code.as_str()],
                    indicator_change,
                )
                .await
            })
        });
        self.db.read(read).await
    }

    async fn publish_statistics(
        &self,
        period: Period,
        panel: String,
        data_version: i64,
        author: StatisticsAuthor,
    ) -> StoreResult<PublicationEntry> {
        let publish = job(move |c| {
            Box::pin(async move {
                // Holds the state row (PostgreSQL's row lock) without moving the version: a write
                // after the snapshot was computed makes this refuse instead of publishing stale figures.
                if move_version(c, data_version, 0).await? == 0 {
                    return Err(statistics_changed().into());
                }
                let id: i64 = c
                    .query_one(
                        "INSERT INTO statistics_publications (year, months, data_version, panel, published_at,
                            by_user_id, by_name)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                        &args![
                            period.year,
                            period.months,
                            data_version,
                            panel,
                            &author.at,
                            author.user_id,
                            author.name.as_str()
                        ],
                    )
                    .await?
                    .cols()
                    .get()?;
                crate::changes::append(c, ChangeEntity::Statistics, &period.key(), "published", &author.at).await?;
                Ok(PublicationEntry {
                    id,
                    period,
                    data_version,
                    published_at: author.at,
                    by_name: author.name,
                    by_user_id: author.user_id,
                })
            })
        });
        self.db.write(publish).await
    }

    async fn statistics_publications(&self) -> StoreResult<Vec<PublicationEntry>> {
        let read = job(|c| {
            Box::pin(async move {
                let sql = format!("SELECT {PUBLICATION_COLUMNS} FROM statistics_publications ORDER BY id DESC");
                c.map(&sql, &args![], publication_entry).await
            })
        });
        self.db.read(read).await
    }

    async fn statistics_publication(&self, period: Option<Period>) -> StoreResult<Option<StatisticsPublication>> {
        let read = job(move |c| {
            Box::pin(async move {
                let row = match period {
                    Some(p) => {
                        let sql = format!(
                            "SELECT {PUBLICATION_COLUMNS}, panel FROM statistics_publications
                             WHERE year = $1 AND months = $2 ORDER BY id DESC LIMIT 1"
                        );
                        c.map_opt(&sql, &args![p.year, p.months], publication).await?
                    }
                    None => {
                        let sql = format!(
                            "SELECT {PUBLICATION_COLUMNS}, panel FROM statistics_publications
                             ORDER BY year DESC, months DESC, id DESC LIMIT 1"
                        );
                        c.map_opt(&sql, &args![], publication).await?
                    }
                };
                Ok(row)
            })
        });
        self.db.read(read).await
    }

    async fn statistics_history(&self, indicator: &str, period: Period) -> StoreResult<Vec<StatisticsChange>> {
        let indicator = indicator.to_owned();
        let read = job(move |c| {
            Box::pin(async move {
                let sql = format!(
                    "SELECT {HISTORY_COLUMNS} FROM statistics_value_history
                     WHERE indicator = $1 AND year = $2 AND months = $3 ORDER BY id"
                );
                c.map(&sql, &args![indicator.as_str(), period.year, period.months], history_entry).await
            })
        });
        self.db.read(read).await
    }
}

/// The area before any catalogue is saved.
const DEFAULT_AREA: &str = "全市";

/// Moves the data set from `expected` to the next version, or refuses if it moved meanwhile. The
/// state's row is made by the first write (version 0 has none); of two first writes at once, the
/// second's insert meets the first's row and does nothing.
async fn bump_version(c: &dyn Conn, expected: i64) -> StoreResult<i64> {
    let mut moved = move_version(c, expected, 1).await?;
    if moved == 0 && expected == 0 {
        moved = c
            .execute(
                "INSERT INTO statistics_state (id, version, area) VALUES (1, 1, $1) ON CONFLICT (id) DO NOTHING",
                &args![DEFAULT_AREA],
            )
            .await?;
    }
    if moved == 0 {
        return Err(statistics_changed().into());
    }
    Ok(expected + 1)
}

/// Moves the data set's version by `step` if it is still `expected` (a step of 0 only holds the
/// row); the number of rows changed, 0 when another write moved it first.
async fn move_version(c: &dyn Conn, expected: i64, step: i64) -> StoreResult<u64> {
    c.execute(
        "UPDATE statistics_state SET version = version + $2 WHERE id = 1 AND version = $1",
        &args![expected, step],
    )
    .await
}

async fn save_catalog(
    c: &dyn Conn,
    area: &str,
    indicators: Vec<Indicator>,
    expected_version: i64,
    author: StatisticsAuthor,
) -> StoreResult<i64> {
    let version = bump_version(c, expected_version).await?;
    c.execute("UPDATE statistics_state SET area = $1 WHERE id = 1", &args![area]).await?;
    let in_use: Vec<String> =
        c.map("SELECT DISTINCT indicator FROM statistics_values", &args![], |row| row.cols().get()).await?;
    if let Some(dropped) = in_use.iter().find(|code| !indicators.iter().any(|i| &i.code == *code)) {
        return Err(indicator_in_use(dropped).into());
    }
    let held = c.map("SELECT definition FROM statistics_indicators", &args![], indicator).await?;
    let versions = indicator_versions(c).await?;
    let next = |code: &str| versions.get(code).copied().unwrap_or(0) + 1;
    for gone in held.iter().filter(|h| !indicators.iter().any(|i| i.code == h.code)) {
        c.execute("DELETE FROM statistics_indicators WHERE code = $1", &args![gone.code.as_str()]).await?;
        let version = next(&gone.code);
        append_indicator_history(
            c,
            &gone.code,
            version,
            IndicatorAction::Removed,
            "data_file",
            Some(gone),
            None,
            &author,
        )
        .await?;
    }
    for new in &indicators {
        let before = held.iter().find(|h| h.code == new.code);
        let action = match before {
            None => IndicatorAction::Added,
            Some(before) if before != new => IndicatorAction::Changed,
            Some(_) => continue,
        };
        append_indicator_history(c, &new.code, next(&new.code), action, "data_file", before, Some(new), &author)
            .await?;
    }
    for (position, indicator) in indicators.iter().enumerate() {
        let definition = serde_json::to_string(indicator).map_err(StoreError::backend)?;
        c.execute(
            "INSERT INTO statistics_indicators (code, position, definition, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (code) DO UPDATE SET position = excluded.position, definition = excluded.definition,
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            &args![indicator.code.as_str(), position, definition, &author.at, author.name.as_str()],
        )
        .await?;
    }
    crate::changes::append(c, ChangeEntity::Statistics, "", "catalog", &author.at).await?;
    Ok(version)
}

async fn write_values(
    c: &dyn Conn,
    writes: Vec<StatisticsWrite>,
    imported: bool,
    expected_version: i64,
    author: StatisticsAuthor,
) -> StoreResult<StatisticsWritten> {
    let version = bump_version(c, expected_version).await?;
    let known: Vec<String> = c.map("SELECT code FROM statistics_indicators", &args![], |row| row.cols().get()).await?;
    let mut written = StatisticsWritten { version, ..StatisticsWritten::default() };
    for write in writes {
        let o = &write.observation;
        if !known.contains(&o.indicator) {
            return Err(unknown_indicator(&o.indicator).into());
        }
        let sql =
            format!("SELECT {VALUE_COLUMNS} FROM statistics_values WHERE indicator = $1 AND year = $2 AND months = $3");
        let held = c.map_opt(&sql, &args![o.indicator.as_str(), o.period.year, o.period.months], stored_value).await?;
        let action = match &held {
            Some(held) if held.observation == *o && held.source == write.source => {
                written.unchanged += 1;
                continue;
            }
            Some(_) => StatisticsAction::Corrected,
            None if imported => StatisticsAction::Imported,
            None => StatisticsAction::Entered,
        };
        let value_version = held.as_ref().map_or(1, |h| h.version + 1);
        upsert_value(c, &write, value_version, &author).await?;
        append_history(c, &write, held.as_ref().map(|h| &h.observation), value_version, action, &author).await?;
        let key = format!("{}:{}", o.indicator, o.period.key());
        crate::changes::append(c, ChangeEntity::Statistics, &key, action.as_str(), &author.at).await?;
        match action {
            StatisticsAction::Corrected => written.corrected += 1,
            _ => written.new += 1,
        }
    }
    Ok(written)
}

async fn upsert_value(
    c: &dyn Conn,
    write: &StatisticsWrite,
    version: i64,
    author: &StatisticsAuthor,
) -> StoreResult<()> {
    let o = &write.observation;
    c.execute(
        "INSERT INTO statistics_values (indicator, year, months, value, price_index, real_growth, source, version,
            entered_at, entered_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (indicator, year, months) DO UPDATE SET value = excluded.value,
             price_index = excluded.price_index, real_growth = excluded.real_growth, source = excluded.source,
             version = excluded.version, entered_at = excluded.entered_at, entered_by = excluded.entered_by",
        &args![
            o.indicator.as_str(),
            o.period.year,
            o.period.months,
            o.value,
            o.price_index,
            o.real_growth,
            write.source.as_deref(),
            version,
            &author.at,
            author.name.as_str()
        ],
    )
    .await
    .map(drop)
}

async fn append_history(
    c: &dyn Conn,
    write: &StatisticsWrite,
    before: Option<&Observation>,
    version: i64,
    action: StatisticsAction,
    author: &StatisticsAuthor,
) -> StoreResult<()> {
    let o = &write.observation;
    c.execute(
        "INSERT INTO statistics_value_history (indicator, year, months, version, action, value_before,
            price_index_before, real_growth_before, value, price_index, real_growth, source, note, at, by_user_id,
            by_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        &args![
            o.indicator.as_str(),
            o.period.year,
            o.period.months,
            version,
            action.as_str(),
            before.map(|b| b.value),
            before.and_then(|b| b.price_index),
            before.and_then(|b| b.real_growth),
            o.value,
            o.price_index,
            o.real_growth,
            write.source.as_deref(),
            write.note.as_deref(),
            &author.at,
            author.user_id,
            author.name.as_str()
        ],
    )
    .await
    .map(drop)
}

/// Each indicator's version: the number of its history entries.
async fn indicator_versions(c: &dyn Conn) -> StoreResult<BTreeMap<String, i64>> {
    let pairs = c
        .map("SELECT code, MAX(version) FROM statistics_indicator_history GROUP BY code", &args![], |row| {
            let mut cols = row.cols();
            Ok((cols.get()?, cols.get()?))
        })
        .await?;
    Ok(pairs.into_iter().collect())
}

#[allow(clippy::too_many_arguments)] // one history row's columns
async fn append_indicator_history(
    c: &dyn Conn,
    code: &str,
    version: i64,
    action: IndicatorAction,
    via: &str,
    before: Option<&Indicator>,
    after: Option<&Indicator>,
    author: &StatisticsAuthor,
) -> StoreResult<()> {
    let json = |i: Option<&Indicator>| i.map(serde_json::to_string).transpose().map_err(StoreError::backend);
    c.execute(
        "INSERT INTO statistics_indicator_history (code, version, action, via, definition_before, definition, at,
            by_user_id, by_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &args![
            code,
            version,
            action.as_str(),
            via,
            json(before)?,
            json(after)?,
            &author.at,
            author.user_id,
            author.name.as_str()
        ],
    )
    .await
    .map(drop)
}

fn indicator_change(row: Row) -> StoreResult<IndicatorChange> {
    let mut c = row.cols();
    let code: String = c.get()?;
    let version = c.get()?;
    let action: String = c.get()?;
    let action = IndicatorAction::parse(&action).ok_or_else(|| bad("statistics indicator action", &action))?;
    let via = c.get()?;
    let definition = |text: Option<String>| {
        text.map(|t| serde_json::from_str(&t).map_err(|e| bad("statistics indicator", &e.to_string()))).transpose()
    };
    let before = definition(c.get()?)?;
    let after = definition(c.get()?)?;
    Ok(IndicatorChange {
        code,
        version,
        action,
        via,
        before,
        after,
        at: c.get()?,
        by_name: c.get()?,
        by_user_id: c.get()?,
    })
}

const PUBLICATION_COLUMNS: &str = "id, year, months, data_version, published_at, by_name, by_user_id";

fn publication_entry(row: Row) -> StoreResult<PublicationEntry> {
    let mut c = row.cols();
    let id = c.get()?;
    let period = period(c.get()?, c.get()?)?;
    Ok(PublicationEntry {
        id,
        period,
        data_version: c.get()?,
        published_at: c.get()?,
        by_name: c.get()?,
        by_user_id: c.get()?,
    })
}

fn publication(row: Row) -> StoreResult<StatisticsPublication> {
    let mut c = row.cols();
    let id = c.get()?;
    let period = period(c.get()?, c.get()?)?;
    let entry = PublicationEntry {
        id,
        period,
        data_version: c.get()?,
        published_at: c.get()?,
        by_name: c.get()?,
        by_user_id: c.get()?,
    };
    Ok(StatisticsPublication { entry, panel: c.get()? })
}

fn indicator(row: Row) -> StoreResult<Indicator> {
    let definition: String = row.cols().get()?;
    serde_json::from_str(&definition).map_err(|e| bad("statistics indicator", &e.to_string()))
}

fn period(year: i64, months: i64) -> StoreResult<Period> {
    i32::try_from(year)
        .ok()
        .zip(u8::try_from(months).ok())
        .and_then(|(y, m)| Period::new(y, m))
        .ok_or_else(|| bad("statistics period", &format!("{year}/{months}")))
}

const VALUE_COLUMNS: &str =
    "indicator, year, months, value, price_index, real_growth, source, version, entered_at, entered_by";

fn stored_value(row: Row) -> StoreResult<StatisticsValue> {
    let mut c = row.cols();
    let indicator: String = c.get()?;
    let period = period(c.get()?, c.get()?)?;
    let observation = Observation { indicator, period, value: c.get()?, price_index: c.get()?, real_growth: c.get()? };
    Ok(StatisticsValue { observation, source: c.get()?, version: c.get()?, entered_at: c.get()?, entered_by: c.get()? })
}

const HISTORY_COLUMNS: &str = "indicator, year, months, version, action, value_before, price_index_before,
    real_growth_before, value, price_index, real_growth, source, note, at, by_name, by_user_id";

fn history_entry(row: Row) -> StoreResult<StatisticsChange> {
    let mut c = row.cols();
    let indicator: String = c.get()?;
    let period = period(c.get()?, c.get()?)?;
    let version = c.get()?;
    let action: String = c.get()?;
    let action = StatisticsAction::parse(&action).ok_or_else(|| bad("statistics action", &action))?;
    let (value_before, price_index_before, real_growth_before): (Option<f64>, Option<f64>, Option<f64>) =
        (c.get()?, c.get()?, c.get()?);
    let before = value_before.map(|value| Observation {
        indicator: indicator.clone(),
        period,
        value,
        price_index: price_index_before,
        real_growth: real_growth_before,
    });
    let after = Observation {
        indicator: indicator.clone(),
        period,
        value: c.get()?,
        price_index: c.get()?,
        real_growth: c.get()?,
    };
    Ok(StatisticsChange {
        indicator,
        period,
        version,
        action,
        before,
        after,
        source: c.get()?,
        note: c.get()?,
        at: c.get()?,
        by_name: c.get()?,
        by_user_id: c.get()?,
    })
}
