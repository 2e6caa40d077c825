//! Online monitoring, written once for both databases: points with their
//! history, readings deduplicated by their unique key (MN, data time,
//! command, parameter) with `ON CONFLICT DO NOTHING`, and the alerts new
//! readings raise, written with them in one transaction.

use mashangban_domain::environment::Exceedance;
use mashangban_domain::error::DomainError;
use mashangban_domain::inbox::{Notice, NoticeEvent};
use mashangban_domain::monitoring::{
    AlertState, Bucket, MAX_READINGS_PER_BATCH, NewReading, OutageKind, ParkInput, PointInput, PointKind, ReadingKind,
    alert_not_found, hour_key, park_not_found, point_not_found, valid_flag, whole_hours,
};
use mashangban_domain::time::{Instant, format_instant};
use mashangban_store::{
    ChangeEntity, MonitoringActor, MonitoringAlert, MonitoringDevice, MonitoringEvent, MonitoringOutage,
    MonitoringPark, MonitoringPoint, MonitoringStore, ReadingAggregate, ReadingQuery, ReceiverCount, StoreError,
    StoreResult, StoredBatch, StoredReading,
};

use crate::rows::json_text;
use crate::sql::{Args, Conn, Database, Row, Value, bad, job};
use crate::{SqlStore, args};

impl<D: Database> MonitoringStore for SqlStore<D> {
    async fn create_monitoring_point(
        &self,
        input: PointInput,
        password_hash: String,
        at: Instant,
        by: MonitoringActor,
    ) -> StoreResult<MonitoringPoint> {
        let create = job(move |c| Box::pin(async move { create_point(c, input, password_hash, at, by).await }));
        self.db.write(create).await
    }

    async fn update_monitoring_point(
        &self,
        code: &str,
        input: PointInput,
        password_hash: Option<String>,
        expected_version: Option<i64>,
        at: Instant,
        by: MonitoringActor,
    ) -> StoreResult<MonitoringPoint> {
        let code = code.to_owned();
        let update = job(move |c| {
            Box::pin(async move { update_point(c, &code, input, password_hash, expected_version, at, by).await })
        });
        self.db.write(update).await
    }

    async fn monitoring_point(&self, code: &str) -> StoreResult<Option<MonitoringPoint>> {
        let code = code.to_owned();
        self.db.read(job(move |c| Box::pin(async move { load_point(c, "code", code.into(), false).await }))).await
    }

    async fn monitoring_point_by_id(&self, id: i64) -> StoreResult<Option<MonitoringPoint>> {
        self.db.read(job(move |c| Box::pin(async move { load_point(c, "id", id.into(), false).await }))).await
    }

    async fn monitoring_points(&self) -> StoreResult<Vec<MonitoringPoint>> {
        let list = job(move |c| {
            Box::pin(async move {
                let sql = format!("SELECT {POINT_COLUMNS} FROM monitoring_points p ORDER BY p.code");
                c.map(&sql, &[], point).await
            })
        });
        self.db.read(list).await
    }

    async fn monitoring_device(&self, mn: &str) -> StoreResult<Option<MonitoringDevice>> {
        let mn = mn.to_owned();
        let read = job(move |c| {
            Box::pin(async move {
                let sql = format!(
                    "SELECT {POINT_COLUMNS}, p.password_hash FROM monitoring_points p
                     WHERE p.mn = $1 AND p.retired_at IS NULL"
                );
                c.map_opt(&sql, &args![mn.as_str()], |row| {
                    let mut row = row;
                    let hash: String = row.take(row.len() - 1)?;
                    Ok(MonitoringDevice { point: point(row)?, password_hash: hash })
                })
                .await
            })
        });
        self.db.read(read).await
    }

    async fn monitoring_point_events(&self, point_id: i64) -> StoreResult<Vec<MonitoringEvent>> {
        let read = job(move |c| {
            Box::pin(async move {
                c.map(
                    "SELECT kind, at, by_name, note FROM monitoring_point_events WHERE point_id = $1 ORDER BY id",
                    &args![point_id],
                    event,
                )
                .await
            })
        });
        self.db.read(read).await
    }

    async fn insert_readings(&self, readings: Vec<NewReading>, at: Instant) -> StoreResult<StoredBatch> {
        if readings.len() > MAX_READINGS_PER_BATCH {
            return Err(DomainError::invalid(
                "too_many_readings",
                format!("一批最多{MAX_READINGS_PER_BATCH}条数据，这一批有{}条", readings.len()),
            )
            .into());
        }
        if readings.is_empty() {
            return Ok(StoredBatch::default());
        }
        self.db.write(job(move |c| Box::pin(async move { insert_batch(c, &readings, &at).await }))).await
    }

    async fn readings(&self, query: ReadingQuery, limit: u32) -> StoreResult<Vec<StoredReading>> {
        let read = job(move |c| {
            Box::pin(async move {
                let sql = format!(
                    "SELECT {READING_COLUMNS} FROM monitoring_readings
                     WHERE point_id = $1 AND parameter = $2 AND cn = $3 AND data_time >= $4 AND data_time < $5
                     ORDER BY data_time LIMIT $6"
                );
                let values = args![
                    query.point_id,
                    query.parameter.as_str(),
                    query.kind.cn(),
                    &query.from,
                    &query.to,
                    limit.clamp(1, 10_000)
                ];
                c.map(&sql, &values, reading).await
            })
        });
        self.db.read(read).await
    }

    async fn reading_aggregates(&self, query: ReadingQuery, bucket: Bucket) -> StoreResult<Vec<ReadingAggregate>> {
        let read = job(move |c| Box::pin(async move { series_aggregates(c, &query, bucket).await }));
        self.db.read(read).await
    }

    async fn latest_readings(&self, point_id: i64) -> StoreResult<Vec<StoredReading>> {
        let read = job(move |c| {
            Box::pin(async move {
                let sql = format!(
                    "SELECT {READING_COLUMNS} FROM monitoring_readings r
                     WHERE r.point_id = $1 AND r.id = (
                        SELECT l.id FROM monitoring_readings l
                        WHERE l.point_id = r.point_id AND l.parameter = r.parameter
                        ORDER BY l.data_time DESC, l.id DESC LIMIT 1)
                     ORDER BY r.parameter"
                );
                c.map(&sql, &args![point_id], reading).await
            })
        });
        self.db.read(read).await
    }

    async fn monitoring_alerts(
        &self,
        state: Option<AlertState>,
        point_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<MonitoringAlert>> {
        let read = job(move |c| {
            Box::pin(async move {
                let mut args = Args::default();
                let mut conditions = vec!["TRUE".to_owned()];
                if let Some(state) = state {
                    conditions.push(format!("a.state = {}", args.push(state.code())));
                }
                if let Some(point_id) = point_id {
                    conditions.push(format!("a.point_id = {}", args.push(point_id)));
                }
                let limit = args.push(limit.clamp(1, 5000));
                let sql = format!(
                    "SELECT {ALERT_COLUMNS} FROM monitoring_alerts a WHERE {} ORDER BY a.id DESC LIMIT {limit}",
                    conditions.join(" AND ")
                );
                c.map(&sql, args.values(), alert).await
            })
        });
        self.db.read(read).await
    }

    async fn monitoring_alert(&self, id: i64) -> StoreResult<Option<MonitoringAlert>> {
        self.db.read(job(move |c| Box::pin(async move { load_alert(c, id, false).await }))).await
    }

    async fn monitoring_alert_events(&self, alert_id: i64) -> StoreResult<Vec<MonitoringEvent>> {
        let read = job(move |c| {
            Box::pin(async move {
                c.map(
                    "SELECT kind, at, by_name, note FROM monitoring_alert_events WHERE alert_id = $1 ORDER BY id",
                    &args![alert_id],
                    event,
                )
                .await
            })
        });
        self.db.read(read).await
    }

    async fn dismiss_monitoring_alert(
        &self,
        id: i64,
        reason: String,
        at: Instant,
        by: MonitoringActor,
    ) -> StoreResult<MonitoringAlert> {
        let dismiss = job(move |c| {
            Box::pin(async move {
                let found = load_alert(c, id, true).await?.ok_or_else(alert_not_found)?;
                if found.state != AlertState::Open {
                    return Err(DomainError::conflict(
                        "alert_not_open",
                        format!("报警当前为「{}」，不能再排除", found.state.label()),
                    )
                    .into());
                }
                c.execute(
                    "UPDATE monitoring_alerts SET state = 'dismissed', closed_at = $2, reason = $3, version = version + 1
                     WHERE id = $1",
                    &args![id, &at, reason.as_str()],
                )
                .await?;
                alert_event(c, id, "dismissed", &at, &by, Some(&reason)).await?;
                let key = found.point_id.to_string();
                crate::changes::append(c, ChangeEntity::Monitoring, &key, "alert_dismissed", &at).await?;
                load_alert(c, id, false).await?.ok_or_else(|| alert_not_found().into())
            })
        });
        self.db.write(dismiss).await
    }

    async fn open_monitoring_outage(
        &self,
        point_id: i64,
        kind: OutageKind,
        since: Instant,
        at: Instant,
    ) -> StoreResult<Option<MonitoringOutage>> {
        let open = job(move |c| {
            Box::pin(async move {
                let point = load_point(c, "id", point_id.into(), false).await?.ok_or_else(point_not_found)?;
                // The partial unique key (one open outage per point) makes it once across rescans and nodes.
                let id: Option<i64> = c
                    .scalar_opt(
                        "INSERT INTO monitoring_outages (point_id, kind, since, opened_at)
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
                        &args![point_id, kind.as_str(), &since, &at],
                    )
                    .await?;
                let Some(id) = id else { return Ok(None) };
                let note = format!(
                    "数据缺失：{}，自 {} 起超过{}分钟没有有效数据",
                    kind.label(),
                    mashangban_domain::time::format_instant(&since),
                    point.offline_after_minutes
                );
                point_event(c, point_id, "offline", &at, &platform(), Some(&note)).await?;
                let notice = Notice {
                    event: NoticeEvent::DataMissing,
                    key: format!("monitoring-outage-{id}"),
                    title: format!("{}（{}）{note}", point.name, point.code),
                    link: format!("/monitoring/{}", point.code),
                    units: vec![point.unit_id],
                };
                crate::inbox::notify(c, &notice, None, &at).await?;
                crate::changes::append(c, ChangeEntity::Monitoring, &point_id.to_string(), "outage_opened", &at)
                    .await?;
                c.map_opt(&format!("{OUTAGE_SELECT} WHERE id = $1"), &args![id], outage).await
            })
        });
        self.db.write(open).await
    }

    async fn put_monitoring_park(&self, input: ParkInput, at: Instant) -> StoreResult<MonitoringPark> {
        self.db.write(job(move |c| Box::pin(async move { put_park(c, input, at).await }))).await
    }

    async fn monitoring_parks(&self) -> StoreResult<Vec<MonitoringPark>> {
        let read =
            job(move |c| Box::pin(async move { c.map(&format!("{PARK_SELECT} ORDER BY code"), &[], park).await }));
        self.db.read(read).await
    }

    async fn monitoring_park(&self, code: &str) -> StoreResult<Option<MonitoringPark>> {
        let code = code.to_owned();
        let read = job(move |c| {
            Box::pin(
                async move { c.map_opt(&format!("{PARK_SELECT} WHERE code = $1"), &args![code.as_str()], park).await },
            )
        });
        self.db.read(read).await
    }

    async fn hourly_counts_by_day(
        &self,
        series: Vec<(i64, String)>,
        from: Instant,
        to: Instant,
    ) -> StoreResult<Vec<(String, i64)>> {
        let read = job(move |c| {
            Box::pin(async move {
                let mut days: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
                // One range of the rollup per (point, parameter): fast however long the history.
                for (point_id, parameter) in series {
                    let query = ReadingQuery { point_id, parameter, kind: ReadingKind::Hour, from, to };
                    for day in series_aggregates(c, &query, Bucket::Day).await? {
                        *days.entry(day.bucket).or_insert(0) += day.count;
                    }
                }
                Ok(days.into_iter().collect())
            })
        });
        self.db.read(read).await
    }

    async fn retire_monitoring_point(
        &self,
        code: &str,
        reason: String,
        expected_version: Option<i64>,
        at: Instant,
        by: MonitoringActor,
    ) -> StoreResult<MonitoringPoint> {
        let code = code.to_owned();
        let retire = job(move |c| {
            Box::pin(async move {
                let found = load_point(c, "code", code.into(), true).await?.ok_or_else(point_not_found)?;
                check_changeable(&found, expected_version)?;
                c.execute(
                    "UPDATE monitoring_points SET retired_at = $2, version = version + 1, updated_at = $2 WHERE id = $1",
                    &args![found.id, &at],
                )
                .await?;
                point_event(c, found.id, "retired", &at, &by, Some(&reason)).await?;
                crate::changes::append(c, ChangeEntity::Monitoring, &found.id.to_string(), "retired", &at).await?;
                load_point(c, "id", found.id.into(), false).await?.ok_or_else(|| point_not_found().into())
            })
        });
        self.db.write(retire).await
    }

    async fn add_receiver_counts(&self, counts: Vec<ReceiverCount>) -> StoreResult<()> {
        // One row per key in each statement (PostgreSQL refuses to update a row twice in one INSERT).
        let mut merged: std::collections::BTreeMap<(String, String, String), i64> = std::collections::BTreeMap::new();
        for n in counts.into_iter().filter(|n| n.count > 0) {
            *merged.entry((n.source, n.bucket, n.counter)).or_insert(0) += n.count;
        }
        if merged.is_empty() {
            return Ok(());
        }
        let rows: Vec<((String, String, String), i64)> = merged.into_iter().collect();
        let add = job(move |c| {
            Box::pin(async move {
                for chunk in rows.chunks(RECEIVER_COUNT_ROWS_PER_STATEMENT) {
                    let mut values = Vec::with_capacity(chunk.len());
                    let mut args: Vec<Value> = Vec::with_capacity(chunk.len() * 4);
                    for ((source, bucket, counter), count) in chunk {
                        let n = args.len();
                        values.push(format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4));
                        args.extend([
                            source.clone().into(),
                            bucket.clone().into(),
                            counter.clone().into(),
                            (*count).into(),
                        ]);
                    }
                    let sql = format!(
                        "INSERT INTO monitoring_receiver_counts (source, bucket, counter, count) VALUES {}
                         ON CONFLICT (source, bucket, counter)
                         DO UPDATE SET count = monitoring_receiver_counts.count + EXCLUDED.count",
                        values.join(", ")
                    );
                    c.execute(&sql, &args).await?;
                }
                Ok(())
            })
        });
        self.db.write(add).await
    }

    async fn receiver_totals(&self, since: String) -> StoreResult<Vec<(String, String, i64)>> {
        let read = job(move |c| {
            Box::pin(async move {
                c.map(
                    "SELECT source, counter, CAST(SUM(count) AS BIGINT) FROM monitoring_receiver_counts WHERE bucket >= $1
                     GROUP BY source, counter ORDER BY source, counter",
                    &args![since.as_str()],
                    |row| {
                        let mut c = row.cols();
                        Ok((c.get()?, c.get()?, c.get()?))
                    },
                )
                .await
            })
        });
        self.db.read(read).await
    }

    async fn monitoring_outages(
        &self,
        open_only: bool,
        point_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<MonitoringOutage>> {
        let read = job(move |c| {
            Box::pin(async move {
                let mut w = crate::sql::Filter::default();
                if open_only {
                    w.clause("recovered_at IS NULL".into());
                }
                if let Some(id) = point_id {
                    w.eq("point_id", id);
                }
                let limit = w.mark(i64::from(limit.clamp(1, 5000)));
                let sql = format!("{OUTAGE_SELECT} {} ORDER BY id DESC LIMIT {limit}", w.where_sql());
                c.map(&sql, &w.values, outage).await
            })
        });
        self.db.read(read).await
    }
}

const PARK_SELECT: &str = "SELECT id, code, name, unit_id, description, facilities, created_at, updated_at, version
    FROM monitoring_parks";

fn park(row: Row) -> StoreResult<MonitoringPark> {
    let mut c = row.cols();
    Ok(MonitoringPark {
        id: c.get()?,
        code: c.get()?,
        name: c.get()?,
        unit_id: c.get()?,
        description: c.get()?,
        facilities: c.json()?,
        created_at: c.get()?,
        updated_at: c.get()?,
        version: c.get()?,
    })
}

async fn put_park(c: &dyn Conn, input: ParkInput, at: Instant) -> StoreResult<MonitoringPark> {
    let mut missing = Vec::new();
    for code in &input.points {
        if c.query_opt("SELECT 1 FROM monitoring_points WHERE code = $1", &args![code.as_str()]).await?.is_none() {
            missing.push(code.as_str());
        }
    }
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(10).copied().collect();
        return Err(DomainError::invalid("unknown_point", format!("没有这些监测点位：{}", shown.join("、"))).into());
    }
    let facilities = json_text(&input.facilities)?;
    let updated = c
        .execute(
            "UPDATE monitoring_parks SET name = $2, unit_id = $3, description = $4, facilities = $5, updated_at = $6,
                version = version + 1
             WHERE code = $1",
            &args![
                input.code.as_str(),
                input.name.as_str(),
                input.unit_id,
                input.description.as_deref(),
                facilities.as_str(),
                &at
            ],
        )
        .await?;
    if updated == 0 {
        // The unique code decides between two nodes creating the same park at once.
        c.execute(
            "INSERT INTO monitoring_parks (code, name, unit_id, description, facilities, created_at, updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $6, 1)",
            &args![input.code.as_str(), input.name.as_str(), input.unit_id, input.description.as_deref(), facilities.as_str(), &at],
        )
        .await?;
    }
    let found = c
        .map_opt(&format!("{PARK_SELECT} WHERE code = $1"), &args![input.code.as_str()], park)
        .await?
        .ok_or_else(park_not_found)?;
    c.execute("UPDATE monitoring_points SET park_id = NULL WHERE park_id = $1", &args![found.id]).await?;
    for code in &input.points {
        c.execute("UPDATE monitoring_points SET park_id = $2 WHERE code = $1", &args![code.as_str(), found.id]).await?;
    }
    Ok(found)
}

const OUTAGE_SELECT: &str = "SELECT id, point_id, kind, since, opened_at, recovered_at FROM monitoring_outages";

fn outage(row: Row) -> StoreResult<MonitoringOutage> {
    let mut c = row.cols();
    Ok(MonitoringOutage {
        id: c.get()?,
        point_id: c.get()?,
        kind: c.code(OutageKind::parse)?,
        since: c.get()?,
        opened_at: c.get()?,
        recovered_at: c.get()?,
    })
}

/// Refusals of a point's references, checked before writing for a Chinese message.
async fn check_references(c: &dyn Conn, input: &PointInput, except_id: Option<i64>) -> StoreResult<()> {
    if let Some(code) = &input.credit_code
        && c.query_opt("SELECT 1 FROM enterprises WHERE credit_code = $1", &args![code.as_str()]).await?.is_none()
    {
        return Err(DomainError::invalid("unknown_enterprise", "企业名录中没有这个统一社会信用代码").into());
    }
    if let Some(item) = input.ledger_item_id
        && c.query_opt("SELECT 1 FROM ledger_items WHERE id = $1", &args![item]).await?.is_none()
    {
        return Err(DomainError::invalid("unknown_ledger_item", "台账中没有这个条目").into());
    }
    if c.query_opt("SELECT 1 FROM units WHERE id = $1 AND active", &args![input.unit_id]).await?.is_none() {
        return Err(DomainError::invalid("unknown_unit", "责任单位不在组织架构中").into());
    }
    let taken: Option<i64> =
        c.scalar_opt("SELECT id FROM monitoring_points WHERE mn = $1", &args![input.mn.as_str()]).await?;
    if taken.is_some_and(|id| Some(id) != except_id) {
        return Err(mn_taken(&input.mn));
    }
    Ok(())
}

/// Rows of receiver counts one statement adds (four values each).
const RECEIVER_COUNT_ROWS_PER_STATEMENT: usize = 200;

/// A point may change while not retired and, when the change names a version, at that version.
fn check_changeable(found: &MonitoringPoint, expected_version: Option<i64>) -> StoreResult<()> {
    if found.retired_at.is_some() {
        return Err(DomainError::conflict("monitoring_point_retired", "点位已停用，不能再修改").into());
    }
    if expected_version.is_some_and(|v| v != found.version) {
        return Err(DomainError::conflict("monitoring_point_changed", "点位已被他人修改，请刷新后重试").into());
    }
    Ok(())
}

fn mn_taken(mn: &str) -> StoreError {
    DomainError::conflict("monitoring_mn_taken", format!("设备MN号「{mn}」已被其他点位使用")).into()
}

fn point_exists(code: &str) -> StoreError {
    DomainError::conflict("monitoring_point_exists", format!("点位编号「{code}」已存在")).into()
}

async fn create_point(
    c: &dyn Conn,
    input: PointInput,
    password_hash: String,
    at: Instant,
    by: MonitoringActor,
) -> StoreResult<MonitoringPoint> {
    if c.query_opt("SELECT 1 FROM monitoring_points WHERE code = $1", &args![input.code.as_str()]).await?.is_some() {
        return Err(point_exists(&input.code));
    }
    check_references(c, &input, None).await?;
    // The unique keys decide between two nodes creating the same code or MN at once.
    let id: Option<i64> = c
        .scalar_opt(
            "INSERT INTO monitoring_points (code, name, kind, credit_code, ledger_item_id, mn, password_hash,
                standard_code, grade, permit_limits, parameters, unit_id, version, created_at, updated_at,
                offline_after_minutes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13, $14)
             ON CONFLICT DO NOTHING RETURNING id",
            &args![
                input.code.as_str(),
                input.name.as_str(),
                input.kind.code(),
                input.credit_code.as_deref(),
                input.ledger_item_id,
                input.mn.as_str(),
                password_hash,
                input.standard.as_str(),
                i64::from(input.grade),
                json_text(&input.permit_limits)?,
                json_text(&input.parameters)?,
                input.unit_id,
                &at,
                i64::from(input.offline_after_minutes)
            ],
        )
        .await?;
    let id = id.ok_or_else(|| point_exists(&input.code))?;
    point_event(c, id, "created", &at, &by, None).await?;
    crate::changes::append(c, ChangeEntity::Monitoring, &id.to_string(), "created", &at).await?;
    load_point(c, "id", id.into(), false).await?.ok_or_else(|| point_not_found().into())
}

async fn update_point(
    c: &dyn Conn,
    code: &str,
    input: PointInput,
    password_hash: Option<String>,
    expected_version: Option<i64>,
    at: Instant,
    by: MonitoringActor,
) -> StoreResult<MonitoringPoint> {
    let found = load_point(c, "code", code.into(), true).await?.ok_or_else(point_not_found)?;
    check_changeable(&found, expected_version)?;
    check_references(c, &input, Some(found.id)).await?;
    let changed = c
        .execute(
            "UPDATE monitoring_points SET name = $2, kind = $3, credit_code = $4, ledger_item_id = $5, mn = $6,
                password_hash = COALESCE($7, password_hash), standard_code = $8, grade = $9, permit_limits = $10,
                parameters = $11, unit_id = $12, version = version + 1, updated_at = $13, offline_after_minutes = $14
             WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM monitoring_points o WHERE o.mn = $6 AND o.id <> $1)",
            &args![
                found.id,
                input.name.as_str(),
                input.kind.code(),
                input.credit_code.as_deref(),
                input.ledger_item_id,
                input.mn.as_str(),
                password_hash.as_deref(),
                input.standard.as_str(),
                i64::from(input.grade),
                json_text(&input.permit_limits)?,
                json_text(&input.parameters)?,
                input.unit_id,
                &at,
                i64::from(input.offline_after_minutes)
            ],
        )
        .await?;
    if changed == 0 {
        return Err(mn_taken(&input.mn));
    }
    let note = changes_note(&found, &input, password_hash.is_some());
    point_event(c, found.id, "updated", &at, &by, note.as_deref()).await?;
    crate::changes::append(c, ChangeEntity::Monitoring, &found.id.to_string(), "updated", &at).await?;
    load_point(c, "id", found.id.into(), false).await?.ok_or_else(|| point_not_found().into())
}

/// Which fields an update changed, for the history (never the password itself).
fn changes_note(before: &MonitoringPoint, after: &PointInput, password: bool) -> Option<String> {
    let mut fields = Vec::new();
    let mut note = |changed: bool, label: &str| {
        if changed {
            fields.push(label.to_owned());
        }
    };
    note(before.name != after.name, "名称");
    note(before.kind != after.kind, "类型");
    note(before.credit_code != after.credit_code, "企业");
    note(before.ledger_item_id != after.ledger_item_id, "台账条目");
    note(before.mn != after.mn, "设备MN号");
    note(password, "设备密码");
    note(before.standard != after.standard || before.grade != after.grade, "执行标准");
    note(before.permit_limits != after.permit_limits, "许可限值");
    note(before.parameters != after.parameters, "监测因子");
    note(before.unit_id != after.unit_id, "责任单位");
    note(before.offline_after_minutes != after.offline_after_minutes, "数据缺失报警时限");
    (!fields.is_empty()).then(|| format!("修改了{}", fields.join("、")))
}

async fn point_event(
    c: &dyn Conn,
    point_id: i64,
    kind: &str,
    at: &Instant,
    by: &MonitoringActor,
    note: Option<&str>,
) -> StoreResult<()> {
    let entry = Entry { kind, at, by_name: by.name.as_str(), by_user: by.user_id, note };
    write_entry(c, &crate::audit::MONITORING_POINTS, "monitoring_point_events (point_id", point_id, entry).await
}

async fn alert_event(
    c: &dyn Conn,
    alert_id: i64,
    kind: &str,
    at: &Instant,
    by: &MonitoringActor,
    note: Option<&str>,
) -> StoreResult<()> {
    alert_entry(c, alert_id, Entry { kind, at, by_name: by.name.as_str(), by_user: by.user_id, note }).await
}

/// An entry of a point's or an alert's history.
pub(crate) struct Entry<'a> {
    pub kind: &'a str,
    pub at: &'a Instant,
    pub by_name: &'a str,
    pub by_user: Option<i64>,
    pub note: Option<&'a str>,
}

/// Writes and seals an entry of an alert's history (here and when a case is opened from it).
pub(crate) async fn alert_entry(c: &dyn Conn, alert_id: i64, entry: Entry<'_>) -> StoreResult<()> {
    write_entry(c, &crate::audit::MONITORING_ALERTS, "monitoring_alert_events (alert_id", alert_id, entry).await
}

/// Writes and seals `entry` of record `owner` in `history` (`table`: the events table and its
/// record column, as an INSERT names them); the record's row is locked first, so its chain of
/// seals has one writer at a time.
async fn write_entry(
    c: &dyn Conn,
    history: &crate::audit::SealedHistory,
    table: &str,
    owner: i64,
    entry: Entry<'_>,
) -> StoreResult<()> {
    history.lock(c, owner).await?;
    let Entry { kind, at, by_name, by_user, note } = entry;
    let sql =
        format!("INSERT INTO {table}, kind, at, by_name, by_user, note) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id");
    let id: i64 = c.scalar(&sql, &args![owner, kind, at, by_name, by_user, note]).await?;
    history.seal(c, owner, id).await
}

/// The receiver and the upload raise alerts; their history names the platform.
fn platform() -> MonitoringActor {
    MonitoringActor { user_id: None, name: "在线监测平台".into() }
}

/// Rows of one multi-row reading insert: 10 arguments each, well under both databases' limits.
const INSERT_ROWS: usize = 200;

async fn insert_batch(c: &dyn Conn, readings: &[NewReading], at: &Instant) -> StoreResult<StoredBatch> {
    let mut batch = StoredBatch::default();
    let mut stored = Vec::with_capacity(readings.len());
    for chunk in readings.chunks(INSERT_ROWS) {
        stored.extend(insert_readings_once(c, chunk, at).await?);
    }
    batch.duplicates = (readings.len() - stored.len()) as u64;
    batch.inserted = stored.len() as u64;
    add_to_hours(c, stored.iter().map(|(_, r)| *r)).await?;
    // The newest data time among the new readings of each point.
    let mut newest: std::collections::BTreeMap<i64, Instant> = std::collections::BTreeMap::new();
    // The newest data time among the new readings flagged normal, of each point.
    let mut newest_valid: std::collections::BTreeMap<i64, Instant> = std::collections::BTreeMap::new();
    for (reading_id, r) in stored {
        let slot = newest.entry(r.point_id).or_insert(r.data_time);
        *slot = (*slot).max(r.data_time);
        if valid_flag(r.flag.as_deref()) {
            let slot = newest_valid.entry(r.point_id).or_insert(r.data_time);
            *slot = (*slot).max(r.data_time);
        }
        if let Some(exceedance) = &r.exceedance {
            batch.alerts.push(open_alert(c, r, reading_id, exceedance, at).await?);
        }
    }
    for (point_id, time) in newest {
        // Stored times share one offset and width, so text order is time order.
        c.execute(
            "UPDATE monitoring_points SET last_reading_at = $2
             WHERE id = $1 AND (last_reading_at IS NULL OR last_reading_at < $2)",
            &args![point_id, &time],
        )
        .await?;
    }
    for (point_id, time) in newest_valid {
        c.execute(
            "UPDATE monitoring_points SET last_valid_at = $2
             WHERE id = $1 AND (last_valid_at IS NULL OR last_valid_at < $2)",
            &args![point_id, &time],
        )
        .await?;
        // Valid data ends the point's outage, if one is open.
        let ended = c
            .execute(
                "UPDATE monitoring_outages SET recovered_at = $2 WHERE point_id = $1 AND recovered_at IS NULL",
                &args![point_id, at],
            )
            .await?;
        if ended > 0 {
            let note = format!("数据恢复（数据时间 {}）", mashangban_domain::time::format_instant(&time));
            point_event(c, point_id, "online", at, &platform(), Some(&note)).await?;
            crate::changes::append(c, ChangeEntity::Monitoring, &point_id.to_string(), "outage_recovered", at).await?;
            batch.recovered.push(point_id);
        }
    }
    for point_id in batch.alerts.iter().map(|a| a.point_id).collect::<std::collections::BTreeSet<_>>() {
        crate::changes::append(c, ChangeEntity::Monitoring, &point_id.to_string(), "alert_opened", at).await?;
    }
    Ok(batch)
}

/// Inserts readings in one statement; the new ones with their ids, in the order given. A reading
/// whose key (MN, data time, command, parameter) is stored already, or came earlier in the
/// same batch, is a duplicate: left out, as one statement per reading would have left it.
async fn insert_readings_once<'r>(
    c: &dyn Conn,
    readings: &'r [NewReading],
    at: &Instant,
) -> StoreResult<Vec<(i64, &'r NewReading)>> {
    let mut args = Args::default();
    let rows: Vec<String> = readings
        .iter()
        .map(|r| {
            let marks = [
                args.push(r.point_id),
                args.push(r.mn.as_str()),
                args.push(r.kind.cn()),
                args.push(r.data_time),
                args.push(r.parameter.as_str()),
                args.push(r.value),
                args.push(r.min),
                args.push(r.max),
                args.push(r.flag.as_deref()),
                args.push(at),
            ];
            format!("({})", marks.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO monitoring_readings (point_id, mn, cn, data_time, parameter, value, min_value, max_value,
            flag, received_at)
         VALUES {}
         ON CONFLICT (mn, data_time, cn, parameter) DO NOTHING RETURNING id, mn, data_time, cn, parameter",
        rows.join(", ")
    );
    let mut ids: std::collections::HashMap<(String, String, i64, String), i64> = c
        .map(&sql, args.values(), |row| {
            let mut c = row.cols();
            let id: i64 = c.get()?;
            Ok(((c.get()?, c.get()?, c.get()?, c.get()?), id))
        })
        .await?
        .into_iter()
        .collect();
    let mut stored = Vec::with_capacity(ids.len());
    for r in readings {
        let key = (r.mn.clone(), format_instant(&r.data_time), r.kind.cn(), r.parameter.clone());
        // Taken out on first use: a second reading with the key in this batch is the duplicate.
        if let Some(id) = ids.remove(&key) {
            stored.push((id, r));
        }
    }
    Ok(stored)
}

/// Count, sum, least and greatest of some readings of one series and hour.
#[derive(Debug, Clone, Copy)]
struct Sums {
    count: i64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Sums {
    fn of(value: f64) -> Self {
        Self { count: 1, sum: value, min: value, max: value }
    }

    fn add(&mut self, other: Sums) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// Adds new readings to the hourly rollup (小时汇总), in the transaction that stores them.
async fn add_to_hours<'r>(c: &dyn Conn, readings: impl Iterator<Item = &'r NewReading>) -> StoreResult<()> {
    let mut hours: std::collections::BTreeMap<(i64, &str, i64, String), Sums> = std::collections::BTreeMap::new();
    for r in readings {
        let key = (r.point_id, r.parameter.as_str(), r.kind.cn(), hour_key(&r.data_time));
        match hours.get_mut(&key) {
            Some(sums) => sums.add(Sums::of(r.value)),
            None => {
                hours.insert(key, Sums::of(r.value));
            }
        }
    }
    let hours: Vec<_> = hours.into_iter().collect();
    let dialect = c.dialect();
    let least = dialect.least("monitoring_reading_hours.min_value", "excluded.min_value");
    let greatest = dialect.greatest("monitoring_reading_hours.max_value", "excluded.max_value");
    for chunk in hours.chunks(INSERT_ROWS) {
        let mut args = Args::default();
        let rows: Vec<String> = chunk
            .iter()
            .map(|((point_id, parameter, cn, hour), s)| {
                let marks = [
                    args.push(*point_id),
                    args.push(*parameter),
                    args.push(*cn),
                    args.push(hour.as_str()),
                    args.push(s.count),
                    args.push(s.sum),
                    args.push(s.min),
                    args.push(s.max),
                ];
                format!("({})", marks.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO monitoring_reading_hours (point_id, parameter, cn, hour, readings, value_sum, min_value, max_value)
             VALUES {}
             ON CONFLICT (point_id, parameter, cn, hour) DO UPDATE SET
                readings = monitoring_reading_hours.readings + excluded.readings,
                value_sum = monitoring_reading_hours.value_sum + excluded.value_sum,
                min_value = {least}, max_value = {greatest}",
            rows.join(", ")
        );
        c.execute(&sql, args.values()).await?;
    }
    Ok(())
}

/// The hourly or daily aggregates of one series over `[from, to)`: whole hours from the rollup,
/// the partial hours at either edge from the readings themselves, summed per bucket.
async fn series_aggregates(c: &dyn Conn, query: &ReadingQuery, bucket: Bucket) -> StoreResult<Vec<ReadingAggregate>> {
    let mut buckets: std::collections::BTreeMap<String, Sums> = std::collections::BTreeMap::new();
    let (raw_ranges, rolled) = match whole_hours(&query.from, &query.to) {
        Some((start, end)) => (vec![(query.from, start), (end, query.to)], Some((start, end))),
        None => (vec![(query.from, query.to)], None),
    };
    let prefix = bucket.prefix_len();
    let series = args![query.point_id, query.parameter.as_str(), query.kind.cn()];
    let mut add = |rows: Vec<(String, Sums)>| {
        for (key, sums) in rows {
            buckets.entry(key).and_modify(|s| s.add(sums)).or_insert(sums);
        }
    };
    if let Some((start, end)) = rolled {
        let sql = format!(
            "SELECT substr(hour, 1, {prefix}), CAST(SUM(readings) AS BIGINT), SUM(value_sum), MIN(min_value), MAX(max_value)
             FROM monitoring_reading_hours
             WHERE point_id = $1 AND parameter = $2 AND cn = $3 AND hour >= $4 AND hour < $5
             GROUP BY substr(hour, 1, {prefix})"
        );
        let values = [series.as_slice(), &args![hour_key(&start), hour_key(&end)]].concat();
        add(c.map(&sql, &values, sums_row).await?);
    }
    for (from, to) in raw_ranges.into_iter().filter(|(from, to)| from < to) {
        let sql = format!(
            "SELECT substr(data_time, 1, {prefix}), COUNT(*), SUM(value), MIN(value), MAX(value)
             FROM monitoring_readings
             WHERE point_id = $1 AND parameter = $2 AND cn = $3 AND data_time >= $4 AND data_time < $5
             GROUP BY substr(data_time, 1, {prefix})"
        );
        let values = [series.as_slice(), &args![&from, &to]].concat();
        add(c.map(&sql, &values, sums_row).await?);
    }
    Ok(buckets
        .into_iter()
        .map(|(bucket, s)| ReadingAggregate {
            bucket,
            count: s.count,
            min: s.min,
            avg: s.sum / s.count as f64,
            max: s.max,
        })
        .collect())
}

fn sums_row(row: Row) -> StoreResult<(String, Sums)> {
    let mut c = row.cols();
    Ok((c.get()?, Sums { count: c.get()?, sum: c.get()?, min: c.get()?, max: c.get()? }))
}

async fn open_alert(
    c: &dyn Conn,
    r: &NewReading,
    reading_id: i64,
    exceedance: &Exceedance,
    at: &Instant,
) -> StoreResult<MonitoringAlert> {
    let id: i64 = c
        .scalar(
            "INSERT INTO monitoring_alerts (point_id, reading_id, parameter, value, limit_text, description, data_time,
                state, opened_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, 1) RETURNING id",
            &args![
                r.point_id,
                reading_id,
                r.parameter.as_str(),
                r.value,
                exceedance.limit.describe(),
                exceedance.describe(),
                &r.data_time,
                at
            ],
        )
        .await?;
    alert_event(c, id, "opened", at, &platform(), Some(&exceedance.describe())).await?;
    notify_first_alert(c, r, id, exceedance, at).await?;
    load_alert(c, id, false).await?.ok_or_else(|| alert_not_found().into())
}

/// Puts a new alert in the inbox of its point's unit (超标报警) when it is the only open alert of
/// its point and parameter: a point over its limit reading after reading tells its unit once,
/// until the alerts are dismissed or closed.
async fn notify_first_alert(
    c: &dyn Conn,
    r: &NewReading,
    alert_id: i64,
    exceedance: &Exceedance,
    at: &Instant,
) -> StoreResult<()> {
    let others: i64 = c
        .scalar(
            "SELECT COUNT(*) FROM monitoring_alerts WHERE point_id = $1 AND parameter = $2 AND state = 'open'
             AND id <> $3",
            &args![r.point_id, r.parameter.as_str(), alert_id],
        )
        .await?;
    if others > 0 {
        return Ok(());
    }
    let point = load_point(c, "id", r.point_id.into(), false).await?.ok_or_else(point_not_found)?;
    let notice = Notice {
        event: NoticeEvent::ExceedanceAlarm,
        key: format!("monitoring-alert-{alert_id}"),
        title: format!("{}（{}）{}", point.name, point.code, exceedance.describe()),
        link: format!("/monitoring/{}", point.code),
        units: vec![point.unit_id],
    };
    crate::inbox::notify(c, &notice, None, at).await.map(drop)
}

const POINT_COLUMNS: &str = "p.id, p.code, p.name, p.kind, p.credit_code, p.ledger_item_id, p.mn, p.standard_code,
    p.grade, p.permit_limits, p.parameters, p.unit_id, p.version, p.created_at, p.updated_at, p.last_reading_at,
    p.offline_after_minutes, p.last_valid_at, p.park_id, p.retired_at";

fn point(row: Row) -> StoreResult<MonitoringPoint> {
    let mut c = row.cols();
    Ok(MonitoringPoint {
        id: c.get()?,
        code: c.get()?,
        name: c.get()?,
        kind: c.code(PointKind::parse)?,
        credit_code: c.get()?,
        ledger_item_id: c.get()?,
        mn: c.get()?,
        standard: c.get()?,
        grade: {
            let grade: i64 = c.get()?;
            u8::try_from(grade).map_err(|_| bad("monitoring point grade", &grade.to_string()))?
        },
        permit_limits: c.json()?,
        parameters: c.json()?,
        unit_id: c.get()?,
        version: c.get()?,
        created_at: c.get()?,
        updated_at: c.get()?,
        last_reading_at: c.get()?,
        offline_after_minutes: u32::try_from(c.get::<i64>()?).unwrap_or(u32::MAX),
        last_valid_at: c.get()?,
        park_id: c.get()?,
        retired_at: c.get()?,
    })
}

/// A point by its `code` or `id` column; with `lock`, its row is locked until the transaction ends.
async fn load_point(c: &dyn Conn, column: &str, value: Value, lock: bool) -> StoreResult<Option<MonitoringPoint>> {
    let lock = if lock { c.dialect().lock_rows("p") } else { String::new() };
    let sql = format!("SELECT {POINT_COLUMNS} FROM monitoring_points p WHERE p.{column} = $1{lock}");
    c.map_opt(&sql, &[value], point).await
}

const READING_COLUMNS: &str = "id, point_id, cn, data_time, parameter, value, min_value, max_value, flag, received_at";

fn reading(row: Row) -> StoreResult<StoredReading> {
    let mut c = row.cols();
    Ok(StoredReading {
        id: c.get()?,
        point_id: c.get()?,
        kind: {
            let cn: i64 = c.get()?;
            ReadingKind::from_cn(cn).ok_or_else(|| bad("reading command", &cn.to_string()))?
        },
        data_time: c.get()?,
        parameter: c.get()?,
        value: c.get()?,
        min: c.get()?,
        max: c.get()?,
        flag: c.get()?,
        received_at: c.get()?,
    })
}

const ALERT_COLUMNS: &str = "a.id, a.point_id, a.reading_id, a.parameter, a.value, a.limit_text, a.description,
    a.data_time, a.state, a.opened_at, a.closed_at, a.reason, a.version";

fn alert(row: Row) -> StoreResult<MonitoringAlert> {
    let mut c = row.cols();
    Ok(MonitoringAlert {
        id: c.get()?,
        point_id: c.get()?,
        reading_id: c.get()?,
        parameter: c.get()?,
        value: c.get()?,
        limit: c.get()?,
        description: c.get()?,
        data_time: c.get()?,
        state: c.code(AlertState::parse)?,
        opened_at: c.get()?,
        closed_at: c.get()?,
        reason: c.get()?,
        version: c.get()?,
    })
}

async fn load_alert(c: &dyn Conn, id: i64, lock: bool) -> StoreResult<Option<MonitoringAlert>> {
    let lock = if lock { c.dialect().lock_rows("a") } else { String::new() };
    let sql = format!("SELECT {ALERT_COLUMNS} FROM monitoring_alerts a WHERE a.id = $1{lock}");
    c.map_opt(&sql, &args![id], alert).await
}

fn event(row: Row) -> StoreResult<MonitoringEvent> {
    let mut c = row.cols();
    Ok(MonitoringEvent { kind: c.get()?, at: c.get()?, by: c.get()?, note: c.get()? })
}
