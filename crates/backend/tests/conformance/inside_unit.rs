//! Inside a unit (docs/inside-a-unit.md), as the store keeps it: the work inside the units read back
//! with the request, the sub-units of assignments in the data scope (SQL agreeing with
//! `Scope::permits`), the replies waiting for review and each sub-unit's load.

use mashangban_domain::lifecycle::Action;
use mashangban_domain::org::{Actor, Role, Scope, StaffActor, UnitKind};
use mashangban_domain::request::{Asker, Channel, Contact, Location, NewRequest, Request, RequestKind, Urgency};
use mashangban_domain::time_limit::TimeLimits;
use mashangban_domain::unit_work::SubState;
use mashangban_domain::validation::Phone;
use mashangban_store::{CatalogStore, Command, ListFilter, OrgStore, RequestStore, SubUnitLoad};

use crate::org::unit;
use crate::support::{Env, TestDb, at, meta};

on_both!(assignments_put_the_sub_unit_in_scope_and_in_its_load, replies_waiting_for_review_are_found_by_unit);

struct Units {
    dept: i64,
    section: i64,
    other_section: i64,
    other: i64,
    category: i64,
}

async fn units<D: TestDb>(env: &Env<D>) -> Units {
    let s = &env.store;
    s.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
    let dept = s.upsert_unit(unit("d", UnitKind::Department, Some("city"))).await.unwrap().id;
    let section = s.upsert_unit(unit("d-1", UnitKind::Subunit, Some("d"))).await.unwrap().id;
    let other_section = s.upsert_unit(unit("d-2", UnitKind::Subunit, Some("d"))).await.unwrap().id;
    let other = s.upsert_unit(unit("e", UnitKind::Department, Some("city"))).await.unwrap().id;
    let category = mashangban_store::NewCategory {
        code: "x".into(),
        name: "分类".into(),
        parent_code: None,
        lead_unit_code: Some("d".into()),
        keywords: vec![],
    };
    let category = s.upsert_category(category).await.unwrap().id;
    Units { dept, section, other_section, other, category }
}

fn staff(role: Role, unit: i64, below: &[i64]) -> Actor {
    Actor::Staff(StaffActor {
        user_id: None,
        name: format!("{}{unit}", role.label()),
        role,
        unit_id: unit,
        units: std::iter::once(unit).chain(below.iter().copied()).collect(),
        town_id: None,
    })
}

async fn act<D: TestDb>(env: &Env<D>, r: &Request, who: Actor, action: Action, minutes: i64) -> Request {
    let command = Command {
        tracking_no: r.tracking_no.clone(),
        scope: Scope::All,
        actor: who,
        action,
        attachment_ids: vec![],
        meta: meta(minutes),
        calendar: None,
        expected_version: None,
    };
    env.store.act(command).await.unwrap()
}

/// A complaint dispatched to the department and signed for; `review` as the rule table would set it.
async fn signed<D: TestDb>(env: &Env<D>, u: &Units, review: bool) -> Request {
    let limits = TimeLimits {
        version: 1,
        sign_for: None,
        contact: None,
        stage_reply: None,
        reply: None,
        co_answer: None,
        review,
    };
    let new = NewRequest {
        kind: RequestKind::Complaint,
        urgency: Urgency::Normal,
        channel: Channel::Web,
        asker: Asker::Resident,
        contact: Contact { name: "陈嘉欣".into(), phone: Phone::parse("13800138000").unwrap(), email: None },
        title: "路灯不亮".into(),
        content: "内容".into(),
        category_id: u.category,
        location: Location { town_id: None, address: None, point: None },
        ledger_ref: None,
        check_code: "12345678".into(),
        submitted_by: None,
        due_at: Some(at(60 * 24 * 15)),
        deadlines: Default::default(),
        time_limits: Some(limits),
        card: None,
        visit: None,
        screening: None,
    };
    let r = env.store.intake(new, &Actor::PublicAsker, &meta(0)).await.unwrap();
    let dispatcher = staff(Role::Dispatcher, u.dept, &[]);
    let r = act(env, &r, dispatcher, Action::Dispatch { lead: u.dept, co: vec![], comment: None }, 1).await;
    act(env, &r, staff(Role::Handler, u.dept, &[u.section, u.other_section]), Action::SignFor { comment: None }, 2)
        .await
}

fn sees(scope: &Scope, r: &Request) -> bool {
    scope.permits(&r.scope_facts())
}

async fn assignments_put_the_sub_unit_in_scope_and_in_its_load<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let u = units(env).await;
    let r = signed(env, &u, false).await;
    let handler = staff(Role::Handler, u.dept, &[u.section, u.other_section]);
    let section = staff(Role::Handler, u.section, &[]);
    let (in_section, in_other) = (section.scope(), staff(Role::Handler, u.other_section, &[]).scope());
    assert!(s.find(&r.tracking_no, &in_section).await.unwrap().is_none());
    assert_eq!(
        s.sub_unit_load(&[u.section], at(10)).await.unwrap(),
        [SubUnitLoad { unit_id: u.section, open: 0, overdue: 0 }]
    );

    let due = at(60 * 24 * 3);
    let r = act(env, &r, handler.clone(), Action::SubDispatch { sub_unit: u.section, due, comment: None }, 3).await;
    let stored = s.find(&r.tracking_no, &in_section).await.unwrap().expect("the section sees it");
    assert_eq!(stored.unit_work, r.unit_work, "read back as written");
    assert_eq!((stored.unit_work.subs[0].sub_unit_id, stored.unit_work.subs[0].state), (u.section, SubState::Assigned));
    assert!(s.find(&r.tracking_no, &in_other).await.unwrap().is_none());
    // The SQL scope agrees with the reference rule, in lists too.
    for scope in [&in_section, &in_other, &staff(Role::Handler, u.other, &[]).scope()] {
        let listed = s.list(&ListFilter { limit: 10, ..ListFilter::default() }, scope).await.unwrap().items;
        assert_eq!(listed.iter().any(|x| x.id == r.id), sees(scope, &stored), "{scope:?}");
    }

    let both = [u.section, u.other_section];
    let load = |now| s.sub_unit_load(&both, now);
    assert_eq!(
        load(at(10)).await.unwrap(),
        [
            SubUnitLoad { unit_id: u.section, open: 1, overdue: 0 },
            SubUnitLoad { unit_id: u.other_section, open: 0, overdue: 0 }
        ]
    );
    assert_eq!(load(at(60 * 24 * 4)).await.unwrap()[0].overdue, 1, "past the section's deadline");
    let r = act(env, &r, section.clone(), Action::SubSignFor { comment: None }, 4).await;
    let r = act(env, &r, section, Action::SubReply { content: "已办".into() }, 5).await;
    assert_eq!(load(at(10)).await.unwrap()[0].open, 0, "replied: no longer its load");
    assert!(s.find(&r.tracking_no, &in_section).await.unwrap().is_some(), "still its to see");
}

async fn replies_waiting_for_review_are_found_by_unit<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let u = units(env).await;
    let plain = signed(env, &u, false).await;
    let reviewed = signed(env, &u, true).await;
    let handler = staff(Role::Handler, u.dept, &[]);
    let leader = staff(Role::UnitLeader, u.dept, &[]);
    act(env, &plain, handler.clone(), Action::Reply { content: "答复".into() }, 3).await;
    let r = act(env, &reviewed, handler.clone(), Action::Reply { content: "拟答复".into() }, 3).await;
    assert_eq!(r.unit_work.review.as_ref().map(|v| v.content.as_str()), Some("拟答复"));

    let waiting = s.awaiting_review(&leader.scope(), &[u.dept], 10).await.unwrap();
    assert_eq!(waiting.iter().map(|x| x.id).collect::<Vec<_>>(), [reviewed.id]);
    assert!(s.awaiting_review(&leader.scope(), &[u.other], 10).await.unwrap().is_empty(), "another unit's");
    let outside = staff(Role::UnitLeader, u.other, &[]).scope();
    assert!(s.awaiting_review(&outside, &[u.dept], 10).await.unwrap().is_empty(), "out of scope");

    act(env, &r, leader.clone(), Action::ApproveReply { comment: None }, 4).await;
    assert!(s.awaiting_review(&leader.scope(), &[u.dept], 10).await.unwrap().is_empty(), "approved");
}
