//! The request lifecycle: every rule (action × state) explicitly, and
//! property tests over random sequences of actions by random actors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Duration;
use proptest::prelude::*;

use mashangban_domain::ErrorKind;
use mashangban_domain::lifecycle::{Action, Context, apply};
use mashangban_domain::org::{AccountActor, Actor, Role, StaffActor};
use mashangban_domain::request::{
    Asker, Channel, Contact, EventKind, Location, Rating, Request, RequestKind, State, Urgency,
};
use mashangban_domain::time::{Instant, parse_instant};
use mashangban_domain::validation::Phone;

const UNIT_A: i64 = 10;
const UNIT_B: i64 = 11;
const UNIT_C: i64 = 12;

fn t0() -> Instant {
    parse_instant("2026-03-02T09:00:00+08:00").unwrap()
}

fn request(kind: RequestKind) -> Request {
    Request {
        id: 1,
        tracking_no: "ZS20260302000001".into(),
        check_code: "12345678".into(),
        kind,
        urgency: Urgency::Normal,
        channel: Channel::Phone,
        asker: Asker::Resident,
        contact: Contact { name: "陈嘉欣".into(), phone: Phone::parse("13800138000").unwrap(), email: None },
        title: "咨询居住证办理".into(),
        content: "请问在小榄镇如何办理居住证？".into(),
        category_id: 1,
        location: Location::default(),
        state: State::Received,
        lead_unit_id: None,
        co_unit_ids: vec![],
        pending_extension: None,
        merged_into: None,
        rating: None,
        resolved: None,
        reopen_count: 0,
        return_count: 0,
        extension_count: 0,
        urge_count: 0,
        reopen_requested_at: None,
        due_at: Some(t0() + Duration::days(10)),
        deadlines: Default::default(),
        time_limits: None,
        suspended_at: None,
        supervision: None,
        ledger_ref: None,
        submitted_by: Some(99),
        received_at: t0(),
        updated_at: t0(),
        closed_at: None,
        unit_work: Default::default(),
        version: 1,
        screening_held: false,
    }
}

fn staff(role: Role, unit: i64) -> Actor {
    Actor::Staff(StaffActor {
        user_id: Some(unit * 100 + role as i64),
        name: format!("{}{unit}", role.label()),
        role,
        unit_id: unit,
        units: vec![unit],
        town_id: None,
    })
}

fn parent() -> Request {
    let mut p = request(RequestKind::Complaint);
    p.id = 2;
    p.tracking_no = "ZS20260301000009".into();
    p.state = State::InProgress;
    p.lead_unit_id = Some(UNIT_A);
    p
}

/// A request in `state` with the fields that state implies.
fn in_state(state: State) -> Request {
    let mut r = request(RequestKind::Consultation);
    r.state = state;
    if !matches!(state, State::Received) {
        r.lead_unit_id = Some(UNIT_A);
        r.co_unit_ids = vec![UNIT_C];
        r.unit_work.co_answers.push(co_answer(UNIT_C));
    }
    if matches!(state, State::Closed | State::FollowedUp | State::Archived) {
        r.closed_at = Some(t0());
    }
    if state == State::FollowedUp {
        r.rating = Some(Rating::Dissatisfied);
        r.resolved = Some(false);
    }
    if state == State::Merged {
        r.merged_into = Some(2);
    }
    r
}

fn co_answer(unit: i64) -> mashangban_domain::unit_work::CoAnswer {
    mashangban_domain::unit_work::CoAnswer {
        unit_id: unit, content: "协办意见".into(), by: "协办".into(), at: t0()
    }
}

/// Every action with valid parameters, and an actor allowed to take it.
fn every_action() -> Vec<(Action, Actor)> {
    let dispatcher = staff(Role::Dispatcher, 1);
    let handler = staff(Role::Handler, UNIT_A);
    let operator = staff(Role::Operator, 1);
    vec![
        (Action::Dispatch { lead: UNIT_A, co: vec![UNIT_C], comment: None }, dispatcher.clone()),
        (Action::SignFor { comment: None }, handler.clone()),
        (Action::Return { reason: "不属于本单位职责".into() }, handler.clone()),
        (Action::Redispatch { lead: UNIT_B, co: vec![], comment: None, due: None }, dispatcher.clone()),
        (Action::RefuseReturn { reason: "属于贵单位职责".into(), due: None }, dispatcher.clone()),
        (Action::StageReply { content: "正在核查".into() }, handler.clone()),
        (
            Action::RequestExtension { requested_due: t0() + Duration::days(30), reason: "需现场核查".into() },
            handler.clone(),
        ),
        (Action::ApproveExtension { comment: None }, dispatcher.clone()),
        (Action::RefuseExtension { reason: "期限充足".into() }, dispatcher.clone()),
        (Action::Reply { content: "已办理完毕".into() }, handler.clone()),
        (Action::RejectReply { reason: "答复不完整".into() }, dispatcher.clone()),
        (Action::Close { comment: None }, dispatcher.clone()),
        (Action::DirectClose { answer: "可在粤省事办理".into() }, operator.clone()),
        (Action::FollowUp { rating: Rating::Satisfied, resolved: true, comment: None }, operator.clone()),
        (Action::Reopen { reason: "诉求人不满意".into() }, dispatcher.clone()),
        (Action::Merge { parent_id: 2 }, dispatcher.clone()),
        (Action::Withdraw { reason: None }, Actor::PublicAsker),
        (Action::Archive, dispatcher.clone()),
        (reclassify(Some(RequestKind::Suggestion), None, None), dispatcher.clone()),
        (Action::CoAnswer { content: "本单位意见".into() }, staff(Role::Handler, UNIT_C)),
    ]
}

fn reclassify(
    kind: Option<RequestKind>,
    urgency: Option<Urgency>,
    rules: Option<mashangban_domain::time_limit::RuleSet>,
) -> Action {
    Action::Reclassify(mashangban_domain::lifecycle::Reclassify {
        kind,
        urgency,
        category_id: None,
        town_id: None,
        reason: "受理时选错".into(),
        rules,
        anchors: mashangban_domain::time_limit::RecountAnchors { sign_for_from: None, paused: Duration::zero() },
    })
}

/// 改类改急: the fields change, the deadlines are counted again from receipt
/// under the rule version kept at receipt, and the event says from and to.
#[test]
fn a_correction_counts_again_under_the_kept_rule_version() {
    use mashangban_domain::calendar::WorkCalendar;
    use mashangban_domain::event::EventDetails;
    use mashangban_domain::time_limit::{RuleSet, intake_deadlines};

    let calendar = WorkCalendar::bundled().unwrap();
    let rules = RuleSet::guangdong_defaults();
    let limits = rules.resolve(RequestKind::Complaint, Urgency::Normal, Channel::Phone, true);
    let mut current = request(RequestKind::Complaint);
    current.asker = Asker::Enterprise {
        credit_code: mashangban_domain::validation::CreditCode::parse("91350100M000100Y43").unwrap(),
        name: "中山市华凯灯饰有限公司".into(),
    };
    current.time_limits = Some(limits);
    (current.due_at, current.deadlines) = intake_deadlines(&calendar, current.received_at, &limits);
    let ctx = Context { now: t0() + Duration::hours(3), merge_parent: None, calendar: Some(&calendar), sub_unit: None };
    let dispatcher = staff(Role::Dispatcher, 1);

    let outcome =
        apply(&current, &dispatcher, &reclassify(None, Some(Urgency::ActNow), Some(rules.clone())), &ctx).unwrap();
    let next = &outcome.request;
    assert_eq!(next.urgency, Urgency::ActNow);
    // Mon 03-02 09:00 + 5 working days; contact within one working hour of receipt.
    assert_eq!(next.due_at, Some(parse_instant("2026-03-09T17:30:00+08:00").unwrap()));
    assert_eq!(next.deadlines.contact, Some(parse_instant("2026-03-02T10:00:00+08:00").unwrap()));
    assert_eq!(outcome.event.kind, EventKind::Reclassified);
    let EventDetails::Reclassified(d) = &outcome.event.details else { panic!("details") };
    assert!(d.kind.is_none() && d.urgency.as_ref().is_some_and(|c| c.from == Urgency::Normal));
    assert_eq!((d.before.due_at, d.after.due_at), (current.due_at, next.due_at));

    // Nothing changed, a resident's 马上办, another rule version, an operator after dispatch: refused.
    let same = apply(&current, &dispatcher, &reclassify(Some(RequestKind::Complaint), None, None), &ctx);
    assert_eq!(same.unwrap_err().code, "nothing_changed");
    let mut resident = current.clone();
    resident.asker = Asker::Resident;
    let act_now = apply(&resident, &dispatcher, &reclassify(None, Some(Urgency::ActNow), None), &ctx);
    assert_eq!(act_now.unwrap_err().code, "act_now_for_enterprises");
    let other = RuleSet { version: 7, ..rules.clone() };
    let wrong = apply(&current, &dispatcher, &reclassify(None, Some(Urgency::Urgent), Some(other)), &ctx);
    assert_eq!(wrong.unwrap_err().code, "time_limit_version_mismatch");
    let mut dispatched = current.clone();
    dispatched.state = State::Dispatched;
    let operator = staff(Role::Operator, 1);
    assert!(apply(&current, &operator, &reclassify(Some(RequestKind::Help), None, None), &ctx).is_ok());
    let late = apply(&dispatched, &operator, &reclassify(Some(RequestKind::Help), None, None), &ctx);
    assert_eq!(late.unwrap_err().kind, ErrorKind::Forbidden);
}

#[test]
fn every_action_in_every_state_follows_its_rule() {
    let parent = parent();
    for (action, actor) in every_action() {
        for &state in State::ALL {
            let mut current = in_state(state);
            let needs_pending = matches!(action, Action::ApproveExtension { .. } | Action::RefuseExtension { .. });
            if needs_pending && matches!(state, State::SignedFor | State::InProgress) {
                current.pending_extension = Some(mashangban_domain::request::PendingExtension {
                    requested_due: t0() + Duration::days(20),
                    reason: "需现场核查".into(),
                    requested_at: t0(),
                });
            }
            let ctx =
                Context { now: t0() + Duration::hours(1), merge_parent: Some(&parent), calendar: None, sub_unit: None };
            let result = apply(&current, &actor, &action, &ctx);
            let allowed = action.allowed_from().contains(&state);
            match result {
                Ok(outcome) => {
                    assert!(allowed, "{} succeeded from {state:?}", action.name());
                    assert_eq!(outcome.event.from_state, Some(state));
                    assert_eq!(outcome.event.to_state, outcome.request.state);
                    assert_eq!(outcome.request.version, current.version + 1);
                }
                Err(e) => {
                    assert!(!allowed, "{} refused from {state:?}: {e}", action.name());
                    assert_eq!(e.code, "illegal_transition");
                    assert!(e.message.contains(state.label()), "error names the state: {}", e.message);
                }
            }
        }
    }
}

#[test]
fn the_main_path_records_each_step() {
    let dispatcher = staff(Role::Dispatcher, 1);
    let handler = staff(Role::Handler, UNIT_A);
    let co_handler = staff(Role::Handler, UNIT_C);
    let steps = [
        (Action::Dispatch { lead: UNIT_A, co: vec![UNIT_C], comment: None }, &dispatcher, State::Dispatched),
        (Action::SignFor { comment: None }, &handler, State::SignedFor),
        (Action::StageReply { content: "已联系诉求人".into() }, &handler, State::InProgress),
        (Action::CoAnswer { content: "协办意见".into() }, &co_handler, State::InProgress),
        (Action::Reply { content: "已处理".into() }, &handler, State::Replied),
        (Action::Close { comment: None }, &dispatcher, State::Closed),
        (
            Action::FollowUp { rating: Rating::VerySatisfied, resolved: true, comment: None },
            &Actor::PublicAsker,
            State::FollowedUp,
        ),
        (Action::Archive, &dispatcher, State::Archived),
    ];
    let mut r = request(RequestKind::Complaint);
    for (i, (action, actor, expected)) in steps.iter().enumerate() {
        let ctx =
            Context { now: t0() + Duration::hours(i as i64 + 1), merge_parent: None, calendar: None, sub_unit: None };
        let outcome = apply(&r, actor, action, &ctx).unwrap();
        assert_eq!(outcome.request.state, *expected);
        r = outcome.request;
    }
    assert_eq!(r.rating, Some(Rating::VerySatisfied));
    assert!(r.closed_at.is_some());
}

#[test]
fn permissions_are_checked() {
    let ctx = Context { now: t0(), merge_parent: None, calendar: None, sub_unit: None };
    let dispatched = in_state(State::Dispatched);
    // A handler of another unit cannot sign; a co-handler cannot either.
    for unit in [UNIT_B, UNIT_C] {
        let e = apply(&dispatched, &staff(Role::Handler, unit), &Action::SignFor { comment: None }, &ctx).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden);
    }
    // Handlers do not dispatch; supervisors and leaders read only.
    let received = in_state(State::Received);
    let dispatch = Action::Dispatch { lead: UNIT_A, co: vec![], comment: None };
    for role in [Role::Handler, Role::Supervisor, Role::CityLeader, Role::Admin, Role::Operator] {
        assert_eq!(apply(&received, &staff(role, UNIT_A), &dispatch, &ctx).unwrap_err().kind, ErrorKind::Forbidden);
    }
    // A co-handling unit may give a stage reply but not the reply.
    let signed = in_state(State::SignedFor);
    let co = staff(Role::Handler, UNIT_C);
    assert!(apply(&signed, &co, &Action::StageReply { content: "协办意见".into() }, &ctx).is_ok());
    assert_eq!(
        apply(&signed, &co, &Action::Reply { content: "答复".into() }, &ctx).unwrap_err().kind,
        ErrorKind::Forbidden
    );
    // Anonymous visitors do nothing.
    let withdraw = Action::Withdraw { reason: None };
    assert_eq!(apply(&received, &Actor::Anonymous, &withdraw, &ctx).unwrap_err().kind, ErrorKind::Forbidden);
}

#[test]
fn side_path_rules() {
    let ctx = Context { now: t0(), merge_parent: None, calendar: None, sub_unit: None };
    let dispatcher = staff(Role::Dispatcher, 1);
    let handler = staff(Role::Handler, UNIT_A);
    // A return needs a reason.
    let e = apply(&in_state(State::Dispatched), &handler, &Action::Return { reason: "  ".into() }, &ctx).unwrap_err();
    assert_eq!(e.code, "text_required");
    // Re-dispatch to the same unit is a refused return in disguise.
    let returned = in_state(State::Returned);
    let e =
        apply(&returned, &dispatcher, &Action::Redispatch { lead: UNIT_A, co: vec![], comment: None, due: None }, &ctx)
            .unwrap_err();
    assert_eq!(e.code, "same_unit");
    // The lead cannot also co-handle.
    let e = apply(
        &in_state(State::Received),
        &dispatcher,
        &Action::Dispatch { lead: UNIT_A, co: vec![UNIT_A], comment: None },
        &ctx,
    )
    .unwrap_err();
    assert_eq!(e.code, "lead_in_co_units");
    // Only consultations close at intake.
    let mut complaint = in_state(State::Received);
    complaint.kind = RequestKind::Complaint;
    let e =
        apply(&complaint, &staff(Role::Operator, 1), &Action::DirectClose { answer: "答复".into() }, &ctx).unwrap_err();
    assert_eq!(e.code, "direct_close_not_allowed");
    // An extension must move the deadline later, and only one may wait.
    let signed = in_state(State::SignedFor);
    let early = Action::RequestExtension { requested_due: t0() + Duration::days(1), reason: "理由".into() };
    assert_eq!(apply(&signed, &handler, &early, &ctx).unwrap_err().code, "invalid_extension_due");
    let late = Action::RequestExtension { requested_due: t0() + Duration::days(20), reason: "理由".into() };
    let pending = apply(&signed, &handler, &late, &ctx).unwrap().request;
    assert_eq!(apply(&pending, &handler, &late, &ctx).unwrap_err().code, "extension_pending");
    let approved = apply(&pending, &dispatcher, &Action::ApproveExtension { comment: None }, &ctx).unwrap();
    assert_eq!(approved.request.due_at, Some(t0() + Duration::days(20)));
    assert_eq!(approved.event.kind, EventKind::ExtensionApproved);
    assert_eq!(
        apply(&signed, &dispatcher, &Action::ApproveExtension { comment: None }, &ctx).unwrap_err().code,
        "no_extension_pending"
    );
    // Reopen only after dissatisfaction.
    let mut happy = in_state(State::FollowedUp);
    happy.rating = Some(Rating::Satisfied);
    happy.resolved = Some(true);
    assert_eq!(
        apply(&happy, &dispatcher, &Action::Reopen { reason: "复查".into() }, &ctx).unwrap_err().code,
        "reopen_not_allowed"
    );
    let reopened =
        apply(&in_state(State::FollowedUp), &dispatcher, &Action::Reopen { reason: "复查".into() }, &ctx).unwrap();
    assert_eq!(reopened.request.state, State::Dispatched);
    assert_eq!(reopened.request.reopen_count, 1);
}

#[test]
fn a_second_reopen_request_waits_for_the_first_answer() {
    let ctx = Context { now: t0(), merge_parent: None, calendar: None, sub_unit: None };
    let ask = Action::RequestReopen { reason: "问题仍未解决".into() };
    let asked = apply(&in_state(State::FollowedUp), &Actor::PublicAsker, &ask, &ctx).unwrap().request;
    assert_eq!((asked.state, asked.reopen_requested_at), (State::FollowedUp, Some(t0())));
    let again = apply(&asked, &Actor::PublicAsker, &ask, &ctx).unwrap_err();
    assert_eq!((again.code, again.kind), ("reopen_already_requested", ErrorKind::Conflict));
    // The dispatcher's reopening answers it; after the next unhappy follow-up the asker may ask again.
    let dispatcher = staff(Role::Dispatcher, 1);
    let reopened = apply(&asked, &dispatcher, &Action::Reopen { reason: "重新办理".into() }, &ctx).unwrap().request;
    assert_eq!(reopened.reopen_requested_at, None);
    let mut followed = reopened;
    followed.state = State::Closed;
    let unhappy = Action::FollowUp { rating: Rating::Dissatisfied, resolved: false, comment: None };
    let followed = apply(&followed, &staff(Role::Operator, 1), &unhappy, &ctx).unwrap().request;
    assert!(apply(&followed, &Actor::PublicAsker, &ask, &ctx).is_ok());
}

#[test]
fn merge_rules() {
    let dispatcher = staff(Role::Dispatcher, 1);
    let child = in_state(State::Received);
    let merge = Action::Merge { parent_id: 2 };
    let parent = parent();
    let ok = apply(
        &child,
        &dispatcher,
        &merge,
        &Context { now: t0(), merge_parent: Some(&parent), calendar: None, sub_unit: None },
    )
    .unwrap();
    assert_eq!(ok.request.state, State::Merged);
    assert_eq!(ok.request.merged_into, Some(2));
    assert_eq!(ok.parent_event.unwrap().kind, EventKind::MergedChild);
    let e = apply(
        &child,
        &dispatcher,
        &Action::Merge { parent_id: 1 },
        &Context { now: t0(), merge_parent: Some(&child), calendar: None, sub_unit: None },
    )
    .unwrap_err();
    assert_eq!(e.code, "merge_into_self");
    let mut closed = parent.clone();
    closed.state = State::Closed;
    let e = apply(
        &child,
        &dispatcher,
        &merge,
        &Context { now: t0(), merge_parent: Some(&closed), calendar: None, sub_unit: None },
    )
    .unwrap_err();
    assert_eq!(e.code, "merge_target_invalid");
    let e =
        apply(&child, &dispatcher, &merge, &Context { now: t0(), merge_parent: None, calendar: None, sub_unit: None })
            .unwrap_err();
    assert_eq!(e.code, "merge_target_not_found");
}

fn actors() -> Vec<Actor> {
    vec![
        staff(Role::Operator, 1),
        staff(Role::Dispatcher, 1),
        staff(Role::Handler, UNIT_A),
        staff(Role::UnitLeader, UNIT_A),
        staff(Role::Handler, UNIT_B),
        staff(Role::Handler, UNIT_C),
        staff(Role::Supervisor, 1),
        staff(Role::CityLeader, 1),
        staff(Role::Admin, 1),
        Actor::PublicAsker,
        Actor::Anonymous,
        Actor::Account(AccountActor { user_id: 99, name: "企业".into(), role: Role::Enterprise, credit_code: None }),
    ]
}

fn actions() -> Vec<Action> {
    let mut all: Vec<Action> = every_action().into_iter().map(|(a, _)| a).collect();
    all.push(Action::Dispatch { lead: UNIT_B, co: vec![UNIT_A], comment: Some("请协办".into()) });
    all.push(Action::FollowUp { rating: Rating::VeryDissatisfied, resolved: false, comment: Some("没解决".into()) });
    all.push(Action::Return { reason: String::new() });
    all.push(Action::RequestExtension { requested_due: t0() - Duration::days(1), reason: "过去".into() });
    all
}

/// Invariants every reachable request satisfies.
fn check_invariants(r: &Request) {
    use State::*;
    if matches!(r.state, Dispatched | SignedFor | InProgress | Replied | Returned) {
        assert!(r.lead_unit_id.is_some(), "{:?} without a lead unit", r.state);
    }
    assert_eq!(r.state == Merged, r.merged_into.is_some());
    if r.state == FollowedUp {
        assert!(r.rating.is_some() && r.resolved.is_some());
    }
    if matches!(r.state, Closed | FollowedUp) {
        assert!(r.closed_at.is_some());
    }
    if r.pending_extension.is_some() {
        assert!(matches!(r.state, SignedFor | InProgress), "pending extension in {:?}", r.state);
    }
    assert!(!r.co_unit_ids.iter().any(|u| Some(*u) == r.lead_unit_id));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// No sequence of actions reaches an undefined state; a refused action
    /// changes nothing; a taken one records exactly its transition.
    #[test]
    fn random_sequences_keep_the_invariants(
        kind in prop::sample::select(RequestKind::ALL.to_vec()),
        steps in prop::collection::vec((0usize..12, 0usize..22), 1..40),
    ) {
        let actors = actors();
        let actions = actions();
        let parent = parent();
        let mut r = request(kind);
        for (i, (a, b)) in steps.into_iter().enumerate() {
            let actor = &actors[a % actors.len()];
            let action = &actions[b % actions.len()];
            let before = r.clone();
            let ctx = Context { now: t0() + Duration::minutes(i as i64 + 1), merge_parent: Some(&parent), calendar: None, sub_unit: None };
            match apply(&r, actor, action, &ctx) {
                Ok(outcome) => {
                    prop_assert!(action.allowed_from().contains(&before.state));
                    prop_assert!(!before.state.is_terminal());
                    prop_assert_eq!(outcome.event.from_state, Some(before.state));
                    prop_assert_eq!(outcome.event.to_state, outcome.request.state);
                    prop_assert_eq!(outcome.request.version, before.version + 1);
                    r = outcome.request;
                    check_invariants(&r);
                }
                Err(_) => prop_assert_eq!(&r, &before),
            }
        }
    }
}

/// A provisional (暂定) deadline counted again once the year's notice is
/// loaded: from receipt with the kept limits, moved by the time paused, and
/// the recount is an event with before and after.
#[test]
fn recounting_provisional_deadlines_uses_the_loaded_year() {
    use mashangban_domain::calendar::{BUNDLED_HOLIDAYS, WorkCalendar, WorkingHours, parse_holidays_toml};
    use mashangban_domain::event::EventDetails;
    use mashangban_domain::time_limit::{RecountAnchors, RuleSet, intake_deadlines};

    let received = parse_instant("2026-12-15T10:00:00+08:00").unwrap();
    let limits = RuleSet::guangdong_defaults().resolve(RequestKind::Complaint, Urgency::Normal, Channel::Phone, false);
    let (due, deadlines) = intake_deadlines(&WorkCalendar::bundled().unwrap(), received, &limits);
    let mut current = request(RequestKind::Complaint);
    current.received_at = received;
    current.time_limits = Some(limits);
    current.due_at = due;
    current.deadlines = deadlines;
    assert!(current.deadlines.provisional);

    let mut years = parse_holidays_toml(BUNDLED_HOLIDAYS).unwrap();
    let toml = "[[year]]\nyear = 2027\nholidays = [{ date = \"2027-01-01\", name = \"元旦\" }]\nmakeup_workdays = []\n";
    years.extend(parse_holidays_toml(toml).unwrap());
    let loaded = WorkCalendar::new(years, WorkingHours::default()).unwrap();
    // Suspended for two working hours along the way.
    let action =
        Action::RecountDeadlines { anchors: RecountAnchors { sign_for_from: None, paused: Duration::hours(2) } };
    let ctx = Context { now: received, merge_parent: None, calendar: Some(&loaded), sub_unit: None };
    assert!(apply(&current, &staff(Role::Dispatcher, UNIT_A), &action, &ctx).is_err(), "not a dispatcher's step");
    let outcome = apply(&current, &Actor::System, &action, &ctx).unwrap();
    // 01-01 is a holiday: the 15th working day is Wed 01-06, two hours later Thu 01-07 10:30.
    assert_eq!(outcome.request.due_at, Some(parse_instant("2027-01-07T10:30:00+08:00").unwrap()));
    assert!(!outcome.request.deadlines.provisional);
    assert_eq!(outcome.event.kind, EventKind::DeadlinesRecounted);
    let EventDetails::DeadlinesRecounted(details) = &outcome.event.details else { panic!("details") };
    assert_eq!(details.before.due_at, due);
    assert!(details.before.provisional && !details.after.provisional);

    // An approved extension's date stays as agreed.
    current.extension_count = 1;
    let outcome = apply(&current, &Actor::System, &action, &ctx).unwrap();
    assert_eq!(outcome.request.due_at, due);
}

#[test]
fn inside_a_unit_the_co_gate_the_review_and_what_resets_them() {
    let ctx =
        |hours: i64| Context { now: t0() + Duration::hours(hours), merge_parent: None, calendar: None, sub_unit: None };
    let handler = staff(Role::Handler, UNIT_A);
    let leader = staff(Role::UnitLeader, UNIT_A);
    let mut r = in_state(State::InProgress);
    r.co_unit_ids = vec![UNIT_B, UNIT_C];
    let reply = Action::Reply { content: "已处理".into() };
    // UNIT_B has not answered: refused before the deadline, recorded after it.
    assert_eq!(apply(&r, &handler, &reply, &ctx(1)).unwrap_err().code, "co_answers_pending");
    let late = apply(&r, &handler, &reply, &ctx(24 * 11)).unwrap();
    assert_eq!(late.request.state, State::Replied);
    assert!(matches!(&late.event.details,
        mashangban_domain::event::EventDetails::InsideUnit(d) if d.co_units_unanswered == [UNIT_B]));

    // Under review: the handler's reply waits; a return drops the draft.
    r.unit_work.co_answers.push(co_answer(UNIT_B));
    r.time_limits = Some(mashangban_domain::time_limit::RuleSet::guangdong_defaults().resolve(
        RequestKind::Consultation,
        Urgency::Normal,
        Channel::Phone,
        false,
    ));
    r.time_limits.as_mut().unwrap().review = true;
    let drafted = apply(&r, &handler, &reply, &ctx(1)).unwrap();
    assert_eq!((drafted.request.state, drafted.event.kind), (State::InProgress, EventKind::ReplySubmitted));
    assert_eq!(apply(&drafted.request, &handler, &reply, &ctx(2)).unwrap_err().code, "review_pending");
    let approve = Action::ApproveReply { comment: None };
    assert_eq!(apply(&drafted.request, &handler, &approve, &ctx(2)).unwrap_err().kind, ErrorKind::Forbidden);
    let approved = apply(&drafted.request, &leader, &approve, &ctx(2)).unwrap();
    assert_eq!((approved.request.state, approved.event.kind), (State::Replied, EventKind::Replied));
    assert_eq!(approved.event.comment.as_deref(), Some("已处理"));
    assert!(approved.request.unit_work.review.is_none());
    let mut signed = drafted.request.clone();
    signed.state = State::SignedFor;
    let returned = apply(&signed, &handler, &Action::Return { reason: "不属于本单位".into() }, &ctx(2)).unwrap();
    assert!(returned.request.unit_work.review.is_none(), "a return drops the draft");
    // The leader's own reply goes straight out.
    assert_eq!(apply(&r, &leader, &reply, &ctx(1)).unwrap().request.state, State::Replied);

    // A reopening clears the parts: the co-units answer again.
    let mut followed = in_state(State::FollowedUp);
    followed.unit_work.co_answers = vec![co_answer(UNIT_C)];
    let dispatcher = staff(Role::Dispatcher, 1);
    let reopened = apply(&followed, &dispatcher, &Action::Reopen { reason: "不满意".into() }, &ctx(1)).unwrap();
    assert!(reopened.request.unit_work.co_answers.is_empty());
}

#[test]
fn a_sub_units_deadline_notice_names_the_sub_unit_and_is_recorded_apart_from_the_units() {
    use mashangban_domain::event::EventDetails;
    use mashangban_domain::lifecycle::{DeadlineKind, DeadlineNotice, NoticeLevel};
    const SECTION: i64 = 20;
    let mut r = in_state(State::SignedFor);
    r.lead_unit_id = Some(UNIT_A);
    let due = t0() + Duration::hours(2);
    let section =
        DeadlineNotice { deadline: DeadlineKind::SubUnit, level: NoticeLevel::DueSoon, due, unit_id: Some(SECTION) };
    let other = DeadlineNotice { unit_id: Some(SECTION + 1), ..section };
    let unit = DeadlineNotice::of_request(DeadlineKind::Reply, NoticeLevel::DueSoon, due);
    // Two sections with one due time, and the unit's own deadline, are three notices.
    let keys = [section.record_key(), other.record_key(), unit.record_key()];
    assert_eq!(keys, ["sub_unit:20".to_owned(), "sub_unit:21".to_owned(), "reply".to_owned()]);
    let ctx = Context { now: t0(), merge_parent: None, calendar: None, sub_unit: None };
    let outcome = apply(&r, &Actor::System, &Action::Notice { notice: section }, &ctx).unwrap();
    assert_eq!(outcome.event.kind, EventKind::DueSoon);
    match &outcome.event.details {
        EventDetails::Noticed(n) => assert_eq!((n.deadline, n.unit_id), (DeadlineKind::SubUnit, Some(SECTION))),
        other => panic!("{other:?}"),
    }
    assert!(outcome.event.comment.as_deref().unwrap().starts_with("下级办理期限"));
    let outcome = apply(&r, &Actor::System, &Action::Notice { notice: unit }, &ctx).unwrap();
    match &outcome.event.details {
        EventDetails::Noticed(n) => assert_eq!(n.unit_id, Some(UNIT_A), "the unit's own goes to the lead unit"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_returned_direct_line_request_is_re_dispatched_or_refused_by_the_leader_or_the_office_not_the_dispatcher() {
    let ctx = Context { now: t0(), merge_parent: None, calendar: None, sub_unit: None };
    let mut returned = in_state(State::Returned);
    returned.channel = mashangban_domain::request::Channel::DirectLine;
    let due = t0() + chrono::Duration::days(3);
    let again = Action::Redispatch { lead: UNIT_B, co: vec![], comment: Some("重新批示".into()), due: Some(due) };
    // The leader's new instruction: another unit and a new due date.
    let out = apply(&returned, &staff(Role::CityLeader, 1), &again, &ctx).unwrap();
    assert_eq!(
        (out.request.state, out.request.lead_unit_id, out.request.due_at),
        (State::Dispatched, Some(UNIT_B), Some(due))
    );
    assert_eq!(out.event.due_at, Some(due));
    // The office under the same instruction; the dispatcher neither re-dispatches nor refuses the return.
    let same = Action::Redispatch { lead: UNIT_B, co: vec![], comment: None, due: None };
    let out = apply(&returned, &staff(Role::LeadersOffice, 1), &same, &ctx).unwrap();
    assert_eq!(out.request.due_at, returned.due_at, "the time limit stays");
    let dispatcher = staff(Role::Dispatcher, 1);
    assert_eq!(apply(&returned, &dispatcher, &same, &ctx).unwrap_err().kind, ErrorKind::Forbidden);
    let refuse = Action::RefuseReturn { reason: "请办理".into(), due: None };
    assert_eq!(apply(&returned, &dispatcher, &refuse, &ctx).unwrap_err().kind, ErrorKind::Forbidden);
    // The office refuses the return (驳回退回): the same unit, the due date kept or a new one.
    let out = apply(&returned, &staff(Role::LeadersOffice, 1), &refuse, &ctx).unwrap();
    assert_eq!(
        (out.request.state, out.request.lead_unit_id, out.request.due_at),
        (State::Dispatched, returned.lead_unit_id, returned.due_at)
    );
    let later = Action::RefuseReturn { reason: "请办理".into(), due: Some(due) };
    assert_eq!(apply(&returned, &staff(Role::LeadersOffice, 1), &later, &ctx).unwrap().request.due_at, Some(due));
    let earlier = Action::RefuseReturn { reason: "请办理".into(), due: Some(t0()) };
    let refused = apply(&returned, &staff(Role::LeadersOffice, 1), &earlier, &ctx).unwrap_err();
    assert_eq!(refused.code, "invalid_time_limit");
    let unit = apply(&returned, &staff(Role::Handler, UNIT_A), &refuse, &ctx).unwrap_err();
    assert_eq!(unit.kind, ErrorKind::Forbidden, "a unit does not refuse its own return");
    // A due date in the past, or on an ordinary request, is refused.
    let past = Action::Redispatch { lead: UNIT_B, co: vec![], comment: None, due: Some(t0()) };
    assert_eq!(apply(&returned, &staff(Role::CityLeader, 1), &past, &ctx).unwrap_err().code, "invalid_time_limit");
    let ordinary = in_state(State::Returned);
    assert_eq!(apply(&ordinary, &dispatcher, &again, &ctx).unwrap_err().code, "redispatch_due_direct_line_only");
}
