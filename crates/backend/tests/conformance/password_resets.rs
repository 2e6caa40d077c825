//! Password-reset codes (忘记密码): a code and its SMS in one write, one live
//! code per account, attempts counted, and a completed reset that sets the
//! password and ends the sessions once; the code's SMS in the words of the
//! notification template in force when the code is stored.

use mashangban_domain::notify::{NoticeChannel, Template, TemplateKey};
use mashangban_domain::org::Role;
use mashangban_store::{
    NewPasswordReset, NewSession, NewUser, NotificationStore, OrgStore, PasswordResetStore, StoredTemplate,
};

use crate::support::{Env, TestDb, at};

on_both!(a_code_is_stored_with_its_sms_and_spent_once);

fn reset(user_id: i64, minute: i64, phone: &str) -> NewPasswordReset {
    NewPasswordReset {
        user_id,
        code_hash: format!("hash-{minute}"),
        salt: "salt".into(),
        created_at: at(minute),
        expires_at: at(minute + 10),
        client_ip: Some("192.0.2.7".into()),
        phone: phone.into(),
        code: format!("12345{minute}"),
    }
}

async fn a_code_is_stored_with_its_sms_and_spent_once<D: TestDb>() {
    let env: &Env<D> = &D::create().await;
    let s = &env.store;
    let new = |username: &str, phone: Option<&str>| NewUser {
        username: username.into(),
        display_name: username.into(),
        role: Role::Resident,
        unit_id: None,
        credit_code: None,
        phone: phone.map(str::to_owned),
        password_hash: "old".into(),
    };
    let user = s.create_user(new("li", Some("13912340001")), crate::support::tester()).await.unwrap();
    s.create_user(new("wang", Some("13912340002")), crate::support::tester()).await.unwrap();
    assert_eq!(s.user_by_id(user.id).await.unwrap().unwrap().username, "li");
    let found: Vec<String> = s.users_with_phone("13912340001").await.unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(found, ["li"]);
    assert!(s.latest_password_reset(user.id).await.unwrap().is_none());

    let first = s.create_password_reset(reset(user.id, 0, "13912340001")).await.unwrap();
    assert_eq!((first.user_id, first.attempts, first.used_at, first.expires_at), (user.id, 0, None, at(10)));
    let outbox = s.list_outbox(None, 10).await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(
        (outbox[0].recipient.as_str(), outbox[0].template_key.as_deref()),
        ("13912340001", Some("password_reset.code"))
    );
    assert_eq!((outbox[0].event_id, outbox[0].request_id), (None, None));
    // The built-in words: the 【马上办】 signature, the code and its ten minutes.
    assert_eq!(
        outbox[0].body,
        "【马上办】您的密码重置验证码为123450，10分钟内有效。如非本人操作，请忽略本短信，切勿告诉他人。"
    );

    // An administrator's template is the one in force for the next code.
    let edited = Template {
        subject: None, body: "【马上办】找回密码验证码：{{code}}（{{minutes}}分钟内有效）".into()
    };
    let stored = StoredTemplate {
        key: TemplateKey::PasswordResetCode,
        channel: NoticeChannel::Sms,
        template: edited,
        updated_at: at(1),
        updated_by: "admin".into(),
    };
    s.put_notification_template(stored).await.unwrap();

    // A second code ends the first; wrong tries count on the live one.
    let second = s.create_password_reset(reset(user.id, 2, "13912340001")).await.unwrap();
    let outbox = s.list_outbox(None, 10).await.unwrap();
    assert_eq!(outbox[0].body, "【马上办】找回密码验证码：123452（10分钟内有效）");
    s.password_reset_failed(second.id).await.unwrap();
    let latest = s.latest_password_reset(user.id).await.unwrap().unwrap();
    assert_eq!((latest.id, latest.attempts), (second.id, 1));
    assert!(!s.complete_password_reset(first.id, "new".into(), at(3)).await.unwrap(), "the first was ended");

    let session = NewSession {
        token_hash: "t".into(),
        user_id: user.id,
        created_at: at(1),
        expires_at: at(600),
        client_ip: None,
    };
    s.create_session(session).await.unwrap();
    assert!(s.session_user("t", at(3)).await.unwrap().is_some());
    assert!(s.complete_password_reset(second.id, "new".into(), at(3)).await.unwrap());
    assert_eq!(s.find_user("li").await.unwrap().unwrap().password_hash, "new");
    assert!(s.session_user("t", at(4)).await.unwrap().is_none(), "sessions ended");
    assert!(!s.complete_password_reset(second.id, "newer".into(), at(4)).await.unwrap(), "spent once");
    assert_eq!(s.find_user("li").await.unwrap().unwrap().password_hash, "new");
    assert_eq!(s.find_user("wang").await.unwrap().unwrap().password_hash, "old", "others untouched");
}
