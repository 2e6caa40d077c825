//! Access (权限): the permissions of the platform, which roles grant each,
//! and what a route or use case requires. Declared once, as data: the web
//! layer enforces [`Access`] before a handler runs, documents it in the
//! OpenAPI document and builds the staff menu from it. Which requests a
//! person sees is the separate data scope, [`Actor::scope`].

use serde::Serialize;

use crate::org::{Actor, Role};

/// Something a person may be allowed to do (权限), beyond being signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
pub enum Permission {
    /// Take in requests (受理诉求) on the API, as staff or as an account.
    Intake,
    /// Use the operator's console (受理台).
    Console,
    /// Read the standard answers (查阅知识库).
    ReadKnowledge,
    /// Write and deactivate standard answers (维护知识库).
    ManageKnowledge,
    /// Read the enterprise registry (企业名录) within the enterprise scope.
    ReadEnterprises,
    /// Create, change, import and export enterprise records (维护企业名录).
    ManageEnterprises,
    /// Assign and unassign liaison cadres (安排联系干部) and keep their profiles.
    ManageLiaisons,
    /// Print contact cards (打印联系卡) of enterprises in the enterprise scope.
    PrintCards,
    /// Read every published version of the time-limit rules.
    ReadRuleVersions,
    /// Publish time-limit rules (时限规则).
    ManageRules,
    /// Change holiday years and working hours (工作日历).
    ManageCalendar,
    /// Read department scores (考核); unit-bound roles only their own units.
    ReadScores,
    /// Read the city-wide leader dashboard (领导驾驶舱).
    ReadDashboard,
    /// Watch every unit's deadlines (督查督办).
    Oversee,
    /// Rebuild the scoring and dashboard rollups from the records.
    RebuildRollups,
    /// Change the org tree (组织架构).
    ManageOrg,
    /// Create users, change roles, disable accounts, reset passwords.
    ManageUsers,
    /// Change the categories and the dispatch catalogue (事项分类与派单目录).
    ManageCatalog,
    /// Manage notification delivery: outbox, templates, webhooks, e-mail addresses.
    ManageNotifications,
    /// Read approval projects, their steps, the record table and the reports (拿地即开工).
    ReadApprovals,
    /// Create approval projects and record their land transaction (拿地即开工项目管理).
    ManageApprovals,
    /// Record the pre-review, start and issue of the steps one's own unit owns (审批办理).
    RecordApprovals,
    /// See the client address of each step in a request's history (审计). A
    /// permission of the views, not of a route.
    SeeClientAddresses,
    /// Read ledgers (查看台账) within the ledger scope; stage moves are decided by the type's role keys.
    ReadLedgers,
    /// Create, change, import ledger items (维护台账) within the ledger scope.
    EditLedgers,
    /// Save new versions of ledger types and name their offices (管理台账类型).
    ManageLedgerTypes,
    /// Read the statistics panel (查看数说): cards, history, Excel export.
    ReadStatistics,
    /// Enter, correct and import statistics values and save the indicator catalogue (维护统计数据).
    ManageStatistics,
    /// Read monitoring points, their readings and alerts (在线监测).
    ReadMonitoring,
    /// Create and change monitoring points and upload readings (维护监测点位).
    ManageMonitoring,
    /// Dismiss the alerts of points one's own unit is responsible for (处置超标报警).
    HandleMonitoringAlerts,
    /// Apply to the industry support fund (申报扶持资金): an enterprise for
    /// itself, a liaison cadre for the enterprises assigned to them.
    ApplyFund,
    /// First review (初审) of the fund applications of one's own town.
    ReviewFundTown,
    /// Second review (复审), public notice, payment and answers to objections.
    ReviewFundDepartment,
    /// Create support-fund policies and their measures (管理扶持政策).
    ManageFund,
    /// Read visits to enterprises (查看走访) within the enterprise scope.
    ReadVisits,
    /// Plan and record visits and walking-office sessions (走访记录).
    RecordVisits,
    /// Read the visit reports by cadre, town and month, and export them (走访统计).
    ReadVisitReports,
    /// Read inspections and enforcement cases (查看环境执法), within one's unit for unit-bound roles.
    ReadEnforcement,
    /// Record inspections, open cases from alerts and inspections and move them on (办理环境执法);
    /// deciding and closing are further limited to the unit's leader by the domain.
    HandleEnforcement,
    /// Keep the expert pool of ecological-damage compensation (管理专家库): add experts,
    /// take them out, see their declared conflicts of interest.
    ManageExperts,
    /// See the suggested lead units of a request (派单建议).
    SuggestDispatch,
    /// Retrain the dispatch model and read its evaluation (派单模型).
    ManageDispatchModel,
    /// Set the thresholds of duplicate and hot-issue detection (administrators).
    ManageDuplicateThresholds,
    /// Read the submissions held by spam screening (待甄别) and their scores; releasing and marking
    /// spam are lifecycle actions with their own rule.
    ScreenSubmissions,
    /// Set the spam-screening phrases and threshold, retrain its classifier and read its evaluation.
    ManageScreening,
    /// Read one's own inbox (消息提醒) and choose its SMS and e-mail copies.
    UseInbox,
    /// Read direct-line items (查看书记市长直通车) within the item scope.
    ReadDirectLine,
    /// Enter, screen, merge and put before a leader direct-line items, and review
    /// their replies (办理书记市长直通车).
    HandleDirectLine,
    /// Write an instruction (批示) on a direct-line item put before oneself.
    InstructDirectLine,
    /// Send an instructed direct-line item back to the leaders' office (退回), as its lead unit.
    ReturnDirectLine,
    /// Read the direct line's monthly report and export it (直通车月报).
    ReadDirectLineReports,
    /// Read command centres (查看指挥部): targets, ranking, tasks within the task scope.
    ReadCommand,
    /// Work on command-centre tasks (办理指挥部任务): the assigned unit reports; the centre's
    /// office sets targets, assigns, urges, supervises and declares done (decided by the data).
    WorkCommand,
    /// Edit command centres' definitions (管理指挥部).
    ManageCommand,
    /// Dispatch several requests of one category to one unit at once (批量派单).
    BulkDispatch,
    /// Urge several requests at once (批量催办).
    BulkUrge,
    /// Save the work page's filters under a name (保存视图), one's own only.
    SaveViews,
    /// Rate and ask to reopen (评价、申请重办) the requests one's own account submitted, the
    /// session standing in for the check code. Accounts only: staff never act as the asker.
    ActOnOwnRequests,
    /// Read one's unit leader's desk (单位负责人工作台): replies waiting for review and the
    /// sub-units' load.
    ReadUnitDesk,
    /// Read on-site service requests (查看上门服务) within their scope: an enterprise its own, a
    /// centre's staff their centre's; and the service catalogue and centres.
    ReadOnsite,
    /// Ask a service centre to come (申请上门服务), confirm a proposed date, withdraw and rate.
    RequestOnsite,
    /// Accept, propose another date, refuse and record what was handled (办理上门服务).
    HandleOnsite,
    /// Keep the service catalogue and the centres with their daily capacity (管理上门服务目录).
    ManageOnsiteCatalog,
    /// Read the on-site service report per centre (上门服务统计).
    ReadOnsiteReports,
}

/// Every staff role (工作人员).
const STAFF: &[Role] = &STAFF_ROLES;
const STAFF_ROLES: [Role; 9] = [
    Role::Operator,
    Role::Dispatcher,
    Role::Handler,
    Role::UnitLeader,
    Role::Supervisor,
    Role::CityLeader,
    Role::Admin,
    Role::Liaison,
    Role::LeadersOffice,
];

/// Every staff role and the statistics office (统计人员), who read the statistics panel: the
/// statistics office holds nothing else of [`STAFF`]'s (no requests, enterprises or inbox).
const STATISTICS_READERS: &[Role] = &{
    let mut roles = [Role::Statistician; STAFF_ROLES.len() + 1];
    let mut i = 0;
    while i < STAFF_ROLES.len() {
        roles[i] = STAFF_ROLES[i];
        i += 1;
    }
    roles
};

/// Which roles grant each permission: the one table of access.
pub const GRANTS: &[(Permission, &[Role])] = &[
    (Permission::Intake, &[Role::Operator, Role::Dispatcher, Role::Enterprise, Role::Resident]),
    (Permission::Console, &[Role::Operator]),
    (Permission::ReadKnowledge, STAFF),
    (Permission::ManageKnowledge, &[Role::Admin]),
    (Permission::ReadEnterprises, STAFF),
    (Permission::ManageEnterprises, &[Role::Admin, Role::Dispatcher]),
    (Permission::ManageLiaisons, &[Role::Admin, Role::Dispatcher]),
    (Permission::PrintCards, &[Role::Admin, Role::Dispatcher, Role::UnitLeader, Role::Liaison]),
    (Permission::ReadRuleVersions, &[Role::Admin, Role::Supervisor]),
    (Permission::ManageRules, &[Role::Admin]),
    (Permission::ManageCalendar, &[Role::Admin]),
    (Permission::ReadScores, &[Role::Supervisor, Role::CityLeader, Role::Admin, Role::Dispatcher, Role::UnitLeader]),
    (Permission::ReadDashboard, &[Role::CityLeader, Role::Supervisor, Role::Admin]),
    (Permission::Oversee, &[Role::Supervisor, Role::CityLeader, Role::Admin]),
    (Permission::RebuildRollups, &[Role::Admin]),
    (Permission::ManageOrg, &[Role::Admin]),
    (Permission::ManageUsers, &[Role::Admin]),
    (Permission::ManageCatalog, &[Role::Admin]),
    (Permission::ManageNotifications, &[Role::Admin]),
    (Permission::SeeClientAddresses, &[Role::Supervisor, Role::Admin, Role::Dispatcher]),
    (Permission::ReadApprovals, STAFF),
    (Permission::ManageApprovals, &[Role::Admin, Role::Dispatcher]),
    (Permission::RecordApprovals, &[Role::Handler, Role::UnitLeader]),
    (Permission::ReadLedgers, &[Role::Handler, Role::UnitLeader, Role::Supervisor, Role::CityLeader, Role::Admin]),
    (Permission::EditLedgers, &[Role::Handler, Role::UnitLeader, Role::Admin]),
    (Permission::ManageLedgerTypes, &[Role::Admin]),
    // Every member of staff reads the panel (values under correction sit there too, so the public sees
    // only what the statistics office published); the statistics office and administrators keep the data.
    (Permission::ReadStatistics, STATISTICS_READERS),
    (Permission::ManageStatistics, &[Role::Statistician, Role::Admin]),
    (Permission::ReadMonitoring, STAFF),
    (Permission::ManageMonitoring, &[Role::Admin, Role::Dispatcher]),
    (Permission::HandleMonitoringAlerts, &[Role::Handler, Role::UnitLeader, Role::Admin]),
    (Permission::ApplyFund, &[Role::Enterprise, Role::Liaison]),
    (Permission::ReviewFundTown, &[Role::Handler, Role::UnitLeader]),
    (Permission::ReviewFundDepartment, &[Role::Dispatcher, Role::Admin]),
    (Permission::ManageFund, &[Role::Admin]),
    (Permission::ReadVisits, STAFF),
    // Liaison cadres, town staff, city leaders and the 马上办 office (dispatchers).
    (
        Permission::RecordVisits,
        &[Role::Liaison, Role::Handler, Role::UnitLeader, Role::CityLeader, Role::Dispatcher, Role::Admin],
    ),
    (
        Permission::ReadVisitReports,
        &[Role::CityLeader, Role::Supervisor, Role::Admin, Role::Dispatcher, Role::UnitLeader],
    ),
    (Permission::ReadEnforcement, &[Role::Handler, Role::UnitLeader, Role::Supervisor, Role::CityLeader, Role::Admin]),
    (Permission::HandleEnforcement, &[Role::Handler, Role::UnitLeader, Role::Admin]),
    (Permission::ManageExperts, &[Role::Admin]),
    (Permission::SuggestDispatch, &[Role::Operator, Role::Dispatcher, Role::Admin]),
    (Permission::ManageDispatchModel, &[Role::Admin]),
    (Permission::ManageDuplicateThresholds, &[Role::Admin]),
    (Permission::ScreenSubmissions, &[Role::Operator, Role::Dispatcher, Role::Admin]),
    (Permission::ManageScreening, &[Role::Admin]),
    (Permission::UseInbox, STAFF),
    (
        Permission::ReadDirectLine,
        &[Role::LeadersOffice, Role::CityLeader, Role::Handler, Role::UnitLeader, Role::Supervisor, Role::Admin],
    ),
    (Permission::HandleDirectLine, &[Role::LeadersOffice]),
    (Permission::InstructDirectLine, &[Role::CityLeader]),
    (Permission::ReturnDirectLine, &[Role::Handler, Role::UnitLeader]),
    (Permission::ReadDirectLineReports, &[Role::LeadersOffice, Role::CityLeader, Role::Supervisor, Role::Admin]),
    (Permission::ReadCommand, &[Role::Handler, Role::UnitLeader, Role::Supervisor, Role::CityLeader, Role::Admin]),
    (Permission::WorkCommand, &[Role::Handler, Role::UnitLeader, Role::Admin]),
    (Permission::ManageCommand, &[Role::Admin]),
    (Permission::BulkDispatch, &[Role::Dispatcher]),
    (Permission::BulkUrge, &[Role::Dispatcher, Role::Supervisor]),
    (Permission::SaveViews, STAFF),
    (Permission::ActOnOwnRequests, &[Role::Enterprise, Role::Resident]),
    (Permission::ReadUnitDesk, &[Role::UnitLeader]),
    (Permission::ReadOnsite, &[Role::Enterprise, Role::ServiceCentre, Role::Supervisor, Role::CityLeader, Role::Admin]),
    (Permission::RequestOnsite, &[Role::Enterprise]),
    (Permission::HandleOnsite, &[Role::ServiceCentre, Role::Admin]),
    (Permission::ManageOnsiteCatalog, &[Role::Admin]),
    (Permission::ReadOnsiteReports, &[Role::ServiceCentre, Role::Supervisor, Role::CityLeader, Role::Admin]),
];

impl Permission {
    pub const ALL: &'static [Permission] = &[
        Permission::Intake,
        Permission::Console,
        Permission::ReadKnowledge,
        Permission::ManageKnowledge,
        Permission::ReadEnterprises,
        Permission::ManageEnterprises,
        Permission::ManageLiaisons,
        Permission::PrintCards,
        Permission::ReadRuleVersions,
        Permission::ManageRules,
        Permission::ManageCalendar,
        Permission::ReadScores,
        Permission::ReadDashboard,
        Permission::Oversee,
        Permission::RebuildRollups,
        Permission::ManageOrg,
        Permission::ManageUsers,
        Permission::ManageCatalog,
        Permission::ManageNotifications,
        Permission::SeeClientAddresses,
        Permission::ReadApprovals,
        Permission::ManageApprovals,
        Permission::RecordApprovals,
        Permission::ReadLedgers,
        Permission::EditLedgers,
        Permission::ManageLedgerTypes,
        Permission::ReadStatistics,
        Permission::ManageStatistics,
        Permission::ReadMonitoring,
        Permission::ManageMonitoring,
        Permission::HandleMonitoringAlerts,
        Permission::ApplyFund,
        Permission::ReviewFundTown,
        Permission::ReviewFundDepartment,
        Permission::ManageFund,
        Permission::ReadVisits,
        Permission::RecordVisits,
        Permission::ReadVisitReports,
        Permission::ReadEnforcement,
        Permission::HandleEnforcement,
        Permission::ManageExperts,
        Permission::SuggestDispatch,
        Permission::ManageDispatchModel,
        Permission::ManageDuplicateThresholds,
        Permission::ScreenSubmissions,
        Permission::ManageScreening,
        Permission::UseInbox,
        Permission::ReadDirectLine,
        Permission::HandleDirectLine,
        Permission::InstructDirectLine,
        Permission::ReturnDirectLine,
        Permission::ReadDirectLineReports,
        Permission::ReadCommand,
        Permission::WorkCommand,
        Permission::ManageCommand,
        Permission::BulkDispatch,
        Permission::BulkUrge,
        Permission::SaveViews,
        Permission::ActOnOwnRequests,
        Permission::ReadUnitDesk,
        Permission::ReadOnsite,
        Permission::RequestOnsite,
        Permission::HandleOnsite,
        Permission::ManageOnsiteCatalog,
        Permission::ReadOnsiteReports,
    ];

    /// The stable code (API documents, logs).
    pub fn code(self) -> &'static str {
        match self {
            Self::Intake => "requests.intake",
            Self::Console => "requests.console",
            Self::ReadKnowledge => "knowledge.read",
            Self::ManageKnowledge => "knowledge.manage",
            Self::ReadEnterprises => "enterprises.read",
            Self::ManageEnterprises => "enterprises.manage",
            Self::ManageLiaisons => "liaisons.manage",
            Self::PrintCards => "liaisons.cards",
            Self::ReadRuleVersions => "rules.versions",
            Self::ManageRules => "rules.manage",
            Self::ManageCalendar => "calendar.manage",
            Self::ReadScores => "scores.read",
            Self::ReadDashboard => "dashboard.read",
            Self::Oversee => "deadlines.oversee",
            Self::RebuildRollups => "rollups.rebuild",
            Self::ManageOrg => "org.manage",
            Self::ManageUsers => "users.manage",
            Self::ManageCatalog => "catalog.manage",
            Self::ManageNotifications => "notifications.manage",
            Self::SeeClientAddresses => "audit.client_addresses",
            Self::ReadApprovals => "approvals.read",
            Self::ManageApprovals => "approvals.manage",
            Self::RecordApprovals => "approvals.record",
            Self::ReadLedgers => "ledgers.read",
            Self::EditLedgers => "ledgers.edit",
            Self::ManageLedgerTypes => "ledgers.types",
            Self::ReadStatistics => "statistics.read",
            Self::ManageStatistics => "statistics.manage",
            Self::ReadMonitoring => "monitoring.read",
            Self::ManageMonitoring => "monitoring.manage",
            Self::HandleMonitoringAlerts => "monitoring.alerts",
            Self::ApplyFund => "fund.apply",
            Self::ReviewFundTown => "fund.review_town",
            Self::ReviewFundDepartment => "fund.review_department",
            Self::ManageFund => "fund.manage",
            Self::ReadVisits => "visits.read",
            Self::RecordVisits => "visits.record",
            Self::ReadVisitReports => "visits.reports",
            Self::ReadEnforcement => "enforcement.read",
            Self::HandleEnforcement => "enforcement.handle",
            Self::ManageExperts => "compensation.experts",
            Self::SuggestDispatch => "dispatch.suggest",
            Self::ManageDispatchModel => "dispatch.model",
            Self::ManageDuplicateThresholds => "dispatch.duplicate_thresholds",
            Self::ScreenSubmissions => "screening.read",
            Self::ManageScreening => "screening.manage",
            Self::UseInbox => "inbox.use",
            Self::ReadDirectLine => "direct_line.read",
            Self::HandleDirectLine => "direct_line.handle",
            Self::InstructDirectLine => "direct_line.instruct",
            Self::ReturnDirectLine => "direct_line.return",
            Self::ReadDirectLineReports => "direct_line.reports",
            Self::ReadCommand => "command.read",
            Self::WorkCommand => "command.work",
            Self::ManageCommand => "command.manage",
            Self::BulkDispatch => "requests.bulk_dispatch",
            Self::BulkUrge => "requests.bulk_urge",
            Self::SaveViews => "views.save",
            Self::ActOnOwnRequests => "requests.own",
            Self::ReadUnitDesk => "requests.unit_desk",
            Self::ReadOnsite => "onsite.read",
            Self::RequestOnsite => "onsite.request",
            Self::HandleOnsite => "onsite.handle",
            Self::ManageOnsiteCatalog => "onsite.catalog",
            Self::ReadOnsiteReports => "onsite.reports",
        }
    }

    /// What it allows, in Chinese (completes 「您的角色无权……」).
    pub fn label(self) -> &'static str {
        match self {
            Self::Intake => "受理诉求",
            Self::Console => "使用受理台",
            Self::ReadKnowledge => "查阅知识库",
            Self::ManageKnowledge => "维护知识库",
            Self::ReadEnterprises => "查看企业名录",
            Self::ManageEnterprises => "维护企业名录",
            Self::ManageLiaisons => "安排联系干部",
            Self::PrintCards => "打印联系卡",
            Self::ReadRuleVersions => "查看时限规则的历史版本",
            Self::ManageRules => "发布时限规则",
            Self::ManageCalendar => "维护工作日历",
            Self::ReadScores => "查看考核结果",
            Self::ReadDashboard => "查看全市驾驶舱",
            Self::Oversee => "使用督查督办",
            Self::RebuildRollups => "重建统计汇总",
            Self::ManageOrg => "管理组织架构",
            Self::ManageUsers => "管理用户与角色",
            Self::ManageCatalog => "管理事项分类与派单目录",
            Self::ManageNotifications => "管理通知发送",
            Self::SeeClientAddresses => "查看办理记录的来源地址",
            Self::ReadApprovals => "查看拿地即开工审批项目",
            Self::ManageApprovals => "管理拿地即开工审批项目",
            Self::RecordApprovals => "办理拿地即开工审批步骤",
            Self::ReadLedgers => "查看台账",
            Self::EditLedgers => "维护台账",
            Self::ManageLedgerTypes => "管理台账类型",
            Self::ReadStatistics => "查看数说统计面板",
            Self::ManageStatistics => "维护统计数据",
            Self::ReadMonitoring => "查看在线监测",
            Self::ManageMonitoring => "维护监测点位",
            Self::HandleMonitoringAlerts => "处置超标报警",
            Self::ApplyFund => "申报产业扶持资金",
            Self::ReviewFundTown => "初审产业扶持资金申报",
            Self::ReviewFundDepartment => "复审、公示和拨付产业扶持资金",
            Self::ManageFund => "管理产业扶持政策",
            Self::ReadVisits => "查看走访记录",
            Self::RecordVisits => "计划和记录走访",
            Self::ReadVisitReports => "查看走访统计",
            Self::ReadEnforcement => "查看环境执法案件",
            Self::HandleEnforcement => "办理环境执法案件",
            Self::ManageExperts => "管理生态环境损害赔偿专家库",
            Self::SuggestDispatch => "查看派单建议",
            Self::ManageDispatchModel => "训练和评估派单模型",
            Self::ManageDuplicateThresholds => "设置疑似重复与热点问题阈值",
            Self::ScreenSubmissions => "查看待甄别诉求",
            Self::ManageScreening => "管理垃圾信息甄别",
            Self::UseInbox => "使用消息提醒",
            Self::ReadDirectLine => "查看书记市长直通车",
            Self::HandleDirectLine => "办理书记市长直通车",
            Self::InstructDirectLine => "批示书记市长直通车",
            Self::ReturnDirectLine => "退回直通车批示件",
            Self::ReadDirectLineReports => "查看直通车月报",
            Self::ReadCommand => "查看指挥部",
            Self::WorkCommand => "办理指挥部任务",
            Self::ManageCommand => "管理指挥部",
            Self::BulkDispatch => "批量派单",
            Self::BulkUrge => "批量催办",
            Self::SaveViews => "保存视图",
            Self::ActOnOwnRequests => "评价或申请重办本人提交的诉求",
            Self::ReadUnitDesk => "查看单位负责人工作台（待审核、科室负荷）",
            Self::ReadOnsite => "查看上门服务",
            Self::RequestOnsite => "申请上门服务",
            Self::HandleOnsite => "办理上门服务",
            Self::ManageOnsiteCatalog => "管理上门服务事项目录和服务中心",
            Self::ReadOnsiteReports => "查看上门服务统计",
        }
    }

    /// The roles that grant it, from [`GRANTS`].
    pub fn roles(self) -> &'static [Role] {
        GRANTS.iter().find(|(p, _)| *p == self).map_or(&[], |(_, roles)| *roles)
    }

    /// The message of a refusal for lack of this permission.
    pub fn refusal(self) -> String {
        format!("您的角色无权{}", self.label())
    }
}

impl From<Permission> for &'static str {
    fn from(p: Permission) -> Self {
        p.code()
    }
}

impl Role {
    /// Whether this role grants `permission`.
    pub fn grants(self, permission: Permission) -> bool {
        permission.roles().contains(&self)
    }
}

/// What a route or use case requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Anyone signed in (staff, accounts, API tokens); the data scope does the rest.
    SignedIn,
    /// Someone whose role grants the permission.
    Permission(Permission),
}

/// Why an actor may not pass an [`Access`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not signed in (HTTP 401).
    Unauthenticated,
    /// Signed in, but the role lacks the permission (HTTP 403).
    Forbidden(Permission),
}

impl Access {
    /// Whether `actor` may pass.
    pub fn check(self, actor: &Actor) -> Result<(), Refusal> {
        match (self, actor.role()) {
            (Self::Public, _) => Ok(()),
            (_, None) => Err(Refusal::Unauthenticated),
            (Self::SignedIn, Some(_)) => Ok(()),
            (Self::Permission(p), Some(role)) if role.grants(p) => Ok(()),
            (Self::Permission(p), Some(_)) => Err(Refusal::Forbidden(p)),
        }
    }

    /// The roles that pass (every role for public and signed-in access).
    pub fn roles(self) -> Vec<Role> {
        match self {
            Self::Public | Self::SignedIn => Role::ALL.to_vec(),
            Self::Permission(p) => p.roles().to_vec(),
        }
    }
}

impl From<Permission> for Access {
    fn from(p: Permission) -> Self {
        Self::Permission(p)
    }
}

impl Actor {
    /// Whether this actor's role grants `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.role().is_some_and(|r| r.grants(permission))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::org::AccountActor;

    #[test]
    fn every_permission_has_one_row_a_unique_code_and_a_role() {
        for p in Permission::ALL {
            assert_eq!(GRANTS.iter().filter(|(q, _)| q == p).count(), 1, "{p:?}");
            assert!(!p.roles().is_empty(), "{p:?}");
            assert_eq!(Permission::ALL.iter().filter(|q| q.code() == p.code()).count(), 1);
        }
        assert_eq!(GRANTS.len(), Permission::ALL.len());
    }

    #[test]
    fn access_refuses_strangers_and_roles_without_the_permission() {
        let resident =
            Actor::Account(AccountActor { user_id: 1, name: "李".into(), role: Role::Resident, credit_code: None });
        assert_eq!(Access::SignedIn.check(&Actor::Anonymous), Err(Refusal::Unauthenticated));
        assert_eq!(Access::Public.check(&Actor::Anonymous), Ok(()));
        assert_eq!(Access::SignedIn.check(&resident), Ok(()));
        assert_eq!(Access::from(Permission::Intake).check(&resident), Ok(()));
        let denied = Access::from(Permission::ReadKnowledge).check(&resident);
        assert_eq!(denied, Err(Refusal::Forbidden(Permission::ReadKnowledge)));
        assert!(Permission::ReadKnowledge.refusal().contains("知识库"));
        assert_eq!(serde_json::to_string(&Permission::ManageOrg).unwrap(), "\"org.manage\"");
    }
}
