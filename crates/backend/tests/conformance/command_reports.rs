//! Command centres' periodic reports (定期报送) and pledges (军令状) on both
//! databases: forms as data, filings as append-only revisions numbered per
//! form, period and unit, chases with an automatic one recorded once only,
//! filters by period and unit, and pledges with their document kept byte for
//! byte.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use mashangban_domain::command;
use mashangban_domain::command_reports::{
    Cadence, PledgeChange, PledgeDef, ReportField, ReportFieldKind, ReportFormDef,
};
use mashangban_domain::org::{OrgTree, UnitKind};
use mashangban_store::{CommandAuthor, CommandReportStore, CommandStore, NewFiling, OrgStore};
use mashangban_store_sql::SqlStore;

use crate::org::unit;
use crate::support::{TestDb, at, execute, refusal};

on_both!(report_forms_filings_and_chases_are_kept, pledges_keep_their_document);

fn author(minutes: i64) -> CommandAuthor {
    CommandAuthor { user_id: Some(7), name: "测试（handler）".into(), at: at(minutes) }
}

async fn setup<D: TestDb>(s: &SqlStore<D>) -> OrgTree {
    s.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
    s.upsert_unit(unit("guzhen", UnitKind::Town, Some("city"))).await.unwrap();
    s.upsert_unit(unit("xiaolan", UnitKind::Town, Some("city"))).await.unwrap();
    s.install_command_centres(command::bundled(), author(0)).await.unwrap();
    OrgTree::new(s.list_units().await.unwrap())
}

fn field(key: &str, kind: ReportFieldKind) -> ReportField {
    ReportField {
        key: key.into(),
        label: key.into(),
        kind,
        unit: None,
        required: true,
        min: None,
        max: None,
        max_len: None,
    }
}

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

async fn report_forms_filings_and_chases_are_kept<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let org = setup(s).await;
    let (guzhen, xiaolan) = (org.by_code("guzhen").unwrap().id, org.by_code("xiaolan").unwrap().id);
    let mut km = field("km", ReportFieldKind::Decimal);
    km.unit = Some("公里".into());
    km.min = Some(0.0);
    let def = ReportFormDef::new(
        "管网周报",
        Cadence::Weekly,
        vec![field("count", ReportFieldKind::Integer), km],
        vec![guzhen, xiaolan],
        2,
    )
    .unwrap();
    assert_eq!(refusal(s.create_report_form("nosuch", def.clone(), author(1)).await), "command_centre_not_found");
    let form = s.create_report_form("water", def.clone(), author(1)).await.unwrap();
    assert_eq!(
        (form.name.as_str(), form.cadence, form.filers.clone(), form.due_working_days),
        ("管网周报", Cadence::Weekly, vec![guzhen, xiaolan], 2)
    );
    assert_eq!(form.fields, def.fields);
    assert_eq!(form.fields[1].unit.as_deref(), Some("公里"));
    let other = s.create_report_form("parks", def, author(2)).await.unwrap();
    assert_eq!(s.report_forms("water").await.unwrap(), vec![form.clone()]);
    assert_eq!(s.report_form(other.id).await.unwrap().map(|f| f.centre_code), Some("parks".to_owned()));
    assert!(s.report_form(9999).await.unwrap().is_none());

    // Filings: revisions per form, period and unit.
    let filing = |period: &str, unit, count: &str, late| NewFiling {
        form_id: form.id,
        period: period.into(),
        unit_id: unit,
        values: values(&[("count", count), ("km", "1.5")]),
        note: Some("说明".into()),
        late,
        form_version: form.version,
    };
    let first = s.file_report(filing("2026-W48", guzhen, "3", false), author(10)).await.unwrap();
    assert_eq!((first.revision, first.late, first.values["count"].as_str(), first.filed_at), (1, false, "3", at(10)));
    let second = s.file_report(filing("2026-W48", guzhen, "4", true), author(11)).await.unwrap();
    assert_eq!((second.revision, second.late), (2, true));
    let other_unit = s.file_report(filing("2026-W48", xiaolan, "1", true), author(12)).await.unwrap();
    assert_eq!(other_unit.revision, 1);
    let next_week = s.file_report(filing("2026-W49", guzhen, "5", false), author(13)).await.unwrap();
    assert_eq!(next_week.revision, 1);
    let mut bad = filing("2026-W48", guzhen, "1", false);
    bad.form_id = 9999;
    assert_eq!(refusal(s.file_report(bad, author(14)).await), "report_form_not_found");

    let ids = |f: Vec<mashangban_store::FilingRecord>| f.iter().map(|f| f.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.report_filings(form.id, None, None).await.unwrap()),
        [first.id, second.id, other_unit.id, next_week.id]
    );
    assert_eq!(ids(s.report_filings(form.id, Some("2026-W48"), Some(&[guzhen])).await.unwrap()), [first.id, second.id]);
    assert!(s.report_filings(form.id, None, Some(&[])).await.unwrap().is_empty());
    assert!(s.report_filings(other.id, None, None).await.unwrap().is_empty());

    // Chases: manual ones as often as the office likes, an automatic one once.
    let manual = s.chase_report(form.id, "2026-W47", xiaolan, "请报送", false, author(20)).await.unwrap().unwrap();
    assert!(!manual.automatic);
    assert!(s.chase_report(form.id, "2026-W47", xiaolan, "再催", false, author(21)).await.unwrap().is_some());
    let auto = s.chase_report(form.id, "2026-W47", xiaolan, "自动", true, author(22)).await.unwrap();
    assert!(auto.is_some_and(|c| c.automatic && c.by_user_id == Some(7)));
    assert!(s.chase_report(form.id, "2026-W47", xiaolan, "自动", true, author(23)).await.unwrap().is_none(), "once");
    assert!(s.chase_report(form.id, "2026-W47", guzhen, "自动", true, author(23)).await.unwrap().is_some());
    assert_eq!(
        refusal(s.chase_report(9999, "2026-W47", guzhen, "x", false, author(24)).await),
        "report_form_not_found"
    );
    let chases = s.report_chases(form.id, Some("2026-W47"), Some(&[xiaolan])).await.unwrap();
    let notes: Vec<&str> = chases.iter().map(|c| c.note.as_str()).collect();
    assert_eq!(notes, ["请报送", "再催", "自动"]);
    assert_eq!(s.report_chases(form.id, None, None).await.unwrap().len(), 4);
    assert!(s.report_chases(form.id, Some("2026-W48"), None).await.unwrap().is_empty());

    // Edits: at the version read, refused when the filed reports use what would go, recorded.
    let fields_without_km = vec![field("count", ReportFieldKind::Integer)];
    let shrunk = ReportFormDef::new("管网周报", Cadence::Weekly, fields_without_km, vec![guzhen, xiaolan], 2).unwrap();
    assert_eq!(refusal(s.update_report_form(form.id, 1, shrunk, "x".into(), author(30)).await), "report_form_in_use");
    let renamed =
        ReportFormDef::new("管网建设周报", Cadence::Weekly, form.fields.clone(), vec![guzhen, xiaolan], 3).unwrap();
    assert_eq!(
        refusal(s.update_report_form(form.id, 2, renamed.clone(), "x".into(), author(30)).await),
        "report_form_changed"
    );
    let saved = s.update_report_form(form.id, 1, renamed, "名称改动".into(), author(31)).await.unwrap();
    assert_eq!((saved.version, saved.name.as_str(), saved.due_working_days), (2, "管网建设周报", 3));
    assert_eq!(
        refusal(s.file_report(filing("2026-W49", xiaolan, "1", false), author(32)).await),
        "report_form_changed"
    );
    // Withdrawn: kept, marked, no more filings or chases.
    let gone = s.withdraw_report_form(form.id, 2, "停用".into(), author(33)).await.unwrap();
    let w = gone.withdrawn.clone().unwrap();
    assert_eq!((gone.version, w.reason.as_str(), w.at, w.by.as_str()), (3, "停用", at(33), "测试（handler）"));
    assert_eq!(s.report_form(form.id).await.unwrap(), Some(gone.clone()));
    assert_eq!(refusal(s.withdraw_report_form(form.id, 3, "x".into(), author(34)).await), "report_form_withdrawn");
    assert_eq!(
        refusal(s.chase_report(form.id, "2026-W47", guzhen, "x", false, author(34)).await),
        "report_form_withdrawn"
    );
    let mut late = filing("2026-W49", xiaolan, "1", false);
    late.form_version = 3;
    assert_eq!(refusal(s.file_report(late, author(34)).await), "report_form_withdrawn");
    let events = s.report_events("water").await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| (e.action, e.form_id, e.pledge_id)).collect();
    assert_eq!(
        kinds,
        [
            (command::CommandAction::ReportFormDefined, Some(form.id), None),
            (command::CommandAction::ReportFormChanged, Some(form.id), None),
            (command::CommandAction::ReportFormWithdrawn, Some(form.id), None),
        ]
    );
    assert_eq!(events[1].note.as_deref(), Some("「管网建设周报」第2版：名称改动"));
    assert_eq!(events[2].note.as_deref(), Some("「管网建设周报」撤回，理由：停用"));
    assert_eq!(s.report_events("parks").await.unwrap().len(), 1, "the parks form's definition");

    // Append-only.
    assert!(execute(s, "UPDATE command_events SET note = 'x'", vec![]).await.is_err());
    assert!(execute(s, "DELETE FROM command_events", vec![]).await.is_err());
    assert!(execute(s, "UPDATE command_report_filings SET note = 'x'", vec![]).await.is_err());
    assert!(execute(s, "DELETE FROM command_report_filings", vec![]).await.is_err());
    assert!(execute(s, "DELETE FROM command_report_chases", vec![]).await.is_err());
}

async fn pledges_keep_their_document<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let org = setup(s).await;
    let guzhen = org.by_code("guzhen").unwrap().id;
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend((0..=255u8).cycle().take(5000));
    let signed = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let def = PledgeDef::new(guzhen, vec![3, 1], signed, "古镇镇镇长", "军令状.pdf", pdf.clone()).unwrap();
    assert_eq!(refusal(s.create_pledge("nosuch", def.clone(), author(1)).await), "command_centre_not_found");
    let p = s.create_pledge("water", def.clone(), author(1)).await.unwrap();
    assert_eq!(
        (p.unit_id, p.target_ids.clone(), p.signed_on, p.signatory.as_str(), p.document_type.as_str()),
        (guzhen, vec![3, 1], signed, "古镇镇镇长", "application/pdf")
    );
    assert_eq!((p.document_size, p.document_sha256.clone()), (i64::try_from(pdf.len()).unwrap(), def.document_sha256));
    assert_eq!(s.pledges("water").await.unwrap(), vec![p.clone()]);
    assert!(s.pledges("parks").await.unwrap().is_empty());
    assert_eq!(s.pledge(p.id).await.unwrap(), Some(p.clone()));
    assert_eq!(s.pledge_document(p.id).await.unwrap(), Some(pdf));
    assert!(s.pledge(999).await.unwrap().is_none());
    assert!(s.pledge_document(999).await.unwrap().is_none());

    // Changed at the version read, withdrawn (作废) once; each recorded.
    let change = PledgeChange::new(vec![1], signed, "古镇镇党委书记").unwrap();
    assert_eq!(refusal(s.update_pledge(p.id, 2, change.clone(), "x".into(), author(2)).await), "pledge_changed");
    assert_eq!(refusal(s.update_pledge(999, 1, change.clone(), "x".into(), author(2)).await), "pledge_not_found");
    let changed = s.update_pledge(p.id, 1, change, "签署人改动".into(), author(2)).await.unwrap();
    assert_eq!(
        (changed.version, changed.target_ids.clone(), changed.signatory.as_str()),
        (2, vec![1], "古镇镇党委书记")
    );
    let gone = s.withdraw_pledge(p.id, 2, "重签".into(), author(3)).await.unwrap();
    assert_eq!((gone.version, gone.withdrawn.map(|w| w.reason)), (3, Some("重签".to_owned())));
    assert_eq!(refusal(s.withdraw_pledge(p.id, 3, "x".into(), author(4)).await), "pledge_withdrawn");
    let events = s.report_events("water").await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| (e.action, e.pledge_id)).collect();
    assert_eq!(
        kinds,
        [
            (command::CommandAction::PledgeRecorded, Some(p.id)),
            (command::CommandAction::PledgeChanged, Some(p.id)),
            (command::CommandAction::PledgeWithdrawn, Some(p.id)),
        ]
    );
    assert!(events[0].note.as_deref().unwrap().starts_with("单位guzhen的军令状"), "{:?}", events[0].note);
}
