//! Visits (走访) and walking-office sessions: a plan within the enterprise
//! scope, a record whose problems and requests (intake event with the visit,
//! supervision on a walking-office session) commit together — or not at all
//! when one request is refused — the visit's own history, and the scope of
//! listings (a cadre: the visits of their enterprises and those they lead).

use chrono::Duration;

use mashangban_domain::enterprise::EnterpriseScope;
use mashangban_domain::event::{EventDetails, VisitSource};
use mashangban_domain::liaison::{CadreInput, CadreLevel, LiaisonKind};
use mashangban_domain::org::Role;
use mashangban_domain::request::{Asker, Channel, Contact, Location, NewRequest, RequestKind, State, Urgency};
use mashangban_domain::validation::{CreditCode, Phone};
use mashangban_domain::visit::{Lead, NewVisit, ProblemOutcome, VisitKind, VisitState};
use mashangban_store::{LiaisonStore, RecordedProblem, RequestStore, Resolution, VisitFilter, VisitRecord, VisitStore};

use crate::org::town_desk;
use crate::support::{Env, TestDb, at, meta, refusal, staff};

on_both!(a_record_takes_in_its_requests_in_one_transaction, visits_are_seen_within_the_enterprise_scope);

struct Fixture {
    town: i64,
    category: i64,
    cadre: i64,
    leader: i64,
    ours: String,
    theirs: String,
}

async fn fixture<D: TestDb>(env: &Env<D>) -> Fixture {
    let s = &env.store;
    let desk = town_desk(s, "91442000MA5WKTC0", &[("c1", Role::Liaison), ("l1", Role::CityLeader)]).await;
    let (town, category, cadre, leader) = (desk.town, desk.category, desk.users[0], desk.users[1]);
    let (ours, theirs) = (desk.ours, desk.theirs);
    let input = CadreInput::new(cadre, Role::Liaison, CadreLevel::Town, "副镇长", "0760-22338899").unwrap();
    s.save_cadre(input, at(0), "测试".into()).await.unwrap();
    s.assign(&ours, cadre, LiaisonKind::Lead, at(0), "测试".into()).await.unwrap();
    Fixture { town, category, cadre, leader, ours, theirs }
}

fn plan(f: &Fixture, kind: VisitKind, credit_code: &str, lead: i64) -> NewVisit {
    let (role, level) =
        if lead == f.leader { (Role::CityLeader, None) } else { (Role::Liaison, Some(CadreLevel::Town)) };
    let units = if kind == VisitKind::WalkingOffice { vec![f.town] } else { vec![] };
    NewVisit::new(kind, credit_code.into(), at(60), lead, Lead { role, level }, Some("了解需求"), units).unwrap()
}

fn request(f: &Fixture, visit_id: i64, category: i64) -> Box<NewRequest> {
    Box::new(NewRequest {
        kind: RequestKind::Help,
        urgency: Urgency::Normal,
        channel: Channel::OnSite,
        asker: Asker::Enterprise { credit_code: CreditCode::parse(&f.ours).unwrap(), name: "企业".into() },
        contact: Contact { name: "黄志强".into(), phone: Phone::parse("13800138000").unwrap(), email: None },
        title: "道路破损".into(),
        content: "厂区门前道路破损".into(),
        category_id: category,
        location: Location { town_id: Some(f.town), address: None, point: None },
        ledger_ref: None,
        check_code: "12345678".into(),
        submitted_by: None,
        due_at: Some(at(0) + Duration::days(15)),
        deadlines: Default::default(),
        time_limits: None,
        card: None,
        visit: Some(VisitSource { visit_id, kind: VisitKind::WalkingOffice, lead_name: "干部l1".into() }),
        screening: None,
    })
}

fn problems(f: &Fixture, visit_id: i64, second_category: i64) -> Vec<RecordedProblem> {
    vec![
        RecordedProblem {
            text: "用电报装慢".into(),
            resolution: Resolution::SolvedOnSite {
                solved_by: "供电局李工".into(), solution: "现场确认送电".into()
            },
        },
        RecordedProblem {
            text: "道路破损".into(),
            resolution: Resolution::Dispatch {
                request: request(f, visit_id, f.category),
                instruction: Some("两周内修复".into()),
                supervise: Some("行走的办公室批示：两周内修复".into()),
            },
        },
        RecordedProblem {
            text: "招工难".into(),
            resolution: Resolution::Dispatch {
                request: request(f, visit_id, second_category),
                instruction: Some("对接院校".into()),
                supervise: Some("行走的办公室批示：对接院校".into()),
            },
        },
    ]
}

async fn a_record_takes_in_its_requests_in_one_transaction<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let f = fixture(env).await;
    let by = || "调度员（dispatcher）".to_owned();
    let visit = s
        .plan_visit(plan(&f, VisitKind::WalkingOffice, &f.ours, f.leader), EnterpriseScope::All, at(0), by())
        .await
        .unwrap();
    assert_eq!(
        (visit.state, visit.units.clone(), visit.lead_name.as_str()),
        (VisitState::Planned, vec![f.town], "干部l1")
    );
    let actor = staff(Role::Dispatcher, f.town);

    // A refused request (unknown category) writes nothing: no problem, no request, still planned.
    let record =
        |problems| VisitRecord {
            visited_at: at(90), attendees: vec!["黄志强".into()], notes: "纪要".into(), problems
        };
    let (m100, m120) = (meta(100), meta(120));
    let refused = s.record_visit(visit.id, EnterpriseScope::All, record(problems(&f, visit.id, 9999)), &actor, &m100);
    assert_eq!(refusal(refused.await), "unknown_category");
    let again = s.visit(visit.id, EnterpriseScope::All).await.unwrap().unwrap();
    assert_eq!((again.state, again.problems.len(), again.events.len()), (VisitState::Planned, 0, 1));
    let page = s.list(&Default::default(), &mashangban_domain::org::Scope::All).await.unwrap();
    assert!(page.items.is_empty(), "no request survived the refused record");

    // Recorded: three problems, two requests with the visit in their intake and supervised.
    let (recorded, taken) = s
        .record_visit(visit.id, EnterpriseScope::All, record(problems(&f, visit.id, f.category)), &actor, &meta(100))
        .await
        .unwrap();
    assert_eq!(recorded.state, VisitState::Recorded);
    assert_eq!(recorded.attendees, ["黄志强"]);
    assert_eq!(taken.len(), 2);
    let outcomes: Vec<ProblemOutcome> = recorded.problems.iter().map(|p| p.outcome).collect();
    assert_eq!(outcomes, [ProblemOutcome::SolvedOnSite, ProblemOutcome::Dispatched, ProblemOutcome::Dispatched]);
    assert_eq!(recorded.problems[0].solved_by.as_deref(), Some("供电局李工"));
    let second = recorded.problems[1].request.as_ref().unwrap();
    assert_eq!((second.state, second.supervised), (State::Received, true));
    assert_eq!(second.tracking_no, taken[0].tracking_no);
    let history = s.history(taken[0].id).await.unwrap();
    assert_eq!(history.len(), 2, "intake and supervision");
    match &history[0].details {
        EventDetails::Received(r) => {
            assert_eq!(r.channel, Channel::OnSite);
            assert_eq!(r.visit.as_ref().map(|v| v.visit_id), Some(visit.id));
        }
        other => panic!("expected the intake, got {other:?}"),
    }
    assert_eq!(history[1].comment.as_deref(), Some("行走的办公室批示：两周内修复"));
    assert!(matches!(history[1].details, EventDetails::Supervised(_)));
    let actions: Vec<&str> = recorded.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["planned", "recorded"]);

    // Only a planned visit is recorded or cancelled.
    let twice = s.record_visit(visit.id, EnterpriseScope::All, record(vec![]), &actor, &m120);
    assert_eq!(refusal(twice.await), "visit_not_planned");
    let cancel = s.cancel_visit(visit.id, EnterpriseScope::All, "x".into(), at(130), by());
    assert_eq!(refusal(cancel.await), "visit_not_planned");
    let missing = s.record_visit(visit.id + 100, EnterpriseScope::All, record(vec![]), &actor, &m120);
    assert_eq!(refusal(missing.await), "visit_not_found");
}

async fn visits_are_seen_within_the_enterprise_scope<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let f = fixture(env).await;
    let by = || "测试".to_owned();
    let cadre = EnterpriseScope::Liaison(f.cadre);

    // The cadre plans for their enterprise; another enterprise is out of their scope.
    let ours = s.plan_visit(plan(&f, VisitKind::Visit, &f.ours, f.cadre), cadre, at(0), by()).await.unwrap();
    let refused = s.plan_visit(plan(&f, VisitKind::Visit, &f.theirs, f.cadre), cadre, at(0), by()).await;
    assert_eq!(refusal(refused), "enterprise_not_found");
    let theirs =
        s.plan_visit(plan(&f, VisitKind::Visit, &f.theirs, f.leader), EnterpriseScope::All, at(0), by()).await.unwrap();
    let led =
        s.plan_visit(plan(&f, VisitKind::Visit, &f.theirs, f.cadre), EnterpriseScope::All, at(0), by()).await.unwrap();

    assert!(s.visit(theirs.id, cadre).await.unwrap().is_none(), "another enterprise's visit is not theirs");
    assert!(s.visit(led.id, cadre).await.unwrap().is_some(), "a visit they lead is");
    let seen: Vec<i64> = s.visits(&VisitFilter::in_scope(cadre)).await.unwrap().iter().map(|v| v.id).collect();
    assert_eq!(seen, [led.id, ours.id]);
    let town = EnterpriseScope::Town(f.town);
    assert_eq!(s.visits(&VisitFilter::in_scope(town)).await.unwrap().len(), 3);
    assert!(s.visits(&VisitFilter::in_scope(EnterpriseScope::Town(f.town + 1000))).await.unwrap().is_empty());
    assert!(s.visits(&VisitFilter::in_scope(EnterpriseScope::Nothing)).await.unwrap().is_empty());
    let mut filter = VisitFilter::in_scope(EnterpriseScope::All);
    filter.credit_code = Some(f.theirs.clone());
    assert_eq!(s.visits(&filter).await.unwrap().len(), 2);
    filter.from = Some(at(61));
    assert!(s.visits(&filter).await.unwrap().is_empty(), "planned at(60), before the window");

    // Cancel records why, in the visit's history; out of scope is not found.
    let refused = s.cancel_visit(theirs.id, cadre, "改期".into(), at(10), by()).await;
    assert_eq!(refusal(refused), "visit_not_found");
    let cancelled = s.cancel_visit(ours.id, cadre, "企业停产".into(), at(10), by()).await.unwrap();
    assert_eq!((cancelled.state, cancelled.cancel_reason.as_deref()), (VisitState::Cancelled, Some("企业停产")));
    assert_eq!(cancelled.events.last().map(|e| e.action.as_str()), Some("cancelled"));
}
