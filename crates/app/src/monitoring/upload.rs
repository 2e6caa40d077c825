//! The HTTP batch upload of readings, for systems that send files instead of
//! speaking HJ 212: JSON or CSV, every row checked first (point, parameter,
//! kind, time, numbers), nothing written when any row is refused
//! (`422 invalid_rows`, the message listing the first problems by row).

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::monitoring::{MAX_READINGS_PER_BATCH, NewReading, ReadingKind, check_reading_time};
use mashangban_domain::time::{Instant, parse_instant};
use mashangban_sheet::{Column, Limits, Problem, Report, Table, open_csv};
use mashangban_store::{MonitoringPoint, Store};

use super::{Monitoring, new_reading};
use crate::error::{AppError, AppResult};

/// The largest CSV upload.
pub const MAX_CSV_BYTES: u64 = 4 * 1024 * 1024;

/// A JSON upload.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingsBody {
    #[schemars(length(max = 5000))]
    pub readings: Vec<ReadingRow>,
}

/// One value of one point.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingRow {
    /// The point's code.
    pub point: String,
    /// `real_time`, `minute`, `hour`, `day` or the HJ 212 command (`2051`); `minute` when absent.
    #[serde(default)]
    pub kind: Option<String>,
    /// RFC 3339.
    pub data_time: String,
    /// HJ 212 pollutant code, one of the point's parameters.
    pub parameter: String,
    pub value: f64,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// The data flag (`N` normal).
    #[serde(default)]
    pub flag: Option<String>,
}

/// What an upload stored.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UploadReport {
    pub rows: u64,
    pub inserted: u64,
    /// Already stored: ignored.
    pub duplicates: u64,
    /// Alerts the new readings raised.
    pub alerts: u64,
}

const COLUMNS: &[Column] = &[
    Column::required("点位编号").aliases(&["point"]),
    Column::optional("数据类型").aliases(&["kind"]),
    Column::required("数据时间").aliases(&["data_time"]),
    Column::required("监测因子").aliases(&["parameter"]),
    Column::required("数值").aliases(&["value"]),
    Column::optional("最小值").aliases(&["min"]),
    Column::optional("最大值").aliases(&["max"]),
    Column::optional("标志").aliases(&["flag"]),
];

impl<S: Store> Monitoring<'_, S> {
    /// Stores a JSON batch (row numbers count from 1).
    pub async fn upload_json(&self, body: ReadingsBody) -> AppResult<UploadReport> {
        too_many(body.readings.len())?;
        let points = self.points_by_code().await?;
        let now = self.app.now();
        let mut report = Report::new();
        let mut readings = Vec::with_capacity(body.readings.len());
        for (at, row) in body.readings.into_iter().enumerate() {
            let number = u32::try_from(at + 1).unwrap_or(u32::MAX);
            let mut check = RowCheck { row: number, report: &mut report };
            if let Some(r) = check.reading(&points, &row, &now) {
                readings.push(r);
            }
        }
        self.finish(readings, report).await
    }

    /// Stores a CSV batch (UTF-8 or GB18030; header `点位编号,数据类型,数据时间,监测因子,数值,最小值,最大值,标志`
    /// or the English names `point,kind,data_time,parameter,value,min,max,flag`).
    pub async fn upload_csv(&self, bytes: &[u8]) -> AppResult<UploadReport> {
        let limits = Limits::default().file_bytes(MAX_CSV_BYTES).rows(MAX_READINGS_PER_BATCH as u32 + 1).columns(32);
        let table = Table::new(open_csv(bytes, &limits).map_err(sheet)?, COLUMNS).map_err(sheet)?;
        let points = self.points_by_code().await?;
        let now = self.app.now();
        let mut report = Report::new();
        let mut readings = Vec::new();
        for record in table {
            let record = record.map_err(sheet)?;
            let value = record.number("数值", &mut report);
            let min = record.number("最小值", &mut report);
            let max = record.number("最大值", &mut report);
            let Some(value) = value else {
                if record.text("数值").is_none() {
                    record.problem("数值", "必须填写", &mut report);
                }
                continue;
            };
            let row = ReadingRow {
                point: record.text("点位编号").unwrap_or_default(),
                kind: record.text("数据类型"),
                data_time: record.text("数据时间").unwrap_or_default(),
                parameter: record.text("监测因子").unwrap_or_default(),
                value,
                min,
                max,
                flag: record.text("标志"),
            };
            let mut check = RowCheck { row: record.row(), report: &mut report };
            if let Some(r) = check.reading(&points, &row, &now) {
                readings.push(r);
            }
        }
        too_many(readings.len())?;
        self.finish(readings, report).await
    }

    /// The points that take readings: retired ones do not.
    async fn points_by_code(&self) -> AppResult<HashMap<String, MonitoringPoint>> {
        let points = self.app.store().monitoring_points().await?.into_iter().filter(|p| p.retired_at.is_none());
        Ok(points.map(|p| (p.code.clone(), p)).collect())
    }

    async fn finish(&self, readings: Vec<NewReading>, report: Report) -> AppResult<UploadReport> {
        report.into_result().map_err(sheet)?;
        let rows = readings.len() as u64;
        let batch = self.store_readings(readings).await?;
        Ok(UploadReport {
            rows,
            inserted: batch.inserted,
            duplicates: batch.duplicates,
            alerts: batch.alerts.len() as u64,
        })
    }
}

fn too_many(rows: usize) -> AppResult<()> {
    if rows > MAX_READINGS_PER_BATCH {
        return Err(AppError::invalid(
            "too_many_readings",
            format!("一批最多{MAX_READINGS_PER_BATCH}条数据，这一批有{rows}条"),
        ));
    }
    Ok(())
}

fn sheet(e: mashangban_sheet::SheetError) -> AppError {
    AppError::from(mashangban_domain::DomainError::from(e))
}

/// Checks one row, adding its problems to the report.
struct RowCheck<'r> {
    row: u32,
    report: &'r mut Report,
}

impl RowCheck<'_> {
    fn problem(&mut self, column: &str, value: &str, reason: impl Into<String>) {
        let value: String = value.chars().take(40).collect();
        self.report.add(Problem { row: self.row, column: column.into(), value, reason: reason.into() });
    }

    fn reading(
        &mut self,
        points: &HashMap<String, MonitoringPoint>,
        row: &ReadingRow,
        now: &Instant,
    ) -> Option<NewReading> {
        let point = points.get(row.point.trim());
        if point.is_none() {
            self.problem("点位编号", &row.point, "没有这个监测点位");
        }
        let kind = match row.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            None => Some(ReadingKind::Minute),
            Some(k) => ReadingKind::parse(k),
        };
        if kind.is_none() {
            self.problem(
                "数据类型",
                row.kind.as_deref().unwrap_or_default(),
                "应为 real_time、minute、hour、day 或 2011、2051、2061、2031",
            );
        }
        let data_time = parse_instant(&row.data_time);
        match &data_time {
            None => self.problem("数据时间", &row.data_time, "应为 RFC 3339 时间，如 2026-12-04T09:00:00+08:00"),
            Some(t) => {
                if let Err(e) = check_reading_time(t, now) {
                    self.problem("数据时间", &row.data_time, e.message);
                }
            }
        }
        let parameter = row.parameter.trim();
        if let Some(p) = point
            && !p.parameters.iter().any(|m| m.code == parameter)
        {
            self.problem("监测因子", parameter, "不是该点位的监测因子");
        }
        for (column, number) in [("数值", Some(row.value)), ("最小值", row.min), ("最大值", row.max)] {
            if number.is_some_and(|n| !n.is_finite()) {
                self.problem(column, "", "应为有限的数字");
            }
        }
        let flag = row.flag.as_deref().map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned);
        if flag.as_deref().is_some_and(|f| f.len() > 4 || !f.chars().all(|c| c.is_ascii_alphanumeric())) {
            self.problem("标志", flag.as_deref().unwrap_or_default(), "应为1~4个字母或数字，如 N");
        }
        let (point, kind, data_time) = (point?, kind?, data_time?);
        if !self.report.is_empty() {
            return None;
        }
        match new_reading(point, kind, data_time, parameter, (row.value, row.min, row.max), flag) {
            Ok(r) => Some(r),
            Err(e) => {
                self.problem("数值", "", e.message);
                None
            }
        }
    }
}
