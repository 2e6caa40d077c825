//! The work calendar (工作日历): seeding once, years replaced all or nothing,
//! working hours, the append-only change record, and publishers on two
//! nodes taking turns.

use chrono::{NaiveDate, NaiveTime};

use mashangban_domain::calendar::{BUNDLED_HOLIDAYS, HolidayYear, WorkingHours, parse_holidays_toml};
use mashangban_domain::org::Role;
use mashangban_store::{
    CalendarAuthor, CalendarChangeKind, CalendarSource, CalendarStore, working_hours_json, year_json,
};

use crate::support::{Env, TestDb, execute, meta, refusal, staff};

on_both!(
    seeding_round_trips_and_happens_once,
    a_batch_of_years_is_replaced_all_or_nothing,
    replacing_a_year_records_what_it_replaced,
    working_hours_are_replaced_and_recorded,
    changes_can_be_neither_updated_nor_deleted,
    two_nodes_seeding_at_once_seed_once,
    publishers_on_two_nodes_take_turns,
);

fn author(source: CalendarSource) -> CalendarAuthor {
    CalendarAuthor::new(&staff(Role::Admin, 1), &meta(0), source)
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn year(y: i32, holidays: &[&str], makeups: &[&str]) -> HolidayYear {
    HolidayYear {
        year: y,
        notice: Some(format!("测试〔{y}〕1号")),
        holidays: holidays.iter().map(|s| (day(s), "节日".to_owned())).collect(),
        makeup_workdays: makeups.iter().map(|s| (day(s), "调休上班".to_owned())).collect(),
    }
}

fn bundled() -> Vec<HolidayYear> {
    parse_holidays_toml(BUNDLED_HOLIDAYS).unwrap()
}

async fn seeded<D: TestDb>(env: &Env<D>) -> Vec<HolidayYear> {
    let years = bundled();
    let wrote = env.store.seed_calendar(years.clone(), WorkingHours::default(), author(CalendarSource::Bundled));
    assert!(wrote.await.unwrap());
    years
}

/// The year after the last bundled one.
fn next_year(years: &[HolidayYear]) -> i32 {
    years.last().unwrap().year + 1
}

async fn seeding_round_trips_and_happens_once<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    assert!(s.calendar_years().await.unwrap().is_empty());
    assert_eq!(s.calendar_working_hours().await.unwrap(), None);
    let years = seeded(env).await;
    assert_eq!(s.calendar_years().await.unwrap(), years);
    assert_eq!(s.calendar_working_hours().await.unwrap(), Some(WorkingHours::default()));
    let again = s.seed_calendar(vec![], WorkingHours::default(), author(CalendarSource::Bundled));
    assert!(!again.await.unwrap());
    let changes = s.calendar_changes(100).await.unwrap();
    assert_eq!(changes.len(), years.len() + 1);
    assert_eq!(changes[0].kind, CalendarChangeKind::WorkingHours);
    assert!(changes.iter().all(|c| c.source == CalendarSource::Bundled && c.previous.is_none()));
    let infos = s.calendar_year_infos().await.unwrap();
    assert_eq!(infos.iter().map(|i| i.year).collect::<Vec<_>>(), years.iter().map(|y| y.year).collect::<Vec<_>>());
    let y2026 = infos.iter().find(|i| i.year == 2026).unwrap();
    assert_eq!((y2026.holidays, y2026.makeup_workdays), (33, 6));
    assert_eq!(y2026.updated_at, meta(0).now);
    assert!(y2026.notice.as_deref().is_some_and(|n| n.contains("国办发")), "{:?}", y2026.notice);
}

async fn a_batch_of_years_is_replaced_all_or_nothing<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let before = seeded(env).await;
    let next = next_year(&before);
    let good = year(next, &[&format!("{next}-01-01")], &[&format!("{next}-01-09")]);
    let conflicting = year(2026, &["2026-02-14"], &["2026-02-14"]);
    let refused = s.replace_calendar_years(vec![good.clone(), conflicting], author(CalendarSource::Toml)).await;
    assert_eq!(refusal(refused), "calendar_conflict");
    let gap = year(next + 2, &[&format!("{}-01-01", next + 2)], &[]);
    let refused = s.replace_calendar_years(vec![good.clone(), gap], author(CalendarSource::Toml)).await;
    assert_eq!(refusal(refused), "invalid_calendar", "the stored years must stay contiguous");
    let twice = s.replace_calendar_years(vec![good.clone(), good.clone()], author(CalendarSource::Toml)).await;
    assert_eq!(refusal(twice), "invalid_calendar");
    assert_eq!(refusal(s.replace_calendar_years(vec![], author(CalendarSource::Json)).await), "invalid_calendar");
    assert_eq!(s.calendar_years().await.unwrap(), before);
    assert_eq!(s.calendar_changes(100).await.unwrap().len(), before.len() + 1);

    let changes = s.replace_calendar_years(vec![good.clone()], author(CalendarSource::Toml)).await.unwrap();
    assert_eq!((changes[0].year, changes[0].previous.as_ref()), (Some(next), None));
    assert_eq!((changes[0].holidays, changes[0].makeup_workdays), (Some(1), Some(1)));
    assert_eq!(s.calendar_years().await.unwrap().last(), Some(&good));
    let latest = &s.calendar_changes(1).await.unwrap()[0];
    assert_eq!(latest, &changes[0], "what a change returns is what is read back");
    assert_eq!((latest.actor_user_id, latest.source), (Some(1), CalendarSource::Toml));
    assert_eq!((latest.actor_role.as_str(), latest.client_ip.as_deref()), ("admin", Some("127.0.0.1")));
    let infos = s.calendar_year_infos().await.unwrap();
    let last = infos.last().unwrap();
    assert_eq!((last.year, last.holidays, last.makeup_workdays), (next, 1, 1));
}

async fn replacing_a_year_records_what_it_replaced<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let years = seeded(env).await;
    let old = years.iter().find(|y| y.year == 2026).unwrap().clone();
    let mut new = old.clone();
    new.notice = Some("  国办发明电〔2026〕99号  ".into());
    new.holidays.retain(|(date, _)| *date != day("2026-01-01"));
    let changes = s.replace_calendar_years(vec![new.clone()], author(CalendarSource::Xlsx)).await.unwrap();
    assert_eq!(changes[0].previous, Some(year_json(&old)));
    let stored = s.calendar_years().await.unwrap().into_iter().find(|y| y.year == 2026).unwrap();
    assert_eq!(stored.notice.as_deref(), Some("国办发明电〔2026〕99号"), "the notice is stored trimmed");
    assert_eq!(stored.holidays, new.holidays);
    assert_eq!(stored.makeup_workdays, old.makeup_workdays);
    let info = s.calendar_year_infos().await.unwrap().into_iter().find(|i| i.year == 2026).unwrap();
    assert_eq!(info.holidays, old.holidays.len() - 1);
}

async fn working_hours_are_replaced_and_recorded<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    seeded(env).await;
    let time = |h, m, sec| NaiveTime::from_hms_opt(h, m, sec).unwrap();
    let hours = WorkingHours::new(vec![(time(9, 0, 0), time(12, 0, 0)), (time(13, 30, 30), time(17, 45, 0))]).unwrap();
    let change = s.set_calendar_working_hours(hours.clone(), author(CalendarSource::Json)).await.unwrap();
    assert_eq!((change.kind, change.year, change.holidays), (CalendarChangeKind::WorkingHours, None, None));
    assert_eq!(change.previous, Some(working_hours_json(&WorkingHours::default())));
    assert_eq!(change.current, working_hours_json(&hours));
    assert_eq!(s.calendar_working_hours().await.unwrap(), Some(hours), "seconds survive the round trip");
    assert_eq!(s.calendar_changes(1).await.unwrap(), vec![change]);
}

async fn changes_can_be_neither_updated_nor_deleted<D: TestDb>() {
    let env = &D::create().await;
    seeded(env).await;
    for sql in ["UPDATE calendar_changes SET actor_name = 'x'", "DELETE FROM calendar_changes"] {
        let err = execute(&env.store, sql, vec![]).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let both = execute(
        &env.store,
        "INSERT INTO calendar_days (date, year, kind, name) VALUES ('2026-02-14', 2026, 'holiday', 'x')",
        vec![],
    )
    .await;
    assert!(both.is_err(), "a date is a holiday or a make-up day, not both");
    assert_eq!(env.store.calendar_changes(100).await.unwrap().len(), bundled().len() + 1);
}

async fn two_nodes_seeding_at_once_seed_once<D: TestDb>() {
    let env = &D::create().await;
    let other = env.other_node().await;
    let years = bundled();
    let (a, b) = tokio::join!(
        env.store.seed_calendar(years.clone(), WorkingHours::default(), author(CalendarSource::Bundled)),
        other.seed_calendar(years.clone(), WorkingHours::default(), author(CalendarSource::Bundled)),
    );
    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|wrote| **wrote).count(), 1);
    assert_eq!(env.store.calendar_changes(100).await.unwrap().len(), years.len() + 1);
    assert_eq!(other.calendar_years().await.unwrap(), years);
}

/// Two administrators replacing one year on two nodes at once: the later
/// one's change records the earlier one's content as what it replaced.
async fn publishers_on_two_nodes_take_turns<D: TestDb>() {
    let env = &D::create().await;
    let years = seeded(env).await;
    let other = env.other_node().await;
    let next = next_year(&years);
    let first = year(next, &[&format!("{next}-01-01")], &[]);
    let second = year(next, &[&format!("{next}-01-01"), &format!("{next}-01-02")], &[]);
    let (a, b) = tokio::join!(
        env.store.replace_calendar_years(vec![first.clone()], author(CalendarSource::Json)),
        other.replace_calendar_years(vec![second.clone()], author(CalendarSource::Json)),
    );
    let (a, b) = (a.unwrap().remove(0), b.unwrap().remove(0));
    let (earlier, later) = if a.id < b.id { (a, b) } else { (b, a) };
    assert_eq!(earlier.previous, None);
    assert_eq!(later.previous, Some(earlier.current.clone()));
    let stored = env.store.calendar_years().await.unwrap().pop().unwrap();
    assert_eq!(year_json(&stored), later.current);
}
