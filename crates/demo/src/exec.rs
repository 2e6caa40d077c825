//! Running the history plan against a store: intakes one by one in
//! received-time order (tracking numbers are assigned per day in intake
//! order, so they come out the same for a seed), the later steps of
//! different requests concurrently so the store can batch their commits.

use std::collections::HashMap;

use tokio::task::JoinSet;

use mashangban_domain::calendar::WorkCalendar;
use mashangban_domain::lifecycle::Action;
use mashangban_domain::org::{AccountActor, Actor, Role, Scope, StaffActor, UnitId, UserId};
use mashangban_domain::request::{CategoryId, Location, NewRequest, RequestId};
use mashangban_domain::time::format_instant;
use mashangban_store::{Command, ListFilter, Meta, Store};

use crate::plan::{self, PlannedAction, PlannedRequest, PlannedStep, Who};
use crate::{DemoData, DemoError, HistoryOptions, demo_users};

/// Request paths (one request, or a request and its merged duplicates) in flight at once.
const MAX_IN_FLIGHT: usize = 64;

/// A demo account as the history needs it.
#[derive(Debug, Clone)]
pub(crate) struct FoundUser {
    pub id: UserId,
    pub name: String,
    pub unit_id: Option<UnitId>,
}

/// Codes of the plan resolved to the store's ids, and the actors.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    units: HashMap<String, (UnitId, String)>,
    categories: HashMap<String, CategoryId>,
    operator: StaffActor,
    dispatcher: StaffActor,
    api_client: StaffActor,
    enterprise: Option<AccountActor>,
}

impl Resolved {
    /// `units`: code → (id, display name); `categories`: code → id;
    /// `users`: the demo accounts found in the store, by username.
    pub fn new(
        data: &DemoData,
        units: HashMap<String, (UnitId, String)>,
        categories: HashMap<String, CategoryId>,
        users: &HashMap<String, FoundUser>,
    ) -> Result<Self, DemoError> {
        let specs = demo_users(data);
        let staff = |username: &str, role: Role| -> Result<StaffActor, DemoError> {
            let spec = specs.iter().find(|u| u.username == username);
            let found = users.get(username);
            let unit_id = found
                .and_then(|u| u.unit_id)
                .or_else(|| spec.and_then(|s| s.unit_code.as_deref()).and_then(|c| units.get(c)).map(|(id, _)| *id))
                .ok_or_else(|| DemoError(format!("演示账号「{username}」的所属单位不存在，请先加载组织架构")))?;
            let name = found
                .map(|u| u.name.clone())
                .or_else(|| spec.map(|s| s.display_name.clone()))
                .unwrap_or_else(|| role.label().to_owned());
            Ok(StaffActor { user_id: found.map(|u| u.id), name, role, unit_id, units: vec![unit_id], town_id: None })
        };
        let operator = staff("operator", Role::Operator)?;
        let dispatcher = staff("dispatcher", Role::Dispatcher)?;
        let api_client = StaffActor {
            user_id: None,
            name: "12345平台开放接口".to_owned(),
            role: Role::Operator,
            unit_id: operator.unit_id,
            units: vec![operator.unit_id],
            town_id: None,
        };
        let enterprise_code = crate::demo_enterprise()?.0.as_str().to_owned();
        let enterprise = users.get("enterprise").map(|u| AccountActor {
            user_id: u.id,
            name: u.name.clone(),
            role: Role::Enterprise,
            credit_code: Some(enterprise_code.clone()),
        });
        Ok(Self { units, categories, operator, dispatcher, api_client, enterprise })
    }

    pub(crate) fn unit(&self, code: &str) -> Result<UnitId, DemoError> {
        self.units
            .get(code)
            .map(|(id, _)| *id)
            .ok_or_else(|| DemoError(format!("单位「{code}」不存在，请先加载组织架构")))
    }

    pub(crate) fn category(&self, code: &str) -> Result<CategoryId, DemoError> {
        self.categories.get(code).copied().ok_or_else(|| DemoError(format!("分类「{code}」不存在，请先加载事项分类")))
    }

    pub fn actor(&self, who: &Who) -> Result<Actor, DemoError> {
        Ok(match who {
            Who::Operator => Actor::Staff(self.operator.clone()),
            Who::Dispatcher => Actor::Staff(self.dispatcher.clone()),
            Who::ApiClient => Actor::Staff(self.api_client.clone()),
            Who::Unit(code) => {
                let (unit_id, name) =
                    self.units.get(code).ok_or_else(|| DemoError(format!("单位「{code}」不存在，请先加载组织架构")))?;
                Actor::Staff(StaffActor {
                    user_id: None,
                    name: format!("{name}承办人"),
                    role: Role::Handler,
                    unit_id: *unit_id,
                    units: vec![*unit_id],
                    town_id: None,
                })
            }
            Who::Asker => Actor::PublicAsker,
            Who::Anonymous => Actor::PublicAsker,
            Who::Enterprise => match &self.enterprise {
                Some(account) => Actor::Account(account.clone()),
                None => Actor::PublicAsker,
            },
        })
    }

    /// The intake of a planned request.
    pub fn new_request(&self, r: &PlannedRequest) -> Result<NewRequest, DemoError> {
        let submitted_by = match (&r.intake_by, &self.enterprise) {
            (Who::Enterprise, Some(account)) => Some(account.user_id),
            _ => None,
        };
        Ok(NewRequest {
            kind: r.kind,
            urgency: r.urgency,
            channel: r.channel,
            asker: r.asker.clone(),
            contact: r.contact.clone(),
            title: r.title.clone(),
            content: r.content.clone(),
            category_id: self.category(&r.category)?,
            location: Location {
                town_id: r.town.as_deref().map(|t| self.unit(t)).transpose()?,
                address: r.address.clone(),
                point: None,
            },
            ledger_ref: None,
            check_code: r.check_code.clone(),
            submitted_by,
            due_at: r.due_at,
            deadlines: r.deadlines,
            time_limits: Some(r.time_limits),
            card: None,
            visit: None,
            screening: None,
        })
    }

    /// The lifecycle action of a planned step; `parent_id` gives the
    /// request id of an earlier request of the plan.
    pub fn action(
        &self,
        action: &PlannedAction,
        parent_id: impl Fn(usize) -> Option<RequestId>,
    ) -> Result<Action, DemoError> {
        Ok(match action.clone() {
            PlannedAction::Dispatch { lead, co, comment } => Action::Dispatch {
                lead: self.unit(&lead)?,
                co: co.iter().map(|c| self.unit(c)).collect::<Result<_, _>>()?,
                comment,
            },
            PlannedAction::SignFor => Action::SignFor { comment: None },
            PlannedAction::Return { reason } => Action::Return { reason },
            PlannedAction::Redispatch { lead, comment } => {
                Action::Redispatch { lead: self.unit(&lead)?, co: Vec::new(), comment, due: None }
            }
            PlannedAction::RefuseReturn { reason } => Action::RefuseReturn { reason, due: None },
            PlannedAction::StageReply { content } => Action::StageReply { content },
            PlannedAction::Suspend { reason } => Action::Suspend { reason },
            PlannedAction::Resume => Action::Resume { comment: None },
            PlannedAction::RequestExtension { requested_due, reason } => {
                Action::RequestExtension { requested_due, reason }
            }
            PlannedAction::ApproveExtension => Action::ApproveExtension { comment: None },
            PlannedAction::RefuseExtension { reason } => Action::RefuseExtension { reason },
            PlannedAction::Reply { content } => Action::Reply { content },
            PlannedAction::Close { comment } => Action::Close { comment },
            PlannedAction::DirectClose { answer } => Action::DirectClose { answer },
            PlannedAction::FollowUp { rating, resolved, comment } => Action::FollowUp { rating, resolved, comment },
            PlannedAction::Reopen { reason } => Action::Reopen { reason },
            PlannedAction::Merge { parent } => Action::Merge {
                parent_id: parent_id(parent)
                    .ok_or_else(|| DemoError(format!("并单的主诉求（计划第{parent}件）尚未受理")))?,
            },
            PlannedAction::Withdraw { reason } => Action::Withdraw { reason: Some(reason) },
            PlannedAction::Archive => Action::Archive,
            PlannedAction::CoAnswer { content } => Action::CoAnswer { content },
        })
    }
}

/// Looks up the store's ids and the demo accounts.
pub(crate) async fn resolve<S: Store>(store: &S, data: &DemoData) -> Result<Resolved, DemoError> {
    let units = store
        .list_units()
        .await
        .map_err(|e| DemoError(format!("读取组织架构失败：{e}")))?
        .into_iter()
        .map(|u| {
            let name = u.display_name().to_owned();
            (u.code, (u.id, name))
        })
        .collect();
    let categories = store
        .list_categories()
        .await
        .map_err(|e| DemoError(format!("读取事项分类失败：{e}")))?
        .into_iter()
        .map(|c| (c.code, c.id))
        .collect();
    let mut users = HashMap::new();
    for username in ["operator", "dispatcher", "enterprise"] {
        if let Some(u) =
            store.find_user(username).await.map_err(|e| DemoError(format!("查找演示账号「{username}」失败：{e}")))?
        {
            users.insert(username.to_owned(), FoundUser { id: u.id, name: u.display_name, unit_id: u.unit_id });
        }
    }
    Resolved::new(data, units, categories, &users)
}

/// One step ready to run.
struct Ready {
    tracking_no: String,
    step_no: usize,
    label: &'static str,
    command: Command,
}

pub(crate) async fn generate_history<S: Store>(
    store: &S,
    data: &DemoData,
    options: &HistoryOptions,
    progress: &(impl Fn(u64, u64) + Send + Sync),
) -> Result<usize, DemoError> {
    let existing = store
        .list(&ListFilter { limit: 1, ..ListFilter::default() }, &Scope::All)
        .await
        .map_err(|e| DemoError(format!("检查已有诉求失败：{e}")))?;
    if !existing.items.is_empty() {
        return Ok(0);
    }
    let calendar =
        std::sync::Arc::new(WorkCalendar::bundled().map_err(|e| DemoError(format!("加载工作日历失败：{e}")))?);
    let mut plan = plan::build(data, options, &calendar)?;
    let resolved = resolve(store, data).await?;
    let total = plan.len() as u64;
    if plan.is_empty() {
        return Ok(0);
    }

    // A request and its merged duplicates run as one path ("cluster"), in
    // time order, so each merge finds its parent open. A cluster starts once
    // its last member has been taken in.
    let root: Vec<usize> = plan.iter().enumerate().map(|(i, r)| r.merge_parent().unwrap_or(i)).collect();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); plan.len()];
    for (i, &r) in root.iter().enumerate() {
        if let Some(m) = members.get_mut(r) {
            m.push(i);
        }
    }
    let mut start_after: Vec<Vec<usize>> = vec![Vec::new(); plan.len()];
    for (r, m) in members.iter().enumerate() {
        if let Some(&last) = m.iter().max() {
            start_after[last].push(r);
        }
    }

    let mut ids: Vec<RequestId> = Vec::with_capacity(plan.len());
    let mut tracking: Vec<String> = Vec::with_capacity(plan.len());
    let mut running: JoinSet<Result<u64, DemoError>> = JoinSet::new();
    let mut done: u64 = 0;
    for i in 0..plan.len() {
        let request = &plan[i];
        let new = resolved.new_request(request)?;
        let actor = resolved.actor(&request.intake_by)?;
        let meta = Meta { now: request.received_at, client_ip: None };
        let taken = store.intake(new, &actor, &meta).await.map_err(|e| {
            DemoError(format!("受理第{}件历史诉求（{}）失败：{e}", i + 1, format_instant(&request.received_at)))
        })?;
        ids.push(taken.id);
        tracking.push(taken.tracking_no);

        for &r in &start_after[i] {
            let mut steps: Vec<(usize, usize, PlannedStep)> = Vec::new();
            for &m in &members[r] {
                let own = std::mem::take(&mut plan[m].steps);
                steps.extend(own.into_iter().enumerate().map(|(n, s)| (m, n, s)));
            }
            steps.sort_by_key(|(m, n, step)| (step.at, *m, *n));
            let mut ready = Vec::with_capacity(steps.len());
            for (m, n, step) in steps {
                let action = resolved.action(&step.action, |p| ids.get(p).copied())?;
                ready.push(Ready {
                    tracking_no: tracking[m].clone(),
                    step_no: n + 1,
                    label: step.action.name(),
                    command: Command {
                        tracking_no: tracking[m].clone(),
                        scope: Scope::All,
                        actor: resolved.actor(&step.who)?,
                        action,
                        attachment_ids: Vec::new(),
                        meta: Meta { now: step.at, client_ip: None },
                        calendar: Some(std::sync::Arc::clone(&calendar)),
                        expected_version: None,
                    },
                });
            }
            let count = members[r].len() as u64;
            if ready.is_empty() {
                done += count;
                progress(done, total);
                continue;
            }
            while running.len() >= MAX_IN_FLIGHT {
                if let Some(finished) = running.join_next().await {
                    done += finished_count(finished)?;
                    progress(done, total);
                }
            }
            let store = store.clone();
            running.spawn(async move {
                for step in ready {
                    let at = format_instant(&step.command.meta.now);
                    store.act(step.command).await.map_err(|e| {
                        DemoError(format!(
                            "历史诉求 {} 第{}步「{}」（{at}）被拒绝：{e}",
                            step.tracking_no, step.step_no, step.label
                        ))
                    })?;
                }
                Ok(count)
            });
        }
        while let Some(finished) = running.try_join_next() {
            done += finished_count(finished)?;
            progress(done, total);
        }
    }
    while let Some(finished) = running.join_next().await {
        done += finished_count(finished)?;
        progress(done, total);
    }
    Ok(plan.len())
}

fn finished_count(result: Result<Result<u64, DemoError>, tokio::task::JoinError>) -> Result<u64, DemoError> {
    match result {
        Ok(outcome) => outcome,
        Err(e) => Err(DemoError(format!("生成历史诉求的任务异常终止：{e}"))),
    }
}
