//! The knowledge base (知识库): versions and revisions, stale edits refused
//! (also between two nodes), and search by the words of a question.

use mashangban_domain::org::Role;
use mashangban_store::{Article, ArticleAuthor, ArticleInput, CatalogStore, KnowledgeStore, NewCategory};

use crate::support::{TestDb, at, execute, refusal, staff};

on_both!(
    articles_keep_every_version_and_refuse_stale_edits,
    articles_may_belong_to_a_category,
    setting_the_active_flag_it_has_writes_nothing,
    two_nodes_editing_one_version_let_exactly_one_through,
    search_finds_chinese_words_in_a_question_best_first_and_only_active,
    search_and_lists_treat_text_byte_by_byte,
);

fn author(minutes: i64) -> ArticleAuthor {
    ArticleAuthor::new(&staff(Role::Admin, 1), at(minutes))
}

fn input(title: &str, body: &str, keywords: &[&str]) -> ArticleInput {
    ArticleInput {
        title: title.into(),
        body: body.into(),
        category_id: None,
        keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
    }
}

fn ids(found: Vec<Article>) -> Vec<i64> {
    found.into_iter().map(|a| a.id).collect()
}

async fn articles_keep_every_version_and_refuse_stale_edits<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let a = s.create_article(input(" 公积金提取 ", "携带身份证办理。", &["公积金", " "]), author(0)).await.unwrap();
    assert_eq!((a.version, a.active, a.title.as_str()), (1, true, "公积金提取"));
    assert_eq!(
        (a.keywords.clone(), a.updated_at, a.updated_by.as_str()),
        (vec!["公积金".to_owned()], at(0), "测试（admin）")
    );
    let edited = s
        .update_article(a.id, 1, input("公积金提取", "可在“粤省事”线上办理。", &["公积金", "提取"]), author(1))
        .await
        .unwrap();
    assert_eq!((edited.version, edited.updated_at), (2, at(1)));
    assert_eq!(refusal(s.update_article(a.id, 1, input("x", "y", &[]), author(2)).await), "article_changed");
    assert_eq!(refusal(s.set_article_active(a.id, 1, false, author(2)).await), "article_changed");
    let off = s.set_article_active(a.id, 2, false, author(3)).await.unwrap();
    assert_eq!((off.version, off.active), (3, false));
    let revisions = s.article_revisions(a.id).await.unwrap();
    let versions: Vec<(i64, bool, &str)> = revisions.iter().map(|r| (r.version, r.active, r.body.as_str())).collect();
    assert_eq!(
        versions,
        vec![(3, false, "可在“粤省事”线上办理。"), (2, true, "可在“粤省事”线上办理。"), (1, true, "携带身份证办理。")]
    );
    assert_eq!((revisions[2].by_user_id, revisions[2].by.as_str(), revisions[2].at), (Some(1), "测试（admin）", at(0)));
    assert_eq!(revisions[1].keywords, vec!["公积金", "提取"]);
    assert_eq!(s.article(a.id).await.unwrap(), Some(off));
    assert_eq!(s.article(999).await.unwrap(), None);
    assert_eq!(refusal(s.update_article(999, 1, input("x", "y", &[]), author(4)).await), "article_not_found");
    assert_eq!(refusal(s.set_article_active(999, 1, true, author(4)).await), "article_not_found");
    assert_eq!(refusal(s.create_article(input(" ", "y", &[]), author(4)).await), "text_required");
    let bad_category = ArticleInput { category_id: Some(999), ..input("x", "y", &[]) };
    assert_eq!(refusal(s.create_article(bad_category, author(5)).await), "unknown_category");
    assert_eq!(s.list_articles().await.unwrap().len(), 1, "a refused write leaves nothing behind");

    for sql in ["UPDATE knowledge_revisions SET body = 'x'", "DELETE FROM knowledge_revisions"] {
        let err = execute(s, sql, vec![]).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

async fn articles_may_belong_to_a_category<D: TestDb>() {
    let env = &D::create().await;
    let category = env
        .store
        .upsert_category(NewCategory {
            code: "gjj".into(),
            name: "公积金".into(),
            parent_code: None,
            lead_unit_code: None,
            keywords: vec![],
        })
        .await
        .unwrap()
        .id;
    let s = &env.store;
    let a = s.create_article(ArticleInput { category_id: Some(category), ..input("提取", "答复", &[]) }, author(0));
    let a = a.await.unwrap();
    assert_eq!(a.category_id, Some(category));
    let moved = s.update_article(
        a.id,
        1,
        ArticleInput { category_id: Some(category + 1), ..input("提取", "答复", &[]) },
        author(1),
    );
    assert_eq!(refusal(moved.await), "unknown_category");
    let cleared = s.update_article(a.id, 1, input("提取", "答复", &[]), author(1)).await.unwrap();
    assert_eq!((cleared.category_id, cleared.version), (None, 2));
    let revisions = s.article_revisions(a.id).await.unwrap();
    assert_eq!(revisions.iter().map(|r| r.category_id).collect::<Vec<_>>(), vec![None, Some(category)]);
}

async fn setting_the_active_flag_it_has_writes_nothing<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let a = s.create_article(input("标题", "答复", &[]), author(0)).await.unwrap();
    let same = s.set_article_active(a.id, 1, true, author(1)).await.unwrap();
    assert_eq!(same, a);
    assert_eq!(s.article_revisions(a.id).await.unwrap().len(), 1);
    let off = s.set_article_active(a.id, 1, false, author(2)).await.unwrap();
    let on = s.set_article_active(a.id, off.version, true, author(3)).await.unwrap();
    assert_eq!((on.version, on.active), (3, true));
}

/// Both read version 1; the row lock (PostgreSQL) or the single writer
/// (SQLite) makes the second see version 2 and refuse.
async fn two_nodes_editing_one_version_let_exactly_one_through<D: TestDb>() {
    let env = &D::create().await;
    let other = env.other_node().await;
    for round in 0..5 {
        let a = env.store.create_article(input(&format!("标题{round}"), "答复", &[]), author(0)).await.unwrap();
        let (x, y) = tokio::join!(
            env.store.update_article(a.id, 1, input("甲改", "答复甲", &[]), author(1)),
            other.update_article(a.id, 1, input("乙改", "答复乙", &[]), author(1)),
        );
        let outcomes = [x.is_ok(), y.is_ok()];
        assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "round {round}: {x:?} {y:?}");
        let refused = if x.is_ok() { y } else { x };
        assert_eq!(refusal(refused), "article_changed");
        assert_eq!(env.store.article_revisions(a.id).await.unwrap().len(), 2);
    }
}

async fn search_finds_chinese_words_in_a_question_best_first_and_only_active<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let license = s
        .create_article(
            input("营业执照办理", "个体工商户和企业均可在网上申请营业执照。", &["营业执照", "开办"]),
            author(0),
        )
        .await
        .unwrap();
    let social = s
        .create_article(
            input("社保参保登记", "新参保单位应在成立30日内办理社保登记，营业执照复印件一份。", &["社保"]),
            author(0),
        )
        .await
        .unwrap();
    let old = s.create_article(input("社保旧答复", "已过时。", &["社保"]), author(0)).await.unwrap();
    s.set_article_active(old.id, 1, false, author(1)).await.unwrap();

    assert_eq!(
        ids(s.search_articles("请问营业执照怎么办？", 10).await.unwrap()),
        vec![license.id],
        "营业执照 only in another answer's text (3 against 18) is noise"
    );
    assert_eq!(ids(s.search_articles("社保 营业执照", 10).await.unwrap()), vec![license.id, social.id]);
    assert_eq!(ids(s.search_articles("公司社保怎么交", 10).await.unwrap()), vec![social.id]);
    assert_eq!(ids(s.search_articles("营业执照", 1).await.unwrap()), vec![license.id]);
    assert!(s.search_articles("天气", 10).await.unwrap().is_empty());
    assert!(s.search_articles("？？", 10).await.unwrap().is_empty());
    let listed = ids(s.list_articles().await.unwrap());
    assert_eq!(listed, vec![social.id, license.id, old.id], "active first, then by title");
}

/// Latin words match without regard to case, but only ASCII letters are
/// folded (as SQLite's `lower` does), and titles sort in code point order,
/// whatever the PostgreSQL database's locale.
async fn search_and_lists_treat_text_byte_by_byte<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let wifi = s.create_article(input("ＷＩＦＩ覆盖", "公共场所无线网络。", &["WiFi"]), author(0)).await.unwrap();
    let small = s.create_article(input("b 小写", "答复", &[]), author(0)).await.unwrap();
    let capital = s.create_article(input("B 大写", "答复", &[]), author(0)).await.unwrap();
    let under = s.create_article(input("_下划线", "答复", &[]), author(0)).await.unwrap();
    assert_eq!(ids(s.search_articles("ＷＩＦＩ", 10).await.unwrap()), vec![wifi.id]);
    assert_eq!(ids(s.search_articles("wifi", 10).await.unwrap()), vec![wifi.id], "keywords match in any case");
    assert_eq!(
        ids(s.search_articles("ｗｉｆｉ", 10).await.unwrap()),
        Vec::<i64>::new(),
        "full-width letters are not folded"
    );
    assert_eq!(ids(s.list_articles().await.unwrap()), vec![capital.id, under.id, small.id, wifi.id]);
}
