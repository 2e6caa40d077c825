#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use super::*;
use crate::DomainError;

fn close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

fn q3(year: i32) -> Period {
    Period::new(year, 9).unwrap()
}

fn demo() -> Dataset {
    parse_statistics_toml(BUNDLED_STATISTICS).unwrap()
}

fn indicator(code: &str, unit: &str, parent: Option<&str>) -> Indicator {
    Indicator {
        code: code.into(),
        name: format!("指标{code}"),
        unit: unit.into(),
        decimals: None,
        parent: parent.map(Into::into),
        sum_of_parts: false,
        cumulative: None,
        publish_value: true,
        show_share: false,
        source: None,
    }
}

fn row(n: usize, indicator: &str, period: &str, value: &str) -> StatRow {
    StatRow { row: n, indicator: indicator.into(), period: period.into(), value: value.into(), ..StatRow::default() }
}

/// A catalogue of a total with three parts, a cumulative amount and a rate.
fn small_dataset() -> Dataset {
    let mut total = indicator("total", "亿元", None);
    total.sum_of_parts = true;
    let catalog = Catalog::new(vec![
        total,
        indicator("a", "亿元", Some("total")),
        indicator("b", "亿元", Some("total")),
        indicator("c", "亿元", Some("total")),
        indicator("rate", "%", None),
    ])
    .unwrap();
    Dataset::new("全市", catalog).unwrap()
}

// ---------- arithmetic, by hand ----------

#[test]
fn growth_by_hand() {
    close(growth_percent(110.0, 100.0).unwrap(), 10.0);
    close(growth_percent(90.0, 100.0).unwrap(), -10.0);
    close(growth_percent(2527.54, 2266.85).unwrap(), (2527.54 / 2266.85 - 1.0) * 100.0);
    assert_eq!(growth_percent(1.0, 0.0), None);
    assert_eq!(growth_percent(1.0, -5.0), None);
    assert_eq!(growth_percent(f64::NAN, 1.0), None);
    assert_eq!(growth_percent(1.0, f64::INFINITY), None);
}

#[test]
fn real_growth_by_hand() {
    // Nominal 11.9 %, prices up 0.9 %: 1.119 / 1.009 = 1.109019 → 10.9019 %.
    close(real_growth_percent(111.9, 100.0, 100.9).unwrap(), (1.119 / 1.009 - 1.0) * 100.0);
    close(real_growth_percent(105.0, 100.0, 105.0).unwrap(), 0.0);
    close(real_growth_percent(110.0, 100.0, 100.0).unwrap(), 10.0);
    assert_eq!(real_growth_percent(110.0, 100.0, 0.0), None);
    assert_eq!(real_growth_percent(110.0, 100.0, -1.0), None);
}

#[test]
fn two_year_average_by_hand() {
    // 100 → 121 over two years is 10 % a year; 100 → 81 is −10 % a year.
    close(two_year_average_percent(121.0, 100.0).unwrap(), 10.0);
    close(two_year_average_percent(81.0, 100.0).unwrap(), -10.0);
    close(two_year_average_percent(100.0, 100.0).unwrap(), 0.0);
    // 100 → 144 → 144: +44 % then 0 %; the average is 20 % a year, not the arithmetic 22 %.
    close(two_year_average_percent(144.0, 100.0).unwrap(), 20.0);
    assert_eq!(two_year_average_percent(0.0, 100.0), None);
    assert_eq!(two_year_average_percent(-1.0, 100.0), None);
    assert_eq!(two_year_average_percent(1.0, 0.0), None);
}

#[test]
fn shares_and_tolerance_by_hand() {
    close(share_percent(21.2, 100.0).unwrap(), 21.2);
    close(share_percent(1.0, 4.0).unwrap(), 25.0);
    assert_eq!(share_percent(1.0, 0.0), None);
    // Three parts and the total, each off by up to 0.005: 4 × 0.005.
    close(add_up_tolerance(3, 2), 0.02);
    close(add_up_tolerance(2, 0), 1.5);
}

#[test]
fn chinese_number_formatting() {
    assert_eq!(format_amount(2527.54, 2), "2527.54");
    assert_eq!(format_amount(1014.2849, 2), "1014.28");
    assert_eq!(format_amount(44889.0, 0), "44889");
    assert_eq!(format_amount(59.4, 2), "59.40");
    assert_eq!(format_amount(-0.001, 2), "0.00");
    assert_eq!(format_percent(11.500_099), "11.5");
    assert_eq!(format_percent(-0.04), "0.0");
    assert_eq!(growth_phrase("同比", 11.5), "同比增长11.5%");
    assert_eq!(growth_phrase("同比", -3.24), "同比下降3.2%");
    assert_eq!(growth_phrase("两年平均", 0.04), "两年平均持平");
    assert_eq!(growth_phrase("两年平均", -0.04), "两年平均持平");
    assert_eq!(growth_phrase("扣除价格因素实际", 10.9027), "扣除价格因素实际增长10.9%");
}

// ---------- periods ----------

#[test]
fn periods_parse_in_every_form() {
    let q3 = Period { year: 2021, months: 9 };
    for text in
        ["2021-Q3", "2021Q3", "2021-M09", "2021-M9", "2021年前三季度", "2021年1-9月", "2021年1—9月", " 2021年1至9月 "]
    {
        assert_eq!(Period::parse(text).unwrap(), q3, "{text}");
    }
    assert_eq!(Period::parse("2021年一季度").unwrap().months, 3);
    assert_eq!(Period::parse("2021年第一季度").unwrap().months, 3);
    assert_eq!(Period::parse("2021年上半年").unwrap().months, 6);
    assert_eq!(Period::parse("2021年全年").unwrap().months, 12);
    assert_eq!(Period::parse("2021年1月").unwrap().months, 1);
    assert_eq!(Period::parse("2021年1-12月").unwrap().months, 12);
    for bad in [
        "2021-Q5",
        "2021-Q0",
        "2021-M13",
        "2021-M00",
        "2021年2-9月",
        "21-Q3",
        "",
        "2021年",
        "2021年1-13月",
        "1948-Q1",
        "2101-Q1",
        "２０２１-Q3",
    ] {
        let err = Period::parse(bad).unwrap_err();
        assert_eq!(err.code, "invalid_period", "{bad}");
    }
    assert_eq!(Period::parse(&"9".repeat(100)).unwrap_err().code, "invalid_period");
}

#[test]
fn period_labels() {
    let p = |m| Period::new(2021, m).unwrap();
    assert_eq!(
        [p(1), p(3), p(5), p(6), p(9), p(12)].map(Period::label),
        ["1月", "一季度", "1-5月", "上半年", "前三季度", "全年"].map(String::from)
    );
    assert_eq!(p(9).month_label(), "1-9月");
    assert_eq!(p(9).key(), "2021-Q3");
    assert_eq!(p(5).key(), "2021-M05");
    assert_eq!(p(9).to_string(), "2021年前三季度");
    assert_eq!(p(9).years_before(2), Period::new(2019, 9));
    assert_eq!(Period::new(2021, 0), None);
    assert!(p(3) < p(6) && p(12) < Period::new(2022, 1).unwrap());
}

// ---------- catalogue ----------

#[test]
fn catalogue_rules() {
    let check = |indicators: Vec<Indicator>| Catalog::new(indicators).unwrap_err();
    let err = check(vec![indicator("a", "亿元", None), indicator("a", "亿元", None)]);
    assert_eq!(err.code, "invalid_indicator_catalog");
    assert!(err.message.contains("重复"));
    let mut same_name = indicator("b", "亿元", None);
    same_name.name = "指标a".into();
    assert!(check(vec![indicator("a", "亿元", None), same_name]).message.contains("名称"));
    assert!(check(vec![indicator("a", "亿元", Some("x"))]).message.contains("不存在"));
    let mismatch = check(vec![indicator("t", "亿元", None), indicator("p", "万元", Some("t"))]);
    assert!(mismatch.message.contains("单位"), "{}", mismatch.message);
    let looped = check(vec![indicator("a", "亿元", Some("b")), indicator("b", "亿元", Some("a"))]);
    assert!(looped.message.contains("循环"), "{}", looped.message);
    assert!(check(vec![indicator("a", "亿元", Some("a"))]).message.contains("循环"));
    let mut lonely = indicator("t", "亿元", None);
    lonely.sum_of_parts = true;
    assert!(check(vec![lonely]).message.contains("没有任何下级指标"));
    assert_eq!(check(vec![indicator("GDP", "亿元", None)]).code, "invalid_indicator_catalog");
    let mut precise = indicator("a", "亿元", None);
    precise.decimals = Some(5);
    assert_eq!(check(vec![precise]).code, "invalid_indicator_catalog");
    assert_eq!(check(vec![indicator("a", " ", None)]).code, "invalid_indicator_catalog");
    assert_eq!(check(vec![]).code, "invalid_indicator_catalog");
}

#[test]
fn the_editor_names_each_broken_rule_by_its_own_code() {
    let held = vec![indicator("total", "亿元", None), indicator("part", "亿元", Some("total"))];
    let add = |i: Indicator| Catalog::edited(&held, IndicatorEdit::Add(i)).map(|c| c.indicators().len());
    let change = |i: Indicator| Catalog::edited(&held, IndicatorEdit::Change(i)).map(|c| c.indicators().len());
    let code = |r: Result<usize, DomainError>| r.unwrap_err().code;
    assert_eq!(add(indicator("other", "亿元", Some("total"))).unwrap(), 3);
    assert_eq!(code(add(indicator("GDP", "亿元", None))), "invalid_indicator_code");
    assert_eq!(code(add(indicator("a b", "亿元", None))), "invalid_indicator_code");
    assert_eq!(code(add(indicator("total", "亿元", None))), "duplicate_indicator");
    let mut same_name = indicator("b", "亿元", None);
    same_name.name = "指标part".into();
    assert_eq!(code(add(same_name)), "duplicate_indicator_name");
    let mut blank = indicator("b", "亿元", None);
    blank.name = "  ".into();
    assert_eq!(code(add(blank)), "invalid_indicator_name");
    let mut long = indicator("b", "亿元", None);
    long.name = "长".repeat(61);
    let refused = add(long).unwrap_err();
    assert_eq!((refused.code, refused.message.contains("60")), ("invalid_indicator_name", true));
    assert_eq!(code(add(indicator("b", "", None))), "invalid_indicator_unit");
    assert_eq!(code(add(indicator("b", "亿元", Some("nosuch")))), "unknown_parent_indicator");
    assert_eq!(code(add(indicator("b", "万元", Some("total")))), "parent_unit_mismatch");
    // The total made a part of its own part: a cycle, refused.
    assert_eq!(code(change(indicator("total", "亿元", Some("part")))), "indicator_cycle");
    assert_eq!(code(change(indicator("part", "亿元", Some("part")))), "indicator_cycle");
    let mut sum = indicator("part", "亿元", Some("total"));
    sum.sum_of_parts = true;
    assert_eq!(code(change(sum)), "total_without_parts");
    assert_eq!(code(change(indicator("nosuch", "亿元", None))), "statistics_indicator_not_found");
    let mut renamed = indicator("part", "亿元", Some("total"));
    renamed.name = "第一产业增加值".into();
    let edited = Catalog::edited(&held, IndicatorEdit::Change(renamed)).unwrap();
    assert_eq!(edited.find("第一产业增加值").map(|i| i.code.as_str()), Some("part"));
    assert_eq!(edited.indicators()[1].code, "part", "changed in place");
}

#[test]
fn catalogue_defaults_and_lookup() {
    let catalog = demo().catalog().clone();
    assert_eq!(catalog.get("gdp").unwrap().decimals(), 2);
    assert_eq!(catalog.get("disposable_income_per_capita").unwrap().decimals(), 0);
    assert_eq!(indicator("r", "%", None).decimals(), 1);
    assert!(catalog.get("gdp").unwrap().is_cumulative());
    assert!(!indicator("r", "%", None).is_cumulative());
    assert_eq!(catalog.find("第一产业增加值").unwrap().code, "gdp_primary");
    assert_eq!(catalog.find(" gdp ").unwrap().code, "gdp");
    let parts: Vec<&str> = catalog.parts_of("gdp").iter().map(|i| i.code.as_str()).collect();
    assert_eq!(parts, ["gdp_primary", "gdp_secondary", "gdp_tertiary"]);
}

// ---------- the report's figures ----------

#[test]
fn demo_reproduces_every_figure_of_the_report() {
    let data = demo();
    let p = q3(2021);
    let pct = |x: Option<f64>| format_percent(x.unwrap());
    let amount = |code: &str| format_amount(data.value(code, p).unwrap(), data.catalog().get(code).unwrap().decimals());

    assert_eq!(amount("gdp"), "2527.54");
    assert_eq!(pct(data.growth("gdp", p)), "11.5");

    assert_eq!(amount("gdp_primary"), "59.44");
    assert_eq!(pct(data.growth("gdp_primary", p)), "25.6");
    assert_eq!(pct(data.two_year_average("gdp_primary", p)), "14.1");

    assert_eq!(amount("gdp_secondary"), "1283.78");
    assert_eq!(pct(data.growth("gdp_secondary", p)), "14.7");
    assert_eq!(pct(data.two_year_average("gdp_secondary", p)), "5.7");

    assert_eq!(amount("industry_above_size"), "1014.28");
    assert_eq!(pct(data.growth("industry_above_size", p)), "15.9");
    assert_eq!(pct(data.two_year_average("industry_above_size", p)), "6.1");

    assert_eq!(pct(data.growth("fixed_asset_investment", p)), "19.4");
    assert_eq!(pct(data.two_year_average("fixed_asset_investment", p)), "21.9");

    assert_eq!(pct(data.share("industrial_investment", p)), "21.2");
    assert_eq!(pct(data.growth("industrial_investment", p)), "40.2");
    assert_eq!(pct(data.two_year_average("industrial_investment", p)), "49.4");

    assert_eq!(amount("disposable_income_per_capita"), "44889");
    assert_eq!(pct(data.growth("disposable_income_per_capita", p)), "11.9");
    assert_eq!(pct(data.real_growth("disposable_income_per_capita", p)), "10.9");
}

#[test]
fn demo_cards_read_like_the_report() {
    let data = demo();
    let sentences: Vec<String> = data.cards(q3(2021)).into_iter().map(|c| c.sentence).collect();
    assert_eq!(
        sentences,
        [
            "前三季度，全市地区生产总值为2527.54亿元，同比增长11.5%，两年平均增长5.1%。",
            "前三季度，全市第一产业增加值为59.44亿元，同比增长25.6%，两年平均增长14.1%。",
            "前三季度，全市第二产业增加值为1283.78亿元，同比增长14.7%，两年平均增长5.7%。",
            "前三季度，全市第三产业增加值为1184.32亿元，同比增长7.6%，两年平均增长4.0%。",
            "前三季度，全市规模以上工业增加值为1014.28亿元，同比增长15.9%，两年平均增长6.1%。",
            "前三季度，全市固定资产投资同比增长19.4%，两年平均增长21.9%。",
            "前三季度，全市工业投资同比增长40.2%，两年平均增长49.4%，占固定资产投资的比重为21.2%。",
            "前三季度，全市居民人均可支配收入为44889元，同比增长11.9%，扣除价格因素实际增长10.9%。",
        ]
    );
    let income = data.card("disposable_income_per_capita", q3(2021)).unwrap();
    assert_eq!((income.two_year_average, income.unit.as_str()), (None, "元"));
    // The earliest year has nothing to compare with.
    let first = data.card("gdp", q3(2019)).unwrap();
    assert_eq!(first.sentence, "前三季度，全市地区生产总值为2289.68亿元。");
    let second = data.card("gdp", q3(2020)).unwrap();
    assert_eq!(second.sentence, "前三季度，全市地区生产总值为2266.85亿元，同比下降1.0%。");
    assert!(data.card("gdp", Period::new(2021, 6).unwrap()).is_none());
}

#[test]
fn demo_parts_add_up_in_every_year() {
    let data = demo();
    let checks = data.add_up_checks();
    assert_eq!(checks.len(), 3);
    for check in &checks {
        assert_eq!(check.status, AddUpStatus::Consistent, "{check:?}");
        assert!(check.difference.abs() < 1e-9, "{check:?}");
    }
    for year in 2019..=2021 {
        let v = |code| data.value(code, q3(year)).unwrap();
        let tertiary = v("gdp") - v("gdp_primary") - v("gdp_secondary");
        assert!((v("gdp_tertiary") - tertiary).abs() < 1e-9, "{year}");
    }
    assert_eq!(data.periods().into_iter().collect::<Vec<_>>(), [q3(2019), q3(2020), q3(2021)]);
}

#[test]
fn add_up_check_by_hand() {
    let mut data = small_dataset();
    let rows = [
        row(1, "total", "2021-Q1", "100.00"),
        row(2, "a", "2021-Q1", "33.33"),
        row(3, "b", "2021-Q1", "33.33"),
        row(4, "c", "2021-Q1", "33.33"),
        row(5, "total", "2021-Q2", "200.00"),
        row(6, "a", "2021-Q2", "60.00"),
        row(7, "b", "2021-Q2", "69.90"),
        row(8, "c", "2021-Q2", "70.00"),
        row(9, "total", "2021-Q3", "300.00"),
        row(10, "a", "2021-Q3", "100.00"),
    ];
    data.import(&rows).unwrap();
    let checks = data.add_up_checks();
    // 99.99 against 100.00: off by 0.01, within 4 × 0.005.
    assert_eq!(checks[0].status, AddUpStatus::Consistent);
    assert!((checks[0].difference - 0.01).abs() < 1e-9);
    // 199.90 against 200.00: off by 0.10, flagged.
    assert_eq!(checks[1].status, AddUpStatus::Mismatch);
    assert!((checks[1].difference - 0.10).abs() < 1e-9);
    assert_eq!(checks[2].status, AddUpStatus::Incomplete);
    assert_eq!(checks[2].missing_parts, ["b", "c"]);
}

#[test]
fn shares_and_real_growth_from_data() {
    let mut data = small_dataset();
    data.import(&[row(1, "total", "2020-Q2", "80"), row(2, "total", "2021-Q2", "100"), row(3, "a", "2021-Q2", "25")])
        .unwrap();
    let p = Period::new(2021, 6).unwrap();
    close(data.share("a", p).unwrap(), 25.0);
    close(data.growth("total", p).unwrap(), 25.0);
    assert_eq!(data.share("total", p), None);
    assert_eq!(data.real_growth("total", p), None);
    let with_index = StatRow { price_index: "102".into(), ..row(4, "total", "2021-Q2", "100") };
    data.import(&[with_index]).unwrap();
    close(data.real_growth("total", p).unwrap(), (1.25 / 1.02 - 1.0) * 100.0);
    // A published real rate is used as given.
    let given = StatRow { price_index: "102".into(), real_growth: "-1.5".into(), ..row(5, "total", "2021-Q2", "100") };
    data.import(&[given]).unwrap();
    close(data.real_growth("total", p).unwrap(), -1.5);
    let card = data.card("total", p).unwrap();
    assert_eq!(card.sentence, "上半年，全市指标total为100.00亿元，同比增长25.0%，扣除价格因素实际下降1.5%。");
}

// ---------- rows ----------

#[test]
fn good_rows_are_all_kept() {
    let mut data = small_dataset();
    let rows = [
        row(2, "total", "2021年一季度", "1,234.5"),
        row(3, "指标a", "2021年1-6月", "+12"),
        StatRow { price_index: " 101.2 ".into(), ..row(4, "total", "2021-Q2", "2000") },
    ];
    assert_eq!(data.import(&rows), Ok(3));
    close(data.value("total", Period::new(2021, 3).unwrap()).unwrap(), 1234.5);
    close(data.value("a", Period::new(2021, 6).unwrap()).unwrap(), 12.0);
    assert_eq!(data.observation("total", Period::new(2021, 6).unwrap()).unwrap().price_index, Some(101.2));
}

#[test]
fn stored_values_load_back_checked() {
    let demo = demo();
    let stored: Vec<Observation> = demo.observations().cloned().collect();
    let mut loaded = Dataset::new(demo.area(), demo.catalog().clone()).unwrap();
    assert_eq!(loaded.load(&stored), Ok(stored.len()));
    assert_eq!(loaded, demo);

    // A value the checks refuse (a cumulative value falling) keeps the whole load out.
    let mut data = small_dataset();
    let falling = [
        Observation {
            indicator: "total".into(),
            period: Period::new(2021, 3).unwrap(),
            value: 50.0,
            price_index: None,
            real_growth: None,
        },
        Observation {
            indicator: "total".into(),
            period: Period::new(2021, 6).unwrap(),
            value: 40.0,
            price_index: None,
            real_growth: None,
        },
    ];
    let errors = data.load(&falling).unwrap_err();
    assert_eq!((errors[0].row, errors[0].code), (2, codes::PERIOD_OUT_OF_ORDER));
    assert_eq!(data.observations().count(), 0);
}

#[test]
fn bad_rows_are_reported_row_by_row_and_nothing_is_kept() {
    let mut data = small_dataset();
    data.import(&[row(1, "total", "2021-Q1", "100")]).unwrap();
    let before = data.clone();
    let rows = [
        row(2, "gdp_quaternary", "2021-Q2", "1"),
        row(3, "total", "2021-Q5", "1"),
        row(4, "a", "2021-Q2", "十二"),
        row(5, "a", "2021-Q3", "NaN"),
        row(6, "a", "2021-Q4", ""),
        row(7, "b", "2021-Q1", "1e5"),
        StatRow { price_index: "0".into(), ..row(8, "b", "2021-Q2", "5") },
        row(9, "c", "2021-Q1", "5"),
        row(10, "c", "2021年1-3月", "6"),
        row(11, "total", "2021年上半年", "90"),
        row(12, "nope", "bad", "x"),
        row(13, "rate", "2021-Q1", "5"),
        row(14, "rate", "2021-Q2", "3"),
    ];
    let errors = data.import(&rows).unwrap_err();
    assert_eq!(data, before, "a refused import kept something");
    let summary: Vec<(usize, &str, &str)> = errors.iter().map(|e| (e.row, e.column, e.code)).collect();
    assert_eq!(
        summary,
        [
            (2, "指标", "unknown_indicator"),
            (3, "时期", "invalid_period"),
            (4, "数值", "invalid_number"),
            (5, "数值", "invalid_number"),
            (6, "数值", "invalid_number"),
            (7, "数值", "invalid_number"),
            (8, "价格指数", "invalid_number"),
            (10, "时期", "duplicate_value"),
            (11, "时期", "period_out_of_order"),
            (12, "指标", "unknown_indicator"),
            (12, "时期", "invalid_period"),
            (12, "数值", "invalid_number"),
        ]
    );
    assert!(errors[7].reason.contains("第9行"), "{}", errors[7].reason);
    assert!(errors[8].reason.contains("小于1-3月的100"), "{}", errors[8].reason);
    assert_eq!(errors[2].value, "十二");
    assert_eq!(errors[4].reason, "不能为空");
}

#[test]
fn out_of_order_rows_are_pinned_on_the_new_row() {
    let mut data = small_dataset();
    data.import(&[row(1, "a", "2021-Q2", "50")]).unwrap();
    // The new shorter span is larger than the held longer one.
    let errors = data.check_rows(&[row(7, "a", "2021-Q1", "60")]).unwrap_err();
    assert_eq!((errors[0].row, errors[0].code), (7, "period_out_of_order"));
    // Replacing the held value with a consistent one is fine.
    assert!(data.check_rows(&[row(7, "a", "2021-Q1", "60"), row(8, "a", "2021-Q2", "70")]).is_ok());
    // A different year does not count.
    assert!(data.check_rows(&[row(7, "a", "2020-Q3", "10")]).is_ok());
}

#[test]
fn too_many_rows_are_refused_at_once() {
    let data = small_dataset();
    let rows = vec![StatRow::default(); MAX_ROWS + 1];
    let errors = data.check_rows(&rows).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, "too_many_rows");
    let many_bad: Vec<StatRow> = (0..MAX_ROW_ERRORS + 10).map(|i| row(i + 1, "x", "y", "z")).collect();
    assert_eq!(data.check_rows(&many_bad).unwrap_err().len(), MAX_ROW_ERRORS);
}

// ---------- the data file ----------

#[test]
fn data_file_errors() {
    let head = "area = \"全市\"\n[[indicator]]\ncode = \"gdp\"\nname = \"地区生产总值\"\nunit = \"亿元\"\n";
    let with = |series: &str| format!("{head}[[series]]\nindicator = \"gdp\"\nvalues = [{series}]\n");
    let err =
        parse_statistics_toml(&with("{ period = \"2021-Q3\", value = 1.0 }, { period = \"2021-Q3\", value = 2.0 }"))
            .unwrap_err();
    assert_eq!(err.code, "duplicate_value");
    assert!(err.message.contains("第2个数值"), "{}", err.message);
    let err = parse_statistics_toml(&with("{ period = \"2021-Q9\", value = 1.0 }")).unwrap_err();
    assert_eq!(err.code, "invalid_period");
    let err = parse_statistics_toml(&with("{ period = \"2021-Q3\", value = nan }")).unwrap_err();
    assert_eq!(err.code, "invalid_number");
    let err = parse_statistics_toml(&with("{ period = \"2021-Q3\", value = \"12\" }")).unwrap_err();
    assert_eq!(err.code, "invalid_statistics");
    let unknown = format!("{head}[[series]]\nindicator = \"gnp\"\nvalues = [{{ period = \"2021-Q3\", value = 1 }}]\n");
    assert_eq!(parse_statistics_toml(&unknown).unwrap_err().code, "unknown_indicator");
    let err = parse_statistics_toml("area = \"全市\"\n[[indicator]]\ncode = \"gdp\"\n").unwrap_err();
    assert_eq!(err.code, "invalid_statistics");
    let no_area = head.replace("area = \"全市\"", "area = \" \"");
    assert_eq!(parse_statistics_toml(&no_area).unwrap_err().code, "invalid_statistics");
    let huge = format!("# {}\n", "x".repeat(MAX_STATISTICS_BYTES));
    assert_eq!(parse_statistics_toml(&huge).unwrap_err().code, "invalid_statistics");
}

// ---------- properties ----------

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn two_year_average_is_the_geometric_mean(v0 in 1.0f64..1e6, v1 in 1.0f64..1e6, v2 in 1.0f64..1e6) {
            let g1 = growth_percent(v1, v0).unwrap() / 100.0;
            let g2 = growth_percent(v2, v1).unwrap() / 100.0;
            let a = two_year_average_percent(v2, v0).unwrap() / 100.0;
            let lhs = (1.0 + a) * (1.0 + a);
            let rhs = (1.0 + g1) * (1.0 + g2);
            prop_assert!((lhs - rhs).abs() <= 1e-9 * rhs.max(1.0), "{} vs {}", lhs, rhs);
        }

        #[test]
        fn period_keys_and_labels_round_trip(year in 1949i32..=2100, months in 1u8..=12) {
            let period = Period::new(year, months).unwrap();
            prop_assert_eq!(Period::parse(&period.key()).unwrap(), period);
            prop_assert_eq!(Period::parse(&period.to_string()).unwrap(), period);
            prop_assert_eq!(Period::parse(&format!("{year}年{}", period.month_label())).unwrap(), period);
        }

        #[test]
        fn period_parser_never_panics(text in "\\PC{0,40}") {
            let _ = Period::parse(&text);
        }

        #[test]
        fn row_checks_never_panic(
            cells in proptest::collection::vec(("\\PC{0,12}", "[0-9年月QM\\-一上半全前三季度]{0,10}", "[0-9.,+\\-eE]{0,12}|\\PC{0,8}", "[0-9.]{0,6}"), 0..20),
        ) {
            let mut data = small_dataset();
            let rows: Vec<StatRow> = cells.into_iter().enumerate().map(|(i, (indicator, period, value, price_index))| {
                StatRow { row: i + 1, indicator, period, value, price_index, real_growth: String::new() }
            }).collect();
            let before = data.clone();
            match data.import(&rows) {
                Ok(kept) => {
                    prop_assert_eq!(kept, rows.len());
                    prop_assert!(data.observations().all(|o| o.value.is_finite()));
                }
                Err(errors) => {
                    prop_assert_eq!(&data, &before);
                    prop_assert!(!errors.is_empty());
                    prop_assert!(errors.windows(2).all(|w| w[0].row <= w[1].row));
                }
            }
        }

        #[test]
        fn data_file_parser_never_panics(text in "\\PC{0,400}") {
            let _ = parse_statistics_toml(&text);
        }

        #[test]
        fn mangled_demo_file_never_panics(start in 0usize..6000, len in 0usize..40, insert in "\\PC{0,20}") {
            let mut text = BUNDLED_STATISTICS.to_string();
            let start = (0..=start.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let end = (start..=(start + len).min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(start);
            text.replace_range(start..end, &insert);
            if let Ok(data) = parse_statistics_toml(&text) {
                for period in data.periods() {
                    for card in data.cards(period) {
                        prop_assert!(card.sentence.ends_with('。'));
                    }
                }
            }
        }
    }
}
