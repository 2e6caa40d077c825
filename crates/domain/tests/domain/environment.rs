//! Water standards as data: the bundled tables, classification at every class
//! boundary of GB 3838-2002, discharge checks at every grade boundary of
//! GB 8978-1996, overrides, and the data file's validation.
#![allow(clippy::unwrap_used, clippy::panic)]

use mashangban_domain::environment::{
    BUNDLED_STANDARDS, GB_3838_2002, GB_8978_1996, Grade, Limit, LimitOverride, LimitSource, Measurement, Standard,
    StandardKind, Unit, WaterBody, WaterClass, bundled_standards, check_discharge, classify_water, limit_for,
    parse_standards_toml,
};
use proptest::prelude::*;

fn standard(code: &str) -> &'static Standard {
    bundled_standards().iter().find(|s| s.code == code).unwrap()
}

fn gb3838() -> &'static Standard {
    standard(GB_3838_2002)
}

fn gb8978() -> &'static Standard {
    standard(GB_8978_1996)
}

fn class_of(body: WaterBody, parameter: &str, value: f64) -> WaterClass {
    classify_water(gb3838(), body, &[Measurement::new(parameter, value)]).unwrap().class
}

#[test]
fn the_bundled_file_parses_into_both_standards() {
    let parsed = parse_standards_toml(BUNDLED_STANDARDS).unwrap();
    assert_eq!(parsed, bundled_standards());
    assert_eq!(gb3838().kind, StandardKind::Quality);
    assert_eq!(gb3838().parameters.len(), 24);
    assert_eq!(gb8978().kind, StandardKind::Discharge);
    assert_eq!(gb8978().grades, ["一级标准", "二级标准", "三级标准"]);
    assert_eq!(gb8978().parameters.len(), 20);
}

/// The values of the brief (and of GB 3838-2002 table 1), typed here a second
/// time so that a typo in the data file fails.
#[test]
fn gb3838_key_items_match_the_standard() {
    let max = |key: &str, body: WaterBody| -> Vec<f64> {
        let p = gb3838().parameter(key, Some(body)).unwrap();
        (1..=5)
            .map(|g| match p.limit(Grade(g)).unwrap() {
                Limit::AtMost(v) | Limit::AtLeast(v) => v,
                Limit::Between { .. } => f64::NAN,
            })
            .collect()
    };
    let river = WaterBody::River;
    assert_eq!(max("w01009", river), [7.5, 6.0, 5.0, 3.0, 2.0]);
    assert_eq!(max("w01019", river), [2.0, 4.0, 6.0, 10.0, 15.0]);
    assert_eq!(max("w01018", river), [15.0, 15.0, 20.0, 30.0, 40.0]);
    assert_eq!(max("w01017", river), [3.0, 3.0, 4.0, 6.0, 10.0]);
    assert_eq!(max("w21003", river), [0.15, 0.5, 1.0, 1.5, 2.0]);
    assert_eq!(max("w21011", river), [0.02, 0.1, 0.2, 0.3, 0.4]);
    assert_eq!(max("w21011", WaterBody::Lake), [0.01, 0.025, 0.05, 0.1, 0.2]);
    assert_eq!(max("w21001", WaterBody::Lake), [0.2, 0.5, 1.0, 1.5, 2.0]);
    assert_eq!(gb3838().parameter("w21001", Some(river)), None, "total nitrogen is assessed in lakes only");
    let ph = gb3838().parameter("ph", None).unwrap();
    assert!((1..=5).all(|g| ph.limit(Grade(g)) == Some(Limit::Between { low: 6.0, high: 9.0 })));
    assert!(matches!(gb3838().parameter("dissolved_oxygen", None).unwrap().limit(Grade(1)), Some(Limit::AtLeast(_))));
}

#[test]
fn gb8978_general_rows_match_table_4() {
    let limits = |key: &str| -> Vec<Option<Limit>> {
        let p = gb8978().parameter(key, None).unwrap();
        (1..=3).map(|g| p.limit(Grade(g))).collect()
    };
    let most = |v: [Option<f64>; 3]| v.map(|x| x.map(Limit::AtMost)).to_vec();
    assert_eq!(limits("ph"), [Some(Limit::Between { low: 6.0, high: 9.0 }); 3].to_vec());
    assert_eq!(limits("w01012"), most([Some(70.0), Some(150.0), Some(400.0)]));
    assert_eq!(limits("w01017"), most([Some(20.0), Some(30.0), Some(300.0)]));
    assert_eq!(limits("w01018"), most([Some(100.0), Some(150.0), Some(500.0)]));
    assert_eq!(limits("w22001"), most([Some(5.0), Some(10.0), Some(20.0)]));
    assert_eq!(limits("w22002"), most([Some(10.0), Some(15.0), Some(100.0)]));
    assert_eq!(limits("w23002"), most([Some(0.5), Some(0.5), Some(2.0)]));
    assert_eq!(limits("w21003"), most([Some(15.0), Some(25.0), None]));
    assert_eq!(limits("w21015"), most([Some(0.5), Some(1.0), None]));
    assert_eq!(gb8978().parameter("w21011", None), None, "GB 8978 limits phosphate, not total phosphorus");
}

/// The classes a value at, just below and just above each limit falls in,
/// worked out from the table's structure: at a limit, the first class with
/// that limit; past it (in the failing direction), the first class with a
/// looser limit, or 劣Ⅴ.
#[test]
fn classification_at_every_class_boundary_of_every_parameter() {
    let mut checked = 0;
    for body in [WaterBody::River, WaterBody::Lake] {
        for p in gb3838().parameters.iter().filter(|p| p.applies_to(body)) {
            let limits: Vec<Limit> = (1..=5).map(|g| p.limit(Grade(g)).unwrap()).collect();
            for (i, limit) in limits.iter().enumerate() {
                let first_same = limits.iter().position(|l| l == limit).unwrap();
                let first_looser = limits.iter().skip(i).position(|l| l != limit).map(|k| k + i);
                let class = |index: Option<usize>| {
                    index.map_or(WaterClass::WorseThanV, |k| WaterClass::from_grade(Grade(k as u8 + 1)))
                };
                let (at, inside, outside) = match *limit {
                    Limit::AtMost(x) => (vec![x], vec![x.next_down()], vec![x.next_up()]),
                    Limit::AtLeast(x) => (vec![x], vec![x.next_up()], vec![x.next_down()]),
                    Limit::Between { low, high } => {
                        (vec![low, high], vec![low.next_up(), high.next_down()], vec![low.next_down(), high.next_up()])
                    }
                };
                for v in at {
                    assert_eq!(class_of(body, &p.key, v), class(Some(first_same)), "{} at {v}", p.name);
                }
                for v in inside {
                    assert!(class_of(body, &p.key, v) <= class(Some(first_same)), "{} inside {v}", p.name);
                }
                for v in outside {
                    assert_eq!(class_of(body, &p.key, v), class(first_looser), "{} past {v}", p.name);
                }
                checked += 1;
            }
        }
    }
    // Rivers: 22 items (no lake-only phosphorus or nitrogen); lakes: 23 (no river phosphorus).
    assert_eq!(checked, 5 * (22 + 23));
}

/// GB 3838-2002 table 1, the six basic items the creek water quality is
/// assessed on (河流), typed from the standard's text — not read from the data
/// file — with the class a value at each limit and just past it (0.001 mg/L
/// in the failing direction) falls in. Dissolved oxygen is a lower bound
/// (≥), the others upper bounds (≤). Where two classes share a limit (COD and
/// BOD5 at Ⅰ and Ⅱ), the value at it is the better class and just past it
/// skips to Ⅲ; just past Ⅴ is 劣Ⅴ.
#[test]
fn gb3838_basic_items_at_each_class_boundary_against_the_standards_table() {
    use WaterClass::{I, II, III, IV, V, WorseThanV as Worse};
    // (key, lower bound?, limits Ⅰ–Ⅴ, class at each limit, class just past each limit)
    type Row = (&'static str, bool, [f64; 5], [WaterClass; 5], [WaterClass; 5]);
    let table: [Row; 6] = [
        ("dissolved_oxygen", true, [7.5, 6.0, 5.0, 3.0, 2.0], [I, II, III, IV, V], [II, III, IV, V, Worse]),
        ("permanganate_index", false, [2.0, 4.0, 6.0, 10.0, 15.0], [I, II, III, IV, V], [II, III, IV, V, Worse]),
        ("cod", false, [15.0, 15.0, 20.0, 30.0, 40.0], [I, I, III, IV, V], [III, III, IV, V, Worse]),
        ("bod5", false, [3.0, 3.0, 4.0, 6.0, 10.0], [I, I, III, IV, V], [III, III, IV, V, Worse]),
        ("ammonia_nitrogen", false, [0.15, 0.5, 1.0, 1.5, 2.0], [I, II, III, IV, V], [II, III, IV, V, Worse]),
        ("total_phosphorus", false, [0.02, 0.1, 0.2, 0.3, 0.4], [I, II, III, IV, V], [II, III, IV, V, Worse]),
    ];
    let mut checked = 0;
    for (key, lower, limits, at, past) in table {
        for i in 0..5 {
            let limit = limits[i];
            let beyond = if lower { limit - 0.001 } else { limit + 0.001 };
            assert_eq!(class_of(WaterBody::River, key, limit), at[i], "{key} at the class {} limit {limit}", i + 1);
            assert_eq!(class_of(WaterBody::River, key, beyond), past[i], "{key} just past the class {} limit", i + 1);
            // The HJ 212 code of the item classes the same.
            let code = gb3838().parameter(key, Some(WaterBody::River)).unwrap().hj212.clone().unwrap();
            assert_eq!(class_of(WaterBody::River, &code, limit), at[i], "{code} at {limit}");
            checked += 1;
        }
        // Far on the good side is class Ⅰ, far on the bad side 劣Ⅴ.
        let (best, worst) = if lower { (20.0, 0.0) } else { (0.0, 1000.0) };
        assert_eq!(class_of(WaterBody::River, key, best), I, "{key} at {best}");
        assert_eq!(class_of(WaterBody::River, key, worst), Worse, "{key} at {worst}");
    }
    assert_eq!(checked, 30);
    // A sample of all six: the worst item decides, and every item at that class is named.
    let sample = [
        Measurement::new("dissolved_oxygen", 6.5),
        Measurement::new("permanganate_index", 5.0),
        Measurement::new("cod", 19.0),
        Measurement::new("bod5", 3.5),
        Measurement::new("ammonia_nitrogen", 2.0),
        Measurement::new("total_phosphorus", 0.41),
    ];
    let a = classify_water(gb3838(), WaterBody::River, &sample).unwrap();
    assert_eq!(a.class, Worse);
    assert_eq!(a.decided_by.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(), ["total_phosphorus"]);
    assert_eq!(a.items.iter().map(|i| i.class).collect::<Vec<_>>(), [II, III, III, III, V, Worse]);
}

#[test]
fn classification_examples_written_by_hand() {
    let r = WaterBody::River;
    for (key, value, class) in [
        ("cod", 15.0, WaterClass::I),
        ("cod", 15.01, WaterClass::III),
        ("cod", 20.0, WaterClass::III),
        ("cod", 40.0, WaterClass::V),
        ("cod", 40.5, WaterClass::WorseThanV),
        ("dissolved_oxygen", 7.5, WaterClass::I),
        ("dissolved_oxygen", 7.4, WaterClass::II),
        ("dissolved_oxygen", 2.0, WaterClass::V),
        ("dissolved_oxygen", 1.9, WaterClass::WorseThanV),
        ("ammonia_nitrogen", 0.15, WaterClass::I),
        ("ammonia_nitrogen", 0.16, WaterClass::II),
        ("ammonia_nitrogen", 2.01, WaterClass::WorseThanV),
        ("ph", 6.0, WaterClass::I),
        ("ph", 9.0, WaterClass::I),
        ("ph", 5.9, WaterClass::WorseThanV),
        ("ph", 9.1, WaterClass::WorseThanV),
        ("fecal_coliform", 10000.0, WaterClass::III),
    ] {
        assert_eq!(class_of(r, key, value), class, "{key} {value}");
    }
    assert_eq!(class_of(WaterBody::River, "w21011", 0.05), WaterClass::II);
    assert_eq!(class_of(WaterBody::Lake, "w21011", 0.05), WaterClass::III);
}

#[test]
fn the_worst_item_decides_and_ties_are_all_listed() {
    let sample = [
        Measurement::new("w01009", 8.0),
        Measurement::new("w01018", 18.0),
        Measurement::new("w21003", 1.2),
        Measurement::new("w00000", 120.0),
        Measurement::new("w21001", 3.0),
    ];
    let a = classify_water(gb3838(), WaterBody::River, &sample).unwrap();
    assert_eq!(a.class, WaterClass::IV);
    assert_eq!(a.decided_by.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(), ["ammonia_nitrogen"]);
    assert_eq!(a.decided_by[0].limit, Some(Limit::AtMost(1.5)));
    assert_eq!(a.items.len(), 3);
    assert_eq!(a.unassessed, ["w00000", "w21001"], "flow is no item; total nitrogen counts in lakes only");

    let tie = [Measurement::new("cod", 25.0), Measurement::new("bod5", 5.0), Measurement::new("ph", 7.0)];
    let a = classify_water(gb3838(), WaterBody::River, &tie).unwrap();
    assert_eq!(a.class, WaterClass::IV);
    assert_eq!(a.decided_by.len(), 2);

    let worse = [Measurement::new("cod", 25.0), Measurement::new("ammonia_nitrogen", 2.6)];
    let a = classify_water(gb3838(), WaterBody::Lake, &worse).unwrap();
    assert_eq!((a.class, a.class.label()), (WaterClass::WorseThanV, "劣Ⅴ类"));
    assert_eq!(a.decided_by[0].limit, Some(Limit::AtMost(2.0)), "劣Ⅴ reports the class Ⅴ limit it failed");
}

#[test]
fn classification_refusals() {
    let err = |r: Result<_, mashangban_domain::DomainError>| r.unwrap_err().code;
    assert_eq!(err(classify_water(gb3838(), WaterBody::River, &[])), "nothing_assessed");
    assert_eq!(err(classify_water(gb3838(), WaterBody::River, &[Measurement::new("x", 1.0)])), "nothing_assessed");
    assert_eq!(err(classify_water(gb3838(), WaterBody::River, &[Measurement::new("cod", f64::NAN)])), "invalid_value");
    assert_eq!(err(classify_water(gb8978(), WaterBody::River, &[Measurement::new("cod", 1.0)])), "wrong_standard_kind");
}

#[test]
fn hj212_units_are_converted() {
    // HJ 212 transmits mercury in μg/L; GB 3838 limits it in mg/L.
    let m = Measurement::from_hj212(gb3838(), "w20111", 0.08);
    assert!((m.value - 0.00008).abs() < 1e-15);
    assert_eq!(class_of(WaterBody::River, "w20111", m.value), WaterClass::III);
    assert_eq!(Measurement::from_hj212(gb3838(), "w01018", 12.0).value, 12.0);
    assert_eq!(Unit::MicrogramPerLitre.convert(1000.0, Unit::MilligramPerLitre), Some(1.0));
    assert_eq!(Unit::Dimensionless.convert(7.0, Unit::MilligramPerLitre), None);
}

#[test]
fn discharge_checks_at_every_grade_boundary_of_every_parameter() {
    let mut checked = 0;
    for p in &gb8978().parameters {
        for g in 1..=3u8 {
            let grade = Grade(g);
            let check = |v: f64| check_discharge(gb8978(), grade, &Measurement::new(p.key.clone(), v), &[]).unwrap();
            match p.limit(grade) {
                None => {
                    assert_eq!(check(1e9), None, "{} has no grade {g} limit", p.name);
                }
                Some(Limit::AtMost(x)) => {
                    assert_eq!(check(x), None, "{} at {x}", p.name);
                    assert_eq!(check(x.next_down()), None);
                    let e = check(x.next_up()).unwrap();
                    assert_eq!(
                        (e.value, e.limit, e.parameter.as_str()),
                        (x.next_up(), Limit::AtMost(x), p.key.as_str())
                    );
                    assert_eq!(
                        e.source,
                        LimitSource::Standard {
                            code: GB_8978_1996.to_owned(),
                            grade,
                            grade_name: gb8978().grades[usize::from(g) - 1].clone()
                        }
                    );
                    assert!(e.times_over.unwrap() > 0.0 && e.times_over.unwrap() < 1e-9);
                }
                Some(Limit::Between { low, high }) => {
                    for v in [low, high, low.next_up(), high.next_down()] {
                        assert_eq!(check(v), None, "{} {v}", p.name);
                    }
                    for v in [low.next_down(), high.next_up()] {
                        assert_eq!(check(v).unwrap().times_over, None, "{} {v}", p.name);
                    }
                }
                Some(Limit::AtLeast(_)) => panic!("GB 8978 has no lower bounds"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 60);
}

#[test]
fn exceedance_reports_times_over_and_reads_well() {
    let e = check_discharge(gb8978(), Grade(2), &Measurement::new("w01018", 300.0), &[]).unwrap().unwrap();
    assert_eq!(e.times_over, Some(1.0));
    assert_eq!(e.unit, Some(Unit::MilligramPerLitre));
    assert_eq!(e.describe(), "化学需氧量（COD）实测300 mg/L，超过GB 8978-1996二级标准限值≤150，超标1.00倍");
}

#[test]
fn permit_overrides_replace_or_add_limits() {
    let permit = "排污许可证 91350100M000100Y43001P";
    let overrides = [
        LimitOverride { parameter: "cod".to_owned(), limit: Limit::AtMost(60.0), source: permit.to_owned() },
        LimitOverride { parameter: "w21011".to_owned(), limit: Limit::AtMost(0.5), source: permit.to_owned() },
    ];
    // A reading by HJ 212 code meets the override given by key.
    let cod = check_discharge(gb8978(), Grade(2), &Measurement::new("w01018", 100.0), &overrides).unwrap().unwrap();
    assert_eq!(
        (cod.limit, cod.source.clone()),
        (Limit::AtMost(60.0), LimitSource::Override { source: permit.to_owned() })
    );
    assert_eq!(check_discharge(gb8978(), Grade(2), &Measurement::new("w01018", 60.0), &overrides).unwrap(), None);
    // Total phosphorus has no GB 8978 limit, only the permit's.
    assert_eq!(check_discharge(gb8978(), Grade(2), &Measurement::new("w21011", 0.6), &[]).unwrap(), None);
    let tp = check_discharge(gb8978(), Grade(2), &Measurement::new("w21011", 0.6), &overrides).unwrap().unwrap();
    assert_eq!((tp.name.as_str(), tp.unit), ("w21011", None));
    assert_eq!(limit_for(gb8978(), Grade(1), "ammonia_nitrogen", &overrides).unwrap().0, Limit::AtMost(15.0));
    assert_eq!(limit_for(gb8978(), Grade(3), "w21003", &overrides), None);
}

#[test]
fn discharge_refusals() {
    let m = Measurement::new("cod", 1.0);
    assert_eq!(check_discharge(gb8978(), Grade(4), &m, &[]).unwrap_err().code, "unknown_grade");
    assert_eq!(check_discharge(gb8978(), Grade(0), &m, &[]).unwrap_err().code, "unknown_grade");
    let nan = Measurement::new("cod", f64::INFINITY);
    assert_eq!(check_discharge(gb8978(), Grade(2), &nan, &[]).unwrap_err().code, "invalid_value");
    // A creek section can also be checked against its target class.
    let e = check_discharge(gb3838(), Grade(3), &Measurement::new("dissolved_oxygen", 4.0), &[]).unwrap().unwrap();
    assert_eq!((e.limit, e.times_over), (Limit::AtLeast(5.0), None));
}

const MINIMAL: &str = r#"
[[standard]]
code = "T 1"
name = "测试"
kind = "discharge"
grades = ["一级", "二级"]
source = "表1"
[[standard.parameter]]
key = "cod"
name = "化学需氧量"
hj212 = "w01018"
unit = "mg/L"
max = [100, 150]
"#;

#[test]
fn the_data_file_is_validated() {
    assert_eq!(parse_standards_toml(MINIMAL).unwrap()[0].parameters[0].limit(Grade(2)), Some(Limit::AtMost(150.0)));
    let cases = [
        ("max = [100, 150]", "max = [150, 100]"),
        ("max = [100, 150]", "max = [100]"),
        ("max = [100, 150]", "max = [-1, 150]"),
        ("max = [100, 150]", "max = [\"—\", 150]"),
        ("max = [100, 150]", "max = [100, \"无\"]"),
        ("max = [100, 150]", "max = [100, 150]\nmin = [1, 1]"),
        ("max = [100, 150]", "range = [[9, 6], [6, 9]]"),
        ("max = [100, 150]", "range = [[6, 9], [6, 8]]"),
        ("unit = \"mg/L\"", "unit = \"mg\""),
        ("hj212 = \"w01018\"", "hj212 = \"W1018\""),
        ("kind = \"discharge\"", "kind = \"quality\""),
        ("kind = \"discharge\"", "kind = \"other\""),
        ("source = \"表1\"", "source = \"表1\"\nextra = 1"),
        ("grades = [\"一级\", \"二级\"]", "grades = []"),
        ("code = \"T 1\"", "code = \"\""),
        ("max = [100, 150]", "max = [100, 150]\nwater_body = \"sea\""),
        ("key = \"cod\"", "key = \"cod\"\nbroken"),
    ];
    for (from, to) in cases {
        let text = MINIMAL.replacen(from, to, 1);
        let err = parse_standards_toml(&text).unwrap_err();
        assert_eq!(err.code, "invalid_standard", "{to}");
        assert!(!err.message.is_empty());
    }
    let twice =
        format!("{MINIMAL}[[standard.parameter]]\nkey = \"cod\"\nname = \"又一个\"\nunit = \"mg/L\"\nmax = [1, 2]\n");
    assert_eq!(parse_standards_toml(&twice).unwrap_err().code, "invalid_standard", "a key twice");
    assert_eq!(parse_standards_toml(&format!("{MINIMAL}{MINIMAL}")).unwrap_err().code, "invalid_standard");
    assert_eq!(parse_standards_toml("").unwrap_err().code, "invalid_standard");
    assert_eq!(parse_standards_toml(&" ".repeat(2 << 20)).unwrap_err().code, "invalid_standard");
}

proptest! {
    #[test]
    fn parsing_arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = parse_standards_toml(&text);
    }

    #[test]
    fn mutated_bundled_data_never_panics(at in 0usize..20_000, with in "\\PC{0,8}") {
        let mut text = BUNDLED_STANDARDS.to_owned();
        let at = (0..=at.min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.insert_str(at, &with);
        let _ = parse_standards_toml(&text);
    }

    #[test]
    fn a_higher_concentration_never_gets_a_better_class(key_at in 0usize..24, a in 0.0f64..50_000.0, b in 0.0f64..50_000.0) {
        let p = &gb3838().parameters[key_at];
        prop_assume!(matches!(p.limit(Grade(1)), Some(Limit::AtMost(_))));
        let body = p.water_body.unwrap_or(WaterBody::River);
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(class_of(body, &p.key, low) <= class_of(body, &p.key, high));
    }
}
