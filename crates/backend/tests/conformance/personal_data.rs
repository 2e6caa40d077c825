//! Personal data at rest on both databases: the raw columns hold SM4-GCM
//! ciphertexts and a keyed hash, a filter by phone still finds the request,
//! a tampered value is an error rather than wrong data, and rotation (with
//! plain rows from before encryption among them) keeps every request
//! readable and findable, resuming after an interruption.

use mashangban_domain::org::{Actor, Scope};
use mashangban_domain::personal_data::{Keyring, PersonalDataKey};
use mashangban_domain::validation::Phone;
use mashangban_store::{ListFilter, RequestStore};
use mashangban_store_sql::{SqlStore, StoreOptions};

use crate::requests::Fixture;
use crate::support::{TestDb, execute, meta, texts};

on_both!(
    personal_data_is_stored_encrypted_and_found_by_phone,
    a_tampered_ciphertext_is_an_error,
    rotation_keeps_every_request_readable_and_resumes,
);

const PHONE: &str = "13800138000";

fn ring(current: (&str, u8), previous: &[(&str, u8)]) -> Keyring {
    let key = |(id, byte): (&str, u8)| PersonalDataKey::new(id, [byte; 16]).unwrap();
    Keyring::new(key(current), previous.iter().map(|k| key(*k)).collect()).unwrap()
}

/// The same database under another key ring.
fn with_keys<D: TestDb>(store: &SqlStore<D>, keys: Keyring) -> SqlStore<D> {
    SqlStore::new(store.database().clone(), StoreOptions { personal_data: Some(keys), ..StoreOptions::default() })
}

fn by_phone(phone: &str) -> ListFilter {
    ListFilter { contact_phone: Some(phone.into()), limit: 500, ..ListFilter::default() }
}

async fn raw_columns<D: TestDb>(store: &SqlStore<D>) -> Vec<String> {
    let mut all = Vec::new();
    for sql in [
        "SELECT contact_name FROM requests ORDER BY id",
        "SELECT contact_phone FROM requests ORDER BY id",
        "SELECT contact_email FROM requests WHERE contact_email IS NOT NULL ORDER BY id",
    ] {
        all.extend(texts(store, sql, vec![]).await.into_iter().flatten());
    }
    all
}

async fn personal_data_is_stored_encrypted_and_found_by_phone<D: TestDb>() {
    let f = Fixture::<D>::new().await;
    let s = f.store();
    let mut new = f.request(false);
    new.contact.email = Some("chen@example.com".into());
    let a = s.intake(new, &Actor::PublicAsker, &meta(0)).await.unwrap();
    let mut other = f.request(false);
    other.contact.phone = Phone::parse("13900139000").unwrap();
    let b = s.intake(other, &Actor::PublicAsker, &meta(1)).await.unwrap();
    // The answer and every read decrypt.
    assert_eq!((a.contact.name.as_str(), a.contact.phone.as_str()), ("陈嘉欣", PHONE));
    let found = s.find(&a.tracking_no, &Scope::All).await.unwrap().unwrap();
    assert_eq!(found.contact, a.contact);
    assert_eq!(found.contact.email.as_deref(), Some("chen@example.com"));
    // The raw columns hold no plain personal data.
    let raw = raw_columns(s).await;
    assert_eq!(raw.len(), 5);
    for value in &raw {
        assert!(value.starts_with("v1:ephemeral:"), "{value}");
        for plain in [PHONE, "13900139000", "陈嘉欣", "chen@example.com"] {
            assert!(!value.contains(plain), "{value} holds {plain}");
        }
    }
    let like = texts(s, "SELECT tracking_no FROM requests WHERE contact_phone LIKE '%138001%'", vec![]).await;
    assert!(like.is_empty());
    let hashes = texts(s, "SELECT contact_phone_hash FROM requests ORDER BY id", vec![]).await;
    assert!(hashes.iter().all(|h| h.as_ref().is_some_and(|h| h.len() == 64 && !h.contains(PHONE))), "{hashes:?}");
    assert_ne!(hashes[0], hashes[1]);
    // The filter by phone goes through the hash: an exact match.
    let page = s.list(&by_phone(PHONE), &Scope::All).await.unwrap();
    assert_eq!(page.items.iter().map(|r| r.id).collect::<Vec<_>>(), [a.id]);
    assert_eq!(s.count(&by_phone("13900139000"), &Scope::All).await.unwrap(), 1);
    assert_eq!(s.list(&by_phone("13700137000"), &Scope::All).await.unwrap().items.len(), 0);
    assert_eq!(b.contact.phone.as_str(), "13900139000");
}

async fn a_tampered_ciphertext_is_an_error<D: TestDb>() {
    let f = Fixture::<D>::new().await;
    let s = f.store();
    let a = s.intake(f.request(false), &Actor::PublicAsker, &meta(0)).await.unwrap();
    let b = s.intake(f.request(false), &Actor::PublicAsker, &meta(1)).await.unwrap();
    // b's name ciphertext (authentic, same key) moved into a's phone column: the field is bound.
    execute(
        s,
        "UPDATE requests SET contact_phone = (SELECT contact_name FROM requests WHERE id = $1) WHERE id = $2",
        vec![b.id.into(), a.id.into()],
    )
    .await
    .unwrap();
    let err = s.find(&a.tracking_no, &Scope::All).await.unwrap_err();
    assert!(err.to_string().contains("requests.contact_phone"), "{err}");
    // One altered character of the ciphertext.
    let phone =
        texts(s, "SELECT contact_phone FROM requests WHERE id = $1", vec![b.id.into()]).await.remove(0).unwrap();
    let last = phone.chars().last().unwrap();
    let altered = format!("{}{}", &phone[..phone.len() - 1], if last == 'A' { 'B' } else { 'A' });
    execute(s, "UPDATE requests SET contact_phone = $1 WHERE id = $2", vec![altered.into(), b.id.into()])
        .await
        .unwrap();
    assert!(s.find(&b.tracking_no, &Scope::All).await.is_err());
}

async fn rotation_keeps_every_request_readable_and_resumes<D: TestDb>() {
    let f = Fixture::<D>::new().await;
    let old = with_keys(f.store(), ring(("k1", 1), &[]));
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut new = f.request(i % 2 == 0);
        if i < 2 {
            new.contact.email = Some(format!("asker{i}@example.com"));
        }
        ids.push(old.intake(new, &Actor::PublicAsker, &meta(i)).await.unwrap().id);
    }
    // A row from before encryption: plain text and no hash.
    let plain = old.intake(f.request(false), &Actor::PublicAsker, &meta(9)).await.unwrap();
    execute(
        &old,
        "UPDATE requests SET contact_name = '林晓', contact_phone = '13900139000', contact_email = 'lin@example.com',
            contact_phone_hash = NULL WHERE id = $1",
        vec![plain.id.into()],
    )
    .await
    .unwrap();

    // The new key configured, the old one kept: everything reads, the filter finds the old hashes.
    let both = with_keys(f.store(), ring(("k2", 2), &[("k1", 1)]));
    assert_eq!(both.count(&by_phone(PHONE), &Scope::All).await.unwrap(), 5);
    assert_eq!(both.personal_data_pending().await.unwrap(), 6);
    // Interrupted after one batch of two, then resumed from the start: idempotent.
    let first = both.reencrypt_personal_data(0, 2).await.unwrap();
    assert_eq!((first.rows_rewritten, first.done), (2, false));
    assert_eq!(both.personal_data_pending().await.unwrap(), 4);
    let mut after = 0;
    loop {
        let report = both.reencrypt_personal_data(after, 2).await.unwrap();
        after = report.last_id;
        if report.done {
            break;
        }
    }
    assert_eq!(both.personal_data_pending().await.unwrap(), 0);
    assert!(raw_columns(&both).await.iter().all(|v| v.starts_with("v1:k2:")));
    // A rerun has nothing to do.
    assert_eq!(both.reencrypt_personal_data(0, 100).await.unwrap().rows_rewritten, 0);

    // The old key removed: every request still reads and is found by phone.
    let new = with_keys(f.store(), ring(("k2", 2), &[]));
    for id in &ids {
        let r = new.find_by_id(*id, &Scope::All).await.unwrap().unwrap();
        assert_eq!((r.contact.name.as_str(), r.contact.phone.as_str()), ("陈嘉欣", PHONE));
    }
    let r = new.find_by_id(ids[1], &Scope::All).await.unwrap().unwrap();
    assert_eq!(r.contact.email.as_deref(), Some("asker1@example.com"));
    let was_plain = new.find_by_id(plain.id, &Scope::All).await.unwrap().unwrap();
    assert_eq!(
        (was_plain.contact.name.as_str(), was_plain.contact.phone.as_str(), was_plain.contact.email.as_deref()),
        ("林晓", "13900139000", Some("lin@example.com"))
    );
    assert_eq!(new.count(&by_phone(PHONE), &Scope::All).await.unwrap(), 5);
    assert_eq!(new.list(&by_phone("13900139000"), &Scope::All).await.unwrap().items[0].id, plain.id);
    // The old key alone reads nothing any more: the error names the key it lacks.
    let err = old.find_by_id(ids[0], &Scope::All).await.unwrap_err();
    assert!(err.to_string().contains("k2"), "{err}");
}
