//! Creek samples and plans (河涌水质采样、一河一策), written once for both
//! databases. A plan save is an optimistic update on its version (an insert
//! that conflicts for the first version) and its change row, in one job.

use mashangban_domain::creek::Plan;
use mashangban_domain::time::Instant;
use mashangban_store::{
    CreekAuthor, CreekPlan, CreekPlanChange, CreekSample, CreekStore, NewCreekSample, StoreResult, creek_plan_changed,
};

use crate::rows::json_text;
use crate::sql::{Args, Conn, Database, Row, job};
use crate::{SqlStore, args};

const SAMPLE_COLUMNS: &str = "id, item_id, sampled_at, section, parameters, source, by_user, by_name, created_at";
const PLAN_COLUMNS: &str = "item_id, plan, version, updated_at, updated_by";

fn sample(row: Row) -> StoreResult<CreekSample> {
    let mut c = row.cols();
    Ok(CreekSample {
        id: c.get()?,
        item_id: c.get()?,
        sampled_at: c.get()?,
        section: c.get()?,
        values: c.json()?,
        source: c.get()?,
        by_user: c.get()?,
        by_name: c.get()?,
        created_at: c.get()?,
    })
}

fn plan(row: Row) -> StoreResult<CreekPlan> {
    let mut c = row.cols();
    Ok(CreekPlan { item_id: c.get()?, plan: c.json()?, version: c.get()?, updated_at: c.get()?, updated_by: c.get()? })
}

fn change(row: Row) -> StoreResult<CreekPlanChange> {
    let mut c = row.cols();
    Ok(CreekPlanChange {
        version: c.get()?,
        at: c.get()?,
        by_user: c.get()?,
        by_name: c.get()?,
        before: c.opt_json()?,
        after: c.json()?,
    })
}

async fn plan_of(c: &dyn Conn, item_id: i64) -> StoreResult<Option<CreekPlan>> {
    c.map_opt(&format!("SELECT {PLAN_COLUMNS} FROM creek_plans WHERE item_id = $1"), &args![item_id], plan).await
}

impl<D: Database> CreekStore for SqlStore<D> {
    async fn add_creek_samples(
        &self,
        item_id: i64,
        samples: Vec<NewCreekSample>,
        author: CreekAuthor,
    ) -> StoreResult<Vec<CreekSample>> {
        let add = job(move |c| {
            Box::pin(async move {
                let mut out = Vec::with_capacity(samples.len());
                for s in &samples {
                    let id: i64 = c
                        .scalar(
                            "INSERT INTO creek_samples
                               (item_id, sampled_at, section, parameters, source, by_user, by_name, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                            &args![
                                item_id,
                                &s.sampled_at,
                                s.section.as_deref(),
                                json_text(&s.values)?,
                                s.source.as_str(),
                                author.user_id,
                                author.name.as_str(),
                                &author.at
                            ],
                        )
                        .await?;
                    out.push(CreekSample {
                        id,
                        item_id,
                        sampled_at: s.sampled_at,
                        section: s.section.clone(),
                        values: s.values.clone(),
                        source: s.source.clone(),
                        by_user: author.user_id,
                        by_name: author.name.clone(),
                        created_at: author.at,
                    });
                }
                Ok(out)
            })
        });
        self.db.write(add).await
    }

    async fn creek_samples(&self, item_id: i64, since: Instant, limit: u32) -> StoreResult<Vec<CreekSample>> {
        let read = job(move |c| {
            Box::pin(async move {
                c.map(
                    &format!(
                        "SELECT {SAMPLE_COLUMNS} FROM creek_samples WHERE item_id = $1 AND sampled_at >= $2
                         ORDER BY sampled_at DESC, id DESC LIMIT $3"
                    ),
                    &args![item_id, &since, limit],
                    sample,
                )
                .await
            })
        });
        self.db.read(read).await
    }

    async fn latest_creek_samples(&self, item_ids: Vec<i64>) -> StoreResult<Vec<CreekSample>> {
        let read = job(move |c| {
            Box::pin(async move {
                let mut out = Vec::new();
                for chunk in item_ids.chunks(500) {
                    let mut args = Args::default();
                    let ids = args.list(chunk.iter().copied());
                    let sql = format!(
                        "SELECT {SAMPLE_COLUMNS} FROM creek_samples s WHERE s.item_id IN ({ids}) AND s.id = (
                           SELECT t.id FROM creek_samples t WHERE t.item_id = s.item_id
                           ORDER BY t.sampled_at DESC, t.id DESC LIMIT 1)
                         ORDER BY s.item_id"
                    );
                    out.extend(c.map(&sql, args.values(), sample).await?);
                }
                Ok(out)
            })
        });
        self.db.read(read).await
    }

    async fn creek_plan(&self, item_id: i64) -> StoreResult<Option<CreekPlan>> {
        self.db.read(job(move |c| Box::pin(async move { plan_of(c, item_id).await }))).await
    }

    async fn creek_plans(&self) -> StoreResult<Vec<CreekPlan>> {
        let read = job(move |c| {
            Box::pin(async move {
                c.map(&format!("SELECT {PLAN_COLUMNS} FROM creek_plans ORDER BY item_id"), &args![], plan).await
            })
        });
        self.db.read(read).await
    }

    async fn save_creek_plan(
        &self,
        item_id: i64,
        new: Plan,
        version: i64,
        author: CreekAuthor,
    ) -> StoreResult<CreekPlan> {
        let save = job(move |c| {
            Box::pin(async move {
                let before = plan_of(c, item_id).await?;
                let current = before.as_ref().map_or(0, |p| p.version);
                if current != version {
                    return Err(creek_plan_changed(current).into());
                }
                let text = json_text(&new)?;
                let written = if version == 0 {
                    c.execute(
                        "INSERT INTO creek_plans (item_id, plan, version, updated_at, updated_by)
                         VALUES ($1, $2, 1, $3, $4) ON CONFLICT (item_id) DO NOTHING",
                        &args![item_id, text.as_str(), &author.at, author.name.as_str()],
                    )
                    .await?
                } else {
                    c.execute(
                        "UPDATE creek_plans SET plan = $2, version = version + 1, updated_at = $3, updated_by = $4
                         WHERE item_id = $1 AND version = $5",
                        &args![item_id, text.as_str(), &author.at, author.name.as_str(), version],
                    )
                    .await?
                };
                if written != 1 {
                    let now = plan_of(c, item_id).await?.map_or(0, |p| p.version);
                    return Err(creek_plan_changed(now).into());
                }
                let before_text = match &before {
                    Some(p) => Some(json_text(&p.plan)?),
                    None => None,
                };
                c.execute(
                    "INSERT INTO creek_plan_changes (item_id, version, at, by_user, by_name, before_plan, after_plan)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &args![
                        item_id,
                        version + 1,
                        &author.at,
                        author.user_id,
                        author.name.as_str(),
                        before_text,
                        text.as_str()
                    ],
                )
                .await?;
                plan_of(c, item_id).await?.ok_or_else(|| creek_plan_changed(0).into())
            })
        });
        self.db.write(save).await
    }

    async fn creek_plan_changes(&self, item_id: i64) -> StoreResult<Vec<CreekPlanChange>> {
        let read = job(move |c| {
            Box::pin(async move {
                c.map(
                    "SELECT version, at, by_user, by_name, before_plan, after_plan FROM creek_plan_changes
                     WHERE item_id = $1 ORDER BY version DESC",
                    &args![item_id],
                    change,
                )
                .await
            })
        });
        self.db.read(read).await
    }
}
