//! On-site service (行走办): the catalogue's unique codes, one centre per unit,
//! a request's changes written with their history under a version check, the
//! daily capacity held inside the write (also by two nodes at once), and the
//! history append-only; the asking account's notice queued in the change's
//! transaction by the template in force (and not when the change is refused); documents of a request
//! with their history rows.

use chrono::NaiveDate;

use mashangban_domain::document::{DocumentFile, OwnerKind};
use mashangban_domain::notify::{NoticeChannel, Template, TemplateKey};
use mashangban_domain::onsite::{KnownItem, Onsite, OnsiteAction, OnsiteDraft, OnsiteStage, apply};
use mashangban_domain::org::UnitKind;
use mashangban_store::{
    DocumentActor, DocumentOwner, DocumentStore, EnforcementActor, NewOnsite, NewUser, NotificationStore, OnsiteChange,
    OnsiteEvent, OnsiteFilter, OnsiteStore, OrgStore, ServiceCentreInput, ServiceItemInput, StoredTemplate,
};

use crate::org::unit;
use crate::support::{TestDb, at, execute, refusal};

on_both!(
    catalogue_and_centres_are_unique_and_kept,
    a_request_moves_with_its_history_within_capacity,
    the_enterprise_is_told_and_documents_are_kept_in_the_requests_history
);

pub(crate) fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub(crate) fn staff() -> EnforcementActor {
    EnforcementActor { user_id: None, name: "中心（service_centre）".into() }
}

/// The change `a` made of a request at version `expected`, booking `booking`.
fn change(expected: i64, onsite: Onsite, booking: Option<NaiveDate>, a: &OnsiteAction) -> OnsiteChange {
    OnsiteChange {
        expected,
        onsite,
        booking,
        event: OnsiteEvent { kind: a.kind().into(), note: a.note() },
        notice: None,
    }
}

pub(crate) async fn units<D: TestDb>(s: &mashangban_store_sql::SqlStore<D>) -> (i64, i64) {
    let city = s.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap().id;
    let dept = s.upsert_unit(unit("zwfw", UnitKind::Department, Some("city"))).await.unwrap().id;
    (city, dept)
}

async fn catalogue_and_centres_are_unique_and_kept<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let (city, dept) = units(s).await;
    let item =
        |code: &str, unit_id| ServiceItemInput {
            code: code.into(), name: "居住证办理".into(), unit_id, active: true
        };
    let permit = s.create_service_item(item("permit", dept)).await.unwrap();
    assert_eq!(refusal(s.create_service_item(item("permit", city)).await), "duplicate_item_code");
    assert_eq!(refusal(s.create_service_item(item("x", 9999)).await), "unknown_unit");
    let card = s.create_service_item(item("card", dept)).await.unwrap();
    assert_eq!(refusal(s.update_service_item(card.id, item("permit", dept)).await), "duplicate_item_code");
    assert_eq!(refusal(s.update_service_item(9999, item("zzz", dept)).await), "item_not_found");
    let off =
        s.update_service_item(permit.id, ServiceItemInput { active: false, ..item("permit", dept) }).await.unwrap();
    assert!(!off.active);
    let codes: Vec<String> = s.service_items().await.unwrap().into_iter().map(|i| i.code).collect();
    assert_eq!(codes, ["card", "permit"], "in code order");

    let centre = |unit_id, capacity| ServiceCentreInput {
        unit_id,
        name: "政务服务中心".into(),
        daily_capacity: capacity,
        active: true,
    };
    let c = s.create_centre(centre(dept, 2)).await.unwrap();
    assert_eq!(refusal(s.create_centre(centre(dept, 3)).await), "duplicate_centre");
    let other = s.create_centre(centre(city, 1)).await.unwrap();
    assert_eq!(refusal(s.update_centre(other.id, centre(dept, 1)).await), "duplicate_centre");
    assert_eq!(s.update_centre(c.id, centre(dept, 5)).await.unwrap().daily_capacity, 5);
    assert_eq!(refusal(s.update_centre(9999, centre(dept, 5)).await), "centre_not_found");
    assert_eq!(s.centres().await.unwrap().len(), 2);
}

pub(crate) fn new_request(centre_id: i64, credit_code: &str, onsite: Onsite) -> NewOnsite {
    NewOnsite {
        centre_id,
        credit_code: credit_code.into(),
        enterprise_name: "中山市华凯灯饰有限公司".into(),
        submitted_by: None,
        address: "古镇镇中兴大道18号".into(),
        contact_name: "陈嘉欣".into(),
        contact_phone: "13800138000".into(),
        note: None,
        onsite,
    }
}

async fn a_request_moves_with_its_history_within_capacity<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let (_, dept) = units(s).await;
    let item = ServiceItemInput { code: "permit".into(), name: "居住证办理".into(), unit_id: dept, active: true };
    let permit = s.create_service_item(item).await.unwrap();
    let centre =
        ServiceCentreInput { unit_id: dept, name: "市政务服务中心".into(), daily_capacity: 1, active: true };
    let centre = s.create_centre(centre).await.unwrap();
    let draft = || OnsiteDraft {
        people: 30,
        dates: vec!["2026-03-10".into(), "2026-03-11".into()],
        items: vec![(permit.id, 30)],
    };
    let catalogue = [KnownItem { id: permit.id, active: true }];
    let onsite = || draft().check(&catalogue, day("2026-03-02"), &|_| None).unwrap();

    let first = s.submit_onsite(new_request(centre.id, "A", onsite()), at(0), staff()).await.unwrap();
    assert!(first.number.starts_with("XZB20260302"), "{}", first.number);
    assert_eq!((first.onsite.stage, first.version), (OnsiteStage::Submitted, 1));
    let second = s.submit_onsite(new_request(centre.id, "B", onsite()), at(1), staff()).await.unwrap();

    // The first takes the only session of 10 March; the second is refused that day and proposed the 12th.
    let accept = OnsiteAction::Accept { date: day("2026-03-10"), team: "梁敏".into() };
    let next = apply(&first.onsite, &accept).unwrap();
    let booked = s.change_onsite(first.id, change(1, next.clone(), next.date, &accept), at(2), staff()).await.unwrap();
    assert_eq!((booked.onsite.stage, booked.onsite.date, booked.version), (OnsiteStage::Accepted, next.date, 2));
    assert_eq!(
        refusal(s.change_onsite(first.id, change(1, next.clone(), None, &accept), at(3), staff()).await),
        "onsite_changed"
    );
    let full = apply(&second.onsite, &accept).unwrap();
    assert_eq!(
        refusal(s.change_onsite(second.id, change(1, full.clone(), full.date, &accept), at(3), staff()).await),
        "over_capacity"
    );
    let propose = OnsiteAction::Propose { date: day("2026-03-12"), team: "周志坚".into(), note: None };
    let proposed = apply(&second.onsite, &propose).unwrap();
    let other = env.other_node().await;
    let saved = other
        .change_onsite(second.id, change(1, proposed.clone(), proposed.date, &propose), at(4), staff())
        .await
        .unwrap();
    assert_eq!(saved.onsite.stage, OnsiteStage::Proposed);
    let sessions = s.centre_sessions(centre.id, day("2026-03-01"), day("2026-03-31")).await.unwrap();
    assert_eq!(sessions, vec![(day("2026-03-10"), 1), (day("2026-03-12"), 1)], "a proposal holds its day");

    // Held and rated; the record reads back whole.
    let record = OnsiteAction::Record {
        handled: vec![(permit.id, 28)],
        note: Some("现场受理".into()),
        today: day("2026-03-10"),
    };
    let held = apply(&booked.onsite, &record).unwrap();
    let held = s.change_onsite(first.id, change(2, held, None, &record), at(5), staff()).await.unwrap();
    let rate = OnsiteAction::Rate { rating: 4, comment: Some("很方便".into()) };
    let rated = apply(&held.onsite, &rate).unwrap();
    s.change_onsite(first.id, change(3, rated.clone(), None, &rate), at(6), staff()).await.unwrap();
    let read = s.onsite(first.id).await.unwrap().unwrap();
    assert_eq!(read.onsite, rated);
    assert_eq!(read.onsite.items[0].handled, Some(28));
    assert_eq!((read.submitted_at, read.updated_at), (at(0), at(6)));

    let history = s.onsite_history(first.id).await.unwrap();
    let kinds: Vec<&str> = history.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["submitted", "accepted", "held", "rated"]);
    assert_eq!((history[3].stage, history[3].note.as_deref()), (OnsiteStage::Rated, Some("4星：很方便")));
    assert!(execute(s, "DELETE FROM onsite_events", vec![]).await.is_err(), "history is append-only");
    assert!(execute(s, "UPDATE onsite_events SET note = 'x'", vec![]).await.is_err());

    // Filters: stage, enterprise, centres, submission time.
    let by = |f: OnsiteFilter| async move {
        s.onsite_requests(f, 10).await.unwrap().into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    assert_eq!(by(OnsiteFilter::default()).await, vec![second.id, first.id]);
    assert_eq!(by(OnsiteFilter { stage: Some(OnsiteStage::Rated), ..OnsiteFilter::default() }).await, vec![first.id]);
    assert_eq!(by(OnsiteFilter { credit_code: Some("B".into()), ..OnsiteFilter::default() }).await, vec![second.id]);
    assert!(by(OnsiteFilter { centres: Some(vec![]), ..OnsiteFilter::default() }).await.is_empty());
    assert_eq!(by(OnsiteFilter { from: Some(at(1)), ..OnsiteFilter::default() }).await, vec![second.id]);
    assert_eq!(by(OnsiteFilter { until: Some(at(1)), ..OnsiteFilter::default() }).await, vec![first.id]);
}

async fn the_enterprise_is_told_and_documents_are_kept_in_the_requests_history<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let (_, dept) = units(s).await;
    s.enable_notifications("https://12345.example.gov.cn/").await.unwrap();
    let account = s
        .create_user(
            NewUser {
                username: "enterprise".into(),
                display_name: "中山市华凯灯饰有限公司".into(),
                role: mashangban_domain::org::Role::Enterprise,
                unit_id: None,
                credit_code: Some("A".into()),
                phone: Some("13926000001".into()),
                password_hash: "x".into(),
            },
            crate::support::tester(),
        )
        .await
        .unwrap();
    let item = ServiceItemInput { code: "permit".into(), name: "居住证办理".into(), unit_id: dept, active: true };
    let permit = s.create_service_item(item).await.unwrap();
    let centre =
        ServiceCentreInput { unit_id: dept, name: "市政务服务中心".into(), daily_capacity: 1, active: true };
    let centre = s.create_centre(centre).await.unwrap();
    let draft = OnsiteDraft { people: 3, dates: vec!["2026-03-10".into()], items: vec![(permit.id, 3)] };
    let onsite = draft.check(&[KnownItem { id: permit.id, active: true }], day("2026-03-02"), &|_| None).unwrap();
    let mut new = new_request(centre.id, "A", onsite.clone());
    new.submitted_by = Some(account.id);
    let mine = s.submit_onsite(new, at(0), staff()).await.unwrap();
    let theirs = s.submit_onsite(new_request(centre.id, "B", onsite), at(1), staff()).await.unwrap();

    // An administrator's template for the accepted notice is the one in force for the next accept.
    let edited = Template {
        subject: None, body: "【马上办】{{centre}}已受理{{number}}，{{date}}见。{{link}}".into()
    };
    s.put_notification_template(StoredTemplate {
        key: TemplateKey::OnsiteAccepted,
        channel: NoticeChannel::Sms,
        template: edited,
        updated_at: at(1),
        updated_by: "admin".into(),
    })
    .await
    .unwrap();

    // Accepted: the account's phone gets the notice, keyed by the request and its new version.
    let accept = OnsiteAction::Accept { date: day("2026-03-10"), team: "梁敏".into() };
    let told = |number: &str| accept.enterprise_notice(number, "市政务服务中心", &|t: &str| t.to_owned());
    let next = apply(&mine.onsite, &accept).unwrap();
    let mut c = change(1, next.clone(), next.date, &accept);
    c.notice = told(&mine.number);
    s.change_onsite(mine.id, c, at(2), staff()).await.unwrap();
    let rows = s.list_outbox(None, 100).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(
        (rows[0].recipient.as_str(), rows[0].template_key.as_deref(), rows[0].event_id),
        ("13926000001", Some("onsite.accepted"), None)
    );
    assert!(rows[0].idempotency_key.starts_with(&format!("onsite-{}-2-sms-", mine.id)), "{}", rows[0].idempotency_key);
    assert_eq!(
        rows[0].body,
        format!(
            "【马上办】市政务服务中心已受理{}，2026-03-10见。https://12345.example.gov.cn/onsite/{}",
            mine.number, mine.id
        )
    );
    // A change refused in its transaction (the day is full) queues nothing.
    let full = apply(&theirs.onsite, &accept).unwrap();
    let mut c = change(1, full.clone(), full.date, &accept);
    c.notice = told(&theirs.number);
    assert_eq!(refusal(s.change_onsite(theirs.id, c, at(3), staff()).await), "over_capacity");
    assert_eq!(s.list_outbox(None, 100).await.unwrap().len(), 1);

    // Documents of the request: each upload and withdrawal in its history, at its stage.
    let owner = DocumentOwner { kind: OwnerKind::OnsiteRequest, id: mine.id };
    let by = DocumentActor { user_id: None, name: "麦淑仪（政务服务中心）".into() };
    let file = DocumentFile::new(Some("现场照片.pdf"), b"%PDF-1.7\n".to_vec()).unwrap();
    let added = s.add_documents(owner, Some("现场照片".into()), vec![file.clone()], 20, by.clone(), at(4)).await;
    let added = added.unwrap();
    s.withdraw_document(added[0].id, "拍错了".into(), by.clone(), at(5)).await.unwrap();
    let history = s.onsite_history(mine.id).await.unwrap();
    let kinds: Vec<(&str, OnsiteStage)> = history.iter().map(|e| (e.kind.as_str(), e.stage)).collect();
    assert_eq!(
        kinds,
        [
            ("submitted", OnsiteStage::Submitted),
            ("accepted", OnsiteStage::Accepted),
            ("document_added", OnsiteStage::Accepted),
            ("document_withdrawn", OnsiteStage::Accepted)
        ]
    );
    assert_eq!(history[2].note.as_deref(), Some("上传附件《现场照片.pdf》（现场照片）"));
    let nowhere = DocumentOwner { kind: OwnerKind::OnsiteRequest, id: 999_999 };
    assert_eq!(refusal(s.add_documents(nowhere, None, vec![file], 20, by, at(6)).await), "unknown_document");
}
