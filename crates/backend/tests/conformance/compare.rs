//! The store written once against each backend's own implementation: the
//! same random steps, on two fresh databases of one backend, give the same
//! answers (values, refusal codes and messages), and each implementation
//! reads the other's database alike.

use std::fmt::Debug;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use mashangban_domain::org::{Actor, Role, UnitKind};
use mashangban_domain::time_limit::RuleSet;
use mashangban_store::{
    CatalogStore, NewApiToken, NewCategory, NewSession, NewUnit, OrgStore, StoreError, StoreResult, TimeLimitStore,
};

use crate::org::user;
use crate::{TestDb, minutes};

mod old_and_new_stores_answer_alike {
    #[test]
    fn sqlite() {
        super::same_answers::<crate::Sqlite>(48);
    }

    #[test]
    fn postgres() {
        super::same_answers::<crate::Postgres>(8);
    }
}

const UNITS: [&str; 6] = ["city", "a", "b", "t", "s", "nowhere"];
const KINDS: [UnitKind; 4] = [UnitKind::City, UnitKind::Department, UnitKind::Town, UnitKind::Subunit];
const USERS: [&str; 4] = ["zhang", "li", "wang", "nobody"];
const SECRETS: [&str; 3] = ["h1", "h2", "h3"];
const CATEGORIES: [&str; 4] = ["env", "noise", "road", "nowhere"];

/// One call of a store method, with its arguments as small indices so that
/// steps meet each other's rows.
#[derive(Debug, Clone)]
enum Op {
    Unit { code: usize, parent: Option<usize>, kind: usize, renamed: bool },
    UnitActive { code: usize, active: bool },
    User { name: usize, role: usize, unit: Option<usize> },
    Password { name: usize },
    Disabled { name: usize, disabled: bool },
    Role { name: usize, role: usize, unit: Option<usize> },
    Session { secret: usize, name: usize, at: i64, valid: i64 },
    SessionUser { secret: usize, at: i64 },
    EndSession { secret: usize },
    Token { secret: usize, role: usize, unit: Option<usize> },
    TokenLookup { secret: usize },
    Revoke { id: i64, at: i64 },
    Category { code: usize, parent: Option<usize>, lead: Option<usize>, keywords: usize },
    Publish { valid: bool, at: i64 },
    Rules,
    Versions,
    Lists,
}

fn op() -> impl Strategy<Value = Op> {
    let unit = prop::option::of(0..UNITS.len());
    let role = 0..Role::ALL.len();
    prop_oneof![
        3 => (0..5usize, prop::option::of(0..UNITS.len()), 0..KINDS.len(), any::<bool>())
            .prop_map(|(code, parent, kind, renamed)| Op::Unit { code, parent, kind, renamed }),
        2 => (0..UNITS.len(), any::<bool>()).prop_map(|(code, active)| Op::UnitActive { code, active }),
        3 => (0..3usize, role.clone(), unit.clone()).prop_map(|(name, role, unit)| Op::User { name, role, unit }),
        1 => (0..USERS.len()).prop_map(|name| Op::Password { name }),
        1 => (0..USERS.len(), any::<bool>()).prop_map(|(name, disabled)| Op::Disabled { name, disabled }),
        2 => (0..USERS.len(), role.clone(), unit.clone()).prop_map(|(name, role, unit)| Op::Role { name, role, unit }),
        // Times in steps of ten minutes, so that steps often meet at an expiry.
        2 => (0..SECRETS.len(), 0..USERS.len(), 0..10i64, 1..6i64)
            .prop_map(|(secret, name, at, valid)| Op::Session { secret, name, at: at * 10, valid: valid * 10 }),
        2 => (0..SECRETS.len(), 0..20i64).prop_map(|(secret, at)| Op::SessionUser { secret, at: at * 10 }),
        1 => (0..SECRETS.len()).prop_map(|secret| Op::EndSession { secret }),
        2 => (0..SECRETS.len(), role, unit.clone()).prop_map(|(secret, role, unit)| Op::Token { secret, role, unit }),
        1 => (0..SECRETS.len()).prop_map(|secret| Op::TokenLookup { secret }),
        1 => (1..5i64, 0..100i64).prop_map(|(id, at)| Op::Revoke { id, at }),
        2 => (0..3usize, prop::option::of(0..CATEGORIES.len()), unit, 0..3usize)
            .prop_map(|(code, parent, lead, keywords)| Op::Category { code, parent, lead, keywords }),
        1 => (any::<bool>(), 0..100i64).prop_map(|(valid, at)| Op::Publish { valid, at }),
        1 => Just(Op::Rules),
        1 => Just(Op::Versions),
        1 => Just(Op::Lists),
    ]
}

/// An answer as text: the value, the refusal's code and message, or just
/// "backend error" (whose wording is the driver's).
fn answer<T: Debug>(result: StoreResult<T>) -> String {
    match result {
        Ok(value) => format!("{value:?}"),
        Err(StoreError::Domain(e)) => format!("refused {} {}", e.code, e.message),
        Err(StoreError::Backend(_)) => "backend error".into(),
    }
}

async fn unit_id(s: &impl OrgStore, code: Option<usize>) -> Option<i64> {
    let code = UNITS[code?];
    Some(s.list_units().await.unwrap().into_iter().find(|u| u.code == code).map_or(9999, |u| u.id))
}

async fn user_id(s: &impl OrgStore, name: usize) -> i64 {
    s.find_user(USERS[name]).await.unwrap().map_or(9999, |u| u.id)
}

/// Rule versions without the time the defaults were stored (the clock's).
async fn versions(s: &impl TimeLimitStore) -> String {
    answer(s.rule_versions().await.map(|all| {
        all.into_iter()
            .map(|v| (v.version, v.rules, v.created_by, (v.version > 1).then_some(v.created_at)))
            .collect::<Vec<_>>()
    }))
}

/// Everything the store holds for these aggregates, as text.
async fn snapshot(s: &(impl OrgStore + CatalogStore + TimeLimitStore)) -> String {
    let (mut sessions, mut tokens) = (Vec::new(), Vec::new());
    for secret in SECRETS {
        for at in (0..16).map(|t| t * 10) {
            sessions.push(answer(s.session_user(secret, minutes(at)).await));
        }
        tokens.push(answer(s.api_token(secret).await));
    }
    format!(
        "{}\n{}\n{}\n{}\n{}\n{sessions:?}\n{tokens:?}",
        answer(s.list_units().await),
        answer(s.list_users().await),
        answer(s.list_api_tokens().await),
        answer(s.list_categories().await),
        versions(s).await,
    )
}

async fn run(s: &(impl OrgStore + CatalogStore + TimeLimitStore), op: &Op) -> String {
    match *op {
        Op::Unit { code, parent, kind, renamed } => {
            let name = if renamed { format!("新{}", UNITS[code]) } else { format!("单位{}", UNITS[code]) };
            let unit = NewUnit {
                code: UNITS[code].into(),
                short_name: renamed.then(|| name.clone()),
                name,
                kind: KINDS[kind],
                parent_code: parent.map(|p| UNITS[p].to_owned()),
            };
            answer(s.upsert_unit(unit).await)
        }
        Op::UnitActive { code, active } => answer(s.set_unit_active(UNITS[code], active).await),
        Op::User { name, role, unit } => {
            let unit = unit_id(s, unit).await;
            answer(s.create_user(user(USERS[name], Role::ALL[role], unit)).await)
        }
        Op::Password { name } => answer(s.set_password(USERS[name], format!("hash of {name}")).await),
        Op::Disabled { name, disabled } => answer(s.set_user_disabled(USERS[name], disabled).await),
        Op::Role { name, role, unit } => {
            let unit = unit_id(s, unit).await;
            answer(s.set_user_role(USERS[name], Role::ALL[role], unit).await)
        }
        Op::Session { secret, name, at, valid } => {
            let session = NewSession {
                token_hash: SECRETS[secret].into(),
                user_id: user_id(s, name).await,
                created_at: minutes(at),
                expires_at: minutes(at + valid),
                client_ip: None,
            };
            answer(s.create_session(session).await)
        }
        Op::SessionUser { secret, at } => answer(s.session_user(SECRETS[secret], minutes(at)).await),
        Op::EndSession { secret } => answer(s.delete_session(SECRETS[secret]).await),
        Op::Token { secret, role, unit } => {
            let token = NewApiToken {
                name: format!("令牌{secret}"),
                token_hash: SECRETS[secret].into(),
                role: Role::ALL[role],
                unit_id: unit_id(s, unit).await,
                created_at: minutes(0),
            };
            answer(s.create_api_token(token).await)
        }
        Op::TokenLookup { secret } => answer(s.api_token(SECRETS[secret]).await),
        Op::Revoke { id, at } => answer(s.revoke_api_token(id, minutes(at)).await),
        Op::Category { code, parent, lead, keywords } => {
            let category = NewCategory {
                code: CATEGORIES[code].into(),
                name: format!("分类{code}"),
                parent_code: parent.map(|p| CATEGORIES[p].to_owned()),
                lead_unit_code: lead.map(|u| UNITS[u].to_owned()),
                keywords: ["噪音", "夜间", "施工"].iter().take(keywords).map(|k| (*k).to_owned()).collect(),
            };
            answer(s.upsert_category(category).await)
        }
        Op::Publish { valid, at } => {
            let rules = if valid { RuleSet::guangdong_defaults().rules } else { vec![] };
            answer(s.publish_rules(rules, &Actor::System, minutes(at)).await)
        }
        Op::Rules => answer(s.current_rules().await),
        Op::Versions => versions(s).await,
        Op::Lists => snapshot(s).await,
    }
}

/// Runs random steps through the backend's own store on one database and
/// through the new store on another; compares every answer, then what both
/// implementations read from both databases.
fn same_answers<T: TestDb>(cases: u32) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut runner = TestRunner::new(Config { cases, ..Config::default() });
    runner
        .run(&prop::collection::vec(op(), 1..40), |ops| {
            runtime.block_on(async {
                let (a, b) = (T::create().await, T::create().await);
                let (old, new) = (a.old(), b.store());
                for (i, op) in ops.iter().enumerate() {
                    let (expected, got) = (run(&old, op).await, run(&new, op).await);
                    prop_assert_eq!(expected, got, "step {} {:?}", i, op);
                }
                let expected = snapshot(&old).await;
                prop_assert_eq!(&expected, &snapshot(&new).await);
                prop_assert_eq!(&expected, &snapshot(&a.store()).await, "the new store reads the old one's rows");
                prop_assert_eq!(&expected, &snapshot(&b.old()).await, "the old store reads the new one's rows");
                Ok(())
            })
        })
        .unwrap();
}
