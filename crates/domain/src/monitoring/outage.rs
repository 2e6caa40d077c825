//! Missing data (数据缺失): a point that sends no valid data — nothing at all,
//! or only values the device flags as other than normal (`N`: stopped,
//! maintenance, fault, …) — for longer than its set time is offline, and one
//! alert goes to its responsible unit; valid data arriving ends it.

use chrono::Duration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::time::Instant;

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// Why a point's data is missing.
    OutageKind {
        /// Nothing arrives (通讯中断或设备停运未报).
        Silent = "silent" / "无数据上传",
        /// Data arrives, but the device flags it as not normal (停运、维护、故障、校准…).
        Flagged = "flagged" / "设备标记异常",
    }
);

/// Whether a value carries a normal flag (`N`, or none): only such values show the point works.
pub fn valid_flag(flag: Option<&str>) -> bool {
    flag.is_none_or(|f| f == "N")
}

/// Whether a point's data is missing at `now`, and why: no valid value since
/// `last_valid` (or since the point was created, when it never sent one) for
/// longer than `offline_after_minutes`. `Flagged` when values arrived after the
/// last valid one (the device reports, but not normal data).
pub fn outage_due(
    last_valid: Option<Instant>,
    last_reading: Option<Instant>,
    created_at: Instant,
    offline_after_minutes: u32,
    now: Instant,
) -> Option<OutageKind> {
    let since = last_valid.unwrap_or(created_at);
    if now - since <= Duration::minutes(i64::from(offline_after_minutes)) {
        return None;
    }
    Some(if last_reading.is_some_and(|r| r > since) { OutageKind::Flagged } else { OutageKind::Silent })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    #[test]
    fn a_point_is_offline_after_its_time_without_valid_data() {
        let t = |s: &str| parse_instant(&format!("2026-12-04T{s}:00+08:00")).unwrap();
        let created = t("08:00");
        assert_eq!(outage_due(None, None, created, 120, t("10:00")), None, "exactly the time is not late");
        assert_eq!(outage_due(None, None, created, 120, t("10:01")), Some(OutageKind::Silent));
        assert_eq!(outage_due(Some(t("09:00")), Some(t("09:00")), created, 120, t("10:30")), None);
        assert_eq!(outage_due(Some(t("09:00")), Some(t("09:00")), created, 60, t("10:30")), Some(OutageKind::Silent));
        assert_eq!(
            outage_due(Some(t("09:00")), Some(t("10:20")), created, 60, t("10:30")),
            Some(OutageKind::Flagged),
            "values arrive, flagged as not normal"
        );
        assert!(valid_flag(None) && valid_flag(Some("N")) && !valid_flag(Some("D")) && !valid_flag(Some("F")));
    }
}
