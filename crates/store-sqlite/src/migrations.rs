//! Schema migrations, embedded and applied in order on open. The applied
//! version is SQLite's `user_version`.

use rusqlite::Connection;

use mashangban_store::{StoreError, StoreResult};

pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_calendar.sql"),
    include_str!("../migrations/0003_scoring.sql"),
    include_str!("../migrations/0004_deadlines.sql"),
    include_str!("../migrations/0005_notifications.sql"),
    include_str!("../migrations/0006_dashboard.sql"),
    include_str!("../migrations/0007_knowledge.sql"),
    include_str!("../migrations/0008_changes.sql"),
    include_str!("../migrations/0009_enterprises.sql"),
    include_str!("../migrations/0010_provisional_deadlines.sql"),
    include_str!("../migrations/0011_time_limit_rules_no_delete.sql"),
    include_str!("../migrations/0012_liaison.sql"),
    include_str!("../migrations/0013_rate_limits.sql"),
    include_str!("../migrations/0014_ledgers.sql"),
    include_str!("../migrations/0015_approvals.sql"),
    include_str!("../migrations/0016_urge_count.sql"),
    include_str!("../migrations/0017_event_seals.sql"),
    include_str!("../migrations/0018_statistics.sql"),
    include_str!("../migrations/0019_monitoring.sql"),
    include_str!("../migrations/0020_support_fund.sql"),
    include_str!("../migrations/0021_visits.sql"),
    include_str!("../migrations/0022_enforcement.sql"),
    include_str!("../migrations/0023_command_centres.sql"),
    include_str!("../migrations/0024_direct_line.sql"),
    include_str!("../migrations/0025_inbox.sql"),
    include_str!("../migrations/0026_inside_a_unit.sql"),
    include_str!("../migrations/0027_screening.sql"),
    include_str!("../migrations/0028_saved_views.sql"),
    include_str!("../migrations/0029_compensation.sql"),
    include_str!("../migrations/0030_onsite.sql"),
    include_str!("../migrations/0031_password_reset.sql"),
    include_str!("../migrations/0032_direct_line_screening.sql"),
    include_str!("../migrations/0033_command_reports.sql"),
    include_str!("../migrations/0034_ledger_views.sql"),
    include_str!("../migrations/0035_creek_plans.sql"),
    include_str!("../migrations/0036_documents.sql"),
    include_str!("../migrations/0037_duplicate_thresholds.sql"),
    include_str!("../migrations/0038_supervision_missing_data_parks.sql"),
    include_str!("../migrations/0039_notices.sql"),
    include_str!("../migrations/0040_alert_notices_co_deadlines.sql"),
    include_str!("../migrations/0041_document_owners.sql"),
    include_str!("../migrations/0042_statistics_catalogue_and_publishing.sql"),
    include_str!("../migrations/0043_ledger_rollups_choices.sql"),
    include_str!("../migrations/0044_command_report_changes.sql"),
    include_str!("../migrations/0045_auto_dispatch.sql"),
    include_str!("../migrations/0046_monitoring_retire_and_receiver_counts.sql"),
    include_str!("../migrations/0047_personal_data.sql"),
    include_str!("../migrations/0048_score_auto_dispatch.sql"),
    include_str!("../migrations/0049_personal_data_more.sql"),
    include_str!("../migrations/0050_visit_documents.sql"),
    include_str!("../migrations/0051_monitoring_reading_hours.sql"),
    include_str!("../migrations/0052_ledger_item_documents.sql"),
    include_str!("../migrations/0053_duplicate_weights.sql"),
    include_str!("../migrations/0054_ledger_event_seals.sql"),
    include_str!("../migrations/0055_approval_template_versions.sql"),
    include_str!("../migrations/0056_history_seals.sql"),
    include_str!("../migrations/0057_more_history_seals.sql"),
    include_str!("../migrations/0058_notification_template_versions.sql"),
    include_str!("../migrations/0059_account_events.sql"),
    include_str!("../migrations/0060_api_token_events.sql"),
    include_str!("../migrations/0061_history_anchors.sql"),
    include_str!("../migrations/0062_open_requests_by_town.sql"),
];

pub fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let current: usize = conn
        .query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))
        .map_err(StoreError::backend)?
        .try_into()
        .map_err(StoreError::backend)?;
    if current > MIGRATIONS.len() {
        return Err(StoreError::backend(format!(
            "database schema version {current} is newer than this program ({}); upgrade mashangban",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(StoreError::backend)?;
        tx.execute_batch(sql).map_err(StoreError::backend)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64).map_err(StoreError::backend)?;
        tx.commit().map_err(StoreError::backend)?;
        tracing::info!(version = index + 1, "applied SQLite migration");
    }
    Ok(())
}
