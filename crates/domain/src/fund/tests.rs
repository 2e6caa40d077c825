#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone};
use rust_decimal::Decimal;

use super::*;
use crate::expr::{ExprType, Value};
use crate::time::{Instant, shanghai};

fn yuan(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn field(name: &str, ty: ExprType) -> FieldSpec {
    FieldSpec { name: name.into(), ty, optional: false }
}

fn measure(
    fields: Vec<FieldSpec>,
    eligibility: &str,
    award: &str,
    cap: Option<&str>,
) -> Result<Measure, crate::DomainError> {
    MeasureInput {
        code: "M01".into(),
        name: "测试措施".into(),
        fields,
        eligibility: eligibility.into(),
        award: award.into(),
        cap: cap.map(yuan),
    }
    .compile()
}

fn data(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn num(s: &str) -> Value {
    Value::Number(yuan(s))
}

/// 固定资产投资奖励: 5 % of the investment, at most 5,000,000 yuan, for investment of at least 20,000,000.
fn investment_measure() -> Measure {
    measure(
        vec![field("固定资产投资", ExprType::Number), field("规上企业", ExprType::Bool)],
        "规上企业 且 固定资产投资 >= 20000000",
        "固定资产投资 * 0.05",
        Some("5000000"),
    )
    .unwrap()
}

#[test]
fn a_share_of_a_base_is_cut_to_the_cap() {
    let m = investment_measure();
    // 80,000,000 × 5 % = 4,000,000: under the cap.
    let a = m.assess(&data(&[("固定资产投资", num("80000000")), ("规上企业", Value::Bool(true))])).unwrap();
    assert_eq!(a, Assessment { computed_fen: 400_000_000, award_fen: 400_000_000, capped: false });
    // 120,000,000 × 5 % = 6,000,000: the cap of 5,000,000 applies.
    let a = m.assess(&data(&[("固定资产投资", num("120000000")), ("规上企业", Value::Bool(true))])).unwrap();
    assert_eq!(a, Assessment { computed_fen: 600_000_000, award_fen: 500_000_000, capped: true });
}

#[test]
fn tiers_give_the_last_threshold_reached() {
    let m = measure(
        vec![field("产值增长率", ExprType::Number)],
        "产值增长率 >= 10",
        "tiers(产值增长率, [10, 100000], [20, 300000], [30, 500000])",
        None,
    )
    .unwrap();
    let award = |growth: &str| m.assess(&data(&[("产值增长率", num(growth))])).map(|a| a.award_fen);
    assert_eq!(award("10"), Ok(10_000_000));
    assert_eq!(award("25.5"), Ok(30_000_000));
    assert_eq!(award("30"), Ok(50_000_000));
    assert_eq!(award("9.99").unwrap_err().code, codes::NOT_ELIGIBLE);
}

#[test]
fn a_fixed_sum_and_rounding_to_the_fen() {
    let fixed =
        measure(vec![field("首次认定高新技术企业", ExprType::Bool)], "首次认定高新技术企业", "200000", None).unwrap();
    assert_eq!(fixed.assess(&data(&[("首次认定高新技术企业", Value::Bool(true))])).unwrap().award_fen, 20_000_000);
    assert_eq!(
        fixed.assess(&data(&[("首次认定高新技术企业", Value::Bool(false))])).unwrap_err().code,
        codes::NOT_ELIGIBLE
    );
    // 1,234,567.89 × 0.35 % = 4,320.987615 → 4,320.99 yuan (half away from zero).
    let share = measure(vec![field("营业收入", ExprType::Number)], "营业收入 > 0", "营业收入 * 0.0035", None).unwrap();
    assert_eq!(share.assess(&data(&[("营业收入", num("1234567.89"))])).unwrap().award_fen, 432_099);
}

#[test]
fn bad_data_is_refused_with_stable_codes() {
    let m = investment_measure();
    let missing = m.assess(&data(&[("规上企业", Value::Bool(true))])).unwrap_err();
    assert_eq!((missing.code, missing.message.as_str()), (codes::MISSING_REQUIRED_DATA, "缺少申报数据：固定资产投资"));
    let unknown =
        m.assess(&data(&[("固定资产投资", num("1")), ("规上企业", Value::Bool(true)), ("外资", Value::Bool(true))]));
    assert_eq!(unknown.unwrap_err().code, codes::UNKNOWN_DATA_FIELD);
    let wrong_type = m.assess(&data(&[("固定资产投资", Value::Text("很多".into())), ("规上企业", Value::Bool(true))]));
    assert_eq!(wrong_type.unwrap_err().code, codes::INVALID_DATA_VALUE);
    let negative = measure(vec![field("x", ExprType::Number)], "true", "x - 100", None).unwrap();
    assert_eq!(negative.assess(&data(&[("x", num("1"))])).unwrap_err().code, codes::AWARD_NOT_COMPUTABLE);
    let by_zero = measure(vec![field("x", ExprType::Number)], "true", "100 / x", None).unwrap();
    assert_eq!(by_zero.assess(&data(&[("x", num("0"))])).unwrap_err().code, codes::AWARD_NOT_COMPUTABLE);
}

#[test]
fn json_data_is_read_by_the_field_types() {
    let m = investment_measure();
    let json: serde_json::Value = serde_json::json!({"固定资产投资": "80,000,000", "规上企业": "是"});
    let read = data_from_json(&m, json.as_object().unwrap()).unwrap();
    assert_eq!(read, data(&[("固定资产投资", num("80000000")), ("规上企业", Value::Bool(true))]));
    let json = serde_json::json!({"固定资产投资": "八千万"});
    assert_eq!(data_from_json(&m, json.as_object().unwrap()).unwrap_err().code, codes::INVALID_DATA_VALUE);
    let json = serde_json::json!({"产值": 1});
    assert_eq!(data_from_json(&m, json.as_object().unwrap()).unwrap_err().code, codes::UNKNOWN_DATA_FIELD);
    let json = serde_json::json!({"固定资产投资": 1.5e3, "规上企业": null});
    assert_eq!(data_from_json(&m, json.as_object().unwrap()).unwrap(), data(&[("固定资产投资", num("1500"))]));
}

#[test]
fn measures_are_checked_when_defined() {
    let fields = || vec![field("投资", ExprType::Number)];
    assert_eq!(measure(fields(), "投资 >=", "1", None).unwrap_err().code, codes::INVALID_ELIGIBILITY_RULE);
    assert_eq!(measure(fields(), "投资 * 2", "1", None).unwrap_err().code, codes::INVALID_ELIGIBILITY_RULE);
    assert_eq!(measure(fields(), "true", "产值 * 2", None).unwrap_err().code, codes::INVALID_AWARD_FORMULA);
    assert_eq!(measure(fields(), "true", "投资 > 1", None).unwrap_err().code, codes::INVALID_AWARD_FORMULA);
    assert_eq!(measure(fields(), "true", "1", Some("-5")).unwrap_err().code, codes::INVALID_AMOUNT);
    assert_eq!(measure(fields(), "true", "1", Some("0")).unwrap_err().code, codes::INVALID_MEASURE);
    let twice = vec![field("投资", ExprType::Number), field(" 投资 ", ExprType::Number)];
    assert_eq!(measure(twice, "true", "1", None).unwrap_err().code, codes::INVALID_MEASURE);
    let bad_code = MeasureInput { code: "M 1".into(), ..investment_measure().to_input() };
    assert_eq!(bad_code.compile().unwrap_err().code, codes::INVALID_MEASURE);
    let err = measure(fields(), "投资 >=", "1", None).unwrap_err();
    assert!(err.message.starts_with("资格条件有误：第"), "{}", err.message);
}

#[test]
fn a_policy_allocates_its_total_over_years() {
    let policy = Policy::new(
        "某街道促进产业发展扶持办法（试行）",
        "某街道办事处",
        yuan("60000000"),
        &[(2024, yuan("20000000")), (2022, yuan("20000000")), (2023, yuan("20000000"))],
        5,
    )
    .unwrap();
    assert_eq!(policy.allocations.iter().map(|a| a.year).collect::<Vec<_>>(), [2022, 2023, 2024]);
    assert_eq!(policy.allocation(2023), Some(2_000_000_000));
    assert_eq!(policy.allocation(2025), None);
    let short = Policy::new("办法", "街道", yuan("60000000"), &[(2022, yuan("20000000")), (2023, yuan("30000000"))], 5);
    let err = short.unwrap_err();
    assert_eq!(err.code, codes::ALLOCATION_SUM_MISMATCH);
    assert_eq!(err.message, "各年度资金安排合计50000000.00元，与资金总额60000000.00元不一致");
    let twice = Policy::new("办法", "街道", yuan("2"), &[(2022, yuan("1")), (2022, yuan("1"))], 5);
    assert_eq!(twice.unwrap_err().code, codes::INVALID_ALLOCATIONS);
    assert_eq!(Policy::new(" ", "街道", yuan("1"), &[(2022, yuan("1"))], 5).unwrap_err().code, codes::INVALID_POLICY);
    assert_eq!(
        Policy::new("办法", "街道", yuan("1.001"), &[(2022, yuan("1.001"))], 5).unwrap_err().code,
        codes::INVALID_AMOUNT
    );
    assert_eq!(
        Policy::new("办法", "街道", yuan("1"), &[(2022, yuan("1"))], 0).unwrap_err().code,
        codes::INVALID_POLICY
    );
}

#[test]
fn money_is_fen() {
    assert_eq!(yuan_to_fen("金额", yuan("12.34")), Ok(1234));
    assert_eq!(yuan_to_fen("金额", yuan("12.340")), Ok(1234));
    assert_eq!(yuan_to_fen("金额", yuan("-1")).unwrap_err().code, codes::INVALID_AMOUNT);
    assert_eq!(yuan_to_fen("金额", yuan("0.001")).unwrap_err().code, codes::INVALID_AMOUNT);
    assert_eq!(yuan_to_fen("金额", yuan("1000000000001")).unwrap_err().code, codes::INVALID_AMOUNT);
    assert_eq!(fen_to_yuan(432_099).to_string(), "4320.99");
}

fn at(day: u32, hour: u32) -> Instant {
    shanghai().with_ymd_and_hms(2023, 6, day, hour, 0, 0).unwrap()
}

fn status(state: ApplicationState) -> ApplicationStatus {
    ApplicationStatus {
        state,
        award_fen: 600_000_000,
        cap_fen: Some(500_000_000),
        notice_ends_at: None,
        open_objections: 0,
    }
}

fn adjust(award: &str, reason: &str) -> Option<Adjustment> {
    Some(Adjustment { award_fen: yuan_to_fen("核定金额", yuan(award)).unwrap(), reason: reason.into() })
}

#[test]
fn review_runs_in_order_and_says_what_it_does_to_the_budget() {
    use ApplicationState as S;
    let mut s = ApplicationStatus { award_fen: 400_000_000, ..status(S::Submitted) };
    let t = s.apply(&FundAction::TownReview { adjustment: None }, at(1, 9)).unwrap();
    assert_eq!((t.to, t.award_fen, t.effect), (S::TownReviewed, 400_000_000, BudgetEffect::None));
    s.state = t.to;
    let t = s
        .apply(&FundAction::DepartmentReview { adjustment: adjust("3500000", "核减未完成投资部分") }, at(2, 9))
        .unwrap();
    assert_eq!((t.to, t.award_fen, t.effect), (S::DepartmentReviewed, 350_000_000, BudgetEffect::Reserve(350_000_000)));
    s.state = t.to;
    s.award_fen = t.award_fen;
    let ends = at(9, 17);
    let t = s.apply(&FundAction::Publicise { ends_at: ends }, at(2, 10)).unwrap();
    assert_eq!((t.to, t.notice_ends_at), (S::Publicised, Some(ends)));
    s.state = t.to;
    s.notice_ends_at = t.notice_ends_at;
    let pay = FundAction::Pay { note: "国库集中支付凭证 2023-118".into() };
    assert_eq!(s.apply(&pay, at(9, 16)).unwrap_err().code, codes::NOTICE_NOT_OVER);
    s.open_objections = 1;
    assert_eq!(s.apply(&pay, at(9, 18)).unwrap_err().code, codes::OBJECTIONS_OPEN);
    s.open_objections = 0;
    let t = s.apply(&pay, at(9, 18)).unwrap();
    assert_eq!((t.to, t.effect), (S::Paid, BudgetEffect::Pay(350_000_000)));
    s.state = t.to;
    assert_eq!(
        s.apply(&FundAction::Reject { reason: "x".into() }, at(10, 9)).unwrap_err().code,
        codes::INVALID_TRANSITION
    );
}

#[test]
fn adjustments_never_exceed_the_cap_and_need_a_reason() {
    use ApplicationState as S;
    let s = status(S::Submitted);
    let over =
        s.apply(&FundAction::TownReview { adjustment: adjust("5000000.01", "按审计结果") }, at(1, 9)).unwrap_err();
    assert_eq!(over.code, codes::AWARD_OVER_CAP);
    assert_eq!(over.message, "核定金额5000000.01元超过本项措施的上限5000000.00元");
    let blank = s.apply(&FundAction::TownReview { adjustment: adjust("1", "  ") }, at(1, 9)).unwrap_err();
    assert_eq!(blank.code, codes::REASON_REQUIRED);
    let zero =
        status(S::TownReviewed).apply(&FundAction::DepartmentReview { adjustment: adjust("0", "不达标") }, at(1, 9));
    assert_eq!(zero.unwrap_err().code, codes::ZERO_AWARD);
    assert_eq!(Adjustment::new(yuan("1"), " ").unwrap_err().code, codes::REASON_REQUIRED);
}

#[test]
fn out_of_order_actions_are_refused() {
    use ApplicationState as S;
    let skip = status(S::Submitted).apply(&FundAction::DepartmentReview { adjustment: None }, at(1, 9)).unwrap_err();
    assert_eq!((skip.code, skip.message.as_str()), (codes::INVALID_TRANSITION, "申报处于「已受理」状态，不能复审"));
    let early_pay = status(S::DepartmentReviewed).apply(&FundAction::Pay { note: "x".into() }, at(1, 9));
    assert_eq!(early_pay.unwrap_err().code, codes::INVALID_TRANSITION);
    let past = status(S::DepartmentReviewed).apply(&FundAction::Publicise { ends_at: at(1, 8) }, at(1, 9));
    assert_eq!(past.unwrap_err().code, codes::INVALID_TRANSITION);
}

#[test]
fn a_rejection_releases_a_reservation_only_after_department_review() {
    use ApplicationState as S;
    let reject = FundAction::Reject { reason: "公示期间收到实名异议，经核查属实".into() };
    let effect = |state| status(state).apply(&reject, at(1, 9)).unwrap().effect;
    assert_eq!(effect(S::Submitted), BudgetEffect::None);
    assert_eq!(effect(S::TownReviewed), BudgetEffect::None);
    assert_eq!(effect(S::DepartmentReviewed), BudgetEffect::Release(600_000_000));
    assert_eq!(effect(S::Publicised), BudgetEffect::Release(600_000_000));
    let blank = status(S::Submitted).apply(&FundAction::Reject { reason: "".into() }, at(1, 9)).unwrap_err();
    assert_eq!(blank.code, codes::REASON_REQUIRED);
}

#[test]
fn objections_only_during_the_notice_and_answered_once() {
    use ApplicationState as S;
    let on_notice = ApplicationStatus { notice_ends_at: Some(at(9, 17)), ..status(S::Publicised) };
    assert_eq!(
        check_objection(&on_notice, " 该企业当年有安全生产事故 ", at(5, 9)).unwrap(),
        "该企业当年有安全生产事故"
    );
    assert_eq!(
        check_objection(&on_notice, "迟到的异议", at(9, 17) + Duration::seconds(1)).unwrap_err().code,
        codes::NOT_IN_NOTICE
    );
    assert_eq!(
        check_objection(&status(S::DepartmentReviewed), "太早", at(5, 9)).unwrap_err().code,
        codes::NOT_IN_NOTICE
    );
    assert_eq!(check_objection(&on_notice, " ", at(5, 9)).unwrap_err().code, codes::REASON_REQUIRED);
    assert_eq!(check_answer(false, "经核查，事故发生在申报年度之外").unwrap(), "经核查，事故发生在申报年度之外");
    assert_eq!(check_answer(true, "再答一次").unwrap_err().code, codes::OBJECTION_ANSWERED);
}

#[test]
fn states_round_trip_their_codes() {
    for state in ApplicationState::ALL {
        assert_eq!(ApplicationState::parse(state.as_str()), Some(state));
    }
    assert_eq!(ApplicationState::parse("approved"), None);
}
