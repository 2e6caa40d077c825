//! The secretary-mayor direct line (书记市长直通车): an item taken in with
//! its number and history; screening (submit, merge, convert); the leader's
//! instruction taking in, dispatching and supervising a request in one
//! transaction (or nothing when it is refused); the review of the reply
//! (send back, approve); the asker's rating once; and the item scope.

use chrono::Duration;

use mashangban_domain::direct_line::{
    Addressee, Correction, Instruction, ItemScope, ItemState, NewItem, Review, Source,
};
use mashangban_domain::lifecycle::Action;
use mashangban_domain::notify::{NoticeChannel, Template, TemplateKey};
use mashangban_domain::org::{Actor, Role, Scope, StaffActor};
use mashangban_domain::request::{Asker, Channel, Contact, Location, NewRequest, Rating, RequestKind, State, Urgency};
use mashangban_domain::screening::Verdict;
use mashangban_domain::validation::Phone;
use mashangban_store::{
    ChangeCursor, ChangeEntity, ChangeStore, Command, DirectLineStore, Instructed, ItemFilter, NotificationStore,
    RequestStore, Screening, StoredTemplate,
};

use crate::org::town_desk;
use crate::support::{Env, TestDb, at, meta, refusal, staff};

on_both!(
    an_item_goes_from_intake_to_an_approved_answer,
    screening_merge_convert_and_scope,
    a_new_item_is_corrected_field_by_field
);

pub(crate) fn new_item(title: &str, consent: bool) -> NewItem {
    NewItem::new(
        Source::Portal,
        Addressee::Mayor,
        "张建国",
        "13800138011",
        None,
        title,
        "内容",
        consent,
        "87654321".into(),
    )
    .unwrap()
}

fn request(category: i64, channel: Channel) -> Box<NewRequest> {
    Box::new(NewRequest {
        kind: RequestKind::Help,
        urgency: Urgency::Normal,
        channel,
        asker: Asker::Resident,
        contact: Contact { name: "张建国".into(), phone: Phone::parse("13800138011").unwrap(), email: None },
        title: "来信".into(),
        content: "【书记市长直通车】内容".into(),
        category_id: category,
        location: Location { town_id: None, address: None, point: None },
        ledger_ref: None,
        check_code: "12345678".into(),
        submitted_by: None,
        due_at: Some(at(0) + Duration::days(7)),
        deadlines: Default::default(),
        time_limits: None,
        card: None,
        visit: None,
        screening: None,
    })
}

fn leader_actor(user_id: i64, unit: i64) -> Actor {
    Actor::Staff(StaffActor {
        user_id: Some(user_id),
        name: "市长".into(),
        role: Role::CityLeader,
        unit_id: unit,
        units: vec![unit],
        town_id: None,
    })
}

async fn act<D: TestDb>(env: &Env<D>, no: &str, actor: Actor, action: Action, minutes: i64) {
    let command = Command {
        tracking_no: no.to_owned(),
        scope: Scope::All,
        actor,
        action,
        attachment_ids: Vec::new(),
        meta: meta(minutes),
        calendar: None,
        expected_version: None,
    };
    env.store.act(command).await.unwrap();
}

async fn an_item_goes_from_intake_to_an_approved_answer<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let desk = town_desk(s, "91442000MA5WKTD0", &[("l1", Role::CityLeader), ("l2", Role::CityLeader)]).await;
    let (town, category, leader, other_leader) = (desk.town, desk.category, desk.users[0], desk.users[1]);
    let office = staff(Role::LeadersOffice, town);

    let mut new = new_item("规划许可迟迟未批", true);
    let verdict = Verdict { score: 0.25, reasons: vec!["含联系电话".into()], held: false };
    new.screening = Some(verdict.clone());
    let item = s.take_in_item(new, at(0), "来信人（网上）".into()).await.unwrap();
    assert!(item.tracking_no.starts_with("ZTC20260302"), "{}", item.tracking_no);
    assert_eq!((item.state, item.events.len()), (ItemState::New, 1));
    let found = s.item_by_tracking_no(&item.tracking_no).await.unwrap().unwrap();
    assert_eq!((found.id, found.name.as_str(), found.publish_consent), (item.id, "张建国", true));
    assert_eq!(found.screening, Some(verdict), "the portal item's screening is kept with it");

    let submit = Screening::Submit { leader_user_id: leader, category_id: category, comment: Some("请批示".into()) };
    let (submitted, none) = s.screen_item(item.id, submit, &office, &meta(10)).await.unwrap();
    assert!(none.is_none());
    assert_eq!((submitted.state, submitted.leader_name.as_deref()), (ItemState::Submitted, Some("干部l1")));

    let instructed = |days: u32, lead: i64| Instructed {
        instruction: Instruction::new("请限期办理", Some(lead), &[], Some(days)).unwrap(),
        due_at: at(0) + Duration::days(5),
        request: Some(request(category, Channel::DirectLine)),
    };
    // Another leader may not; an unknown unit refuses the whole step (no request survives).
    let stranger = leader_actor(other_leader, town);
    let refused = s.instruct_item(item.id, instructed(3, town), &stranger, &meta(20), None).await;
    assert_eq!(refusal(refused), "permission_denied");
    let refused = s.instruct_item(item.id, instructed(3, 999_999), &leader_actor(leader, town), &meta(20), None).await;
    assert!(refused.is_err());
    assert!(s.list(&Default::default(), &Scope::All).await.unwrap().items.is_empty(), "nothing was taken in");
    assert_eq!(s.item(item.id, ItemScope::All).await.unwrap().unwrap().state, ItemState::Submitted);

    let (handling, taken) =
        s.instruct_item(item.id, instructed(3, town), &leader_actor(leader, town), &meta(20), None).await.unwrap();
    assert_eq!((handling.state, handling.lead_unit_id, handling.days), (ItemState::Handling, Some(town), Some(3)));
    let r = handling.request.clone().unwrap();
    assert_eq!((r.state, r.supervised, r.tracking_no.as_str()), (State::Dispatched, true, taken.tracking_no.as_str()));
    let kinds: Vec<&str> = s.history(taken.id).await.unwrap().iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["received", "dispatched", "supervised"]);

    // Scope: the leader it was put before, the handling unit; not others.
    assert!(s.item(item.id, ItemScope::Leader(leader)).await.unwrap().is_some());
    assert!(s.item(item.id, ItemScope::Leader(other_leader)).await.unwrap().is_none());
    assert!(s.item(item.id, ItemScope::Units(vec![town])).await.unwrap().is_some());
    assert!(s.item(item.id, ItemScope::Units(vec![town + 1000])).await.unwrap().is_none());
    assert!(s.item(item.id, ItemScope::Nothing).await.unwrap().is_none());

    // Nothing to review before the unit replies.
    let early = s.review_item(item.id, Review::Approve { comment: None }, &office, &meta(30)).await;
    assert_eq!(refusal(early), "no_reply_to_review");
    let handler = staff(Role::Handler, town);
    act(env, &taken.tracking_no, handler.clone(), Action::SignFor { comment: None }, 40).await;
    act(env, &taken.tracking_no, handler.clone(), Action::Reply { content: "初步答复".into() }, 50).await;
    let waiting = s.item(item.id, ItemScope::All).await.unwrap().unwrap();
    assert_eq!(waiting.request.as_ref().and_then(|r| r.last_reply.as_deref()), Some("初步答复"));
    assert_eq!(waiting.reply, None, "the asker sees nothing before the review");

    let (back, request) =
        s.review_item(item.id, Review::SendBack { reason: "请补充时限".into() }, &office, &meta(60)).await.unwrap();
    assert_eq!((back.state, back.reply.clone()), (ItemState::Handling, None));
    assert_ne!(request.state, State::Replied);
    act(env, &taken.tracking_no, handler, Action::Reply { content: "已办结".into() }, 70).await;
    let rate = s.rate_item(item.id, Rating::Satisfied, None, at(75));
    assert_eq!(refusal(rate.await), "direct_line_wrong_state");
    // The asker's SMS on approval is in the words of the template in force when the office approves.
    s.enable_notifications("https://12345.example.gov.cn/").await.unwrap();
    let edited = Template {
        subject: None,
        body: "【马上办】{{addressee}}信箱{{tracking_no}}已答复（查询码{{check_code}}）：{{link}}".into(),
    };
    let stored = StoredTemplate {
        key: TemplateKey::DirectLineAnswered,
        channel: NoticeChannel::Sms,
        template: edited,
        updated_at: at(75),
        updated_by: "admin".into(),
    };
    s.put_notification_template(stored).await.unwrap();
    let (answered, closed) =
        s.review_item(item.id, Review::Approve { comment: None }, &office, &meta(80)).await.unwrap();
    assert_eq!((answered.state, answered.reply.as_deref()), (ItemState::Answered, Some("已办结")));
    assert_eq!((closed.state, answered.answered_at), (State::Closed, Some(at(80))));
    let told: Vec<_> = s.list_outbox(None, 100).await.unwrap().into_iter().filter(|r| r.event_id.is_none()).collect();
    assert_eq!(told.len(), 1, "{told:#?}");
    let (no, code) = (&item.tracking_no, "87654321");
    assert_eq!(
        (told[0].recipient.as_str(), told[0].template_key.as_deref(), told[0].body.as_str()),
        (
            "13800138011",
            Some("direct_line.answered"),
            format!(
                "【马上办】市长信箱{no}已答复（查询码{code}）：https://12345.example.gov.cn/direct-line/track?no={no}&code={code}"
            )
            .as_str()
        )
    );
    let rated = s.rate_item(item.id, Rating::Satisfied, Some("很好".into()), at(90)).await.unwrap();
    assert_eq!(rated.rating, Some(Rating::Satisfied));
    assert_eq!(refusal(s.rate_item(item.id, Rating::Dissatisfied, None, at(95)).await), "already_rated");
    let actions: Vec<&str> = rated.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["received", "submitted", "instructed", "sent_back", "approved", "rated"]);
    let published = s.items(&ItemFilter { published: true, ..ItemFilter::in_scope(ItemScope::All) }).await.unwrap();
    assert_eq!(published.iter().map(|i| i.id).collect::<Vec<_>>(), [item.id]);

    // Each step appended a change of the item, as the live lists read them (the refused ones none); so
    // did each event of its request once the item named it (the unit's sign-for and replies, the office's
    // send-back and approval as the request's events), each right after the request's own change.
    let changes = s.changes_after(ChangeCursor::default(), 1000).await.unwrap();
    let ours: Vec<&str> = changes
        .iter()
        .filter(|c| c.entity == ChangeEntity::DirectLine && c.key == item.id.to_string())
        .map(|c| c.kind.as_str())
        .collect();
    let steps: Vec<&str> = ours.iter().copied().filter(|k| !k.starts_with("request.")).collect();
    assert_eq!(steps, actions);
    let of_request: Vec<&str> = ours.iter().copied().filter(|k| k.starts_with("request.")).collect();
    assert_eq!(
        of_request,
        ["request.signed_for", "request.replied", "request.reply_rejected", "request.replied", "request.closed"]
    );
    for (i, c) in changes.iter().enumerate().filter(|(_, c)| c.kind.starts_with("request.")) {
        let before = &changes[i - 1];
        assert_eq!(
            (before.entity, before.key.as_str(), format!("request.{}", before.kind)),
            (ChangeEntity::Request, taken.tracking_no.as_str(), c.kind.clone())
        );
    }
}

async fn screening_merge_convert_and_scope<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let desk = town_desk(s, "91442000MA5WKTE0", &[("l1", Role::CityLeader)]).await;
    let office = staff(Role::LeadersOffice, desk.town);
    let by = || "市领导办公室".to_owned();
    let first = s.take_in_item(new_item("用工难", false), at(0), by()).await.unwrap();
    let second = s.take_in_item(new_item("用工难（重复）", false), at(1), by()).await.unwrap();
    let third = s.take_in_item(new_item("道路积水", false), at(2), by()).await.unwrap();
    assert_ne!(first.tracking_no, second.tracking_no);

    let into_self = Screening::Merge { into: second.tracking_no.clone(), comment: None };
    assert_eq!(refusal(s.screen_item(second.id, into_self, &office, &meta(5)).await), "merge_target_invalid");
    let merge = Screening::Merge { into: first.tracking_no.clone(), comment: None };
    let (merged, _) = s.screen_item(second.id, merge, &office, &meta(5)).await.unwrap();
    assert_eq!((merged.state, merged.merged_into.as_deref()), (ItemState::Merged, Some(first.tracking_no.as_str())));
    let again = Screening::Merge { into: first.tracking_no.clone(), comment: None };
    assert_eq!(refusal(s.screen_item(second.id, again, &office, &meta(6)).await), "direct_line_wrong_state");
    let into_merged = Screening::Merge { into: second.tracking_no.clone(), comment: None };
    assert_eq!(refusal(s.screen_item(third.id, into_merged, &office, &meta(6)).await), "merge_target_invalid");

    let convert = Screening::Convert { request: request(desk.category, Channel::Web), comment: None };
    let (converted, taken) = s.screen_item(third.id, convert, &office, &meta(7)).await.unwrap();
    let taken = taken.unwrap();
    assert_eq!((converted.state, taken.state, taken.channel), (ItemState::Converted, State::Received, Channel::Web));
    assert_eq!(converted.request.map(|r| r.id), Some(taken.id));
    let missing = Screening::Merge { into: "ZTC0".into(), comment: None };
    assert_eq!(refusal(s.screen_item(first.id + 100, missing, &office, &meta(8)).await), "direct_line_not_found");

    // Listings: newest first, by state, by month window; a handler's scope holds only instructed items.
    let all = s.items(&ItemFilter::in_scope(ItemScope::All)).await.unwrap();
    assert_eq!(all.iter().map(|i| i.id).collect::<Vec<_>>(), [third.id, second.id, first.id]);
    let new = s.items(&ItemFilter { state: Some(ItemState::New), ..ItemFilter::in_scope(ItemScope::All) }).await;
    assert_eq!(new.unwrap().iter().map(|i| i.id).collect::<Vec<_>>(), [first.id]);
    let window = ItemFilter { from: Some(at(1)), until: Some(at(2)), ..ItemFilter::in_scope(ItemScope::All) };
    assert_eq!(s.items(&window).await.unwrap().iter().map(|i| i.id).collect::<Vec<_>>(), [second.id]);
    // One item through the same filters (a live list's re-read): itself, or nothing when filtered out.
    let one = |id, state| ItemFilter { id: Some(id), state, ..ItemFilter::in_scope(ItemScope::All) };
    assert_eq!(s.items(&one(second.id, None)).await.unwrap().iter().map(|i| i.id).collect::<Vec<_>>(), [second.id]);
    assert!(s.items(&one(second.id, Some(ItemState::New))).await.unwrap().is_empty());
    assert_eq!(s.items(&one(first.id, Some(ItemState::New))).await.unwrap().len(), 1);
    let elsewhere = ItemFilter { id: Some(first.id), ..ItemFilter::in_scope(ItemScope::Leader(desk.users[0])) };
    assert!(s.items(&elsewhere).await.unwrap().is_empty());
    assert!(s.items(&ItemFilter::in_scope(ItemScope::Units(vec![desk.town]))).await.unwrap().is_empty());
    assert!(s.items(&ItemFilter::in_scope(ItemScope::Leader(desk.users[0]))).await.unwrap().is_empty());
}

async fn a_new_item_is_corrected_field_by_field<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let desk = town_desk(s, "91442000MA5WKTF0", &[("l1", Role::CityLeader)]).await;
    let office = staff(Role::LeadersOffice, desk.town);
    let item = s.take_in_item(new_item("用工难", false), at(0), "来信人（网上）".into()).await.unwrap();

    // Every field as it was: refused, nothing recorded.
    let same = Correction::new(None, Some(""), Some("用工难")).unwrap();
    assert_eq!(refusal(s.correct_item(item.id, same, &office, at(1)).await), "nothing_to_correct");
    let all = Correction::new(Some(desk.category), Some("91350100M000100Y43"), Some("招工难，请协调")).unwrap();
    let corrected = s.correct_item(item.id, all, &office, at(2)).await.unwrap();
    assert_eq!(corrected.category_id, Some(desk.category));
    assert_eq!(corrected.credit_code.as_deref(), Some("91350100M000100Y43"));
    assert_eq!((corrected.title.as_str(), corrected.content.as_str()), ("招工难，请协调", "内容"));
    let steps: Vec<&str> = corrected.events.iter().filter_map(|e| e.comment.as_deref()).skip(1).collect();
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert!(steps[0].starts_with("分类：（未定） → "), "{steps:?}");
    assert_eq!(steps[1..], ["企业：（个人来信） → 91350100M000100Y43", "标题：用工难 → 招工难，请协调"]);
    assert!(corrected.events.iter().skip(1).all(|e| e.action == "corrected" && e.at == at(2)));

    // Only the field that changes is recorded; once put before a leader, no more corrections.
    let clear = Correction::new(Some(desk.category), Some(""), None).unwrap();
    let cleared = s.correct_item(item.id, clear, &office, at(3)).await.unwrap();
    assert_eq!(cleared.credit_code, None);
    assert_eq!(cleared.events.last().unwrap().comment.as_deref(), Some("企业：91350100M000100Y43 → （个人来信）"));
    assert_eq!(cleared.events.len(), 5);
    let submit = Screening::Submit { leader_user_id: desk.users[0], category_id: desk.category, comment: None };
    s.screen_item(item.id, submit, &office, &meta(10)).await.unwrap();
    let late = Correction::new(None, None, Some("再改")).unwrap();
    assert_eq!(refusal(s.correct_item(item.id, late, &office, at(20)).await), "direct_line_wrong_state");
    let changes = s.changes_after(ChangeCursor::default(), 1000).await.unwrap();
    let ours = changes.iter().filter(|c| c.entity == ChangeEntity::DirectLine && c.key == item.id.to_string());
    assert_eq!(ours.filter(|c| c.kind == "corrected").count(), 4, "one change per recorded correction");
}
