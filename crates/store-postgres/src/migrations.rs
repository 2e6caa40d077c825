//! Schema migrations, embedded and applied in order at connect. Applied
//! versions are rows of `schema_migrations`; a session advisory lock makes a
//! second node starting at the same time wait, then find nothing to do.

use deadpool_postgres::Client;

use mashangban_store::{StoreError, StoreResult};

use crate::db::{MIGRATION_LOCK, db_err, execute, query};

/// (version, name, SQL) in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "0001_init", include_str!("../migrations/0001_init.sql")),
    (2, "0002_knowledge", include_str!("../migrations/0002_knowledge.sql")),
    (3, "0003_dashboard", include_str!("../migrations/0003_dashboard.sql")),
    (4, "0004_dashboard_pending", include_str!("../migrations/0004_dashboard_pending.sql")),
    (5, "0005_changes", include_str!("../migrations/0005_changes.sql")),
    (6, "0006_enterprises", include_str!("../migrations/0006_enterprises.sql")),
    (7, "0007_provisional_deadlines", include_str!("../migrations/0007_provisional_deadlines.sql")),
    (8, "0008_liaison", include_str!("../migrations/0008_liaison.sql")),
    (9, "0009_rate_limits", include_str!("../migrations/0009_rate_limits.sql")),
    (10, "0010_ledgers", include_str!("../migrations/0010_ledgers.sql")),
    (11, "0011_approvals", include_str!("../migrations/0011_approvals.sql")),
    (12, "0012_urge_count", include_str!("../migrations/0012_urge_count.sql")),
    (13, "0013_event_seals", include_str!("../migrations/0013_event_seals.sql")),
    (14, "0014_statistics", include_str!("../migrations/0014_statistics.sql")),
    (15, "0015_monitoring", include_str!("../migrations/0015_monitoring.sql")),
    (16, "0016_support_fund", include_str!("../migrations/0016_support_fund.sql")),
    (17, "0017_visits", include_str!("../migrations/0017_visits.sql")),
    (18, "0018_enforcement", include_str!("../migrations/0018_enforcement.sql")),
    (19, "0019_command_centres", include_str!("../migrations/0019_command_centres.sql")),
    (20, "0020_direct_line", include_str!("../migrations/0020_direct_line.sql")),
    (21, "0021_inbox", include_str!("../migrations/0021_inbox.sql")),
    (22, "0022_inside_a_unit", include_str!("../migrations/0022_inside_a_unit.sql")),
    (23, "0023_screening", include_str!("../migrations/0023_screening.sql")),
    (24, "0024_saved_views", include_str!("../migrations/0024_saved_views.sql")),
    (25, "0025_compensation", include_str!("../migrations/0025_compensation.sql")),
    (26, "0026_onsite", include_str!("../migrations/0026_onsite.sql")),
    (27, "0027_password_reset", include_str!("../migrations/0027_password_reset.sql")),
    (28, "0028_direct_line_screening", include_str!("../migrations/0028_direct_line_screening.sql")),
    (29, "0029_command_reports", include_str!("../migrations/0029_command_reports.sql")),
    (30, "0030_ledger_views", include_str!("../migrations/0030_ledger_views.sql")),
    (31, "0031_creek_plans", include_str!("../migrations/0031_creek_plans.sql")),
    (32, "0032_documents", include_str!("../migrations/0032_documents.sql")),
    (33, "0033_duplicate_thresholds", include_str!("../migrations/0033_duplicate_thresholds.sql")),
    (34, "0034_supervision_missing_data_parks", include_str!("../migrations/0034_supervision_missing_data_parks.sql")),
    (35, "0035_notices", include_str!("../migrations/0035_notices.sql")),
    (36, "0036_alert_notices_co_deadlines", include_str!("../migrations/0036_alert_notices_co_deadlines.sql")),
    (37, "0037_document_owners", include_str!("../migrations/0037_document_owners.sql")),
    (
        38,
        "0038_statistics_catalogue_and_publishing",
        include_str!("../migrations/0038_statistics_catalogue_and_publishing.sql"),
    ),
    (39, "0039_ledger_rollups_choices", include_str!("../migrations/0039_ledger_rollups_choices.sql")),
    (40, "0040_command_report_changes", include_str!("../migrations/0040_command_report_changes.sql")),
    (41, "0041_auto_dispatch", include_str!("../migrations/0041_auto_dispatch.sql")),
    (
        42,
        "0042_monitoring_retire_and_receiver_counts",
        include_str!("../migrations/0042_monitoring_retire_and_receiver_counts.sql"),
    ),
    (43, "0043_personal_data", include_str!("../migrations/0043_personal_data.sql")),
    (44, "0044_score_auto_dispatch", include_str!("../migrations/0044_score_auto_dispatch.sql")),
    (45, "0045_personal_data_more", include_str!("../migrations/0045_personal_data_more.sql")),
    (46, "0046_visit_documents", include_str!("../migrations/0046_visit_documents.sql")),
    (47, "0047_monitoring_reading_hours", include_str!("../migrations/0047_monitoring_reading_hours.sql")),
    (48, "0048_ledger_item_documents", include_str!("../migrations/0048_ledger_item_documents.sql")),
    (49, "0049_duplicate_weights", include_str!("../migrations/0049_duplicate_weights.sql")),
    (50, "0050_ledger_event_seals", include_str!("../migrations/0050_ledger_event_seals.sql")),
    (51, "0051_approval_template_versions", include_str!("../migrations/0051_approval_template_versions.sql")),
    (52, "0052_history_seals", include_str!("../migrations/0052_history_seals.sql")),
    (53, "0053_more_history_seals", include_str!("../migrations/0053_more_history_seals.sql")),
    (54, "0054_notification_template_versions", include_str!("../migrations/0054_notification_template_versions.sql")),
    (55, "0055_account_events", include_str!("../migrations/0055_account_events.sql")),
    (56, "0056_api_token_events", include_str!("../migrations/0056_api_token_events.sql")),
    (57, "0057_history_anchors", include_str!("../migrations/0057_history_anchors.sql")),
    (58, "0058_rate_limits_unlogged", include_str!("../migrations/0058_rate_limits_unlogged.sql")),
    (59, "0059_open_requests_by_town", include_str!("../migrations/0059_open_requests_by_town.sql")),
];

/// Tables whose `id` is an identity column.
pub const IDENTITY_TABLES: &[&str] = &[
    "units",
    "users",
    "api_tokens",
    "categories",
    "requests",
    "events",
    "attachments",
    "calendar_changes",
    "outbox",
    "webhooks",
    "knowledge_articles",
    "liaison_assignments",
    "ledger_items",
    "ledger_item_events",
    "approval_templates",
    "approval_projects",
    "audit_anchors",
    "statistics_value_history",
    "monitoring_points",
    "monitoring_point_events",
    "monitoring_readings",
    "monitoring_alerts",
    "monitoring_alert_events",
    "fund_policies",
    "fund_measures",
    "fund_applications",
    "fund_objections",
    "visits",
    "visit_problems",
    "visit_events",
    "inspections",
    "enforcement_cases",
    "experts",
    "compensation_matters",
    "inbox_entries",
    "direct_line_items",
    "direct_line_events",
    "command_targets",
    "command_tasks",
    "command_events",
    "saved_views",
    "onsite_items",
    "onsite_centres",
    "onsite_requests",
    "password_resets",
    "command_report_forms",
    "command_report_filings",
    "command_report_chases",
    "command_pledges",
    "creek_samples",
    "creek_plan_changes",
    "documents",
    "compensation_supervisions",
    "monitoring_outages",
    "monitoring_parks",
    "statistics_indicator_history",
    "statistics_publications",
    "notification_template_versions",
    "account_events",
    "api_token_events",
];

/// The newest migration this program knows.
pub(crate) fn known_version() -> i64 {
    MIGRATIONS.iter().map(|(version, _, _)| *version).max().unwrap_or(0)
}

/// The applied schema version: the newest known migration applied with every
/// known one before it (a missing one never reads as current; numbers this
/// program does not have, left by branches numbering apart, are no gap), or
/// the newest applied when the database is newer than this program.
pub(crate) async fn applied_version(client: &impl deadpool_postgres::GenericClient) -> StoreResult<i64> {
    let applied: Vec<i64> = query(client, "SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    Ok(contiguous_version(&applied))
}

fn contiguous_version(applied: &[i64]) -> i64 {
    if let Some(newer) = applied.iter().copied().filter(|v| *v > known_version()).max() {
        return newer;
    }
    MIGRATIONS.iter().map(|(version, _, _)| *version).take_while(|v| applied.contains(v)).last().unwrap_or(0)
}

pub async fn migrate(client: &mut Client) -> StoreResult<()> {
    execute(&*client, "SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await?;
    let result = apply_pending(client).await;
    let unlocked = execute(&*client, "SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await;
    result.and(unlocked.map(drop))
}

async fn apply_pending(client: &mut Client) -> StoreResult<()> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version     BIGINT PRIMARY KEY,
                name        TEXT NOT NULL,
                applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
            )",
        )
        .await
        .map_err(db_err)?;
    let applied: Vec<i64> = query(&*client, "SELECT version FROM schema_migrations ORDER BY version", &[])
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    // Versions are the files' numbers, which may leave gaps (branches number apart).
    let known = known_version();
    if let Some(newer) = applied.iter().find(|v| **v > known) {
        return Err(StoreError::backend(format!(
            "database schema version {newer} is newer than this program ({known}); upgrade mashangban"
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| !applied.contains(v)) {
        let tx = client.transaction().await.map_err(db_err)?;
        tx.batch_execute(sql).await.map_err(|e| StoreError::backend(format!("migration {name}: {e}")))?;
        tx.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &[version, name])
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        tracing::info!(version, name, "applied PostgreSQL migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_applied_version_is_the_newest_without_a_missing_known_migration_before_it() {
        let all: Vec<i64> = MIGRATIONS.iter().map(|(v, _, _)| *v).collect();
        assert_eq!(contiguous_version(&all), known_version());
        let without_second: Vec<i64> = all.iter().copied().filter(|v| *v != all[1]).collect();
        assert_eq!(contiguous_version(&without_second), all[0]);
        assert_eq!(contiguous_version(&[]), 0);
        let newer: Vec<i64> = all.iter().copied().chain([known_version() + 5]).collect();
        assert_eq!(contiguous_version(&newer), known_version() + 5);
    }
}
