//! Spam screening's SQL: verdicts and decisions (written with the request, see
//! `requests::write`), repeats, settings and the classifier's examples.

use mashangban_domain::request::RequestId;
use mashangban_domain::screening::{Decision, Screening, Settings};
use mashangban_domain::time::Instant;
use mashangban_store::{ScreeningExample, ScreeningRecord, ScreeningSettingsVersion, ScreeningStore, StoreResult};

use crate::rows::json_text;
use crate::settings_versions::{append, newest};
use crate::sql::{Args, Conn, Database, Row, job};
use crate::{SqlStore, args};

const RECORD_COLUMNS: &str = "request_id, score, reasons, held, screened_at, decision, decided_by, decided_at";

fn record(row: Row) -> StoreResult<ScreeningRecord> {
    let mut c = row.cols();
    Ok(ScreeningRecord {
        request_id: c.get()?,
        score: c.get()?,
        reasons: c.json()?,
        held: c.get()?,
        screened_at: c.get()?,
        decision: c.opt_code(Decision::parse)?,
        decided_by: c.get()?,
        decided_at: c.get()?,
    })
}

const SETTINGS: &str = "screening_settings";
const SETTINGS_COLUMNS: &str = "version, phrases, threshold, changed_by, changed_at";

fn settings_version(row: Row) -> StoreResult<ScreeningSettingsVersion> {
    let mut c = row.cols();
    Ok(ScreeningSettingsVersion {
        version: c.get()?,
        settings: Settings { phrases: c.json()?, threshold: c.get()? },
        changed_by: c.get()?,
        changed_at: c.get()?,
    })
}

/// Records a new request's screening (its intake's transaction).
pub(crate) async fn record_intake(
    c: &dyn Conn,
    request_id: RequestId,
    screening: &Screening,
    at: &Instant,
) -> StoreResult<()> {
    let v = &screening.verdict;
    c.execute(
        "INSERT INTO request_screenings (request_id, score, reasons, fingerprint, held, screened_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &args![request_id, v.score, json_text(&v.reasons)?, screening.fingerprint.as_str(), v.held, at],
    )
    .await?;
    Ok(())
}

/// Records staff's decision on a request (the release or mark-spam event's transaction); a request
/// never screened (taken in by staff) gets a row with the decision alone.
pub(crate) async fn record_decision(
    c: &dyn Conn,
    request_id: RequestId,
    decision: Decision,
    by: &str,
    at: &Instant,
) -> StoreResult<()> {
    c.execute(
        "INSERT INTO request_screenings (request_id, score, reasons, fingerprint, held, screened_at, decision,
            decided_by, decided_at)
         VALUES ($1, 0, '[]', '', $2, $3, $4, $5, $3)
         ON CONFLICT (request_id) DO UPDATE SET decision = EXCLUDED.decision, decided_by = EXCLUDED.decided_by,
            decided_at = EXCLUDED.decided_at",
        &args![request_id, false, at, decision.as_str(), by],
    )
    .await?;
    Ok(())
}

async fn examples(
    c: &dyn Conn,
    from: Option<Instant>,
    to: Option<Instant>,
    limit: u32,
) -> StoreResult<Vec<ScreeningExample>> {
    let mut out = Vec::new();
    for spam in [true, false] {
        let mut args = Args::default();
        let mut clauses = Vec::new();
        if let Some(from) = &from {
            clauses.push(format!("r.received_at >= {}", args.push(from)));
        }
        if let Some(to) = &to {
            clauses.push(format!("r.received_at < {}", args.push(to)));
        }
        let class = if spam {
            "s.decision = 'spam'".to_owned()
        } else {
            format!("(s.decision IS NULL OR s.decision = 'released') AND r.screening_held = {}", args.push(false))
        };
        clauses.push(class);
        let limit = args.push(i64::from(limit));
        let sql = format!(
            "SELECT r.title, r.content FROM requests r LEFT JOIN request_screenings s ON s.request_id = r.id
             WHERE {} ORDER BY r.id DESC LIMIT {limit}",
            clauses.join(" AND ")
        );
        let rows = c
            .map(&sql, args.values(), |row| {
                let mut c = row.cols();
                Ok(ScreeningExample { title: c.get()?, content: c.get()?, spam })
            })
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

impl<D: Database> ScreeningStore for SqlStore<D> {
    async fn screening_repeats(&self, fingerprint: &str, since: Instant) -> StoreResult<u32> {
        let fingerprint = fingerprint.to_owned();
        let read = job(move |c| {
            Box::pin(async move {
                let n: i64 = c
                    .scalar(
                        "SELECT COUNT(*) FROM request_screenings WHERE fingerprint = $1 AND screened_at >= $2",
                        &args![fingerprint.as_str(), &since],
                    )
                    .await?;
                Ok(u32::try_from(n).unwrap_or(u32::MAX))
            })
        });
        self.db.read(read).await
    }

    async fn screenings(&self, request_ids: Vec<RequestId>) -> StoreResult<Vec<ScreeningRecord>> {
        if request_ids.is_empty() {
            return Ok(Vec::new());
        }
        let read = job(move |c| {
            Box::pin(async move {
                let mut args = Args::default();
                let ids = args.list(request_ids.iter().copied());
                let sql = format!("SELECT {RECORD_COLUMNS} FROM request_screenings WHERE request_id IN ({ids})");
                c.map(&sql, args.values(), record).await
            })
        });
        self.db.read(read).await
    }

    async fn screening_settings(&self) -> StoreResult<Option<ScreeningSettingsVersion>> {
        let read =
            job(move |c| Box::pin(async move { newest(c, SETTINGS, SETTINGS_COLUMNS, 1, settings_version).await }));
        Ok(self.db.read(read).await?.pop())
    }

    async fn screening_settings_history(&self, limit: u32) -> StoreResult<Vec<ScreeningSettingsVersion>> {
        let read =
            job(move |c| Box::pin(async move { newest(c, SETTINGS, SETTINGS_COLUMNS, limit, settings_version).await }));
        self.db.read(read).await
    }

    async fn save_screening_settings(
        &self,
        settings: Settings,
        changed_by: String,
        at: Instant,
    ) -> StoreResult<ScreeningSettingsVersion> {
        let save = job(move |c| {
            Box::pin(async move {
                let values = args![json_text(&settings.phrases)?, settings.threshold, changed_by.as_str(), &at];
                append(c, SETTINGS, SETTINGS_COLUMNS, &values, &at, settings_version).await
            })
        });
        self.db.write(save).await
    }

    async fn screening_examples(
        &self,
        received_from: Option<Instant>,
        received_to: Option<Instant>,
        limit: u32,
    ) -> StoreResult<Vec<ScreeningExample>> {
        self.db.read(job(move |c| Box::pin(async move { examples(c, received_from, received_to, limit).await }))).await
    }
}
