//! `mashangban dispatch evaluate`: the duplicate figures say which thresholds and likeness weights
//! they were measured under, and other ones can be tried without saving them.

use crate::mashangban;

#[test]
fn evaluate_reports_the_weights_used_and_tries_others_without_saving_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out, err) = mashangban(&data, &["demo", "--demo-requests", "300", "--demo-outlets", "300"]);
    assert!(ok, "{out}{err}");
    // The history spans two years up to now: split it in the middle.
    let before = (chrono::Utc::now() - chrono::Duration::days(365)).format("%Y-%m-%d").to_string();
    let evaluate = |extra: &[&str]| {
        let mut args = vec!["dispatch", "evaluate", "--before", before.as_str()];
        args.extend_from_slice(extra);
        mashangban(&data, &args)
    };
    let (ok, out, err) = evaluate(&[]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(
            "疑似重复（现行设置：相似度 0.45、30 天内；加分 相同诉求人 0.25、相同地址 0.15、同类别同镇街 0.10）"
        ),
        "{out}"
    );
    assert!(out.contains("召回") && out.contains("精确率"), "{out}");

    let (ok, out, err) = evaluate(&["--same-asker", "0.5", "--same-category-and-town", "0", "--similarity", "0.6"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(
            "疑似重复（试用设置，未保存：相似度 0.60、30 天内；加分 相同诉求人 0.50、相同地址 0.15、同类别同镇街 0.00）"
        ),
        "{out}"
    );
    // Tried, not saved: the next run is under the settings in force again.
    let (ok, out, _) = evaluate(&[]);
    assert!(ok && out.contains("现行设置：相似度 0.45") && out.contains("相同诉求人 0.25"), "{out}");

    // Out of bounds: refused with the admin page's message, nothing measured.
    let (ok, out, err) = evaluate(&["--same-place", "0.8"]);
    assert!(!ok && err.contains("相同地址加分应在 0 到 0.5 之间") && !out.contains("派单建议评估"), "{out}{err}");
}
