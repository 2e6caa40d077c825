//! The organisation (组织机构), its people and their data scope.
//!
//! One org tree serves every module: city → departments and towns (镇街) →
//! their sub-units. Staff belong to one unit and hold one role.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use crate::error::DomainError;

pub type UnitId = i64;
pub type UserId = i64;

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// The kind of an org unit.
    UnitKind {
        City = "city" / "市",
        Department = "department" / "部门",
        /// Town or street (镇街).
        Town = "town" / "镇街",
        /// A section of a department (科室) or a village or community of a town.
        Subunit = "subunit" / "下级单位",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// What a change of an account (账号变更记录) did. Its detail names what changed, phones and
    /// e-mail masked, never a password, its hash or a code.
    AccountAction {
        /// Created by an administrator, the command line or the demo (新建账号).
        Created = "created" / "新建账号",
        /// An account already there when its history began (its creation was not recorded).
        Existing = "existing" / "留痕启用时已有账号",
        /// Role or unit changed by an administrator.
        RoleChanged = "role_changed" / "变更角色或单位",
        Disabled = "disabled" / "停用账号",
        Enabled = "enabled" / "启用账号",
        /// A new password set by an administrator or the command line.
        PasswordReset = "password_reset" / "重置密码",
        /// A new password set by the person, with the current one (修改密码).
        PasswordChanged = "password_changed" / "本人修改密码",
        /// A new password set with a code sent by SMS (短信验证码找回密码).
        PasswordResetBySms = "password_reset_by_sms" / "短信验证码重置密码",
        /// The e-mail address for notices set or cleared by an administrator.
        EmailSet = "email_set" / "设置通知邮箱",
        /// The person's own phone and e-mail changed (我的联系方式).
        ContactChanged = "contact_changed" / "本人修改联系方式",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// What a change of an API token (接口令牌变更记录) did.
    TokenAction {
        /// Created by the command line (its secret is shown once and never kept).
        Created = "created" / "创建令牌",
        /// A token already there when its history began.
        Existing = "existing" / "留痕启用时已有令牌",
        /// Revoked: the token no longer signs anything in.
        Revoked = "revoked" / "吊销令牌",
    }
);

impl UnitKind {
    /// The kinds a unit of this kind may sit under: departments (市直部门)
    /// and towns (镇街) under the city; a sub-unit — a department's section
    /// (科室) or a town's village or community (村居) — under a department or
    /// a town. The city is the root and sits under nothing; sub-units do not
    /// nest further.
    pub fn parents(self) -> &'static [UnitKind] {
        match self {
            Self::City => &[],
            Self::Department | Self::Town => &[Self::City],
            Self::Subunit => &[Self::Department, Self::Town],
        }
    }

    /// Whether a unit of this kind may sit under a unit of `parent`'s kind.
    ///
    /// # Errors
    ///
    /// `unit_nesting_refused`, naming both kinds and what the kind may sit under.
    pub fn check_parent(self, parent: UnitKind) -> Result<(), DomainError> {
        if self.parents().contains(&parent) {
            return Ok(());
        }
        let allowed: Vec<&str> = self.parents().iter().map(|k| k.label()).collect();
        let hint = if allowed.is_empty() {
            "不能有上级单位".to_owned()
        } else {
            format!("只能设在{}之下", allowed.join("或"))
        };
        Err(DomainError::invalid(
            "unit_nesting_refused",
            format!("「{}」类单位不能设在「{}」类单位之下：{}{hint}", self.label(), parent.label(), self.label()),
        ))
    }
}

/// A unit of the org tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Unit {
    pub id: UnitId,
    pub code: String,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: UnitKind,
    pub parent_id: Option<UnitId>,
    pub active: bool,
}

impl Unit {
    /// Whether this unit may be deactivated (撤销) or reactivated, given
    /// whether it has active units below it and whether its parent is active.
    ///
    /// # Errors
    ///
    /// `unit_has_children` or `parent_unit_inactive`.
    pub fn check_activation(
        &self,
        active: bool,
        has_active_children: bool,
        parent_active: bool,
    ) -> Result<(), DomainError> {
        if !active && has_active_children {
            return Err(DomainError::conflict(
                "unit_has_children",
                format!("「{}」下还有在用的单位，请先撤销下级单位", self.name),
            ));
        }
        if active && !parent_active {
            return Err(DomainError::conflict("parent_unit_inactive", "上级单位已撤销，请先恢复上级单位"));
        }
        Ok(())
    }

    /// The name to show in tight spaces (timelines, tables).
    pub fn display_name(&self) -> &str {
        self.short_name.as_deref().unwrap_or(&self.name)
    }
}

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// A role a person holds (角色).
    Role {
        /// Hotline operator or counter clerk (话务员/窗口).
        Operator = "operator" / "话务员",
        /// Dispatcher of the 12345 platform (派单员).
        Dispatcher = "dispatcher" / "派单员",
        /// Handler in a department or town (承办人).
        Handler = "handler" / "承办人",
        /// Leader of a handling unit (单位领导).
        UnitLeader = "unit_leader" / "单位领导",
        /// Supervisor (督办).
        Supervisor = "supervisor" / "督办员",
        /// City leader (市领导).
        CityLeader = "city_leader" / "市领导",
        /// Administrator (系统管理员).
        Admin = "admin" / "管理员",
        /// Liaison cadre (联系干部): a leader assigned to follow enterprises
        /// (领导干部联系企业); sees those enterprises and their requests.
        Liaison = "liaison" / "联系干部",
        /// The city leaders' office (市领导办公室): takes in and screens the
        /// secretary-mayor direct line (书记市长直通车) and reviews its replies.
        LeadersOffice = "leaders_office" / "市领导办公室",
        /// Staff of a government service centre (政务服务中心) who take on-site
        /// service requests (行走办) for the centres of their unit.
        ServiceCentre = "service_centre" / "政务服务中心",
        /// Staff of the statistics office (统计局) who keep the statistics
        /// panel (数说): its catalogue, values and what is published; they
        /// see no requests.
        Statistician = "statistician" / "统计人员",
        /// Enterprise account (企业用户).
        Enterprise = "enterprise" / "企业用户",
        /// Resident account (群众用户).
        Resident = "resident" / "群众用户",
    }
);

impl Role {
    /// Staff roles belong to a unit; askers' accounts do not.
    pub fn is_staff(self) -> bool {
        !matches!(self, Self::Enterprise | Self::Resident)
    }

    /// Roles that work inside one unit and see only that unit's requests.
    pub fn is_unit_bound(self) -> bool {
        matches!(self, Self::Handler | Self::UnitLeader)
    }

    /// Staff hold a role in a unit; enterprise and resident accounts belong to none.
    ///
    /// # Errors
    ///
    /// `unit_required` or `unit_not_allowed`.
    pub fn check_unit(self, unit_id: Option<UnitId>) -> Result<(), DomainError> {
        match (self.is_staff(), unit_id) {
            (true, None) => Err(DomainError::invalid("unit_required", "工作人员必须属于一个单位")),
            (false, Some(_)) => Err(DomainError::invalid("unit_not_allowed", "企业和群众账号不属于任何单位")),
            _ => Ok(()),
        }
    }

    /// [`Role::check_unit`], and the named unit exists and is active:
    /// `unit_active` is its flag, None if it does not exist.
    ///
    /// # Errors
    ///
    /// As [`Role::check_unit`], or `unit_inactive`, `unknown_unit`.
    pub fn check_unit_as_stored(self, unit_id: Option<UnitId>, unit_active: Option<bool>) -> Result<(), DomainError> {
        self.check_unit(unit_id)?;
        match (unit_id, unit_active) {
            (None, _) | (Some(_), Some(true)) => Ok(()),
            (Some(_), Some(false)) => Err(DomainError::invalid("unit_inactive", "所属单位已撤销")),
            (Some(_), None) => Err(DomainError::invalid("unknown_unit", "所属单位不存在")),
        }
    }
}

/// A person or machine acting on the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in member of staff, or an API token bound to a role and unit.
    Staff(StaffActor),
    /// An enterprise or resident signed in to their own account.
    Account(AccountActor),
    /// Someone who proved they are the asker of one request with its check code (查询码).
    PublicAsker,
    /// An anonymous visitor of the public portal.
    Anonymous,
    /// The platform itself (scheduler, migrations).
    System,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffActor {
    /// The person; `None` for an API token acting as a machine client.
    pub user_id: Option<UserId>,
    pub name: String,
    pub role: Role,
    pub unit_id: UnitId,
    /// The actor's unit and every unit below it.
    pub units: Vec<UnitId>,
    /// The town (镇街) the actor's unit belongs to, if any.
    pub town_id: Option<UnitId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountActor {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    /// The enterprise's credit code for enterprise accounts.
    pub credit_code: Option<String>,
}

impl Actor {
    pub fn role(&self) -> Option<Role> {
        match self {
            Self::Staff(s) => Some(s.role),
            Self::Account(a) => Some(a.role),
            _ => None,
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Self::Staff(s) => s.user_id,
            Self::Account(a) => Some(a.user_id),
            _ => None,
        }
    }

    pub fn unit_id(&self) -> Option<UnitId> {
        match self {
            Self::Staff(s) => Some(s.unit_id),
            _ => None,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Staff(s) => &s.name,
            Self::Account(a) => &a.name,
            Self::PublicAsker => "诉求人",
            Self::Anonymous => "访客",
            Self::System => "系统",
        }
    }

    /// A stable label of the actor's role for the audit trail.
    pub fn role_str(&self) -> &'static str {
        match self {
            Self::Staff(s) => s.role.as_str(),
            Self::Account(a) => a.role.as_str(),
            Self::PublicAsker => "asker",
            Self::Anonymous => "anonymous",
            Self::System => "system",
        }
    }

    pub fn has_role(&self, roles: &[Role]) -> bool {
        self.role().is_some_and(|r| roles.contains(&r))
    }

    /// The requests this actor may see (数据权限).
    pub fn scope(&self) -> Scope {
        match self {
            Self::Staff(s) if s.role.is_unit_bound() => Scope::Units { units: s.units.clone(), town: s.town_id },
            Self::Staff(s) if s.role == Role::Liaison => match s.user_id {
                Some(user_id) => Scope::Liaison { user_id },
                None => Scope::Nothing,
            },
            // Centre staff work their centres' on-site requests, and hotline requests only as any unit would.
            Self::Staff(s) if s.role == Role::ServiceCentre => Scope::Units { units: s.units.clone(), town: None },
            // The statistics office keeps the panel and has no part in requests.
            Self::Staff(s) if s.role == Role::Statistician => Scope::Nothing,
            Self::Staff(_) | Self::System => Scope::All,
            Self::Account(a) => Scope::Asker { user_id: a.user_id, credit_code: a.credit_code.clone() },
            Self::PublicAsker | Self::Anonymous => Scope::Nothing,
        }
    }

    /// Whether this actor may see the asker's personal data unmasked.
    /// Operators and dispatchers call askers back; the handling unit must contact them.
    pub fn sees_personal_data(&self) -> bool {
        match self {
            Self::Staff(s) => matches!(s.role, Role::Operator | Role::Dispatcher | Role::Handler | Role::UnitLeader),
            Self::Account(_) | Self::System => true,
            Self::PublicAsker | Self::Anonymous => false,
        }
    }

    /// Whether the actor sees the personal data of a request led by `lead` with the co-handling units
    /// `co`: operators and dispatchers always; handlers and unit leaders only when their unit (or one
    /// below it) handles it, not for a request they see only because it lies in their town; the asker's
    /// own account (its scope holds only its own requests).
    pub fn sees_personal_data_of(&self, lead: Option<UnitId>, co: &[UnitId]) -> bool {
        match self {
            Self::Staff(s) if s.role.is_unit_bound() => lead.iter().chain(co).any(|u| s.units.contains(u)),
            _ => self.sees_personal_data(),
        }
    }

    /// The requests whose personal data this actor sees, as a scope: the rule of
    /// [`Actor::sees_personal_data_of`] for queries that cannot ask it request by request (the search
    /// index matches the asker's name and phone only inside it). Within [`Actor::scope`] the two agree.
    pub fn personal_data_scope(&self) -> Scope {
        match self {
            Self::Staff(s) if s.role.is_unit_bound() => Scope::Units { units: s.units.clone(), town: None },
            _ if self.sees_personal_data() => Scope::All,
            _ => Scope::Nothing,
        }
    }

    /// The requests this actor may look up by the asker's phone (the `phone` filter): only those in
    /// their scope whose personal data they see, or a filter on a masked number would tell them whose
    /// it is. `None` when they see no one's (supervisors, leaders, liaison cadres): the filter is refused.
    pub fn personal_lookup_scope(&self) -> Option<Scope> {
        match self.personal_data_scope() {
            Scope::Nothing => None,
            Scope::All => Some(self.scope()),
            narrower => Some(narrower),
        }
    }
}

/// Which requests an actor may see. Enforced by the store in its queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Requests whose lead or co-handling unit is one of `units`, or located in `town`.
    Units {
        units: Vec<UnitId>,
        town: Option<UnitId>,
    },
    /// Requests the account submitted, or (enterprises) made under its credit code.
    Asker {
        user_id: UserId,
        credit_code: Option<String>,
    },
    /// Requests of the enterprises this cadre is assigned to (联系企业), by
    /// the credit code the request carries; the assignments in force at the
    /// moment of the query.
    Liaison {
        user_id: UserId,
    },
    Nothing,
}

/// What the scope rule needs to know about a request.
pub struct ScopeFacts<'a> {
    pub lead_unit_id: Option<UnitId>,
    pub co_unit_ids: &'a [UnitId],
    /// Sub-units with an assignment within a unit (二次派单): their staff see the request.
    pub sub_unit_ids: Vec<UnitId>,
    pub town_id: Option<UnitId>,
    pub submitted_by: Option<UserId>,
    pub credit_code: Option<&'a str>,
    /// The cadres assigned to the request's enterprise now (not a fact of the
    /// request itself: whoever checks a liaison scope loads it).
    pub liaison_user_ids: &'a [UserId],
}

impl Scope {
    /// The reference definition of the scope rule; stores implement it in SQL
    /// and tests check they agree with this.
    pub fn permits(&self, r: &ScopeFacts<'_>) -> bool {
        match self {
            Self::All => true,
            Self::Nothing => false,
            Self::Units { units, town } => {
                r.lead_unit_id.is_some_and(|u| units.contains(&u))
                    || r.co_unit_ids.iter().any(|u| units.contains(u))
                    || r.sub_unit_ids.iter().any(|u| units.contains(u))
                    || (town.is_some() && r.town_id == *town)
            }
            Self::Asker { user_id, credit_code } => {
                r.submitted_by == Some(*user_id) || credit_code.as_deref().is_some_and(|c| r.credit_code == Some(c))
            }
            Self::Liaison { user_id } => r.credit_code.is_some() && r.liaison_user_ids.contains(user_id),
        }
    }
}

/// The org tree in memory, for subtree and town look-ups.
#[derive(Debug, Clone, Default)]
pub struct OrgTree {
    units: HashMap<UnitId, Unit>,
    children: HashMap<UnitId, Vec<UnitId>>,
    by_code: HashMap<String, UnitId>,
}

impl OrgTree {
    pub fn new(units: Vec<Unit>) -> Self {
        let mut tree = Self::default();
        for unit in units {
            if let Some(parent) = unit.parent_id {
                tree.children.entry(parent).or_default().push(unit.id);
            }
            tree.by_code.insert(unit.code.clone(), unit.id);
            tree.units.insert(unit.id, unit);
        }
        tree
    }

    pub fn get(&self, id: UnitId) -> Option<&Unit> {
        self.units.get(&id)
    }

    pub fn by_code(&self, code: &str) -> Option<&Unit> {
        self.by_code.get(code).and_then(|id| self.units.get(id))
    }

    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        self.units.values()
    }

    /// The unit and all its descendants.
    pub fn subtree(&self, id: UnitId) -> Vec<UnitId> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(u) = stack.pop() {
            if out.contains(&u) {
                continue; // a cycle in bad data must not hang us
            }
            out.push(u);
            if let Some(kids) = self.children.get(&u) {
                stack.extend(kids.iter().copied());
            }
        }
        out
    }

    /// The town (镇街) a unit is, or belongs to.
    pub fn town_of(&self, id: UnitId) -> Option<UnitId> {
        let mut current = self.units.get(&id);
        let mut steps = 0;
        while let Some(u) = current {
            if u.kind == UnitKind::Town {
                return Some(u.id);
            }
            steps += 1;
            if steps > 64 {
                return None;
            }
            current = u.parent_id.and_then(|p| self.units.get(&p));
        }
        None
    }

    /// Looks up an active unit that can handle requests (not the city root).
    pub fn handling_unit(&self, id: UnitId) -> Result<&Unit, DomainError> {
        match self.units.get(&id) {
            Some(u) if u.active && u.kind != UnitKind::City => Ok(u),
            _ => Err(DomainError::invalid("unknown_unit", format!("承办单位（编号 {id}）不存在或已停用"))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod nesting_tests {
    use super::UnitKind::{City, Department, Subunit, Town};

    #[test]
    fn departments_and_towns_sit_under_the_city_and_sub_units_under_them() {
        for (kind, parent) in [(Department, City), (Town, City), (Subunit, Department), (Subunit, Town)] {
            assert!(kind.check_parent(parent).is_ok(), "{kind:?} under {parent:?}");
        }
        let refused = [
            (Department, Town),
            (Department, Department),
            (Town, Subunit),
            (Subunit, City),
            (Subunit, Subunit),
            (City, City),
        ];
        for (kind, parent) in refused {
            let e = kind.check_parent(parent).unwrap_err();
            assert_eq!(e.code, "unit_nesting_refused", "{kind:?} under {parent:?}");
        }
        let e = Subunit.check_parent(City).unwrap_err();
        assert_eq!(e.message, "「下级单位」类单位不能设在「市」类单位之下：下级单位只能设在部门或镇街之下");
    }
}
