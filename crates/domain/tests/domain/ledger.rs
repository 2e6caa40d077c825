//! The ledger engine: bundled types, item validation, code rules, computed fields, stage moves,
//! type-change verdicts and diffs.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use mashangban_domain::error::ErrorKind;
use mashangban_domain::ledger::code_rule::check_character;
use mashangban_domain::ledger::def::LedgerTypeDef;
use mashangban_domain::ledger::{
    self, ChangeAction, CheckAlgorithm, FieldError, FieldValue, LedgerType, Migration, StoredSummary, Values, Verdict,
    bundled, codes, roles,
};
use mashangban_domain::org::{OrgTree, Unit, UnitKind};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value as Json, json};

fn orgs() -> OrgTree {
    let unit = |id, code: &str, name: &str, kind, parent| Unit {
        id,
        code: code.to_owned(),
        name: name.to_owned(),
        short_name: None,
        kind,
        parent_id: parent,
        active: true,
    };
    OrgTree::new(vec![
        unit(1, "city", "中山市", UnitKind::City, None),
        unit(2, "shiqi", "石岐街道", UnitKind::Town, Some(1)),
        unit(3, "dongqu", "东区街道", UnitKind::Town, Some(1)),
        unit(4, "sthjj", "中山市生态环境局", UnitKind::Department, Some(1)),
        unit(5, "shiqi-sw", "石岐街道水务所", UnitKind::Subunit, Some(2)),
    ])
}

fn ty(code: &str) -> LedgerType {
    bundled::by_code(code).unwrap()
}

fn row(pairs: &[(&str, Json)]) -> BTreeMap<String, Json> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn dec(s: &str) -> FieldValue {
    FieldValue::Decimal(Decimal::from_str(s).unwrap())
}

fn valid(ty: &LedgerType, input: &BTreeMap<String, Json>) -> Values {
    match ty.validate_item(input, &orgs()) {
        Ok(v) => v,
        Err(errors) => panic!("{errors:#?}"),
    }
}

fn errors(ty: &LedgerType, input: &BTreeMap<String, Json>) -> Vec<FieldError> {
    match ty.validate_item(input, &orgs()) {
        Ok(v) => panic!("accepted: {v:#?}"),
        Err(errors) => errors,
    }
}

/// The single error's (field, code).
fn only_error(ty: &LedgerType, input: &BTreeMap<String, Json>) -> (String, &'static str, String) {
    let errs = errors(ty, input);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    let e = &errs[0];
    (e.field.clone(), e.code, e.message.clone())
}

fn with(base: &BTreeMap<String, Json>, key: &str, value: Json) -> BTreeMap<String, Json> {
    let mut out = base.clone();
    out.insert(key.to_owned(), value);
    out
}

fn without(base: &BTreeMap<String, Json>, key: &str) -> BTreeMap<String, Json> {
    let mut out = base.clone();
    out.remove(key);
    out
}

// ---------------------------------------------------------------------------
// Bundled types
// ---------------------------------------------------------------------------

#[test]
fn every_bundled_type_parses_and_writes_back() {
    let all = bundled::all().unwrap();
    let codes: BTreeSet<&str> = all.iter().map(LedgerType::code).collect();
    assert_eq!(codes, BTreeSet::from(["outlet", "creek", "sewer", "park", "investment"]));
    for t in &all {
        let text = t.to_toml().unwrap();
        let again = LedgerType::from_toml(&text).unwrap();
        assert_eq!(again.def(), t.def(), "{}", t.code());
    }
    assert_eq!(bundled::by_code("nope").unwrap_err().code, "ledger_type_not_found");
}

#[test]
fn bundled_stage_machines_are_connected_and_use_known_roles() {
    let known = [roles::ADMIN, roles::COMMAND_OFFICE, roles::LEADER, roles::TOWN, roles::UNIT];
    for t in bundled::all().unwrap() {
        let initial = t.initial_stage().unwrap().code.clone();
        let mut reached = BTreeSet::from([initial.clone()]);
        let mut frontier = vec![initial];
        while let Some(stage) = frontier.pop() {
            for mv in t.moves_from(&stage) {
                if reached.insert(mv.to.clone()) {
                    frontier.push(mv.to.clone());
                }
            }
        }
        let all: BTreeSet<String> = t.stages().iter().map(|s| s.code.clone()).collect();
        assert_eq!(reached, all, "{}: every stage reachable from the first", t.code());
        for mv in t.moves() {
            for role in &mv.roles {
                assert!(known.contains(&role.as_str()), "{}: unknown role {role}", t.code());
                assert_ne!(roles::label(role), *role);
            }
        }
    }
}

#[test]
fn the_report_stage_orders_are_bundled() {
    let names = |code: &str| ty(code).stages().iter().map(|s| s.name.clone()).collect::<Vec<_>>().join("→");
    assert_eq!(names("outlet"), "排查→监测→溯源→整治→销号");
    assert_eq!(names("park"), "规划→收储整备→审批→动工→竣工→投产");
    assert_eq!(names("investment"), "线索→洽谈→签约→摘牌→动工→投产→终止");
    assert!(names("sewer").starts_with("截污→雨污分流"));
    let groups = ty("investment").list("group").unwrap().items.len();
    assert_eq!(groups, 4);
    let modes: Vec<String> = ty("park").list("mode").unwrap().items.iter().map(|i| i.name.clone()).collect();
    assert_eq!(modes, ["工改工", "工改综合", "工改MO"]);
}

// ---------------------------------------------------------------------------
// 入河排污口
// ---------------------------------------------------------------------------

fn outlet_row() -> BTreeMap<String, Json> {
    row(&[
        ("outlet_code", json!("HQJ00001442000GY0001")),
        ("name", json!("岐江河民生路1号排口")),
        ("outlet_type", json!("工业排污口")),
        ("receiving_water_code", json!("HQJ00001")),
        ("receiving_water_name", json!("岐江河")),
        ("town", json!("石岐街道")),
        ("location", json!("石岐街道民生路")),
        ("point", json!({"lat": 22.5176, "lon": 113.3926})),
        ("responsible_party", json!("某某印染有限公司")),
        ("responsible_credit_code", json!("91350100M000100Y43")),
        ("daily_flow", json!("1,200.5")),
        ("surveyed_on", json!("2021年10月8日")),
    ])
}

#[test]
fn a_valid_outlet_is_typed_and_computed() {
    let t = ty("outlet");
    let v = valid(&t, &outlet_row());
    assert_eq!(v["outlet_code"], FieldValue::Text("HQJ00001442000GY0001".into()));
    assert_eq!(v["outlet_type"], FieldValue::Choice("GY".into()));
    assert_eq!(v["town"], FieldValue::Org("shiqi".into()));
    assert_eq!(v["daily_flow"], dec("1200.50"));
    assert_eq!(v["surveyed_on"].as_text(), "2021-10-08");
    assert_eq!(v["standard_name"], FieldValue::Text("岐江河石岐街道民生路某某印染有限公司工业排污口".into()));
    assert!(!v.contains_key("over_class_v"), "not monitored: no value");
    assert_eq!(t.key_of(&v).as_deref(), Some("HQJ00001442000GY0001"));
    assert_eq!(t.display_value("outlet_type", &v["outlet_type"]), "工业排污口");
    assert_eq!(t.display_value("daily_flow", &v["daily_flow"]), "1200.50吨/日");

    let monitored = with(&with(&outlet_row(), "cod_mg_l", json!(45)), "monitored_on", json!("2021-10-20"));
    assert_eq!(valid(&t, &monitored)["over_class_v"], FieldValue::Bool(true));
    let clean = with(&outlet_row(), "cod_mg_l", json!("40"));
    assert_eq!(valid(&t, &clean)["over_class_v"], FieldValue::Bool(false));

    // Headers in Chinese work as keys; a lower-case code is normalised.
    let by_label = with(&without(&outlet_row(), "name"), "排污口名称", json!("岐江河排口"));
    let by_label = with(&by_label, "outlet_code", json!(" hqj00001442000gy0001 "));
    let v = valid(&t, &by_label);
    assert_eq!(v["name"], FieldValue::Text("岐江河排口".into()));
    assert_eq!(v["outlet_code"], FieldValue::Text("HQJ00001442000GY0001".into()));

    // Revalidating typed values gives the same values.
    assert_eq!(t.revalidate(&v, &orgs()).unwrap(), v);
}

#[test]
fn the_outlet_code_rule_accepts_good_codes_and_refuses_bad_ones() {
    let t = ty("outlet");
    let good = [
        ("HQJ00001442000GY0001", "GY", "HQJ00001"),
        ("HQJ00001442000WS0002", "WS", "HQJ00001"),
        ("A0000001110101NY9999", "NY", "A0000001"),
        ("ZJ123456820000QT0010", "QT", "ZJ123456"),
    ];
    for (code, kind, water) in good {
        let input = with(
            &with(&with(&outlet_row(), "outlet_code", json!(code)), "outlet_type", json!(kind)),
            "receiving_water_code",
            json!(water),
        );
        valid(&t, &input);
    }
    let bad = [
        ("HQJ00001442000GY001", "应为20位"),
        ("HQJ00001992000GY0001", "第9–14位「行政区划代码」"),
        ("HQJ0000144200AGY0001", "第9–14位「行政区划代码」"),
        ("HQJ00001442000XX0001", "第15–16位「排污口类型代码」「XX」不在代码表中"),
        ("HQJ00001442000WS0001", "与字段「排污口类型」的值「GY」不一致"),
        ("HQJ00001442000GY0000", "不能全为0"),
        ("HQJ00001442000GY00A1", "第17–20位「顺序码」应为4位数字"),
        ("HQJ00002442000GY0001", "与字段「受纳水体代码」的值「HQJ00001」不一致"),
        ("HQJ-0001442000GY0001", "第1–8位「受纳水体代码」应为8位数字或大写字母"),
    ];
    let (field, err, _) = only_error(&t, &with(&outlet_row(), "outlet_code", json!("HQJ00001442000GY00001")));
    assert_eq!((field.as_str(), err), ("outlet_code", codes::FIELD_TOO_LONG));
    for (code, reason) in bad {
        let (field, err, message) = only_error(&t, &with(&outlet_row(), "outlet_code", json!(code)));
        assert_eq!((field.as_str(), err), ("outlet_code", codes::KEY_CODE_INVALID), "{code}");
        assert!(message.contains(reason), "{code}: {message}");
    }
}

#[test]
fn invalid_outlets_name_the_field_and_the_reason() {
    let t = ty("outlet");
    let cases: Vec<(BTreeMap<String, Json>, &str, &str, &str)> = vec![
        (without(&outlet_row(), "name"), "name", codes::FIELD_REQUIRED, "必填"),
        (with(&outlet_row(), "name", json!("   ")), "name", codes::FIELD_REQUIRED, "必填"),
        (with(&outlet_row(), "town", json!("中山市生态环境局")), "town", codes::FIELD_UNKNOWN_ORG, "不是镇街"),
        (with(&outlet_row(), "town", json!("火星街道")), "town", codes::FIELD_UNKNOWN_ORG, "找不到"),
        (with(&outlet_row(), "town", json!("city")), "town", codes::FIELD_UNKNOWN_ORG, "全市"),
        (with(&outlet_row(), "discharge_mode", json!("偶尔")), "discharge_mode", codes::FIELD_BAD_CHOICE, "连续排放"),
        (with(&outlet_row(), "surveyed_on", json!("2021-02-30")), "surveyed_on", codes::FIELD_BAD_DATE, "不是有效日期"),
        (with(&outlet_row(), "surveyed_on", json!("2021-02-03 10:00")), "surveyed_on", codes::FIELD_BAD_DATE, "日期"),
        (
            with(&outlet_row(), "responsible_credit_code", json!("91350100M000100Y4A")),
            "responsible_credit_code",
            "invalid_credit_code",
            "校验位",
        ),
        (with(&outlet_row(), "point", json!("113.39,22.51")), "point", codes::FIELD_BAD_POINT, "写反"),
        (with(&outlet_row(), "point", json!({"lat": 22.5})), "point", codes::FIELD_BAD_POINT, "lat"),
        (with(&outlet_row(), "daily_flow", json!("12.345")), "daily_flow", codes::FIELD_TOO_PRECISE, "2位小数"),
        (with(&outlet_row(), "daily_flow", json!(-1)), "daily_flow", codes::FIELD_OUT_OF_RANGE, "不能小于0"),
        (with(&outlet_row(), "daily_flow", json!("1,20")), "daily_flow", codes::FIELD_NOT_NUMBER, "不是有效的数字"),
        (with(&outlet_row(), "daily_flow", json!("1e3")), "daily_flow", codes::FIELD_NOT_NUMBER, "不是有效的数字"),
        (with(&outlet_row(), "daily_flow", json!([1])), "daily_flow", codes::FIELD_INVALID, "单个值"),
        (with(&outlet_row(), "location", json!("路".repeat(101))), "location", codes::FIELD_TOO_LONG, "最多100"),
        (with(&outlet_row(), "location", json!("民生\u{7}路")), "location", codes::FIELD_INVALID, "控制字符"),
        (
            with(&outlet_row(), "acceptance_file", json!("../../etc/passwd ")),
            "acceptance_file",
            codes::FIELD_INVALID,
            "文件",
        ),
        (with(&outlet_row(), "颜色", json!("红")), "颜色", codes::FIELD_UNKNOWN, "没有这个字段"),
        (with(&outlet_row(), "排污口名称", json!("另一个名字")), "name", codes::FIELD_DUPLICATE, "两次"),
    ];
    for (input, field, code, reason) in cases {
        let (f, c, message) = only_error(&t, &input);
        assert_eq!((f.as_str(), c), (field, code), "{message}");
        assert!(message.contains(reason), "{field}: {message}");
    }
    // Several problems are all reported at once, with labels and values for the error report.
    let input = with(&with(&without(&outlet_row(), "name"), "daily_flow", json!("abc")), "surveyed_on", json!("昨天"));
    let errs = errors(&t, &input);
    let fields: Vec<(&str, &str, &str)> =
        errs.iter().map(|e| (e.field.as_str(), e.label.as_str(), e.value.as_str())).collect();
    assert_eq!(
        fields,
        [("name", "排污口名称", ""), ("daily_flow", "日排水量", "abc"), ("surveyed_on", "排查日期", "昨天")]
    );
}

// ---------------------------------------------------------------------------
// 河涌整治: the GB 3838 class computed from samples
// ---------------------------------------------------------------------------

fn creek_row() -> BTreeMap<String, Json> {
    row(&[
        ("creek_code", json!("HY442000001")),
        ("name", json!("库充涌")),
        ("town", json!("dongqu")),
        ("cluster", json!("中心组团")),
        ("category", json!("未达标河涌")),
        ("river_chief", json!("张三")),
        ("target_date", json!("2021-12-31")),
        ("target_class", json!("Ⅴ类")),
    ])
}

fn creek_class(pairs: &[(&str, &str)]) -> Option<FieldValue> {
    let mut input = creek_row();
    for (k, v) in pairs {
        input.insert((*k).to_owned(), json!(v));
    }
    valid(&ty("creek"), &input).get("water_class").cloned()
}

#[test]
fn creek_water_class_follows_gb3838_at_each_boundary() {
    let class = |s: &str| Some(FieldValue::Text(s.to_owned()));
    // (parameter, value exactly at the class limit → class, value just beyond → next class)
    let le_limits: [(&str, [&str; 5], [&str; 5]); 4] = [
        ("codmn_mg_l", ["2", "4", "6", "10", "15"], ["2.01", "4.01", "6.01", "10.01", "15.01"]),
        ("nh3n_mg_l", ["0.15", "0.5", "1", "1.5", "2"], ["0.151", "0.501", "1.001", "1.501", "2.001"]),
        ("tp_mg_l", ["0.02", "0.1", "0.2", "0.3", "0.4"], ["0.021", "0.101", "0.201", "0.301", "0.401"]),
        ("do_mg_l", ["7.5", "6", "5", "3", "2"], ["7.49", "5.99", "4.99", "2.99", "1.99"]),
    ];
    let names = ["Ⅰ类", "Ⅱ类", "Ⅲ类", "Ⅳ类", "Ⅴ类", "劣Ⅴ类"];
    for (param, at, beyond) in le_limits {
        for i in 0..5 {
            assert_eq!(creek_class(&[(param, at[i])]), class(names[i]), "{param}={}", at[i]);
            assert_eq!(creek_class(&[(param, beyond[i])]), class(names[i + 1]), "{param}={}", beyond[i]);
        }
    }
    // COD and BOD5 share the class I/II limit: at it the class is I, just over it III.
    assert_eq!(creek_class(&[("cod_mg_l", "15")]), class("Ⅰ类"));
    assert_eq!(creek_class(&[("cod_mg_l", "15.01")]), class("Ⅲ类"));
    assert_eq!(creek_class(&[("cod_mg_l", "40.01")]), class("劣Ⅴ类"));
    assert_eq!(creek_class(&[("bod5_mg_l", "3")]), class("Ⅰ类"));
    assert_eq!(creek_class(&[("bod5_mg_l", "10.01")]), class("劣Ⅴ类"));
    // The worst measured parameter decides; nothing measured gives no class.
    assert_eq!(creek_class(&[("do_mg_l", "8"), ("nh3n_mg_l", "1.2"), ("tp_mg_l", "0.05")]), class("Ⅳ类"));
    assert_eq!(creek_class(&[]), None);
}

#[test]
fn creek_target_is_met_or_missed() {
    let t = ty("creek");
    let met = valid(&t, &with(&creek_row(), "nh3n_mg_l", json!("1.8")));
    assert_eq!(met["meets_target"], FieldValue::Bool(true));
    let missed = valid(&t, &with(&creek_row(), "nh3n_mg_l", json!("2.5")));
    assert_eq!(missed["meets_target"], FieldValue::Bool(false));
    assert!(!valid(&t, &creek_row()).contains_key("meets_target"));
    let (field, code, _) = only_error(&t, &with(&creek_row(), "creek_code", json!("HX442000001")));
    assert_eq!((field.as_str(), code), ("creek_code", codes::KEY_CODE_INVALID));
}

// ---------------------------------------------------------------------------
// 污水管网, 村镇低效工业园改造, 招商引资
// ---------------------------------------------------------------------------

#[test]
fn sewer_remaining_length_and_coverage() {
    let t = ty("sewer");
    let base = row(&[
        ("area_code", json!("SQ-01")),
        ("town", json!("shiqi")),
        ("area_name", json!("石岐老城区")),
        ("planned_km", json!("299.6")),
        ("built_km", json!("284.6")),
        ("built_up_km2", json!("20")),
        ("covered_km2", json!("19")),
    ]);
    let v = valid(&t, &base);
    assert_eq!(v["remaining_km"], dec("15.00"));
    assert_eq!(v["coverage_pct"], dec("95.0"));
    let over = valid(&t, &with(&base, "covered_km2", json!("25")));
    assert_eq!(over["coverage_pct"], dec("100"));
    let (field, code, _) = only_error(&t, &with(&base, "built_up_km2", json!("0")));
    assert_eq!((field.as_str(), code), ("built_up_km2", codes::FIELD_OUT_OF_RANGE));
}

fn park_row() -> BTreeMap<String, Json> {
    let code = ty("park").key_rule().unwrap().complete("GY20210001").unwrap();
    row(&[
        ("project_code", json!(code)),
        ("project_name", json!("某村工业园改造一期")),
        ("park_name", json!("某村工业园")),
        ("town", json!("dongqu")),
        ("mode", json!("工改工")),
        ("area_mu", json!("90.9")),
        ("plot_ratio_before", json!("1.0")),
        ("plot_ratio_after", json!("3.5")),
        ("investment", json!("120000")),
        ("annual_output", json!("300000")),
        ("annual_tax", json!("9000")),
        ("jobs", json!(1200.0)),
    ])
}

#[test]
fn park_projects_compute_output_per_mu() {
    let t = ty("park");
    let v = valid(&t, &park_row());
    assert_eq!(v["mode"], FieldValue::Choice("ggg".into()));
    assert_eq!(v["jobs"], FieldValue::Integer(1200));
    assert_eq!(v["output_per_mu"], dec("3300.33"));
    assert_eq!(v["tax_per_mu"], dec("99.01"));
    assert_eq!(v["plot_ratio_gain"], dec("2.50"));
    let (field, code, _) = only_error(&t, &with(&park_row(), "jobs", json!("12.5")));
    assert_eq!((field.as_str(), code), ("jobs", codes::FIELD_NOT_NUMBER));
    let (field, code, _) = only_error(&t, &with(&park_row(), "area_mu", json!("0")));
    assert_eq!((field.as_str(), code), ("area_mu", codes::FIELD_OUT_OF_RANGE));
    let (field, code, _) = only_error(&t, &with(&park_row(), "mode", json!("工改住")));
    assert_eq!((field.as_str(), code), ("mode", codes::FIELD_BAD_CHOICE));
}

#[test]
fn park_codes_carry_a_check_character() {
    let t = ty("park");
    let good = t.key_rule().unwrap().complete("GY20210001").unwrap();
    assert_eq!(good.len(), 11);
    let body = &good[..10];
    let check = good.chars().last().unwrap();
    for other in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".chars().filter(|c| *c != check) {
        let (field, code, message) =
            only_error(&t, &with(&park_row(), "project_code", json!(format!("{body}{other}"))));
        assert_eq!((field.as_str(), code), ("project_code", codes::KEY_CODE_INVALID));
        assert!(message.contains("校验位"), "{message}");
    }
    // A mistyped digit is caught by the check character.
    let typo = format!("GY20210007{check}");
    assert_eq!(only_error(&t, &with(&park_row(), "project_code", json!(typo))).1, codes::KEY_CODE_INVALID);
}

fn investment_row() -> BTreeMap<String, Json> {
    row(&[
        ("project_code", json!("ZS20210011")),
        ("project_name", json!("某智能装备产业园")),
        ("investor", json!("某某科技股份有限公司")),
        ("industry", json!("高端装备制造")),
        ("amount", json!("300000")),
        ("source_region", json!("长三角")),
        ("group", json!("国内招商一组")),
        ("responsible_leader", json!("市长")),
    ])
}

#[test]
fn investment_items_and_their_stage_machine() {
    let t = ty("investment");
    let mut v = valid(&t, &investment_row());
    assert_eq!(v["overseas"], FieldValue::Bool(false));
    assert!(!v.contains_key("investment_per_mu"));

    assert_eq!(t.check_move(&v, "lead", "sign", &["command_office"]).unwrap_err().code, codes::STAGE_MOVE_NOT_ALLOWED);
    let e = t.check_move(&v, "lead", "talk", &["town"]).unwrap_err();
    assert_eq!((e.code, e.kind), (codes::STAGE_ROLE_FORBIDDEN, ErrorKind::Forbidden));
    assert!(e.message.contains("责任单位、指挥部办公室"), "{}", e.message);
    let e = t.check_move(&v, "lead", "talk", &["unit"]).unwrap_err();
    assert_eq!((e.code, e.kind), (codes::STAGE_FIELDS_MISSING, ErrorKind::Invalid));
    assert!(e.message.contains("项目长"), "{}", e.message);

    v = valid(&t, &with(&investment_row(), "project_lead", json!("李四")));
    assert_eq!(t.check_move(&v, "lead", "talk", &["town", "unit"]).unwrap().to, "talk");
    let e = t.check_move(&v, "talk", "sign", &["leader"]).unwrap_err();
    assert_eq!(e.code, codes::STAGE_FIELDS_MISSING);
    assert!(e.message.contains("落地镇街、签约日期、签约文件"), "{}", e.message);
    let signed =
        row(&[("town", json!("shiqi")), ("signed_on", json!("2021-11-11")), ("contract_file", json!("att-42"))]);
    let mut input = with(&investment_row(), "project_lead", json!("李四"));
    input.extend(signed);
    v = valid(&t, &input);
    assert_eq!(t.check_move(&v, "talk", "sign", &["leader"]).unwrap().name.as_deref(), Some("签约"));
    let e = t.check_move(&v, "produce", "lead", &["admin"]).unwrap_err();
    assert!(e.message.contains("该阶段不能再流转"), "{}", e.message);
    assert_eq!(t.check_move(&v, "talk", "nowhere", &["admin"]).unwrap_err().code, codes::STAGE_UNKNOWN);
    let allowed: Vec<&str> = t.moves_for("talk", &["leader"]).map(|m| m.to.as_str()).collect();
    assert_eq!(allowed, ["sign", "stopped"]);
    assert!(t.check_entry(&v, t.stage("stopped").unwrap()).is_err());
}

#[test]
fn outlet_stage_moves_need_the_fields_of_each_stage() {
    let t = ty("outlet");
    let v = valid(&t, &outlet_row());
    let e = t.check_move(&v, "survey", "monitor", &["town"]).unwrap_err();
    assert!(e.message.contains("监测日期"), "{}", e.message);
    let v = valid(&t, &with(&outlet_row(), "monitored_on", json!("2021/10/20")));
    t.check_move(&v, "survey", "monitor", &["town"]).unwrap();
    assert_eq!(t.check_move(&v, "remediate", "closed", &["town"]).unwrap_err().code, codes::STAGE_ROLE_FORBIDDEN);
    assert_eq!(t.check_move(&v, "survey", "closed", &["admin"]).unwrap_err().code, codes::STAGE_MOVE_NOT_ALLOWED);
}

// ---------------------------------------------------------------------------
// Type changes
// ---------------------------------------------------------------------------

fn changed(t: &LedgerType, edit: impl FnOnce(&mut LedgerTypeDef)) -> LedgerType {
    let mut def = t.def().clone();
    def.version += 1;
    edit(&mut def);
    LedgerType::from_def(def).unwrap()
}

fn field_def<'a>(def: &'a mut LedgerTypeDef, code: &str) -> &'a mut ledger::def::FieldDef {
    def.fields.iter_mut().find(|f| f.code == code).unwrap()
}

fn outlet_store() -> (LedgerType, StoredSummary) {
    let t = ty("outlet");
    let a = valid(&t, &outlet_row());
    let b = valid(
        &t,
        &with(
            &with(&with(&outlet_row(), "outlet_code", json!("HQJ00001442000QT0002")), "outlet_type", json!("QT")),
            "location",
            json!("石岐街道民生路二十号旁的排水渠出口"),
        ),
    );
    let items = [("survey".to_owned(), a), ("monitor".to_owned(), b)];
    let summary = StoredSummary::from_items(items.iter().map(|(s, v)| (s.as_str(), v)));
    (t, summary)
}

fn verdict(old: &LedgerType, new: &LedgerType, stored: &StoredSummary) -> (Verdict, Vec<ChangeAction>) {
    let report = ledger::check_type_change(old, new, stored);
    let actions = report.findings.iter().map(|f| f.action.clone()).collect();
    (report.verdict, actions)
}

#[test]
fn type_changes_that_keep_items_valid_are_safe() {
    let (t, stored) = outlet_store();
    assert_eq!(verdict(&t, &changed(&t, |_| {}), &stored).0, Verdict::Safe);
    let new = changed(&t, |d| {
        field_def(d, "name").label = "排污口名字".into();
        field_def(d, "location").max_len = Some(18);
        d.code_lists[1].items.retain(|i| i.code != "seasonal");
        d.code_lists[0].items.push(ledger::def::CodeItemDef { code: "GK".into(), name: "港口码头排口".into() });
        d.fields.push(ledger::def::FieldDef {
            code: "remark".into(),
            label: "备注".into(),
            kind: ledger::FieldKindName::Text,
            required: false,
            help: None,
            max_len: Some(200),
            min: None,
            max: None,
            unit: None,
            precision: None,
            list: None,
            expr: None,
        });
    });
    let report = ledger::check_type_change(&t, &new, &stored);
    assert_eq!(report.verdict, Verdict::Safe, "{report:#?}");
    assert!(report.findings.iter().any(|f| f.message.contains("新增1个选项")));
    // Removing an unused code from a list the key rule uses: keys must be checked again.
    let narrowed = changed(&t, |d| d.code_lists[0].items.retain(|i| i.code != "NY"));
    assert_eq!(ledger::check_type_change(&t, &narrowed, &stored).migrations(), [&Migration::RevalidateKeys]);
    // Nothing stored: even a kind change is safe.
    let retyped = changed(&t, |d| {
        let f = field_def(d, "location");
        f.kind = ledger::FieldKindName::Date;
        f.max_len = None;
    });
    assert_eq!(verdict(&t, &retyped, &StoredSummary::default()).0, Verdict::Safe);
}

#[test]
fn type_changes_that_would_invalidate_items_are_refused() {
    let (t, stored) = outlet_store();
    let refusals: Vec<(&str, LedgerType)> = vec![
        ("removing a choice items hold", changed(&t, |d| d.code_lists[0].items.retain(|i| i.code != "QT"))),
        ("narrowing text below stored", changed(&t, |d| field_def(d, "location").max_len = Some(10))),
        (
            "changing a used field's kind",
            changed(&t, |d| {
                let f = field_def(d, "location");
                f.kind = ledger::FieldKindName::Date;
                f.max_len = None;
            }),
        ),
        ("a decimal's unit", changed(&t, |d| field_def(d, "daily_flow").unit = Some("立方米/日".into()))),
        ("a decimal's precision", changed(&t, |d| field_def(d, "daily_flow").precision = Some(0))),
        ("a decimal's max", changed(&t, |d| field_def(d, "daily_flow").max = Some(Decimal::from(100)))),
        (
            "removing a stage with items",
            changed(&t, |d| {
                d.stages.retain(|s| s.code != "monitor");
                d.moves.retain(|m| m.from != "monitor" && m.to != "monitor");
                d.moves.push(ledger::def::MoveDef {
                    from: "survey".into(),
                    to: "trace".into(),
                    roles: vec!["town".into()],
                    name: None,
                });
            }),
        ),
        (
            "turning a filled field into a computed one",
            changed(&t, |d| {
                let f = field_def(d, "location");
                f.kind = ledger::FieldKindName::Computed;
                f.max_len = None;
                f.required = false;
                f.expr = Some("name".into());
            }),
        ),
    ];
    for (what, new) in refusals {
        let (v, actions) = verdict(&t, &new, &stored);
        assert_eq!(v, Verdict::Refuse, "{what}: {actions:?}");
    }
    let required = changed(&t, |d| field_def(d, "discharge_mode").required = true);
    assert_eq!(verdict(&t, &required, &stored).0, Verdict::Refuse);
    let added_required = changed(&t, |d| {
        let mut f = t.def().fields.iter().find(|f| f.code == "name").unwrap().clone();
        f.code = "grid".into();
        f.label = "网格".into();
        d.fields.push(f);
    });
    assert_eq!(verdict(&t, &added_required, &stored).0, Verdict::Refuse);
    assert_eq!(verdict(&t, &added_required, &StoredSummary::default()).0, Verdict::Safe);

    let same_version = LedgerType::from_def(t.def().clone()).unwrap();
    let report = ledger::check_type_change(&t, &same_version, &stored);
    assert_eq!(report.verdict, Verdict::Refuse);
    let e = report.into_result().unwrap_err();
    assert_eq!((e.code, e.kind), (codes::TYPE_CHANGE_REFUSED, ErrorKind::Conflict));
    assert!(e.message.contains("版本号"), "{}", e.message);

    let narrowed = changed(&t, |d| field_def(d, "location").max_len = Some(10));
    let e = ledger::check_type_change(&t, &narrowed, &stored).into_result().unwrap_err();
    assert!(e.message.contains("已有台账的值长达"), "{}", e.message);
    let dropped = changed(&t, |d| d.code_lists[0].items.retain(|i| i.code != "QT"));
    let e = ledger::check_type_change(&t, &dropped, &stored).into_result().unwrap_err();
    assert!(e.message.contains("「QT 其他排口」已被1条台账使用"), "{}", e.message);
}

#[test]
fn type_changes_that_need_a_migration_say_which() {
    let (t, stored) = outlet_store();
    let dropped = changed(&t, |d| d.fields.retain(|f| f.code != "daily_flow"));
    let report = ledger::check_type_change(&t, &dropped, &stored);
    assert_eq!(report.verdict, Verdict::Migrate);
    assert_eq!(report.migrations(), [&Migration::DropField("daily_flow".into())]);

    let recomputed =
        changed(&t, |d| field_def(d, "standard_name").expr = Some("concat(receiving_water_name, location)".into()));
    let report = ledger::check_type_change(&t, &recomputed, &stored);
    assert_eq!(report.migrations(), [&Migration::RecomputeField("standard_name".into())]);

    let rule = changed(&t, |d| d.key.rule.as_mut().unwrap().segments[3].nonzero = false);
    assert_eq!(ledger::check_type_change(&t, &rule, &stored).migrations(), [&Migration::RevalidateKeys]);

    // Migrating an item applies the new type: values of dropped fields go, computed fields follow.
    let item = valid(&t, &outlet_row());
    let migrated = ledger::migrate_item(&dropped, &item, &orgs()).unwrap();
    assert!(!migrated.contains_key("daily_flow"));
    let migrated = ledger::migrate_item(&recomputed, &item, &orgs()).unwrap();
    assert_eq!(migrated["standard_name"], FieldValue::Text("岐江河石岐街道民生路".into()));
    assert_eq!(ledger::migrate_item(&t, &item, &orgs()).unwrap(), item);

    // Integer to decimal: a migration, and the values convert.
    let p = ty("park");
    let park_item = valid(&p, &park_row());
    let park_stored = StoredSummary::from_items([("plan", &park_item)]);
    let widened = changed(&p, |d| {
        let f = field_def(d, "jobs");
        f.kind = ledger::FieldKindName::Decimal;
        f.precision = Some(1);
    });
    let report = ledger::check_type_change(&p, &widened, &park_stored);
    assert_eq!(report.verdict, Verdict::Migrate, "{report:#?}");
    assert_eq!(report.migrations(), [&Migration::IntegerToDecimal("jobs".into())]);
    assert_eq!(ledger::migrate_item(&widened, &park_item, &orgs()).unwrap()["jobs"], dec("1200.0"));
}

// ---------------------------------------------------------------------------
// Diffs
// ---------------------------------------------------------------------------

#[test]
fn diffs_list_changed_cells_in_field_order() {
    let t = ty("park");
    let before = valid(&t, &park_row());
    let after = valid(&t, &with(&without(&park_row(), "jobs"), "annual_output", json!("330000.00")));
    let changes = ledger::diff(&t, &before, &after);
    let shown: Vec<(&str, Option<String>, Option<String>, bool)> = changes
        .iter()
        .map(|c| {
            (
                c.label.as_str(),
                c.before.as_ref().map(FieldValue::as_text),
                c.after.as_ref().map(FieldValue::as_text),
                c.computed,
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("预计年产值", Some("300000.00".into()), Some("330000.00".into()), false),
            ("就业人数", Some("1200".into()), None, false),
            ("亩均产值", Some("3300.33".into()), Some("3630.36".into()), true),
        ]
    );
    assert!(ledger::diff(&t, &before, &before).is_empty());
    // 1.5 and 1.50 are the same number: no change recorded.
    let mut rescaled = before.clone();
    rescaled.insert("area_mu".into(), dec("90.900"));
    assert!(ledger::diff(&t, &before, &rescaled).is_empty());
    let mut stray = before.clone();
    stray.insert("legacy".into(), FieldValue::Text("x".into()));
    assert_eq!(ledger::diff(&t, &before, &stray)[0].label, "legacy");
}

// ---------------------------------------------------------------------------
// Type files that break the format
// ---------------------------------------------------------------------------

const MINIMAL: &str = r#"
code = "demo"
name = "演示"
version = 1
[key]
field = "code"
[[field]]
code = "code"
label = "编号"
kind = "text"
max_len = 10
"#;

#[test]
fn broken_type_files_are_refused_in_chinese() {
    LedgerType::from_toml(MINIMAL).unwrap();
    let cases = [
        (format!("{MINIMAL}requried = true\n"), "格式错误"),
        (MINIMAL.replace("max_len = 10", "max_len = 10\nprecision = 2"), "不能设置 precision"),
        (MINIMAL.replace("max_len = 10", ""), "须设置 max_len"),
        (MINIMAL.replace("kind = \"text\"", "kind = \"integer\"").replace("max_len = 10", ""), "应为文本字段"),
        (MINIMAL.replace("field = \"code\"", "field = \"nope\""), "主键字段「nope」不存在"),
        (MINIMAL.replace("code = \"demo\"", "code = \"Demo\""), "台账类型编码"),
        (MINIMAL.replace("version = 1", "version = 0"), "版本号"),
        (format!("{MINIMAL}[[field]]\ncode = \"x\"\nlabel = \"编号\"\nkind = \"date\"\n"), "重复"),
        (format!("{MINIMAL}[[field]]\ncode = \"and\"\nlabel = \"与\"\nkind = \"date\"\n"), "关键字"),
        (
            format!("{MINIMAL}[[field]]\ncode = \"c\"\nlabel = \"选\"\nkind = \"choice\"\nlist = \"nope\"\n"),
            "代码表「nope」不存在",
        ),
        (
            format!(
                "{MINIMAL}[[field]]\ncode = \"c\"\nlabel = \"算\"\nkind = \"computed\"\nexpr = \"later + 1\"\n[[field]]\ncode = \"later\"\nlabel = \"后\"\nkind = \"integer\"\n"
            ),
            "未知字段「later」",
        ),
        (
            format!("{MINIMAL}[[field]]\ncode = \"c\"\nlabel = \"算\"\nkind = \"computed\"\nexpr = \"编号 + 1\"\n"),
            "第1个字符处",
        ),
        (
            format!(
                "{MINIMAL}[[stage]]\ncode = \"a\"\nname = \"甲\"\n[[move]]\nfrom = \"a\"\nto = \"b\"\nroles = [\"town\"]\n"
            ),
            "不存在的阶段",
        ),
        (format!("{MINIMAL}[[stage]]\ncode = \"a\"\nname = \"甲\"\nrequires = [\"zz\"]\n"), "字段「zz」不存在"),
        (
            format!(
                "{MINIMAL}[[stage]]\ncode = \"a\"\nname = \"甲\"\n[[stage]]\ncode = \"b\"\nname = \"乙\"\n[[move]]\nfrom = \"a\"\nto = \"b\"\nroles = []\n"
            ),
            "允许的角色",
        ),
        (
            format!(
                "{MINIMAL}[key.rule]\nname = \"规则\"\n[[key.rule.segment]]\nname = \"段\"\nlen = 20\nchars = \"digits\"\n"
            ),
            "最大长度小于编码规则",
        ),
        (
            format!(
                "{MINIMAL}[key.rule]\nname = \"规则\"\n[[key.rule.segment]]\nname = \"段\"\nlen = 2\nchars = \"digits\"\nliteral = \"AB\"\n"
            ),
            "固定值",
        ),
        (
            format!(
                "{MINIMAL}[key.rule]\nname = \"规则\"\n[[key.rule.segment]]\nname = \"段\"\nlen = 4\nchars = \"division\"\n"
            ),
            "行政区划代码为6",
        ),
        (
            format!(
                "{MINIMAL}[key.rule]\nname = \"规则\"\ncheck = \"gb32100\"\n[[key.rule.segment]]\nname = \"段\"\nlen = 4\nchars = \"digits\"\n"
            ),
            "总长度应为18",
        ),
        (
            format!(
                "{MINIMAL}[[code_list]]\ncode = \"l\"\nname = \"表\"\nitem = [{{ code = \"a\", name = \"甲\" }}, {{ code = \"A\", name = \"乙\" }}]\n"
            ),
            "重复",
        ),
        (format!("{MINIMAL}{}", "#".repeat(ledger::MAX_TYPE_BYTES)), "过大"),
    ];
    for (text, reason) in cases {
        let e = LedgerType::from_toml(&text).unwrap_err();
        assert!(e.code == codes::LEDGER_TYPE_INVALID || e.code.starts_with("expr_"), "{}", e.code);
        assert!(e.message.contains(reason), "wanted「{reason}」: {}", e.message);
    }
    let e = LedgerType::from_toml("code = \"x\"\nname = \n").unwrap_err();
    assert!(e.message.contains("第2行"), "{}", e.message);
}

#[test]
fn date_times_percentages_and_failed_computations() {
    let text = format!(
        "{MINIMAL}{}",
        r#"
[[field]]
code = "at"
label = "时间"
kind = "datetime"

[[field]]
code = "rate"
label = "比例"
kind = "decimal"
unit = "%"
precision = 1

[[field]]
code = "a"
label = "甲"
kind = "integer"

[[field]]
code = "b"
label = "乙"
kind = "integer"

[[field]]
code = "ratio"
label = "甲乙比"
kind = "computed"
expr = "甲 / 乙"
"#
    );
    let t = LedgerType::from_toml(&text).unwrap();
    let base = row(&[("code", json!("A1")), ("a", json!(3)), ("b", json!(4))]);
    let v = valid(&t, &with(&with(&base, "at", json!("2021-11-11 09:30")), "rate", json!("95.5%")));
    assert_eq!(v["at"].as_text(), "2021-11-11 09:30:00");
    assert_eq!(v["rate"], dec("95.5"));
    assert_eq!(v["ratio"], dec("0.75"));
    let v = valid(&t, &with(&base, "at", json!("2021-11-11T01:30:00Z")));
    assert_eq!(v["at"].to_input(), json!("2021-11-11 09:30:00"));
    let (field, code, _) = only_error(&t, &with(&base, "at", json!("2021-11-11")));
    assert_eq!((field.as_str(), code), ("at", codes::FIELD_BAD_DATE));
    let (field, code, message) = only_error(&t, &with(&base, "b", json!(0)));
    assert_eq!((field.as_str(), code), ("ratio", "expr_division_by_zero"));
    assert!(message.starts_with("无法计算"), "{message}");
    assert!(!valid(&t, &without(&base, "b")).contains_key("ratio"));
}

// ---------------------------------------------------------------------------
// Check characters
// ---------------------------------------------------------------------------

#[test]
fn check_character_algorithms_match_known_codes() {
    // The example resident ID number of GB 11643 (MOD 11-2, check X).
    assert_eq!(check_character(CheckAlgorithm::Iso7064Mod11_2, "11010519491231002"), Some('X'));
    assert_eq!(check_character(CheckAlgorithm::Gb32100, "91350100M000100Y4"), Some('3'));
    assert_eq!(check_character(CheckAlgorithm::Gb32100, "91110108551385082"), Some('Q'));
    assert_eq!(check_character(CheckAlgorithm::Iso7064Mod11_2, "1101A"), None);
    assert_eq!(check_character(CheckAlgorithm::Iso7064Mod37_36, "ab"), None);
}

fn alnum() -> impl Strategy<Value = String> {
    "[0-9A-Z]{4,20}"
}

proptest! {
    #[test]
    fn mod37_36_catches_every_single_substitution(body in alnum(), pos in 0usize..20, with_c in "[0-9A-Z]") {
        let check = check_character(CheckAlgorithm::Iso7064Mod37_36, &body).unwrap();
        let chars: Vec<char> = body.chars().collect();
        let pos = pos % chars.len();
        let replacement = with_c.chars().next().unwrap();
        if replacement != chars[pos] {
            let mut typo = chars.clone();
            typo[pos] = replacement;
            let typo: String = typo.into_iter().collect();
            prop_assert_ne!(check_character(CheckAlgorithm::Iso7064Mod37_36, &typo).unwrap(), check);
        }
    }

    #[test]
    fn mod11_2_catches_every_single_digit_substitution(body in "[0-9]{17}", pos in 0usize..17, d in 0u32..10) {
        let check = check_character(CheckAlgorithm::Iso7064Mod11_2, &body).unwrap();
        let mut chars: Vec<char> = body.chars().collect();
        let replacement = char::from_digit(d, 10).unwrap();
        if chars[pos] != replacement {
            chars[pos] = replacement;
            let typo: String = chars.into_iter().collect();
            prop_assert_ne!(check_character(CheckAlgorithm::Iso7064Mod11_2, &typo).unwrap(), check);
        }
    }

    #[test]
    fn arbitrary_type_files_never_panic(text in "\\PC{0,400}") {
        let _ = LedgerType::from_toml(&text);
        let _ = LedgerType::from_toml(&format!("{MINIMAL}{text}"));
    }

    #[test]
    fn arbitrary_cells_never_panic(cells in prop::collection::vec(("\\PC{0,12}", "\\PC{0,30}"), 0..12), pick in any::<prop::sample::Index>()) {
        let t = bundled::all().unwrap();
        let t = pick.get(&t);
        let codes: Vec<String> = t.fields().iter().map(|f| f.code.clone()).collect();
        let mut input = BTreeMap::new();
        for (i, (key, value)) in cells.into_iter().enumerate() {
            let key = if i % 2 == 0 { codes[i % codes.len()].clone() } else { key };
            input.insert(key, Json::String(value));
        }
        if let Ok(values) = t.validate_item(&input, &orgs()) {
            prop_assert_eq!(t.revalidate(&values, &orgs()).unwrap(), values);
        }
    }

    #[test]
    fn arbitrary_outlet_codes_never_panic_and_valid_ones_follow_the_rule(code in "[0-9A-Za-z\\-]{0,24}") {
        let t = ty("outlet");
        let input = with(&outlet_row(), "outlet_code", json!(code));
        if t.validate_item(&input, &orgs()).is_ok() {
            let upper = code.to_ascii_uppercase();
            prop_assert_eq!(upper.len(), 20);
            prop_assert!(upper.starts_with("HQJ00001"));
            prop_assert_eq!(&upper[14..16], "GY");
        }
    }
}

/// MOD 37,36 catches almost every swap of two neighbours, not all: over every
/// ordered pair of different characters in front of a fixed tail, a handful
/// of swaps keep the check character (e.g. `JIA0` and `IJA0`).
#[test]
fn mod37_36_catches_nearly_every_adjacent_swap() {
    const ALNUM: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let (mut pairs, mut missed) = (0, 0);
    for a in ALNUM.chars() {
        for b in ALNUM.chars().filter(|&b| b != a) {
            pairs += 1;
            let check = |s: String| check_character(CheckAlgorithm::Iso7064Mod37_36, &s).unwrap();
            if check(format!("{a}{b}A0")) == check(format!("{b}{a}A0")) {
                missed += 1;
            }
        }
    }
    assert_eq!(pairs, 1260);
    assert!(missed <= 4, "{missed} of {pairs} swaps went unnoticed");
}
