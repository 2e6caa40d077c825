//! The expression language: parsing, type checking, evaluation, limits, round trips.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDate;
use mashangban_domain::expr::{
    self, BinOp, Expr, ExprKind, ExprType, Formula, Func, Literal, MAX_SOURCE_CHARS, Span, UnaryOp, Value, codes,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn schema() -> BTreeMap<String, ExprType> {
    [
        ("产值", ExprType::Number),
        ("面积", ExprType::Number),
        ("output", ExprType::Number),
        ("area_mu", ExprType::Number),
        ("name", ExprType::Text),
        ("mode", ExprType::Text),
        ("signed_on", ExprType::Date),
        ("is_key", ExprType::Bool),
        ("产值(万元)", ExprType::Number),
        ("非农产值", ExprType::Number),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn num(s: &str) -> Value {
    Value::Number(dec(s))
}

fn record(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn eval(src: &str, rec: &BTreeMap<String, Value>) -> Value {
    Formula::compile(src, &schema()).unwrap().eval(rec).unwrap()
}

fn err(src: &str) -> expr::ExprError {
    Formula::compile(src, &schema()).unwrap_err()
}

#[test]
fn output_per_mu_is_exact() {
    let rec = record(&[("产值", num("300000")), ("面积", num("90.9"))]);
    assert_eq!(eval("round(产值 / 面积, 2)", &rec), num("3300.33"));
    let rec = record(&[("output", num("0.1")), ("area_mu", num("0.2"))]);
    assert_eq!(eval("output + area_mu", &rec), num("0.3"));
    assert_eq!(eval("output * 3", &rec), num("0.3"));
}

#[test]
fn precedence_and_associativity() {
    let rec = record(&[]);
    assert_eq!(eval("1 + 2 * 3", &rec), num("7"));
    assert_eq!(eval("(1 + 2) * 3", &rec), num("9"));
    assert_eq!(eval("10 - 4 - 3", &rec), num("3"));
    assert_eq!(eval("12 / 3 / 2", &rec), num("2"));
    assert_eq!(eval("-2 * -3", &rec), num("6"));
    assert_eq!(eval("not 1 > 2 and 2 > 1", &rec), Value::Bool(true));
    assert_eq!(eval("1 > 2 or 2 > 1 and 3 > 4", &rec), Value::Bool(false));
}

#[test]
fn chinese_keywords_and_fullwidth_punctuation() {
    let rec = record(&[("产值", num("5")), ("面积", num("2")), ("非农产值", num("1"))]);
    assert_eq!(eval("产值 > 1 且 面积 > 1", &rec), Value::Bool(true));
    assert_eq!(eval("产值 > 10 或 非 面积 > 3", &rec), Value::Bool(true));
    assert_eq!(eval("max（产值，面积）＞ 4", &rec), Value::Bool(true));
    assert_eq!(eval("非农产值 + 1", &rec), num("2"));
    assert_eq!(eval("`产值(万元)` + 1", &record(&[("产值(万元)", num("2"))])), num("3"));
    let e = err("产值>0且面积>0");
    assert_eq!(e.code, codes::SYNTAX);
    assert!(e.message.contains("前后请加空格"), "{}", e.message);
}

#[test]
fn functions() {
    let rec = record(&[("产值", num("2.345")), ("mode", Value::Text("工改工".into()))]);
    assert_eq!(eval("round(产值, 2)", &rec), num("2.35"));
    assert_eq!(eval("round(-2.345, 2)", &rec), num("-2.35"));
    assert_eq!(eval("round(2.5, 0)", &rec), num("3"));
    assert_eq!(eval("abs(0 - 产值)", &rec), num("2.345"));
    assert_eq!(eval("min(3, 1, 2)", &rec), num("1"));
    assert_eq!(eval("max(3, 1, 2)", &rec), num("3"));
    assert_eq!(eval("if(mode = \"工改工\", 1, 2)", &rec), num("1"));
    assert_eq!(eval("mode in [\"工改工\", \"工改MO\"]", &rec), Value::Bool(true));
    assert_eq!(eval("mode not in [\"工改工\", \"工改MO\"]", &rec), Value::Bool(false));
    assert_eq!(eval("concat(mode, \"-\", 产值)", &rec), Value::Text("工改工-2.345".into()));
    assert_eq!(
        eval("max(date(\"2021-01-01\"), date(\"2021-12-31\"))", &rec),
        Value::Date(NaiveDate::from_ymd_opt(2021, 12, 31).unwrap())
    );
}

#[test]
fn tiers_pick_the_last_threshold_reached() {
    let f = "tiers(产值, [0, 0], [1000, 50], [5000, 100], [10000, 200])";
    let at = |v: &str| eval(f, &record(&[("产值", num(v))]));
    assert_eq!(at("999.99"), num("0"));
    assert_eq!(at("1000"), num("50"));
    assert_eq!(at("4999"), num("50"));
    assert_eq!(at("5000"), num("100"));
    assert_eq!(at("1000000"), num("200"));
    assert_eq!(at("-1"), Value::Null);
    assert_eq!(eval(f, &record(&[])), Value::Null);
    assert_eq!(err("tiers(产值, [10, 1], [5, 2])").code, codes::BAD_LITERAL);
    assert_eq!(err("tiers(产值, [10, 1], [20, \"x\"])").code, codes::TYPE);
}

#[test]
fn support_fund_rules_and_award_formulas() {
    let schema: BTreeMap<String, ExprType> = [
        ("industry_code", ExprType::Text),
        ("output_growth_pct", ExprType::Number),
        ("investment", ExprType::Number),
        ("registered_on", ExprType::Date),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let applicant = record(&[
        ("industry_code", Value::Text("C38".into())),
        ("output_growth_pct", num("12.5")),
        ("investment", num("86000000")),
        ("registered_on", Value::Date(NaiveDate::from_ymd_opt(2015, 3, 1).unwrap())),
    ]);
    let rule = Formula::compile_as(
        "industry_code in [\"C38\", \"C39\"] 且 output_growth_pct >= 10 且 registered_on < date(\"2021-01-01\")",
        &schema,
        ExprType::Bool,
    )
    .unwrap();
    assert!(rule.eval_bool(&applicant).unwrap());
    assert!(!rule.eval_bool(&record(&[])).unwrap(), "missing data is not eligible");
    let award = |src: &str| Formula::compile_as(src, &schema, ExprType::Number).unwrap().eval(&applicant).unwrap();
    assert_eq!(award("500000"), num("500000"));
    assert_eq!(award("min(round(investment * 0.05, 2), 3000000)"), num("3000000"));
    assert_eq!(award("min(round(investment * 0.01, 2), 3000000)"), num("860000.00"));
    assert_eq!(award("tiers(output_growth_pct, [0, 0], [10, 200000], [20, 500000], [30, 1000000])"), num("200000"));
    assert_eq!(Formula::compile_as("investment > 1", &schema, ExprType::Number).unwrap_err().code, codes::TYPE);
}

#[test]
fn missing_values_are_explicit() {
    let empty = record(&[]);
    assert_eq!(eval("产值 / 面积", &empty), Value::Null);
    assert_eq!(eval("产值 + 1", &empty), Value::Null);
    assert_eq!(eval("产值 > 1", &empty), Value::Bool(false));
    assert_eq!(eval("产值 <= 1", &empty), Value::Bool(false));
    assert_eq!(eval("产值 = 产值", &empty), Value::Bool(false));
    assert_eq!(eval("not 产值 > 1", &empty), Value::Bool(true));
    assert_eq!(eval("mode in [\"a\"]", &empty), Value::Bool(false));
    assert_eq!(eval("mode not in [\"a\"]", &empty), Value::Bool(false));
    assert_eq!(eval("is_key or 1 = 1", &empty), Value::Bool(true));
    assert_eq!(eval("if(is_key, 1, 2)", &empty), num("2"));
    assert_eq!(eval("min(产值, 1)", &empty), Value::Null);
    assert_eq!(eval("coalesce(产值, 0) + 1", &empty), num("1"));
    assert_eq!(eval("isnull(产值)", &empty), Value::Bool(true));
    assert_eq!(eval("concat(name, \"x\")", &empty), Value::Null);
}

#[test]
fn evaluation_errors_have_codes() {
    let f = Formula::compile("产值 / 面积", &schema()).unwrap();
    let e = f.eval(&record(&[("产值", num("1")), ("面积", num("0"))])).unwrap_err();
    assert_eq!(e.code, codes::DIVISION_BY_ZERO);
    let f = Formula::compile("产值 * 面积", &schema()).unwrap();
    let big = num("79228162514264337593543950335");
    let e = f.eval(&record(&[("产值", big.clone()), ("面积", big)])).unwrap_err();
    assert_eq!(e.code, codes::OVERFLOW);
    // A record that disagrees with the schema is reported, not panicked on.
    let e = f.eval(&record(&[("产值", Value::Text("x".into())), ("面积", num("1"))])).unwrap_err();
    assert_eq!(e.code, codes::TYPE);
}

#[test]
fn refusals_point_at_the_position() {
    let e = err("signed_on + name");
    assert_eq!(e.code, codes::TYPE);
    assert_eq!(e.position, Some(1));
    assert!(e.message.starts_with("第1个字符处："), "{}", e.message);

    let e = err("产值 + 面积 * 缺失字段");
    assert_eq!(e.code, codes::UNKNOWN_FIELD);
    assert_eq!(e.position, Some(11));
    assert!(e.message.contains("缺失字段"));

    let e = err("产值 + ");
    assert_eq!(e.code, codes::SYNTAX);
    assert!(e.message.contains("表达式结尾"), "{}", e.message);

    assert_eq!(err("foo(1)").code, codes::UNKNOWN_FUNCTION);
    assert_eq!(err("if(1 > 2, 1)").code, codes::ARITY);
    assert_eq!(err("round(产值, 产值)").code, codes::ARITY);
    assert_eq!(err("round(产值, 11)").code, codes::ARITY);
    assert_eq!(err("if(产值, 1, 2)").code, codes::TYPE);
    assert_eq!(err("if(is_key, 1, \"a\")").code, codes::TYPE);
    assert_eq!(err("name < \"b\"").code, codes::TYPE);
    assert_eq!(err("name in [1, 2]").code, codes::TYPE);
    assert_eq!(err("1 < 2 < 3").code, codes::SYNTAX);
    assert_eq!(err("date(\"2021-02-30\")").code, codes::BAD_LITERAL);
    assert_eq!(err("\"未结束").code, codes::SYNTAX);
    assert_eq!(err("").code, codes::SYNTAX);
    assert_eq!(err("1 # 2").code, codes::SYNTAX);
    assert_eq!(err("123456789012345678901234567890").code, codes::BAD_LITERAL);
    assert_eq!(err("concat(is_key)").code, codes::TYPE);
    assert_eq!(Formula::compile_as("产值 > 1", &schema(), ExprType::Number).unwrap_err().code, codes::TYPE);
}

#[test]
fn limits_are_enforced() {
    let long = "1 + ".repeat(MAX_SOURCE_CHARS / 4) + "1";
    assert_eq!(err(&long).code, codes::TOO_LONG);
    let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    assert_eq!(err(&deep).code, codes::TOO_DEEP);
    let negs = format!("{}1", "-".repeat(300));
    assert_eq!(err(&negs).code, codes::TOO_DEEP);
    // A flat chain is a deep tree: refused by height, not by stack overflow.
    let chain = "1+".repeat(400) + "1";
    assert_eq!(err(&chain).code, codes::TOO_DEEP);
    let list = format!("产值 in [{}]", vec!["1"; 201].join(","));
    assert_eq!(err(&list).code, codes::BAD_LITERAL);
}

#[test]
fn printing_is_canonical() {
    let cases = [
        ("(产值)/面积", "产值 / 面积"),
        ("1+2*3", "1 + 2 * 3"),
        ("(1+2)*3", "(1 + 2) * 3"),
        ("1-(2-3)", "1 - (2 - 3)"),
        ("-(1+2)", "-(1 + 2)"),
        ("not(a>1 and b<2)", "not (a > 1 and b < 2)"),
        ("a 且 b 或 c", "a and b or c"),
        ("a and (b or c)", "a and (b or c)"),
        ("x in ['a', \"b\"]", "x in [\"a\", \"b\"]"),
        ("TIERS(x,[-1,0],[10,if(y,1,2)])", "tiers(x, [-1, 0], [10, if(y, 1, 2)])"),
        ("`产值(万元)` + `and`", "`产值(万元)` + `and`"),
        ("\"a\\\"b\"", "\"a\\\"b\""),
        ("date('2021-12-31') = d", "date(\"2021-12-31\") = d"),
        ("(a = b) = c", "(a = b) = c"),
    ];
    for (src, printed) in cases {
        let ast = expr::parse(src).unwrap();
        assert_eq!(ast.to_string(), printed, "{src}");
        assert_eq!(expr::parse(printed).unwrap(), ast, "{src}");
    }
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

fn sp() -> Span {
    Span::default()
}

fn node(kind: ExprKind) -> Expr {
    Expr::new(kind, sp()).unwrap()
}

fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z_][a-z0-9_]{0,6}", "[产值面积镇街非或且]{1,4}", "[ a-z(万元)且]{1,6}",]
        .prop_filter("not empty", |s| !s.is_empty())
}

fn arb_decimal() -> impl Strategy<Value = Decimal> {
    (0i64..10_000_000, 0u32..6).prop_map(|(m, s)| Decimal::new(m, s))
}

fn arb_literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        arb_decimal().prop_map(Literal::Number),
        "[^`]{0,8}".prop_map(Literal::Text),
        any::<bool>().prop_map(Literal::Bool),
        (1900i32..2100, 1u32..13, 1u32..29)
            .prop_map(|(y, m, d)| Literal::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap())),
    ]
}

fn arb_list_literal() -> impl Strategy<Value = Literal> {
    prop_oneof![arb_literal(), arb_decimal().prop_map(|d| Literal::Number(-d))]
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![arb_literal().prop_map(ExprKind::Lit), arb_name().prop_map(ExprKind::Field)].prop_map(node);
    leaf.prop_recursive(6, 64, 4, |inner| {
        let bin_ops = prop_oneof![
            Just(BinOp::Add),
            Just(BinOp::Sub),
            Just(BinOp::Mul),
            Just(BinOp::Div),
            Just(BinOp::Eq),
            Just(BinOp::Ne),
            Just(BinOp::Lt),
            Just(BinOp::Le),
            Just(BinOp::Gt),
            Just(BinOp::Ge),
            Just(BinOp::And),
            Just(BinOp::Or),
        ];
        let funcs = prop_oneof![Just(Func::Min), Just(Func::Max), Just(Func::Coalesce), Just(Func::Concat),];
        prop_oneof![
            (bin_ops, inner.clone(), inner.clone()).prop_map(|(op, l, r)| node(ExprKind::Binary(
                op,
                Box::new(l),
                Box::new(r)
            ))),
            inner.clone().prop_map(|e| node(ExprKind::Unary(UnaryOp::Neg, Box::new(e)))),
            inner.clone().prop_map(|e| node(ExprKind::Unary(UnaryOp::Not, Box::new(e)))),
            (inner.clone(), prop::collection::vec(arb_list_literal(), 1..4), any::<bool>())
                .prop_map(|(s, list, negated)| node(ExprKind::In { subject: Box::new(s), list, negated })),
            (funcs, prop::collection::vec(inner.clone(), 2..4)).prop_map(|(f, args)| node(ExprKind::Call(f, args))),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| node(ExprKind::Call(Func::If, vec![c, a, b]))),
            inner.clone().prop_map(|e| node(ExprKind::Call(Func::Abs, vec![e]))),
            inner.clone().prop_map(|e| node(ExprKind::Call(Func::IsNull, vec![e]))),
            (inner.clone(), 0u32..=10).prop_map(|(e, n)| node(ExprKind::Round(Box::new(e), n))),
            (inner.clone(), prop::collection::btree_set(-1000i64..1000, 1..4), prop::collection::vec(inner, 3))
                .prop_map(|(x, ts, vs)| {
                    let tiers = ts.into_iter().map(Decimal::from).zip(vs).collect();
                    node(ExprKind::Tiers(Box::new(x), tiers))
                }),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
        let _ = expr::parse(&src);
        let _ = Formula::compile(&src, &schema());
    }

    #[test]
    fn arbitrary_formula_like_text_never_panics(
        src in "[a-z产值面积()\\[\\], +\\-*/<>=!0-9.\"'`且或非]{0,120}"
    ) {
        if let Ok(ast) = expr::parse(&src) {
            // Whatever parses prints to something that parses back to the same tree.
            let printed = ast.to_string();
            prop_assert_eq!(expr::parse(&printed).unwrap(), ast);
        }
        if let Ok(f) = Formula::compile(&src, &schema()) {
            let _ = f.eval(&record(&[("产值", num("3")), ("面积", num("0"))]));
            let _ = f.eval(&record(&[]));
        }
    }

    #[test]
    fn printing_then_parsing_round_trips(ast in arb_expr()) {
        let printed = ast.to_string();
        let reparsed = expr::parse(&printed);
        prop_assert!(reparsed.is_ok(), "{} -> {:?}", printed, reparsed);
        prop_assert_eq!(reparsed.unwrap(), ast);
    }

    #[test]
    fn sums_are_exact(a in arb_decimal(), b in arb_decimal()) {
        let rec = record(&[("产值", Value::Number(a)), ("面积", Value::Number(b))]);
        prop_assert_eq!(eval("产值 + 面积 - 面积", &rec), Value::Number(a));
    }
}
