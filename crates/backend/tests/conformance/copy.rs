//! `migrate-data` end to end: a SQLite platform with a history copied to
//! PostgreSQL (interrupted once and resumed), read back through the store,
//! and copied back to a new SQLite file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mashangban_backend::copy::{CopyOptions, copy_data};
use mashangban_backend::{Backend, BackendOptions, DatabaseUrl};
use mashangban_domain::org::{Actor, Scope};
use mashangban_domain::time::parse_instant;
use mashangban_store::{ListFilter, Meta, NewAttachment, OrgStore, RequestStore, TimeLimitStore, Upload};
use mashangban_store_postgres::testing::TempDatabase;

async fn open(url: &DatabaseUrl) -> Backend {
    mashangban_backend::open(url, BackendOptions::default()).await.unwrap()
}

/// Runs a copy on a blocking thread, as the CLI does.
async fn copy(
    from: &DatabaseUrl,
    to: &DatabaseUrl,
    options: CopyOptions,
) -> Result<mashangban_backend::copy::CopyReport, String> {
    let (from, to) = (from.clone(), to.clone());
    tokio::task::spawn_blocking(move || copy_data(&from, &to, &options, &mut |_| {})).await.unwrap()
}

/// Every request (newest first) with its history, as the API would show them.
async fn everything(store: &Backend) -> Vec<(mashangban_domain::request::Request, usize)> {
    let mut all = Vec::new();
    let mut filter = ListFilter { limit: 500, ..ListFilter::default() };
    loop {
        let page = store.list(&filter, &Scope::All).await.unwrap();
        for r in page.items {
            let events = store.history(r.id).await.unwrap().len();
            all.push((r, events));
        }
        match page.next_cursor {
            Some(c) => filter.before_id = Some(c),
            None => return all,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_moves_to_postgresql_and_back_with_everything_intact() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = DatabaseUrl::Sqlite(dir.path().join("city.db"));
    let source = open(&sqlite).await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_org_and_catalog(&source, &data).await.unwrap();
    mashangban_demo::load_users(&source, &data, "not-a-real-hash").await.unwrap();
    let end = parse_instant("2026-06-30T18:00:00+08:00").unwrap();
    let options = mashangban_demo::HistoryOptions { seed: 7, count: 300, end };
    mashangban_demo::generate_history(&source, &data, &options, |_, _| {}).await.unwrap();
    let mut rules = source.current_rules().await.unwrap().rules;
    rules.truncate(rules.len().max(1));
    source.publish_rules(rules, &Actor::System, end).await.unwrap();
    // Materials on the first request that still takes them.
    let mut attached = None;
    for (request, _) in everything(&source).await {
        let file = NewAttachment {
            file_name: "营业执照.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.4 test".to_vec(),
            sha256: "x".into(),
        };
        let meta = Meta { now: end, client_ip: None };
        let upload = Upload {
            tracking_no: request.tracking_no.clone(),
            scope: Scope::All,
            actor: Actor::PublicAsker,
            file,
            meta,
        };
        if let Ok(attachment) = source.add_attachment(upload).await {
            attached = Some((request, attachment));
            break;
        }
    }
    let (first, attachment) = attached.expect("an open request takes materials");
    let before = everything(&source).await;
    drop(source);

    // Interrupted after 1,000 rows, then resumed by running the same copy again.
    let pg = TempDatabase::create().await.unwrap();
    let postgres = DatabaseUrl::Postgres(pg.url().to_owned());
    drop(open(&postgres).await);
    let stopped = copy(&sqlite, &postgres, CopyOptions { batch: 300, stop_after: Some(1_000) }).await;
    let stopped = stopped.unwrap_err();
    assert!(stopped.contains("再次运行"), "the interruption says how to resume: {stopped}");
    let report = copy(&sqlite, &postgres, CopyOptions { batch: 300, stop_after: None }).await.unwrap();
    let total: u64 = report.tables.iter().map(|t| t.rows).sum();
    assert_eq!(report.rows_copied + 1_000, total, "the resumed run wrote only what was missing");
    let events = report.tables.iter().find(|t| t.table == "events").unwrap();
    assert!(events.rows > 1_000, "{events:?}");

    // The platform on PostgreSQL reads back the same requests, histories, users, rules and files.
    let target = open(&postgres).await;
    assert_eq!(everything(&target).await, before);
    assert_eq!(target.list_users().await.unwrap().len(), mashangban_demo::demo_users(&data).len());
    assert_eq!(target.rule_versions().await.unwrap().len(), 2);
    let (stored, bytes) = target.attachment_content(first.id, attachment.id).await.unwrap().unwrap();
    assert_eq!((stored.file_name.as_str(), bytes.as_slice()), ("营业执照.pdf", b"%PDF-1.4 test".as_slice()));
    // New ids continue after the copied ones.
    let next = target
        .intake(mashangban_demo_request(&first), &Actor::PublicAsker, &Meta { now: end, client_ip: None })
        .await
        .unwrap();
    assert!(next.id > before.iter().map(|(r, _)| r.id).max().unwrap());
    let after_intake = everything(&target).await.len();
    drop(target);

    // A target holding other data is refused; the way back to SQLite works and verifies.
    let other = DatabaseUrl::Sqlite(dir.path().join("other.db"));
    drop(open(&other).await);
    copy(&sqlite, &other, CopyOptions::default()).await.unwrap();
    let refused = copy(&postgres, &other, CopyOptions::default()).await.unwrap_err();
    assert!(refused.contains("已有数据"), "{refused}");
    let back = DatabaseUrl::Sqlite(dir.path().join("back.db"));
    drop(open(&back).await);
    copy(&postgres, &back, CopyOptions::default()).await.unwrap();
    assert_eq!(everything(&open(&back).await).await.len(), after_intake);
}

/// A new request like `r`, for checking the id sequence after the copy.
fn mashangban_demo_request(r: &mashangban_domain::request::Request) -> mashangban_domain::request::NewRequest {
    mashangban_domain::request::NewRequest {
        kind: r.kind,
        urgency: r.urgency,
        channel: r.channel,
        asker: r.asker.clone(),
        contact: r.contact.clone(),
        title: "复制后的新诉求".into(),
        content: r.content.clone(),
        category_id: r.category_id,
        location: r.location.clone(),
        ledger_ref: None,
        check_code: "ABCD2345".into(),
        submitted_by: None,
        due_at: None,
        deadlines: Default::default(),
        time_limits: None,
        card: None,
        visit: None,
        screening: None,
    }
}
