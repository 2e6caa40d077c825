//! Time limits (办理时限) for replying to a request. These are Guangdong's
//! defaults; the configurable, versioned rule table replaces them later.

use crate::calendar::{TimeLimit, WorkCalendar};
use crate::request::{RequestKind, Urgency};
use crate::time::Instant;

/// The default reply limit: 咨询 2 working days, 求助 and 建议 10, 投诉 and
/// 举报 15; enterprise act-now (马上办) 5; urgent 2 natural hours.
pub fn default_reply_limit(kind: RequestKind, urgency: Urgency, enterprise: bool) -> TimeLimit {
    match urgency {
        Urgency::Urgent => TimeLimit::natural_minutes(120),
        Urgency::ActNow if enterprise => TimeLimit::working_days(5),
        _ => match kind {
            RequestKind::Consultation => TimeLimit::working_days(2),
            RequestKind::Help | RequestKind::Suggestion | RequestKind::Praise => TimeLimit::working_days(10),
            RequestKind::Complaint | RequestKind::Report => TimeLimit::working_days(15),
        },
    }
}

/// The reply deadline of a request received at `received`, or `None` when
/// the calendar does not cover the dates (a year whose notice is not loaded):
/// no deadline is better than a guessed one.
pub fn default_due(
    calendar: &WorkCalendar,
    received: Instant,
    kind: RequestKind,
    urgency: Urgency,
    enterprise: bool,
) -> Option<Instant> {
    calendar.deadline(received, default_reply_limit(kind, urgency, enterprise)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn worked_example_complaint_and_consultation() {
        let calendar = WorkCalendar::bundled().unwrap();
        let received = DateTime::parse_from_rfc3339("2026-02-13T10:00:00+08:00").ok();
        let received = received.map(|t| crate::time::in_shanghai(&t));
        let due = received.and_then(|r| default_due(&calendar, r, RequestKind::Help, Urgency::ActNow, true));
        assert_eq!(due.map(|d| d.to_rfc3339()), Some("2026-02-27T17:30:00+08:00".to_owned()));
        let due = received.and_then(|r| default_due(&calendar, r, RequestKind::Consultation, Urgency::Normal, false));
        // Sat 02-14 is a make-up working day: the first of the two.
        assert_eq!(due.map(|d| d.to_rfc3339()), Some("2026-02-24T17:30:00+08:00".to_owned()));
    }
}
