//! Notifications (通知): notices written with events once enabled, addressed
//! by stored templates, webhooks and units' e-mail addresses; outbox claims
//! that never hand one row to two workers, leases, stale claims and retries.

use std::collections::HashSet;

use chrono::Duration;

use mashangban_domain::lifecycle::Action;
use mashangban_domain::notify::{NoticeChannel, Template, TemplateKey};
use mashangban_domain::org::{Actor, Role, Scope, UnitKind};
use mashangban_domain::request::{Asker, Channel, Contact, EventKind, Location, NewRequest, RequestKind, Urgency};
use mashangban_domain::validation::Phone;
use mashangban_store::{
    CatalogStore, Command, InboxStore, NewCategory, NewUser, NewWebhook, NotificationStore, OrgStore, OutboxItem,
    OutboxStatus, RequestStore, StoredTemplate,
};
use mashangban_store_sql::{SqlStore, Value};

use crate::org::unit;
use crate::support::{Env, TestDb, at, execute, meta, refusal, staff, t0, texts};

on_both!(
    notices_are_written_with_events_once_enabled,
    templates_are_stored_per_key_and_channel,
    every_save_and_removal_of_a_template_is_a_version_in_its_transaction,
    webhooks_are_created_listed_and_deleted,
    e_mail_addresses_are_set_and_cleared,
    two_nodes_claiming_notifications_never_get_the_same_row,
    expired_leases_are_reclaimed_and_stale_claims_change_nothing,
    the_outbox_lists_by_status_newest_first,
    outbox_keys_hash_the_recipient_under_the_personal_data_key,
);

/// A department under the city, a category it leads, and a handler in it.
struct Org {
    unit: i64,
    category: i64,
}

async fn org<D: TestDb>(env: &Env<D>) -> Org {
    env.store.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
    let unit = env.store.upsert_unit(unit("a", UnitKind::Department, Some("city"))).await.unwrap().id;
    let category = NewCategory {
        code: "x".into(),
        name: "分类".into(),
        parent_code: None,
        lead_unit_code: Some("a".into()),
        keywords: vec![],
    };
    let category = env.store.upsert_category(category).await.unwrap().id;
    let handler = NewUser {
        username: "handler_a".into(),
        display_name: "承办人".into(),
        role: Role::Handler,
        unit_id: Some(unit),
        credit_code: None,
        phone: None,
        password_hash: "x".into(),
    };
    env.store.create_user(handler, crate::support::tester()).await.unwrap();
    Org { unit, category }
}

fn new_request(org: &Org) -> NewRequest {
    NewRequest {
        kind: RequestKind::Complaint,
        urgency: Urgency::Normal,
        channel: Channel::Web,
        asker: Asker::Resident,
        contact: Contact { name: "陈嘉欣".into(), phone: Phone::parse("13800138000").unwrap(), email: None },
        title: "路灯不亮".into(),
        content: "内容".into(),
        category_id: org.category,
        location: Location { town_id: None, address: None, point: None },
        ledger_ref: None,
        check_code: "12345678".into(),
        submitted_by: None,
        due_at: Some(t0() + Duration::days(15)),
        deadlines: Default::default(),
        time_limits: None,
        card: None,
        visit: None,
        screening: None,
    }
}

fn dispatch(tracking_no: &str, org: &Org, minutes: i64) -> Command {
    Command {
        tracking_no: tracking_no.into(),
        scope: Scope::All,
        actor: staff(Role::Dispatcher, org.unit),
        action: Action::Dispatch { lead: org.unit, co: vec![], comment: None },
        attachment_ids: vec![],
        meta: meta(minutes),
        calendar: None,
        expected_version: None,
    }
}

fn hook(name: &str, events: &[&str]) -> NewWebhook {
    NewWebhook {
        name: name.into(),
        url: format!("https://{name}.example/hook"),
        secret: format!("secret-{name}"),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
    }
}

fn template(key: TemplateKey, channel: NoticeChannel, body: &str, minutes: i64) -> StoredTemplate {
    StoredTemplate {
        key,
        channel,
        template: Template { subject: None, body: body.into() },
        updated_at: at(minutes),
        updated_by: "管理员".into(),
    }
}

/// (channel, recipient, template key, body) of each row, oldest first.
fn summary(items: &[OutboxItem]) -> Vec<(NoticeChannel, String, Option<String>, String)> {
    let mut rows: Vec<&OutboxItem> = items.iter().collect();
    rows.sort_by_key(|i| i.id);
    rows.into_iter().map(|i| (i.channel, i.recipient.clone(), i.template_key.clone(), i.body.clone())).collect()
}

async fn notices_are_written_with_events_once_enabled<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let org = org(env).await;
    s.intake(new_request(&org), &Actor::PublicAsker, &meta(0)).await.unwrap();
    assert!(s.list_outbox(None, 100).await.unwrap().is_empty(), "nothing before enabling");

    s.enable_notifications("https://old.example.gov.cn").await.unwrap();
    s.enable_notifications("https://12345.example.gov.cn/").await.unwrap();
    let accepted =
        template(TemplateKey::AskerAccepted, NoticeChannel::Sms, "已受理{{tracking_no}}，查看{{progress_link}}", 0);
    s.put_notification_template(accepted).await.unwrap();
    s.set_user_email("handler_a", Some("a@example.gov.cn".into()), crate::support::tester()).await.unwrap();
    let every = s.create_webhook(hook("every", &[]), t0()).await.unwrap();
    let dispatched = s.create_webhook(hook("dispatched", &[EventKind::Dispatched.as_str()]), t0()).await.unwrap();

    let r = s.intake(new_request(&org), &Actor::PublicAsker, &meta(1)).await.unwrap();
    let link = format!("https://12345.example.gov.cn/track/{}?code=12345678", r.tracking_no);
    let rows = s.list_outbox(None, 100).await.unwrap();
    let (sms, webhook) = (NoticeChannel::Sms, NoticeChannel::Webhook);
    let first = summary(&rows);
    assert_eq!(first.len(), 2, "{first:?}");
    assert_eq!(
        first[0],
        (sms, "13800138000".into(), Some("asker.accepted".into()), format!("已受理{}，查看{link}", r.tracking_no))
    );
    assert_eq!((first[1].0, first[1].1.as_str(), first[1].2.as_ref()), (webhook, every.id.to_string().as_str(), None));
    assert!(rows.iter().all(|i| i.request_id == Some(r.id) && i.status == OutboxStatus::Pending && i.attempts == 0));
    assert!(rows.iter().all(|i| i.created_at == at(1) && i.next_attempt_at == at(1) && i.sent_at.is_none()));

    s.act(dispatch(&r.tracking_no, &org, 2)).await.unwrap();
    let rows = s.list_outbox(None, 100).await.unwrap();
    let new: Vec<_> = summary(&rows).into_iter().skip(2).map(|(c, to, key, _)| (c, to, key)).collect();
    let expected = [
        (sms, "13800138000".to_owned(), Some("asker.dispatched".to_owned())),
        (NoticeChannel::Email, "a@example.gov.cn".to_owned(), Some("unit.new_work".to_owned())),
        (webhook, every.id.to_string(), None),
        (webhook, dispatched.id.to_string(), None),
    ];
    assert_eq!(new, expected);
    let email = rows.iter().find(|i| i.channel == NoticeChannel::Email).unwrap();
    assert!(email.subject.as_deref().is_some_and(|s| !s.is_empty()), "e-mails have a subject");
}

async fn templates_are_stored_per_key_and_channel<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    assert!(s.notification_templates().await.unwrap().is_empty());
    let mut email = template(TemplateKey::UnitUrged, NoticeChannel::Email, "请尽快办理{{tracking_no}}", 0);
    email.template.subject = Some("催办：{{title}}".into());
    let saved = s.put_notification_template(email.clone()).await.unwrap();
    assert_eq!((saved.key, saved.template.clone()), (email.key, email.template.clone()));
    s.put_notification_template(template(TemplateKey::AskerAccepted, NoticeChannel::Sms, "旧", 1)).await.unwrap();
    s.put_notification_template(template(TemplateKey::AskerAccepted, NoticeChannel::Sms, "新", 2)).await.unwrap();
    s.put_notification_template(template(TemplateKey::AskerAccepted, NoticeChannel::Email, "邮件", 3)).await.unwrap();
    execute(
        s,
        "INSERT INTO notification_templates (key, channel, subject, body, updated_at, updated_by)
         VALUES ('retired.key', 'sms', NULL, 'x', $1, 'x')",
        vec![Value::from(t0())],
    )
    .await
    .unwrap();
    let stored = s.notification_templates().await.unwrap();
    let rows: Vec<(&str, NoticeChannel, &str, Option<&str>)> = stored
        .iter()
        .map(|t| (t.key.as_str(), t.channel, t.template.body.as_str(), t.template.subject.as_deref()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("asker.accepted", NoticeChannel::Email, "邮件", None),
            ("asker.accepted", NoticeChannel::Sms, "新", None),
            ("unit.urged", NoticeChannel::Email, "请尽快办理{{tracking_no}}", Some("催办：{{title}}")),
        ],
        "by key and channel; a key this version does not know is left out"
    );
    assert_eq!((stored[1].updated_at, stored[1].updated_by.as_str()), (at(2), "管理员"));
}

async fn every_save_and_removal_of_a_template_is_a_version_in_its_transaction<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let (key, sms) = (TemplateKey::AskerAccepted, NoticeChannel::Sms);
    let versions = || async move { s.notification_template_versions(key, sms, 100).await.unwrap() };
    assert!(versions().await.is_empty());
    assert!(!s.reset_notification_template(key, sms, at(0), "管理员").await.unwrap(), "nothing stored");
    assert!(versions().await.is_empty(), "removing nothing is no version");

    s.put_notification_template(template(key, sms, "第一版{{tracking_no}}", 1)).await.unwrap();
    let mut second = template(key, sms, "第二版{{tracking_no}}", 2);
    second.updated_by = "管理员 乙".into();
    s.put_notification_template(second).await.unwrap();
    // Another key and channel keeps its own history.
    let mut mail = template(key, NoticeChannel::Email, "邮件{{title}}", 3);
    mail.template.subject = Some("主题{{tracking_no}}".into());
    s.put_notification_template(mail).await.unwrap();
    assert!(s.reset_notification_template(key, sms, at(4), "管理员 丙").await.unwrap());

    let got = versions().await;
    let rows: Vec<(bool, String, _, String)> =
        got.iter().map(|v| (v.deleted, v.template.body.clone(), v.saved_at, v.saved_by.clone())).collect();
    assert_eq!(
        rows,
        vec![
            (true, String::new(), at(4), "管理员 丙".to_owned()),
            (false, "第二版{{tracking_no}}".to_owned(), at(2), "管理员 乙".to_owned()),
            (false, "第一版{{tracking_no}}".to_owned(), at(1), "管理员".to_owned()),
        ],
        "newest first"
    );
    assert!(got.iter().all(|v| v.key == key && v.channel == sms && v.template.subject.is_none()));
    assert!(got[0].id > got[1].id && got[1].id > got[2].id);
    assert_eq!(s.notification_template_versions(key, sms, 2).await.unwrap().len(), 2, "bounded");
    let mails = s.notification_template_versions(key, NoticeChannel::Email, 100).await.unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].template.subject.as_deref(), Some("主题{{tracking_no}}"));

    // One version by its id, only under its own key and channel.
    let first = s.notification_template_version(key, sms, got[2].id).await.unwrap().unwrap();
    assert_eq!((first.id, first.template.body.as_str(), first.deleted), (got[2].id, "第一版{{tracking_no}}", false));
    assert_eq!((first.key, first.channel, first.saved_at, first.saved_by.as_str()), (key, sms, at(1), "管理员"));
    assert!(s.notification_template_version(key, sms, got[0].id).await.unwrap().unwrap().deleted);
    let mail_id = mails[0].id;
    assert!(s.notification_template_version(key, sms, mail_id).await.unwrap().is_none(), "another channel's");
    let email = s.notification_template_version(key, NoticeChannel::Email, mail_id).await.unwrap().unwrap();
    assert_eq!(email.template.subject.as_deref(), Some("主题{{tracking_no}}"));
    assert!(s.notification_template_version(TemplateKey::UnitUrged, sms, got[2].id).await.unwrap().is_none());
    assert!(s.notification_template_version(key, sms, got[0].id + 1000).await.unwrap().is_none());

    // A save whose version cannot be written (a version without words) is not stored either: one transaction.
    s.put_notification_template(template(key, sms, "第三版{{tracking_no}}", 5)).await.unwrap();
    assert!(s.put_notification_template(template(key, sms, "", 6)).await.is_err());
    let stored = s.notification_templates().await.unwrap();
    let in_force = stored.iter().find(|t| t.key == key && t.channel == sms).unwrap();
    assert_eq!((in_force.template.body.as_str(), in_force.updated_at), ("第三版{{tracking_no}}", at(5)));
    assert_eq!(versions().await.len(), 4, "the failed save added no version");

    // The history is append-only.
    for sql in ["UPDATE notification_template_versions SET body = 'x'", "DELETE FROM notification_template_versions"] {
        assert!(execute(s, sql, Vec::new()).await.is_err(), "{sql}");
    }
    assert_eq!(versions().await.len(), 4);
}

async fn webhooks_are_created_listed_and_deleted<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let a = s.create_webhook(hook("a", &["dispatched", "closed"]), at(5)).await.unwrap();
    let b = s.create_webhook(hook("b", &[]), at(6)).await.unwrap();
    assert!(a.id < b.id);
    assert_eq!((a.name.as_str(), a.url.as_str(), a.secret.as_str()), ("a", "https://a.example/hook", "secret-a"));
    assert_eq!(
        (a.active, a.events.clone(), a.created_at),
        (true, vec!["dispatched".to_owned(), "closed".to_owned()], at(5))
    );
    let found = s.webhook(a.id).await.unwrap().unwrap();
    assert_eq!(
        (found.id, found.events, found.secret, found.created_at),
        (a.id, a.events.clone(), a.secret.clone(), a.created_at)
    );
    assert_eq!(s.webhooks().await.unwrap().iter().map(|w| w.id).collect::<Vec<_>>(), vec![a.id, b.id]);
    s.delete_webhook(a.id).await.unwrap();
    assert_eq!(refusal(s.delete_webhook(a.id).await), "webhook_not_found");
    assert!(s.webhook(a.id).await.unwrap().is_none());
    assert_eq!(s.webhooks().await.unwrap().iter().map(|w| w.id).collect::<Vec<_>>(), vec![b.id]);
}

async fn e_mail_addresses_are_set_and_cleared<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    org(env).await;
    let raw = || texts(s, "SELECT email FROM users WHERE username = 'handler_a'", vec![]);
    let user = s.find_user("handler_a").await.unwrap().unwrap().id;
    assert_eq!(raw().await, vec![None]);
    s.set_user_email("handler_a", Some("a@example.gov.cn".into()), crate::support::tester()).await.unwrap();
    // Stored encrypted (docs/personal-data.md), read back plain.
    assert!(raw().await[0].as_ref().is_some_and(|e| e.starts_with("v1:") && !e.contains("example")));
    assert_eq!(s.inbox_contacts(user).await.unwrap().1.as_deref(), Some("a@example.gov.cn"));
    s.set_user_email("handler_a", None, crate::support::tester()).await.unwrap();
    assert_eq!(raw().await, vec![None]);
    assert_eq!(
        refusal(s.set_user_email("nobody", Some("x@example.gov.cn".into()), crate::support::tester()).await),
        "user_not_found"
    );
}

/// Pending SMS rows due at t0, written by hand (the store writes them only with events).
async fn insert_outbox_rows<D: TestDb>(store: &SqlStore<D>, n: usize) {
    for i in 0..n {
        let sql = "INSERT INTO outbox (idempotency_key, channel, recipient, body, status, attempts, next_attempt_at,
                       created_at)
                   VALUES ($1, 'sms', '13800138000', '正文', 'pending', 0, $2, $2)";
        execute(store, sql, vec![Value::from(format!("k{i}")), Value::from(t0())]).await.unwrap();
    }
}

async fn two_nodes_claiming_notifications_never_get_the_same_row<D: TestDb>() {
    let env = &D::create().await;
    let other = env.other_node().await;
    insert_outbox_rows(&env.store, 120).await;
    let lease = at(5);
    let drain = |store: SqlStore<D>| async move {
        let mut ids = Vec::new();
        loop {
            let batch = store.claim_notifications(t0(), lease, 7).await.unwrap();
            if batch.is_empty() {
                return ids;
            }
            assert!(batch.len() <= 7);
            assert!(
                batch
                    .iter()
                    .all(|i| i.attempts == 1 && i.status == OutboxStatus::Sending && i.next_attempt_at == lease)
            );
            assert!(batch.windows(2).all(|w| w[0].id < w[1].id), "a batch comes in id order");
            ids.extend(batch.into_iter().map(|i| i.id));
        }
    };
    let (a, b, c) = tokio::join!(drain(env.store.clone()), drain(other.clone()), drain(other.clone()));
    let total = a.len() + b.len() + c.len();
    let unique: HashSet<i64> = a.iter().chain(&b).chain(&c).copied().collect();
    assert_eq!((total, unique.len()), (120, 120));
    assert!(env.store.list_outbox(Some(OutboxStatus::Pending), 1000).await.unwrap().is_empty());
}

async fn expired_leases_are_reclaimed_and_stale_claims_change_nothing<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    insert_outbox_rows(s, 1).await;
    assert!(s.claim_notifications(t0() - Duration::minutes(1), at(5), 10).await.unwrap().is_empty(), "not due yet");
    let first = s.claim_notifications(t0(), at(5), 10).await.unwrap();
    assert_eq!((first.len(), first[0].attempts), (1, 1));
    assert!(s.claim_notifications(at(1), at(6), 10).await.unwrap().is_empty(), "the lease holds");
    let again = s.claim_notifications(at(6), at(11), 10).await.unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 2), "an ended lease is claimed again");
    let id = again[0].id;
    // The first claim is stale: marking it sent, retried or failed changes nothing.
    s.notification_sent(id, 1, at(7)).await.unwrap();
    s.notification_retry(id, 1, at(30), "旧的失败").await.unwrap();
    s.notification_failed(id, 1, "旧的失败").await.unwrap();
    let listed = &s.list_outbox(None, 10).await.unwrap()[0];
    assert_eq!((listed.status, listed.attempts, listed.last_error.as_deref()), (OutboxStatus::Sending, 2, None));

    s.notification_retry(id, 2, at(20), "网关超时").await.unwrap();
    let listed = &s.list_outbox(None, 10).await.unwrap()[0];
    assert_eq!(
        (listed.status, listed.next_attempt_at, listed.last_error.as_deref()),
        (OutboxStatus::Pending, at(20), Some("网关超时"))
    );
    assert!(s.claim_notifications(at(19), at(25), 10).await.unwrap().is_empty(), "a retry waits its turn");
    let third = s.claim_notifications(at(20), at(25), 10).await.unwrap();
    assert_eq!(third[0].attempts, 3);
    s.notification_failed(id, 3, "网关拒绝").await.unwrap();
    assert_eq!(refusal(s.retry_notification(id + 1, at(30)).await), "notification_not_found");
    let retried = s.retry_notification(id, at(30)).await.unwrap();
    assert_eq!((retried.status, retried.attempts, retried.next_attempt_at), (OutboxStatus::Pending, 0, at(30)));
    assert_eq!(retried.last_error.as_deref(), Some("网关拒绝"), "the last error stays for the record");
    assert_eq!(refusal(s.retry_notification(id, at(31)).await), "notification_not_failed");

    let fourth = s.claim_notifications(at(30), at(35), 10).await.unwrap();
    s.notification_sent(id, fourth[0].attempts, at(31)).await.unwrap();
    let sent = &s.list_outbox(Some(OutboxStatus::Sent), 10).await.unwrap()[0];
    assert_eq!((sent.sent_at, sent.last_error.as_deref(), sent.attempts), (Some(at(31)), None, 1));
    assert!(s.claim_notifications(at(100), at(105), 10).await.unwrap().is_empty(), "a sent row is never claimed");
}

async fn the_outbox_lists_by_status_newest_first<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    insert_outbox_rows(s, 5).await;
    let claimed = s.claim_notifications(t0(), at(5), 2).await.unwrap();
    let all = s.list_outbox(None, 100).await.unwrap();
    let ids: Vec<i64> = all.iter().map(|i| i.id).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]) && ids.len() == 5, "newest first: {ids:?}");
    assert_eq!(claimed.iter().map(|i| i.id).collect::<Vec<_>>(), vec![ids[4], ids[3]], "the oldest due rows first");
    let sending: Vec<i64> =
        s.list_outbox(Some(OutboxStatus::Sending), 100).await.unwrap().iter().map(|i| i.id).collect();
    assert_eq!(sending, vec![ids[3], ids[4]]);
    assert_eq!(s.list_outbox(Some(OutboxStatus::Pending), 100).await.unwrap().len(), 3);
    assert!(s.list_outbox(Some(OutboxStatus::Failed), 100).await.unwrap().is_empty());
    assert_eq!(s.list_outbox(None, 2).await.unwrap().len(), 2);
    assert_eq!(s.list_outbox(None, 0).await.unwrap().len(), 1, "the limit is at least 1");
    let item = &all[0];
    assert_eq!((item.channel, item.template_key.as_ref(), item.subject.as_ref()), (NoticeChannel::Sms, None, None));
    assert_eq!((item.event_id, item.request_id, item.created_at), (None, None, t0()));
    assert_eq!(item.next_attempt_at, t0());
}

/// The idempotency key of an SMS to the asker ends in a keyed hash of the phone (HMAC-SM3 under the
/// personal-data key), never the unkeyed FNV a phone could be recovered from by trying every number;
/// another node with the same keys computes the same key; a row queued under the old form keeps its key.
async fn outbox_keys_hash_the_recipient_under_the_personal_data_key<D: TestDb>() {
    use mashangban_domain::notify::idempotency_key;
    use mashangban_domain::personal_data::{Keyring, PersonalDataKey};
    use mashangban_store_sql::StoreOptions;

    let env = &D::create().await;
    let keys = Keyring::new(PersonalDataKey::new("k1", [7; 16]).unwrap(), Vec::new()).unwrap();
    let node = |keys: Keyring| {
        SqlStore::new(
            env.store.database().clone(),
            StoreOptions { personal_data: Some(keys), ..StoreOptions::default() },
        )
    };
    let (a, b) = (node(keys.clone()), node(keys.clone()));
    let org = org(env).await;
    a.enable_notifications("https://12345.example.gov.cn/").await.unwrap();
    let legacy = format!("evt-1-sms-{}", mashangban_domain::notify::recipient_hash(None, "13800138000"));
    execute(
        &a,
        "INSERT INTO outbox (idempotency_key, channel, recipient, body, status, attempts, next_attempt_at, created_at)
         VALUES ($1, 'sms', '13800138000', '旧通知', 'pending', 0, $2, $2)",
        vec![Value::from(legacy.as_str()), Value::from(at(0))],
    )
    .await
    .unwrap();
    let first = a.intake(new_request(&org), &Actor::PublicAsker, &meta(1)).await.unwrap();
    let second = b.intake(new_request(&org), &Actor::PublicAsker, &meta(2)).await.unwrap();
    let rows = a.list_outbox(None, 100).await.unwrap();
    let sms: Vec<&OutboxItem> = rows.iter().filter(|i| i.channel == NoticeChannel::Sms).collect();
    assert_eq!(sms.len(), 3, "{sms:?}");
    for r in [&first, &second] {
        let row = sms.iter().find(|i| i.request_id == Some(r.id)).unwrap();
        let event = row.event_id.unwrap();
        assert_eq!(row.recipient, "13800138000");
        assert_eq!(row.idempotency_key, idempotency_key(Some(&keys), event, NoticeChannel::Sms, "13800138000"));
        assert_ne!(row.idempotency_key, idempotency_key(None, event, NoticeChannel::Sms, "13800138000"));
        let other = Keyring::new(PersonalDataKey::new("k1", [8; 16]).unwrap(), Vec::new()).unwrap();
        assert_ne!(row.idempotency_key, idempotency_key(Some(&other), event, NoticeChannel::Sms, "13800138000"));
    }
    let hash = |r: &mashangban_domain::request::Request| {
        let row = sms.iter().find(|i| i.request_id == Some(r.id)).unwrap();
        row.idempotency_key.rsplit('-').next().unwrap().to_owned()
    };
    assert_eq!(hash(&first), hash(&second), "the same phone, the same hash from either node");
    assert!(sms.iter().any(|i| i.idempotency_key == legacy), "the queued row keeps its key");
}
