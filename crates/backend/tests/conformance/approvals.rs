//! 拿地即开工 approvals: templates stored as versions, projects with their
//! append-only log, every action checked against the plan rebuilt from the
//! log (nothing written on a refusal), the change feed, and two nodes issuing
//! the same step at once: exactly one passes.

use chrono::Duration;

use mashangban_domain::approvals::{ApprovalAction, BUNDLED_APPROVAL_PLAN, ProjectInput};
use mashangban_store::{ApprovalRecorder, ApprovalStore, ChangeCursor, ChangeEntity, ChangeStore};

use crate::support::{Env, TestDb, at, refusal, t0};

on_both!(
    templates_are_versioned_and_projects_keep_their_log,
    concurrent_issues_of_one_step_pass_once,
    two_saves_on_one_template_version_store_one,
    a_saved_template_version_is_a_change_in_the_feed
);

fn desk() -> ApprovalRecorder {
    ApprovalRecorder { user_id: None, name: "招商窗口（dispatcher）".into() }
}

fn admin() -> ApprovalRecorder {
    ApprovalRecorder { user_id: None, name: "管理员（admin）".into() }
}

fn issue(step: &str, unit: &str, minutes: i64) -> ApprovalAction {
    ApprovalAction::IssueStep {
        step: step.into(),
        unit: unit.into(),
        at: at(minutes),
        document_no: format!("{step}-1"),
    }
}

async fn templates_are_versioned_and_projects_keep_their_log<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    assert_eq!(s.current_approval_template().await.unwrap(), None);
    let first = s.save_approval_template(BUNDLED_APPROVAL_PLAN.into(), None, t0(), desk()).await.unwrap();
    assert_eq!((first.code.as_str(), first.version, first.supersedes), ("zs-land-to-construction", 1, None));
    assert_eq!(first.created_by, "招商窗口（dispatcher）");
    let again = s.save_approval_template(BUNDLED_APPROVAL_PLAN.into(), Some(first.id), at(1), admin()).await.unwrap();
    assert_eq!(again, first, "the same text as the version in force stores nothing");
    let changed = BUNDLED_APPROVAL_PLAN.replace("planned_minutes = 6", "planned_minutes = 7");
    let second = s.save_approval_template(changed.clone(), Some(first.id), at(2), admin()).await.unwrap();
    assert_eq!((second.version, second.code.as_str()), (2, "zs-land-to-construction"));
    assert_eq!(
        (second.supersedes, second.created_by.as_str(), second.created_at),
        (Some(first.id), "管理员（admin）", at(2))
    );
    assert_eq!(s.current_approval_template().await.unwrap().as_ref(), Some(&second));
    // An edit made on a version no longer in force is refused, nothing stored.
    let late = BUNDLED_APPROVAL_PLAN.replace("planned_minutes = 6", "planned_minutes = 8");
    assert_eq!(
        refusal(s.save_approval_template(late, Some(first.id), at(3), admin()).await),
        "approval_template_changed"
    );
    assert_eq!(
        refusal(s.save_approval_template("code = \"x\"\nname = \"模板\"\n".into(), None, at(2), admin()).await),
        "empty_approval_template"
    );
    // Going back to the first text is a new version again (the one in force), not the old row.
    let back = s.save_approval_template(BUNDLED_APPROVAL_PLAN.into(), None, at(4), admin()).await.unwrap();
    assert_eq!((back.version, back.supersedes), (3, Some(second.id)));
    let versions = s.approval_templates(10).await.unwrap();
    assert_eq!(versions.iter().map(|t| t.id).collect::<Vec<_>>(), [back.id, second.id, first.id]);
    assert_eq!(s.approval_template(second.id).await.unwrap().unwrap().body, changed);

    let input = ProjectInput::new("翠亨新区项目", None, Some("INV-1"), None).unwrap();
    assert_eq!(
        refusal(s.create_approval_project(input.clone(), 999, t0(), desk()).await),
        "approval_template_not_found"
    );
    let project = s.create_approval_project(input, first.id, t0(), desk()).await.unwrap();
    assert_eq!((project.version, project.transaction_at, project.permit_at), (0, None, None));
    let id = project.id;

    // Refusals write nothing.
    let early = issue("deal_confirmation", "zwfw-ggzy", 1);
    assert_eq!(refusal(s.record_approval_action(id, early, None, at(1), desk()).await), "transaction_not_recorded");
    let (after, record) = s
        .record_approval_action(id, ApprovalAction::RecordTransaction { at: at(0) }, Some(0), at(0), desk())
        .await
        .unwrap();
    assert_eq!((after.version, after.transaction_at, record.seq), (1, Some(at(0)), 1));
    let contract = issue("transfer_contract", "zrzyj", 1);
    assert_eq!(refusal(s.record_approval_action(id, contract, None, at(1), desk()).await), "prerequisite_not_issued");
    let other = issue("deal_confirmation", "zrzyj", 1);
    assert_eq!(refusal(s.record_approval_action(id, other, None, at(1), desk()).await), "not_step_owner");
    let future = issue("deal_confirmation", "zwfw-ggzy", 3);
    assert_eq!(refusal(s.record_approval_action(id, future, None, at(1), desk()).await), "issued_in_future");
    let stale = issue("deal_confirmation", "zwfw-ggzy", 1);
    assert_eq!(refusal(s.record_approval_action(id, stale, Some(0), at(1), desk()).await), "approval_project_changed");
    let missing = issue("deal_confirmation", "zwfw-ggzy", 1);
    assert_eq!(
        refusal(s.record_approval_action(id + 100, missing, None, at(1), desk()).await),
        "approval_project_not_found"
    );
    assert_eq!(s.approval_project(id).await.unwrap().unwrap().version, 1);
    assert_eq!(s.approval_records(&[id]).await.unwrap().len(), 1);

    // Times are kept to the second, document numbers trimmed.
    let fraction = ApprovalAction::IssueStep {
        step: "deal_confirmation".into(),
        unit: "zwfw-ggzy".into(),
        at: at(1) + Duration::milliseconds(700),
        document_no: "  成交〔2026〕1号 ".into(),
    };
    let (_, kept) = s.record_approval_action(id, fraction, Some(1), at(2), desk()).await.unwrap();
    assert_eq!(
        kept.action,
        ApprovalAction::IssueStep {
            step: "deal_confirmation".into(),
            unit: "zwfw-ggzy".into(),
            at: at(1),
            document_no: "成交〔2026〕1号".into()
        }
    );
    s.record_approval_action(id, issue("transfer_contract", "zrzyj", 2), None, at(2), desk()).await.unwrap();
    let log = s.approval_records(&[id]).await.unwrap();
    assert_eq!(log.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(log[1], kept);
    assert_eq!(log[2].recorded_at, at(2));
    assert_eq!(log[2].recorded_by, "招商窗口（dispatcher）");
    assert_eq!(s.approval_projects(10).await.unwrap().iter().map(|p| p.id).collect::<Vec<_>>(), [id]);

    // Each write appended a change of the project.
    let changes = s.changes_after(ChangeCursor::default(), 100).await.unwrap();
    let ours: Vec<&str> = changes
        .iter()
        .filter(|c| c.entity == ChangeEntity::Approval && c.key == id.to_string())
        .map(|c| c.kind.as_str())
        .collect();
    assert_eq!(ours, ["created", "record_transaction", "issue_step", "issue_step"]);
}

async fn concurrent_issues_of_one_step_pass_once<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let (a, b) = (env.store(), env.other_node().await);
    let template = a.save_approval_template(BUNDLED_APPROVAL_PLAN.into(), None, t0(), desk()).await.unwrap();
    let input = ProjectInput::new("并发项目", None, None, None).unwrap();
    let id = a.create_approval_project(input, template.id, t0(), desk()).await.unwrap().id;
    a.record_approval_action(id, ApprovalAction::RecordTransaction { at: t0() }, None, t0(), desk()).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let action = ApprovalAction::IssueStep {
                step: "deal_confirmation".into(),
                unit: "zwfw-ggzy".into(),
                at: at(1),
                document_no: format!("成交〔2026〕{n}号"),
            };
            store.record_approval_action(id, action, None, at(1), desk()).await
        }));
    }
    let mut passed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => passed += 1,
            Err(e) => assert_eq!(refusal::<()>(Err(e)), "already_issued"),
        }
    }
    assert_eq!(passed, 1);
    let project = a.approval_project(id).await.unwrap().unwrap();
    assert_eq!(project.version, 2);
    assert_eq!(a.approval_records(&[id]).await.unwrap().len(), 2);
}

/// Two administrators on two nodes save different texts on the same version
/// in force: one is stored, the other refused; the chain of versions stays one.
async fn two_saves_on_one_template_version_store_one<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let (a, b) = (env.store(), env.other_node().await);
    let base = a.save_approval_template(BUNDLED_APPROVAL_PLAN.into(), None, t0(), desk()).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..6 {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        let text = BUNDLED_APPROVAL_PLAN.replace("planned_minutes = 6", &format!("planned_minutes = {}", 10 + n));
        tasks
            .push(tokio::spawn(async move { store.save_approval_template(text, Some(base.id), at(1), admin()).await }));
    }
    let mut stored = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(t) => stored.push(t),
            refused => assert_eq!(refusal(refused), "approval_template_changed"),
        }
    }
    assert_eq!(stored.len(), 1, "exactly one save on the same version in force passes");
    let current = b.current_approval_template().await.unwrap().unwrap();
    assert_eq!((current.id, current.version, current.supersedes), (stored[0].id, 2, Some(base.id)));
    assert_eq!(a.approval_templates(100).await.unwrap().len(), 2);
    // One change per stored version: the refused saves left none.
    assert_eq!(
        template_changes(&b).await,
        [(base.id.to_string(), "saved".to_owned()), (current.id.to_string(), "saved".to_owned())]
    );
}

/// The feed's template changes, oldest first: (key, kind).
async fn template_changes(s: &impl ChangeStore) -> Vec<(String, String)> {
    let changes = s.changes_after(ChangeCursor::default(), 1000).await.unwrap();
    changes.into_iter().filter(|c| c.entity == ChangeEntity::ApprovalTemplate).map(|c| (c.key, c.kind)).collect()
}

async fn a_saved_template_version_is_a_change_in_the_feed<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let first = s.save_approval_template(BUNDLED_APPROVAL_PLAN.into(), None, t0(), desk()).await.unwrap();
    let head = s.feed_head().await.unwrap();
    // Saving what is in force — the same text, or the same steps written without the comments — stores nothing.
    s.save_approval_template(BUNDLED_APPROVAL_PLAN.into(), Some(first.id), at(1), admin()).await.unwrap();
    let template = mashangban_domain::approvals::parse_template_toml(BUNDLED_APPROVAL_PLAN).unwrap();
    let rewritten = mashangban_domain::approvals::template_toml(&template).unwrap();
    assert_ne!(rewritten, BUNDLED_APPROVAL_PLAN);
    let same = s.save_approval_template(rewritten, Some(first.id), at(1), admin()).await.unwrap();
    assert_eq!(same, first, "the same steps written otherwise are no new version");
    assert!(s.changes_after(head, 100).await.unwrap().is_empty(), "nothing stored, nothing in the feed");

    let changed = BUNDLED_APPROVAL_PLAN.replace("planned_minutes = 6", "planned_minutes = 7");
    let second = s.save_approval_template(changed.clone(), Some(first.id), at(2), admin()).await.unwrap();
    let stale = BUNDLED_APPROVAL_PLAN.replace("planned_minutes = 6", "planned_minutes = 8");
    assert_eq!(
        refusal(s.save_approval_template(stale, Some(first.id), at(3), admin()).await),
        "approval_template_changed"
    );
    let after = s.changes_after(head, 100).await.unwrap();
    assert_eq!(after.len(), 1, "{after:?}");
    let change = &after[0];
    assert_eq!(
        (change.entity, change.key.as_str(), change.kind.as_str(), change.at),
        (ChangeEntity::ApprovalTemplate, second.id.to_string().as_str(), "saved", at(2))
    );
    // The change names the version: a consumer reads it by its key.
    let read = s.approval_template(change.key.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!((read.body, read.supersedes), (changed, Some(first.id)));
    assert_eq!(
        template_changes(&s).await,
        [(first.id.to_string(), "saved".to_owned()), (second.id.to_string(), "saved".to_owned())]
    );
}
