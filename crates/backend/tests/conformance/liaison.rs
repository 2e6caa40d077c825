//! Liaison cadres (联系干部): profiles, assignments ended and never deleted,
//! one lead and one assignment per cadre and enterprise, the liaison scope of
//! enterprises and requests (checked against `Scope::permits`), and the
//! copy (抄送) of a new request to the cadres' e-mail in the intake's
//! transaction.

use chrono::Duration;

use mashangban_domain::enterprise::EnterpriseScope;
use mashangban_domain::event::{CardSource, EventDetails};
use mashangban_domain::liaison::{CadreInput, CadreLevel, LiaisonKind};
use mashangban_domain::notify::TemplateKey;
use mashangban_domain::org::{Actor, Role, Scope, ScopeFacts};
use mashangban_domain::request::{Asker, Channel, Contact, Location, NewRequest, RequestKind, Urgency};
use mashangban_domain::validation::{CreditCode, Phone};
use mashangban_store::{
    AssignmentFilter, EnterpriseFilter, EnterpriseStore, LiaisonStore, ListFilter, NotificationStore, RequestStore,
};

use crate::org::town_desk;
use crate::support::{Env, TestDb, at, meta, refusal, t0};

on_both!(
    assignments_keep_one_lead_and_their_history,
    a_cadre_sees_the_enterprises_and_requests_assigned_now,
    new_requests_are_copied_to_the_cadres_and_cards_are_recorded,
);

struct Fixture {
    town: i64,
    category: i64,
    cadre: i64,
    other: i64,
    ours: String,
    theirs: String,
}

async fn fixture<D: TestDb>(env: &Env<D>) -> Fixture {
    let s = &env.store;
    let desk = town_desk(s, "91442000MA5CWNF0", &[("c1", Role::Liaison), ("c2", Role::UnitLeader)]).await;
    let (town, category, cadre, other) = (desk.town, desk.category, desk.users[0], desk.users[1]);
    let (ours, theirs) = (desk.ours, desk.theirs);
    for (user, role, level) in
        [(cadre, Role::Liaison, CadreLevel::Town), (other, Role::UnitLeader, CadreLevel::Department)]
    {
        let input = CadreInput::new(user, role, level, "副镇长", "0760-22338899").unwrap();
        s.save_cadre(input, at(0), "测试".into()).await.unwrap();
    }
    Fixture { town, category, cadre, other, ours, theirs }
}

fn request(f: &Fixture, credit_code: &str, card: Option<CardSource>) -> NewRequest {
    NewRequest {
        kind: RequestKind::Complaint,
        urgency: Urgency::Normal,
        channel: Channel::Web,
        asker: Asker::Enterprise { credit_code: CreditCode::parse(credit_code).unwrap(), name: "企业".into() },
        contact: Contact { name: "陈嘉欣".into(), phone: Phone::parse("13800138000").unwrap(), email: None },
        title: "道路积水".into(),
        content: "内容".into(),
        category_id: f.category,
        location: Location { town_id: Some(f.town), address: None, point: None },
        ledger_ref: None,
        check_code: "12345678".into(),
        submitted_by: None,
        due_at: Some(t0() + Duration::days(15)),
        deadlines: Default::default(),
        time_limits: None,
        card,
        visit: None,
        screening: None,
    }
}

async fn assignments_keep_one_lead_and_their_history<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let f = fixture(env).await;
    let lead = s.assign(&f.ours, f.cadre, LiaisonKind::Lead, at(1), "管理员".into()).await.unwrap();
    assert_eq!((lead.kind, lead.cadre_name.as_str(), lead.post.as_str()), (LiaisonKind::Lead, "干部c1", "副镇长"));
    assert_eq!(
        refusal(s.assign(&f.ours, f.other, LiaisonKind::Lead, at(2), "管理员".into()).await),
        "lead_liaison_exists"
    );
    assert_eq!(
        refusal(s.assign(&f.ours, f.cadre, LiaisonKind::Member, at(2), "管理员".into()).await),
        "liaison_exists"
    );
    assert_eq!(
        refusal(s.assign("91442000MA5CWNF99X", f.cadre, LiaisonKind::Member, at(2), "x".into()).await),
        "enterprise_not_found"
    );
    assert_eq!(refusal(s.assign(&f.ours, 9999, LiaisonKind::Member, at(2), "x".into()).await), "cadre_not_found");
    s.assign(&f.ours, f.other, LiaisonKind::Member, at(3), "管理员".into()).await.unwrap();

    let ended = s.unassign(lead.id, at(4), "管理员".into()).await.unwrap();
    assert_eq!((ended.ended_at, ended.ended_by.as_deref()), (Some(at(4)), Some("管理员")));
    assert_eq!(refusal(s.unassign(lead.id, at(5), "管理员".into()).await), "liaison_ended");
    assert_eq!(refusal(s.unassign(9999, at(5), "管理员".into()).await), "liaison_not_found");
    // The lead may be given again once the former lead's assignment has ended.
    s.assign(&f.ours, f.cadre, LiaisonKind::Lead, at(6), "管理员".into()).await.unwrap();

    let of = |with_ended| AssignmentFilter {
        credit_code: Some(f.ours.clone()),
        with_ended,
        limit: 100,
        ..Default::default()
    };
    let current = s.assignments(&of(false)).await.unwrap();
    let kinds: Vec<(i64, LiaisonKind)> = current.iter().map(|a| (a.user_id, a.kind)).collect();
    assert_eq!(kinds, [(f.cadre, LiaisonKind::Lead), (f.other, LiaisonKind::Member)], "the lead first");
    let history = s.assignments(&of(true)).await.unwrap();
    let times: Vec<_> = history.iter().map(|a| (a.assigned_at, a.ended_at)).collect();
    assert_eq!(times, [(at(6), None), (at(3), None), (at(1), Some(at(4)))], "newest first, ended kept");
    let cadres = s.cadres().await.unwrap();
    assert_eq!(cadres.iter().map(|c| c.enterprises).collect::<Vec<_>>(), [1, 1]);
    let town = AssignmentFilter { town_id: Some(f.town), limit: 100, ..Default::default() };
    assert_eq!(s.assignments(&town).await.unwrap().len(), 2);
}

async fn a_cadre_sees_the_enterprises_and_requests_assigned_now<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let f = fixture(env).await;
    let a = s.assign(&f.ours, f.cadre, LiaisonKind::Lead, at(1), "管理员".into()).await.unwrap();
    s.assign(&f.theirs, f.other, LiaisonKind::Lead, at(1), "管理员".into()).await.unwrap();
    let mine = EnterpriseScope::Liaison(f.cadre);
    let page = s.list_enterprises(&EnterpriseFilter { limit: 100, ..Default::default() }, mine).await.unwrap();
    assert_eq!(page.items.iter().map(|e| e.credit_code.as_str()).collect::<Vec<_>>(), [f.ours.as_str()]);
    assert_eq!(page.total, 1);
    assert!(s.enterprise(&f.theirs, mine).await.unwrap().is_none());

    let mut numbers = Vec::new();
    for c in [&f.ours, &f.theirs] {
        numbers.push(s.intake(request(&f, c, None), &Actor::PublicAsker, &meta(2)).await.unwrap());
    }
    let mut resident = request(&f, &f.ours, None);
    resident.asker = Asker::Resident;
    numbers.push(s.intake(resident, &Actor::PublicAsker, &meta(2)).await.unwrap());
    let all = ListFilter { limit: 100, ..ListFilter::default() };
    for user in [f.cadre, f.other, 9999] {
        let scope = Scope::Liaison { user_id: user };
        let found: Vec<i64> = s.list(&all, &scope).await.unwrap().items.iter().map(|r| r.id).collect();
        // The reference rule, with the cadres of each request's enterprise now.
        let expected: Vec<i64> = {
            let mut ids: Vec<i64> = numbers
                .iter()
                .filter(|r| {
                    let liaisons: Vec<i64> = match r.asker.credit_code() {
                        Some(c) if c == f.ours => vec![f.cadre],
                        Some(c) if c == f.theirs => vec![f.other],
                        _ => vec![],
                    };
                    scope.permits(&ScopeFacts { liaison_user_ids: &liaisons, ..r.scope_facts() })
                })
                .map(|r| r.id)
                .collect();
            ids.sort_unstable_by(|a, b| b.cmp(a));
            ids
        };
        let mut sorted = found.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(sorted, expected, "user {user}");
        for r in &numbers {
            assert_eq!(s.find(&r.tracking_no, &scope).await.unwrap().is_some(), expected.contains(&r.id));
        }
    }
    assert_eq!(s.list(&all, &Scope::Liaison { user_id: f.cadre }).await.unwrap().items.len(), 1);
    // Ended: nothing any more.
    s.unassign(a.id, at(3), "管理员".into()).await.unwrap();
    assert!(s.list(&all, &Scope::Liaison { user_id: f.cadre }).await.unwrap().items.is_empty());
    assert!(s.enterprise(&f.ours, mine).await.unwrap().is_none());
}

async fn new_requests_are_copied_to_the_cadres_and_cards_are_recorded<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let f = fixture(env).await;
    s.assign(&f.ours, f.cadre, LiaisonKind::Lead, at(1), "管理员".into()).await.unwrap();
    s.assign(&f.ours, f.other, LiaisonKind::Member, at(1), "管理员".into()).await.unwrap();
    s.enable_notifications("https://12345.example.gov.cn").await.unwrap();
    s.set_user_email("c1", Some("c1@example.gov.cn".into()), crate::support::tester()).await.unwrap();
    s.set_user_email("c2", Some("c2@example.gov.cn".into()), crate::support::tester()).await.unwrap();
    let card = CardSource { liaison_user_id: f.cadre, liaison_name: "干部c1".into() };
    let r = s.intake(request(&f, &f.ours, Some(card.clone())), &Actor::PublicAsker, &meta(2)).await.unwrap();
    let history = s.history(r.id).await.unwrap();
    match &history[0].details {
        EventDetails::Received(received) => assert_eq!(received.card.as_ref(), Some(&card)),
        other => panic!("{other:?}"),
    }
    let copied: Vec<String> = s
        .list_outbox(None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.template_key.as_deref() == Some(TemplateKey::LiaisonNewRequest.as_str()))
        .map(|i| i.recipient)
        .collect();
    let mut copied = copied;
    copied.sort();
    assert_eq!(copied, ["c1@example.gov.cn", "c2@example.gov.cn"]);
    // Another enterprise's request copies nobody.
    let before = s.list_outbox(None, 100).await.unwrap().len();
    let other = s.intake(request(&f, &f.theirs, None), &Actor::PublicAsker, &meta(3)).await.unwrap();
    let rows = s.list_outbox(None, 100).await.unwrap();
    assert!(
        rows.iter()
            .filter(|i| i.request_id == Some(other.id))
            .all(|i| i.template_key.as_deref() != Some("liaison.new_request"))
    );
    assert!(rows.len() >= before);
}
