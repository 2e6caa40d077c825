//! The industry support fund (产业扶持资金) on both databases: policies with
//! their budget rows, applications walked through the review with every step
//! in the history, refusals that write nothing, objections during the notice,
//! the reader's scope, and the budget guard: 200 approvals at once on two
//! nodes against a year that fits 150 reserve exactly the allocation.

use std::collections::BTreeMap;

use chrono::Duration;
use rust_decimal::Decimal;

use mashangban_domain::enterprise::EnterpriseInput;
use mashangban_domain::expr::{ExprType, Value};
use mashangban_domain::fund::{Adjustment, ApplicationState, FieldSpec, FundAction, Measure, MeasureInput, Policy};
use mashangban_domain::org::UnitKind;
use mashangban_domain::validation::CreditCode;
use mashangban_store::{
    EnterpriseStore, FundActor, FundFilter, FundGroup, FundScope, FundStore, FundTally, NewFundApplication, OrgStore,
};
use mashangban_store_sql::SqlStore;

use crate::org::unit;
use crate::support::{Env, TestDb, at, refusal, t0};

on_both!(
    an_application_walks_through_review_with_its_history,
    two_hundred_approvals_at_once_never_overspend,
    the_demo_policy_and_applications_load_once,
    the_report_counts_by_measure_town_and_industry,
);

fn office() -> FundActor {
    FundActor { user_id: None, name: "经发办（dispatcher）".into() }
}

fn yuan(n: i64) -> Decimal {
    Decimal::from(n)
}

fn measure(code: &str) -> Measure {
    MeasureInput {
        code: code.into(),
        name: "固定资产投资奖励".into(),
        fields: vec![FieldSpec { name: "固定资产投资".into(), ty: ExprType::Number, optional: false }],
        eligibility: "固定资产投资 >= 1000000".into(),
        award: "固定资产投资 * 0.05".into(),
        cap: Some(yuan(5_000_000)),
    }
    .compile()
    .unwrap()
}

/// A town and `n` enterprises in it; answers the town's id and the credit codes.
async fn enterprises<D: TestDb>(s: &SqlStore<D>, n: u32) -> (i64, Vec<String>) {
    s.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
    let town = s.upsert_unit(unit("guzhen", UnitKind::Town, Some("city"))).await.unwrap().id;
    let mut codes = Vec::new();
    for i in 0..n {
        let input = EnterpriseInput {
            credit_code: CreditCode::with_check_char(&format!("91442000MA52{i:05}")).unwrap(),
            name: format!("灯饰企业{i}"),
            town_id: town,
            address: None,
            industry_code: Some("C3872".into()),
            industry_name: None,
            size: None,
            registered_on: None,
            contact_name: None,
            contact_phone: None,
            tags: vec![],
        };
        codes.push(s.create_enterprise(input, t0(), "测试".into()).await.unwrap().credit_code);
    }
    (town, codes)
}

fn application(measure_id: i64, year: i32, credit_code: &str, award_fen: i64) -> NewFundApplication {
    let data = BTreeMap::from([("固定资产投资".to_owned(), Value::Number(Decimal::new(award_fen * 20, 2)))]);
    NewFundApplication {
        measure_id,
        year,
        credit_code: credit_code.into(),
        data,
        materials: vec![],
        computed_fen: award_fen,
        award_fen,
    }
}

async fn an_application_walks_through_review_with_its_history<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let (town, codes) = enterprises(&s, 2).await;
    let allocations = [(2022, yuan(20_000_000)), (2023, yuan(20_000_000)), (2024, yuan(20_000_000))];
    let policy = Policy::new("促进产业发展扶持办法", "某街道办事处", yuan(60_000_000), &allocations, 5).unwrap();
    let stored = s.create_fund_policy(policy, vec![measure("M01")], t0(), office()).await.unwrap();
    assert_eq!(
        stored.budgets.iter().map(|b| (b.year, b.allocation_fen, b.reserved_fen)).collect::<Vec<_>>(),
        [(2022, 2_000_000_000, 0), (2023, 2_000_000_000, 0), (2024, 2_000_000_000, 0)]
    );
    assert_eq!(refusal(s.add_fund_measure(stored.id, measure("M01")).await), "duplicate_fund_measure");
    let measure_id = s.add_fund_measure(stored.id, measure("M02")).await.unwrap().id;
    assert_eq!(refusal(s.add_fund_measure(stored.id + 9, measure("M03")).await), "fund_policy_not_found");

    // Refusals at submission write nothing.
    let unknown = application(measure_id, 2023, "91442000MA5299999X", 100);
    assert_eq!(refusal(s.submit_fund_application(unknown, t0(), office()).await), "enterprise_not_found");
    let no_year = application(measure_id, 2030, &codes[0], 100);
    assert_eq!(refusal(s.submit_fund_application(no_year, t0(), office()).await), "no_allocation_for_year");

    let mut new = application(measure_id, 2023, &codes[0], 400_000_000);
    new.materials = vec![mashangban_store::FundMaterial { name: "投资发票".into() }];
    let a = s.submit_fund_application(new.clone(), t0(), office()).await.unwrap();
    assert_eq!(
        (a.state, a.version, a.town_id, a.enterprise_name.as_str()),
        (ApplicationState::Submitted, 1, town, "灯饰企业0")
    );
    assert_eq!((a.data.clone(), a.materials.len(), a.cap_fen), (new.data, 1, Some(500_000_000)));
    let other =
        s.submit_fund_application(application(measure_id, 2023, &codes[1], 100_000), t0(), office()).await.unwrap();

    // Scope: an enterprise sees its own only; a town its town's.
    let own = FundScope::Enterprise(codes[0].clone());
    assert!(s.fund_application(other.id, own.clone()).await.unwrap().is_none());
    let filter = FundFilter { limit: 10, ..FundFilter::default() };
    let (mine, total) = s.fund_applications(&filter, own).await.unwrap();
    assert_eq!((mine.iter().map(|a| a.id).collect::<Vec<_>>(), total), (vec![a.id], 1));
    assert_eq!(s.fund_applications(&filter, FundScope::Town(town)).await.unwrap().1, 2);
    assert_eq!(s.fund_applications(&filter, FundScope::Town(town + 100)).await.unwrap().1, 0);
    assert_eq!(s.fund_applications(&filter, FundScope::Nothing).await.unwrap().1, 0);

    // Out of order, over the cap, stale: refused, nothing written.
    let dept = FundAction::DepartmentReview { adjustment: None };
    assert_eq!(
        refusal(s.act_on_fund_application(a.id, dept.clone(), None, at(1), office()).await),
        "invalid_fund_transition"
    );
    let over = Adjustment { award_fen: 500_000_001, reason: "按审计".into() };
    let town_over = FundAction::TownReview { adjustment: Some(over) };
    assert_eq!(refusal(s.act_on_fund_application(a.id, town_over, None, at(1), office()).await), "award_over_cap");
    let town_ok = FundAction::TownReview { adjustment: None };
    assert_eq!(
        refusal(s.act_on_fund_application(a.id, town_ok.clone(), Some(7), at(1), office()).await),
        "fund_application_changed"
    );
    assert_eq!(
        refusal(s.act_on_fund_application(a.id + 99, town_ok.clone(), None, at(1), office()).await),
        "fund_application_not_found"
    );

    s.act_on_fund_application(a.id, town_ok, Some(1), at(1), office()).await.unwrap();
    let cut = Adjustment { award_fen: 350_000_000, reason: "核减未完成投资部分".into() };
    let reviewed = s
        .act_on_fund_application(a.id, FundAction::DepartmentReview { adjustment: Some(cut) }, None, at(2), office())
        .await
        .unwrap();
    assert_eq!(
        (reviewed.state, reviewed.award_fen, reviewed.computed_fen),
        (ApplicationState::DepartmentReviewed, 350_000_000, 400_000_000)
    );
    let budget = |p: mashangban_store::FundPolicy| {
        p.budgets.iter().find(|b| b.year == 2023).map(|b| (b.reserved_fen, b.paid_fen))
    };
    assert_eq!(budget(s.fund_policy(stored.id).await.unwrap().unwrap()), Some((350_000_000, 0)));

    let ends = at(3) + Duration::days(7);
    assert_eq!(refusal(s.raise_fund_objection(a.id, "太早".into(), at(3), office()).await), "not_in_notice");
    s.act_on_fund_application(a.id, FundAction::Publicise { ends_at: ends }, None, at(3), office()).await.unwrap();
    let objection = s.raise_fund_objection(a.id, " 该企业有欠税 ".into(), at(4), office()).await.unwrap();
    assert_eq!((objection.text.as_str(), objection.answer.clone()), ("该企业有欠税", None));
    assert_eq!(s.fund_application(a.id, FundScope::All).await.unwrap().unwrap().open_objections, 1);
    let pay = FundAction::Pay { note: "国库支付凭证 118 号".into() };
    let after = ends + Duration::minutes(1);
    assert_eq!(refusal(s.act_on_fund_application(a.id, pay.clone(), None, at(5), office()).await), "notice_not_over");
    assert_eq!(refusal(s.act_on_fund_application(a.id, pay.clone(), None, after, office()).await), "objections_open");
    s.answer_fund_objection(objection.id, "经核查已结清".into(), at(6), office()).await.unwrap();
    assert_eq!(
        refusal(s.answer_fund_objection(objection.id, "再答".into(), at(6), office()).await),
        "objection_already_answered"
    );
    assert_eq!(
        refusal(s.answer_fund_objection(objection.id + 9, "答".into(), at(6), office()).await),
        "fund_objection_not_found"
    );
    let paid = s.act_on_fund_application(a.id, pay, None, after, office()).await.unwrap();
    assert_eq!((paid.state, paid.open_objections), (ApplicationState::Paid, 0));
    assert_eq!(budget(s.fund_policy(stored.id).await.unwrap().unwrap()), Some((350_000_000, 350_000_000)));

    let history = s.fund_events(a.id).await.unwrap();
    let kinds: Vec<(&str, ApplicationState)> = history.iter().map(|e| (e.kind.as_str(), e.to_state)).collect();
    assert_eq!(
        kinds,
        [
            ("submit", ApplicationState::Submitted),
            ("town_review", ApplicationState::TownReviewed),
            ("department_review", ApplicationState::DepartmentReviewed),
            ("publicise", ApplicationState::Publicised),
            ("objection", ApplicationState::Publicised),
            ("answer", ApplicationState::Publicised),
            ("pay", ApplicationState::Paid),
        ]
    );
    assert_eq!(history[2].note.as_deref(), Some("核减未完成投资部分"));
    assert_eq!(history.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7]);

    // A rejection after 复审 gives the reservation back.
    let b = other.id;
    s.act_on_fund_application(b, FundAction::TownReview { adjustment: None }, None, at(1), office()).await.unwrap();
    s.act_on_fund_application(b, FundAction::DepartmentReview { adjustment: None }, None, at(2), office())
        .await
        .unwrap();
    assert_eq!(budget(s.fund_policy(stored.id).await.unwrap().unwrap()), Some((350_100_000, 350_000_000)));
    let reject = FundAction::Reject { reason: "材料不实".into() };
    let rejected = s.act_on_fund_application(b, reject, None, at(3), office()).await.unwrap();
    assert_eq!(rejected.state, ApplicationState::Rejected);
    assert_eq!(budget(s.fund_policy(stored.id).await.unwrap().unwrap()), Some((350_000_000, 350_000_000)));
}

async fn two_hundred_approvals_at_once_never_overspend<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let (a, b) = (env.store(), env.other_node().await);
    let (_, codes) = enterprises(&a, 1).await;
    // 2024 fits exactly 150 awards of 10,000 yuan.
    let allocations = [(2024, yuan(1_500_000))];
    let policy = Policy::new("并发测试政策", "街道", yuan(1_500_000), &allocations, 5).unwrap();
    let stored = a.create_fund_policy(policy, vec![measure("M01")], t0(), office()).await.unwrap();
    let measure_id = a.fund_measures(stored.id).await.unwrap()[0].id;
    let mut ids = Vec::new();
    for _ in 0..200 {
        let app = a
            .submit_fund_application(application(measure_id, 2024, &codes[0], 1_000_000), t0(), office())
            .await
            .unwrap();
        a.act_on_fund_application(app.id, FundAction::TownReview { adjustment: None }, None, at(1), office())
            .await
            .unwrap();
        ids.push(app.id);
    }
    let mut tasks = Vec::new();
    for (n, id) in ids.into_iter().enumerate() {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let action = FundAction::DepartmentReview { adjustment: None };
            store.act_on_fund_application(id, action, None, at(2), office()).await
        }));
    }
    let mut approved = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => approved += 1,
            Err(e) => assert_eq!(refusal::<()>(Err(e)), "budget_exceeded"),
        }
    }
    assert_eq!(approved, 150);
    let year = a.fund_policy(stored.id).await.unwrap().unwrap().budgets[0];
    assert_eq!((year.reserved_fen, year.allocation_fen), (150_000_000, 150_000_000));
    let filter = FundFilter { state: Some(ApplicationState::DepartmentReviewed), limit: 500, ..FundFilter::default() };
    assert_eq!(a.fund_applications(&filter, FundScope::All).await.unwrap().1, 150);
}

async fn the_demo_policy_and_applications_load_once<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_org_and_catalog(&s, &data).await.unwrap();
    mashangban_demo::load_enterprises(&s, &data).await.unwrap();
    let now = t0();
    assert_eq!(mashangban_demo::load_fund(&s, now).await.unwrap(), 40);
    assert_eq!(mashangban_demo::load_fund(&s, now).await.unwrap(), 0, "loaded once");
    let policies = s.fund_policies().await.unwrap();
    assert_eq!(policies.len(), 1);
    let policy = &policies[0];
    assert_eq!((policy.total_fen, policy.budgets.len()), (6_000_000_000, 3));
    assert_eq!(s.fund_measures(policy.id).await.unwrap().len(), 10);
    let filter = FundFilter { limit: 100, ..FundFilter::default() };
    let (all, total) = s.fund_applications(&filter, FundScope::All).await.unwrap();
    assert_eq!(total, 40);
    for state in ApplicationState::ALL {
        assert!(all.iter().any(|a| a.state == state), "some application is {state:?}");
    }
    // Each year's reservations are the awards approved at 复审 and not rejected; its payments the paid ones.
    for year in &policy.budgets {
        let of_year = all.iter().filter(|a| a.year == year.year);
        let reserved: i64 = of_year
            .clone()
            .filter(|a| a.state.holds_reservation() || a.state == ApplicationState::Paid)
            .map(|a| a.award_fen)
            .sum();
        let paid: i64 = of_year.filter(|a| a.state == ApplicationState::Paid).map(|a| a.award_fen).sum();
        assert_eq!((year.reserved_fen, year.paid_fen), (reserved, paid), "{}", year.year);
        assert!(year.reserved_fen <= year.allocation_fen);
    }
}

/// A tally's numbers: (applications, in review, approved, approved fen, paid, paid fen, rejected).
fn numbers(t: &FundTally) -> (u64, u64, u64, i64, u64, i64, u64) {
    (t.applications, t.in_review, t.approved, t.approved_fen, t.paid, t.paid_fen, t.rejected)
}

async fn the_report_counts_by_measure_town_and_industry<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let (guzhen, codes) = enterprises(&s, 3).await;
    // A fourth enterprise in another town, with no industry recorded.
    let xiaolan = s.upsert_unit(unit("xiaolan", UnitKind::Town, Some("city"))).await.unwrap().id;
    let input = EnterpriseInput {
        credit_code: CreditCode::with_check_char("91442000MA5LJAJ02").unwrap(),
        name: "小榄五金厂".into(),
        town_id: xiaolan,
        address: None,
        industry_code: None,
        industry_name: None,
        size: None,
        registered_on: None,
        contact_name: None,
        contact_phone: None,
        tags: vec![],
    };
    let outside = s.create_enterprise(input, t0(), "测试".into()).await.unwrap().credit_code;
    let allocations = [(2023, yuan(1_000_000)), (2024, yuan(1_000_000))];
    let policy = Policy::new("促进产业发展扶持办法", "某街道办事处", yuan(2_000_000), &allocations, 5).unwrap();
    let stored = s.create_fund_policy(policy, vec![measure("M01"), measure("M02")], t0(), office()).await.unwrap();
    let ids: Vec<i64> = s.fund_measures(stored.id).await.unwrap().iter().map(|m| m.id).collect();
    let (m01, m02) = (ids[0], ids[1]);

    let submit = |measure: i64, code: &str, fen: i64| {
        s.submit_fund_application(application(measure, 2023, code, fen), t0(), office())
    };
    let approved = submit(m01, &codes[0], 10_000_000).await.unwrap();
    let rejected = submit(m02, &codes[1], 5_000_000).await.unwrap();
    submit(m01, &codes[2], 3_000_000).await.unwrap();
    let paid = submit(m02, &outside, 2_000_000).await.unwrap();
    s.submit_fund_application(application(m01, 2024, &codes[0], 1_000), t0(), office()).await.unwrap();
    let act =
        |id: i64, action: FundAction, minute: i64| s.act_on_fund_application(id, action, None, at(minute), office());
    for id in [approved.id, paid.id] {
        act(id, FundAction::TownReview { adjustment: None }, 1).await.unwrap();
        act(id, FundAction::DepartmentReview { adjustment: None }, 2).await.unwrap();
    }
    let ends = at(3) + Duration::days(7);
    act(paid.id, FundAction::Publicise { ends_at: ends }, 3).await.unwrap();
    s.act_on_fund_application(
        paid.id,
        FundAction::Pay { note: "凭证 1 号".into() },
        None,
        ends + Duration::minutes(1),
        office(),
    )
    .await
    .unwrap();
    act(rejected.id, FundAction::Reject { reason: "重复申报".into() }, 4).await.unwrap();

    let report = s.fund_report(stored.id, 2023, FundScope::All).await.unwrap();
    assert_eq!(report.total.group, FundGroup::Total);
    assert_eq!(numbers(&report.total), (4, 1, 2, 12_000_000, 1, 2_000_000, 1));
    let by_measure: Vec<_> = report
        .by_measure
        .iter()
        .map(|t| match &t.group {
            FundGroup::Measure { code, .. } => (code.clone(), numbers(t)),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        by_measure,
        [("M01".to_owned(), (2, 1, 1, 10_000_000, 0, 0, 0)), ("M02".to_owned(), (2, 0, 1, 2_000_000, 1, 2_000_000, 1))]
    );
    let by_town: Vec<_> = report.by_town.iter().map(|t| (t.group.clone(), t.applications, t.approved_fen)).collect();
    assert_eq!(by_town, [(FundGroup::Town(guzhen), 3, 10_000_000), (FundGroup::Town(xiaolan), 1, 2_000_000)]);
    let by_industry: Vec<_> = report.by_industry.iter().map(|t| (t.group.clone(), t.applications)).collect();
    assert_eq!(by_industry, [(FundGroup::Industry(Some("C3872".into())), 3), (FundGroup::Industry(None), 1)]);

    // The same counts as the listing gives, state by state.
    let (listed, total) = s
        .fund_applications(
            &FundFilter { policy_id: Some(stored.id), year: Some(2023), limit: 100, ..FundFilter::default() },
            FundScope::All,
        )
        .await
        .unwrap();
    assert_eq!((total, listed.iter().filter(|a| a.state == ApplicationState::Rejected).count()), (4, 1));

    // A town's scope counts its own; a year without applications counts nothing.
    let town = s.fund_report(stored.id, 2023, FundScope::Town(xiaolan)).await.unwrap();
    assert_eq!((numbers(&town.total), town.by_measure.len()), ((1, 0, 1, 2_000_000, 1, 2_000_000, 0), 1));
    let empty = s.fund_report(stored.id, 2025, FundScope::All).await.unwrap();
    assert_eq!((numbers(&empty.total), empty.by_measure.len(), empty.by_industry.len()), ((0, 0, 0, 0, 0, 0, 0), 0, 0));
    let nothing = s.fund_report(stored.id, 2023, FundScope::Nothing).await.unwrap();
    assert_eq!(nothing.total.applications, 0);
}
