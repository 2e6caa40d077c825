//! The staff inbox (消息提醒): entries written with the events that cause
//! them, for the people of the units concerned only; reading, paging,
//! counting and marking read one's own; writing an event's entries again adds
//! nothing; copies by SMS and e-mail as each person chose.

use mashangban_domain::inbox::{InboxEvent, InboxKind};
use mashangban_domain::lifecycle::{Action, DeadlineKind, DeadlineNotice, NoticeLevel};
use mashangban_domain::notify::NoticeChannel;
use mashangban_domain::org::{Actor, Role, Scope, StaffActor, UnitKind};
use mashangban_domain::request::{
    Asker, Channel, Contact, EventKind, Location, NewRequest, Request, RequestKind, Urgency,
};
use mashangban_domain::validation::Phone;
use mashangban_store::{
    ChangeEntity, ChangeStore, Command, InboxFilter, InboxPreference, InboxStore, NewUser, NotificationStore, OrgStore,
    RequestStore,
};
use mashangban_store_sql::Value;

use crate::org::unit;
use crate::support::{Env, TestDb, at, execute, meta, refusal};

on_both!(
    entries_go_to_the_people_of_the_units_concerned,
    reading_paging_and_marking_read_touch_only_ones_own,
    writing_an_events_entries_again_adds_nothing,
    copies_go_to_the_outbox_as_each_person_chose,
);

/// Units a and b under the city; people by role.
struct People {
    a: i64,
    b: i64,
    handler_a: i64,
    leader_a: i64,
    disabled_a: i64,
    handler_b: i64,
    dispatcher: i64,
    supervisor: i64,
    category: i64,
}

async fn user<D: TestDb>(env: &Env<D>, name: &str, role: Role, unit: i64, phone: Option<&str>) -> i64 {
    let new = NewUser {
        username: name.into(),
        display_name: name.into(),
        role,
        unit_id: Some(unit),
        credit_code: None,
        phone: phone.map(str::to_owned),
        password_hash: "x".into(),
    };
    env.store.create_user(new, crate::support::tester()).await.unwrap().id
}

async fn people<D: TestDb>(env: &Env<D>) -> People {
    let s = &env.store;
    let city = s.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap().id;
    let a = s.upsert_unit(unit("a", UnitKind::Department, Some("city"))).await.unwrap().id;
    let b = s.upsert_unit(unit("b", UnitKind::Department, Some("city"))).await.unwrap().id;
    let category = mashangban_store::NewCategory {
        code: "x".into(),
        name: "分类".into(),
        parent_code: None,
        lead_unit_code: Some("a".into()),
        keywords: vec![],
    };
    let category = mashangban_store::CatalogStore::upsert_category(s, category).await.unwrap().id;
    let people = People {
        a,
        b,
        handler_a: user(env, "handler_a", Role::Handler, a, Some("13900000001")).await,
        leader_a: user(env, "leader_a", Role::UnitLeader, a, None).await,
        disabled_a: user(env, "disabled_a", Role::Handler, a, None).await,
        handler_b: user(env, "handler_b", Role::Handler, b, None).await,
        dispatcher: user(env, "dispatcher", Role::Dispatcher, city, None).await,
        supervisor: user(env, "supervisor", Role::Supervisor, city, None).await,
        category,
    };
    s.set_user_disabled("disabled_a", true, crate::support::tester()).await.unwrap();
    people
}

fn actor(user_id: i64, role: Role, unit: i64) -> Actor {
    Actor::Staff(StaffActor {
        user_id: Some(user_id),
        name: "测试".into(),
        role,
        unit_id: unit,
        units: vec![unit],
        town_id: None,
    })
}

fn command(r: &Request, who: Actor, action: Action, minutes: i64) -> Command {
    Command {
        tracking_no: r.tracking_no.clone(),
        scope: Scope::All,
        actor: who,
        action,
        attachment_ids: vec![],
        meta: meta(minutes),
        calendar: None,
        expected_version: None,
    }
}

async fn intake<D: TestDb>(env: &Env<D>, p: &People) -> Request {
    let new = NewRequest {
        kind: RequestKind::Complaint,
        urgency: Urgency::Normal,
        channel: Channel::Web,
        asker: Asker::Resident,
        contact: Contact { name: "陈嘉欣".into(), phone: Phone::parse("13800138000").unwrap(), email: None },
        title: "路灯不亮".into(),
        content: "内容".into(),
        category_id: p.category,
        location: Location { town_id: None, address: None, point: None },
        ledger_ref: None,
        check_code: "12345678".into(),
        submitted_by: None,
        due_at: Some(at(60 * 24 * 15)),
        deadlines: Default::default(),
        time_limits: None,
        card: None,
        visit: None,
        screening: None,
    };
    env.store.intake(new, &Actor::PublicAsker, &meta(0)).await.unwrap()
}

async fn dispatch<D: TestDb>(env: &Env<D>, p: &People, r: &Request, minutes: i64) -> Request {
    let who = actor(p.dispatcher, Role::Dispatcher, 1);
    env.store.act(command(r, who, Action::Dispatch { lead: p.a, co: vec![], comment: None }, minutes)).await.unwrap()
}

fn all() -> InboxFilter {
    InboxFilter { limit: 100, ..InboxFilter::default() }
}

async fn kinds<D: TestDb>(env: &Env<D>, user: i64) -> Vec<(InboxKind, EventKind)> {
    let entries = env.store.inbox_entries(user, &all()).await.unwrap();
    let event = |e: InboxEvent| match e {
        InboxEvent::Request(kind) => kind,
        InboxEvent::Notice(notice) => panic!("a notice among a request's entries: {notice:?}"),
    };
    entries.into_iter().map(|e| (e.kind, event(e.event))).collect()
}

async fn entries_go_to_the_people_of_the_units_concerned<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let p = people(env).await;
    let r = intake(env, &p).await;
    for user in [p.handler_a, p.leader_a, p.dispatcher] {
        assert!(kinds(env, user).await.is_empty(), "intake puts nothing in anyone's inbox");
    }
    let head = s.feed_head().await.unwrap();
    let r = dispatch(env, &p, &r, 1).await;
    let assigned = vec![(InboxKind::Assigned, EventKind::Dispatched)];
    assert_eq!(kinds(env, p.handler_a).await, assigned);
    assert_eq!(kinds(env, p.leader_a).await, assigned);
    for user in [p.disabled_a, p.handler_b, p.dispatcher, p.supervisor] {
        assert!(kinds(env, user).await.is_empty(), "user {user}: not of the unit, disabled, or the dispatcher");
    }
    let entry = &s.inbox_entries(p.handler_a, &all()).await.unwrap()[0];
    let about = entry.request.as_ref().expect("a request's entry");
    assert_eq!((about.tracking_no.as_str(), entry.title.as_str()), (r.tracking_no.as_str(), "路灯不亮"));
    assert_eq!((about.request_id, entry.created_at, entry.read_at, &entry.link), (r.id, at(1), None, &None));
    // Each entry tells the feed whose inbox changed, in the event's transaction.
    let changes = s.changes_after(head, 100).await.unwrap();
    let inboxes: Vec<String> =
        changes.iter().filter(|c| c.entity == ChangeEntity::Inbox).map(|c| c.key.clone()).collect();
    assert_eq!(inboxes, [p.handler_a.to_string(), p.leader_a.to_string()]);

    // Urging: the handling unit. The urger is not told of their own act.
    let urge = Action::Urge { message: "请尽快".into() };
    let r = s.act(command(&r, actor(p.dispatcher, Role::Dispatcher, 1), urge, 2)).await.unwrap();
    assert_eq!(kinds(env, p.handler_a).await[0], (InboxKind::Urged, EventKind::Urged));
    assert!(kinds(env, p.dispatcher).await.is_empty());
    // A handler signs for and returns it: the dispatchers decide, the handler is not told.
    let r = s.act(command(&r, actor(p.handler_a, Role::Handler, p.a), Action::SignFor { comment: None }, 3)).await;
    let r = r.unwrap();
    let back = Action::Return { reason: "不属本单位".into() };
    let r = s.act(command(&r, actor(p.handler_a, Role::Handler, p.a), back, 4)).await.unwrap();
    assert_eq!(kinds(env, p.dispatcher).await, [(InboxKind::Returned, EventKind::Returned)]);
    assert_eq!(kinds(env, p.handler_a).await.len(), 2, "nothing new for the unit that returned it");
    // Sent on to b (改派): b's handler, not a's.
    let on = Action::Redispatch { lead: p.b, co: vec![], comment: None, due: None };
    let r = s.act(command(&r, actor(p.dispatcher, Role::Dispatcher, 1), on, 5)).await.unwrap();
    assert_eq!(kinds(env, p.handler_b).await, [(InboxKind::Assigned, EventKind::Redispatched)]);
    assert_eq!(kinds(env, p.handler_a).await.len(), 2);
    // The scheduler's notices: due soon and overdue to b, escalation to the supervisor.
    let notice = |level| Action::Notice { notice: DeadlineNotice::of_request(DeadlineKind::Reply, level, at(600)) };
    let r = s.act(command(&r, Actor::System, notice(NoticeLevel::DueSoon), 6)).await.unwrap();
    let r = s.act(command(&r, Actor::System, notice(NoticeLevel::Overdue), 7)).await.unwrap();
    s.act(command(&r, Actor::System, notice(NoticeLevel::Supervisor), 8)).await.unwrap();
    assert_eq!(
        kinds(env, p.handler_b).await,
        [
            (InboxKind::Overdue, EventKind::Overdue),
            (InboxKind::DueSoon, EventKind::DueSoon),
            (InboxKind::Assigned, EventKind::Redispatched)
        ],
        "newest first"
    );
    assert_eq!(kinds(env, p.supervisor).await, [(InboxKind::Overdue, EventKind::Escalated)]);
}

async fn reading_paging_and_marking_read_touch_only_ones_own<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let p = people(env).await;
    for i in 0..5 {
        let r = intake(env, &p).await;
        dispatch(env, &p, &r, i).await;
    }
    let unread = InboxFilter { unread_only: true, ..all() };
    assert_eq!(s.inbox_count(p.handler_a, &unread).await.unwrap(), 5);
    let first = s.inbox_entries(p.handler_a, &InboxFilter { limit: 2, ..all() }).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(first[0].id > first[1].id, "newest first");
    let next = InboxFilter { limit: 2, before: Some(first[1].id), ..all() };
    let second = s.inbox_entries(p.handler_a, &next).await.unwrap();
    assert_eq!(second.len(), 2);
    assert!(second[0].id < first[1].id);

    // Another person's entry cannot be marked through one's own inbox.
    let leaders = s.inbox_entries(p.leader_a, &all()).await.unwrap();
    assert_eq!(s.mark_inbox_read(p.handler_a, Some(vec![leaders[0].id]), at(10)).await.unwrap(), 0);
    assert_eq!(s.inbox_count(p.leader_a, &unread).await.unwrap(), 5);

    let head = s.feed_head().await.unwrap();
    assert_eq!(s.mark_inbox_read(p.handler_a, Some(vec![first[0].id, first[1].id]), at(10)).await.unwrap(), 2);
    assert_eq!(s.mark_inbox_read(p.handler_a, Some(vec![first[0].id]), at(11)).await.unwrap(), 0, "already read");
    assert_eq!(s.inbox_count(p.handler_a, &unread).await.unwrap(), 3);
    assert_eq!(s.inbox_entries(p.handler_a, &unread).await.unwrap().len(), 3);
    let read = s.inbox_entries(p.handler_a, &all()).await.unwrap().into_iter().find(|e| e.id == first[0].id);
    assert_eq!(read.unwrap().read_at, Some(at(10)));
    let changes = s.changes_after(head, 100).await.unwrap();
    assert!(changes.iter().any(|c| c.entity == ChangeEntity::Inbox && c.key == p.handler_a.to_string()));

    let only = InboxFilter { kind: Some(InboxKind::Urged), ..all() };
    assert_eq!(s.inbox_count(p.handler_a, &only).await.unwrap(), 0);
    assert_eq!(s.mark_inbox_read(p.handler_a, None, at(12)).await.unwrap(), 3);
    assert_eq!(s.inbox_count(p.handler_a, &unread).await.unwrap(), 0);
    assert_eq!(s.inbox_count(p.handler_a, &all()).await.unwrap(), 5, "read entries stay");
    assert_eq!(s.inbox_count(p.leader_a, &unread).await.unwrap(), 5);

    // Pruning: entries read before the cut go; unread ones stay, however old.
    assert_eq!(s.prune_inbox(at(11)).await.unwrap(), 2, "the two read at 10");
    assert_eq!(s.inbox_count(p.handler_a, &all()).await.unwrap(), 3);
    assert_eq!(s.prune_inbox(at(100)).await.unwrap(), 3);
    assert_eq!(s.inbox_count(p.handler_a, &all()).await.unwrap(), 0);
    assert_eq!(s.inbox_count(p.leader_a, &unread).await.unwrap(), 5, "unread, of a person at work");
}

async fn writing_an_events_entries_again_adds_nothing<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let p = people(env).await;
    let r = intake(env, &p).await;
    let r = dispatch(env, &p, &r, 1).await;
    let event_id = s.inbox_entries(p.handler_a, &all()).await.unwrap()[0].request.as_ref().unwrap().event_id;
    assert_eq!(s.redeliver_inbox(event_id).await.unwrap(), 0, "every entry is there");
    assert_eq!(s.redeliver_inbox(event_id).await.unwrap(), 0);
    assert_eq!(s.inbox_count(p.handler_a, &all()).await.unwrap(), 1);
    assert_eq!(s.inbox_count(p.leader_a, &all()).await.unwrap(), 1);
    // An entry lost (removed by hand) is written again, once.
    execute(s, "DELETE FROM inbox_entries WHERE user_id = $1", vec![Value::from(p.leader_a)]).await.unwrap();
    assert_eq!(s.redeliver_inbox(event_id).await.unwrap(), 1);
    assert_eq!(s.redeliver_inbox(event_id).await.unwrap(), 0);
    assert_eq!(s.inbox_count(p.leader_a, &all()).await.unwrap(), 1);
    assert_eq!(s.inbox_count(p.handler_a, &all()).await.unwrap(), 1);
    // A deadline notice is recorded once per request, deadline, level and due time, so its entry is too.
    let notice =
        Action::Notice { notice: DeadlineNotice::of_request(DeadlineKind::Reply, NoticeLevel::DueSoon, at(600)) };
    let r = s.act(command(&r, Actor::System, notice.clone(), 2)).await.unwrap();
    assert_eq!(refusal(s.act(command(&r, Actor::System, notice, 3)).await), "notice_already_sent");
    let due_soon = InboxFilter { kind: Some(InboxKind::DueSoon), ..all() };
    assert_eq!(s.inbox_count(p.handler_a, &due_soon).await.unwrap(), 1);
}

async fn copies_go_to_the_outbox_as_each_person_chose<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let p = people(env).await;
    s.enable_notifications("https://12345.example.gov.cn").await.unwrap();
    s.set_user_email("handler_a", Some("a@example.gov.cn".into()), crate::support::tester()).await.unwrap();
    s.set_user_email("leader_a", Some("leader@example.gov.cn".into()), crate::support::tester()).await.unwrap();
    let defaults = s.inbox_preferences(p.handler_a).await.unwrap();
    assert_eq!(defaults.len(), InboxKind::ALL.len());
    assert!(defaults.iter().all(|d| !d.sms && !d.email), "no copies unless chosen");
    let chosen = vec![
        InboxPreference { kind: InboxKind::Assigned, sms: true, email: true },
        InboxPreference { kind: InboxKind::Urged, sms: false, email: true },
    ];
    let saved = s.set_inbox_preferences(p.handler_a, chosen, at(0)).await.unwrap();
    assert!(saved.iter().any(|x| x.kind == InboxKind::Assigned && x.sms && x.email));
    assert!(saved.iter().any(|x| x.kind == InboxKind::Urged && !x.sms && x.email));
    assert_eq!(
        s.inbox_contacts(p.handler_a).await.unwrap(),
        (Some("13900000001".into()), Some("a@example.gov.cn".into()))
    );

    let r = intake(env, &p).await;
    let before = s.list_outbox(None, 500).await.unwrap().len();
    let r = dispatch(env, &p, &r, 1).await;
    let copies = |rows: Vec<mashangban_store::OutboxItem>| -> Vec<(NoticeChannel, String, Option<String>)> {
        let mut rows: Vec<_> = rows
            .into_iter()
            .filter(|i| i.template_key.as_deref().is_some_and(|k| k.starts_with("inbox.")))
            .map(|i| (i.channel, i.recipient, i.template_key))
            .collect();
        rows.sort();
        rows
    };
    let rows = s.list_outbox(None, 500).await.unwrap();
    assert!(rows.len() > before);
    let inbox_rows = copies(rows.clone());
    assert_eq!(
        inbox_rows,
        [
            (NoticeChannel::Sms, "13900000001".into(), Some("inbox.assigned".into())),
            (NoticeChannel::Email, "a@example.gov.cn".into(), Some("inbox.assigned".into())),
        ],
        "the leader chose nothing and gets no copy"
    );
    let sms =
        rows.iter().find(|i| i.template_key.as_deref() == Some("inbox.assigned") && i.channel == NoticeChannel::Sms);
    let body = &sms.unwrap().body;
    assert!(body.contains(&r.tracking_no) && body.contains("路灯不亮"), "{body}");
    assert!(!body.contains("陈嘉欣") && !body.contains("13800138000"), "never the asker's name or phone: {body}");
    // Writing the event's entries again queues no second copy.
    let event_id = s.inbox_entries(p.handler_a, &all()).await.unwrap()[0].request.as_ref().unwrap().event_id;
    execute(s, "DELETE FROM inbox_entries WHERE user_id = $1", vec![Value::from(p.handler_a)]).await.unwrap();
    assert_eq!(s.redeliver_inbox(event_id).await.unwrap(), 1);
    assert_eq!(copies(s.list_outbox(None, 500).await.unwrap()).len(), 2);
    // Urged: e-mail only.
    let urge = Action::Urge { message: "请尽快".into() };
    s.act(command(&r, actor(p.dispatcher, Role::Dispatcher, 1), urge, 2)).await.unwrap();
    let urged: Vec<_> = copies(s.list_outbox(None, 500).await.unwrap())
        .into_iter()
        .filter(|(_, _, k)| k.as_deref() == Some("inbox.urged"))
        .collect();
    assert_eq!(urged, [(NoticeChannel::Email, "a@example.gov.cn".into(), Some("inbox.urged".into()))]);
    let _ = p.b;
}
