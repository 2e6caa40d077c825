//! Ecological-damage compensation (生态环境损害赔偿): a matter opened from an
//! enforcement case, its damage assessment (鉴定评估) by an appraiser or — in
//! the simple procedure (简易程序) — by experts drawn from the expert pool
//! (专家库), consultation rounds (磋商), the agreement (赔偿协议) with its
//! payment schedule and remediation obligations, payments, the remediation
//! effect assessment (修复效果评估) and closure.
//!
//! Everything here is pure: [`apply`] decides what an action does to a
//! matter; the store writes the new matter and its history row in one
//! transaction. The expert draw is reproducible: the same eligible experts
//! and the same recorded seed always give the same experts ([`draw`]).

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::money::MAX_AMOUNT_FEN;
use crate::validation::{CreditCode, optional_text, required_text};

/// The longest text (assessment, minutes, opinions, reasons).
pub const MAX_TEXT_CHARS: usize = 4000;
/// The most instalments one agreement schedules.
pub const MAX_INSTALMENTS: usize = 24;
/// The fewest and most experts one draw names.
pub const DRAW_SIZES: std::ops::RangeInclusive<usize> = 3..=9;
/// The most enterprises one expert declares a conflict of interest with.
pub const MAX_CONFLICTS: usize = 50;

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// The procedure of a compensation matter.
    Procedure {
        /// Simple procedure (简易程序): the damage is assessed by drawn experts.
        Simple = "simple" / "简易程序",
        /// Ordinary procedure (一般程序): by an appraisal institution (鉴定机构).
        Ordinary = "ordinary" / "一般程序",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// The stage a compensation matter is in.
    MatterStage {
        Assessing = "assessing" / "损害鉴定评估",
        Consulting = "consulting" / "赔偿磋商",
        /// The agreement is signed; payments and remediation are under way (协议履行).
        Performing = "performing" / "协议履行",
        Reviewing = "reviewing" / "修复效果评估",
        Closed = "closed" / "结案",
    }
);

impl MatterStage {
    pub fn is_open(self) -> bool {
        self != Self::Closed
    }
}

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// An expert's specialty (专业领域).
    Specialty {
        Water = "water" / "水环境",
        Air = "air" / "大气环境",
        Soil = "soil" / "土壤与地下水",
        Ecology = "ecology" / "生态",
        Engineering = "engineering" / "环境工程",
        Law = "law" / "环境法律",
        Economics = "economics" / "环境经济与评估",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// What experts are drawn for.
    DrawPurpose {
        /// The damage assessment of the simple procedure (损害评估).
        Assessment = "assessment" / "损害评估",
        /// The review of the remediation's effect (修复效果评估).
        Review = "review" / "修复效果评估",
    }
);

impl DrawPurpose {
    /// The stage a draw for this purpose is made in.
    pub fn stage(self) -> MatterStage {
        match self {
            Self::Assessment => MatterStage::Assessing,
            Self::Review => MatterStage::Reviewing,
        }
    }
}

/// An expert of the pool as entered.
#[derive(Debug, Clone, Default)]
pub struct ExpertDraft {
    pub name: String,
    pub specialty: String,
    pub employer: String,
    /// Credit codes of enterprises the expert has a conflict of interest with
    /// (employer, relatives, past consulting).
    pub conflicts: Vec<String>,
}

/// A valid expert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpertInput {
    pub name: String,
    pub specialty: Specialty,
    pub employer: String,
    pub conflicts: Vec<String>,
}

impl ExpertInput {
    /// Codes: `text_required` / `text_too_long`, `invalid_specialty`,
    /// `invalid_credit_code`, `too_many_conflicts`.
    pub fn new(draft: ExpertDraft) -> Result<Self, DomainError> {
        let name = required_text("专家姓名", &draft.name, 50)?;
        let specialty = Specialty::parse(draft.specialty.trim()).ok_or_else(|| {
            let all: Vec<&str> = Specialty::ALL.iter().map(|s| s.as_str()).collect();
            DomainError::invalid("invalid_specialty", format!("专业领域应为 {} 之一", all.join("、")))
        })?;
        let employer = required_text("工作单位", &draft.employer, 100)?;
        if draft.conflicts.len() > MAX_CONFLICTS {
            return Err(DomainError::invalid("too_many_conflicts", format!("回避企业最多{MAX_CONFLICTS}家")));
        }
        let mut conflicts: Vec<String> = Vec::new();
        for code in draft.conflicts.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
            let code = CreditCode::parse(code)?.as_str().to_owned();
            if !conflicts.contains(&code) {
                conflicts.push(code);
            }
        }
        Ok(Self { name, specialty, employer, conflicts })
    }
}

/// What the draw needs to know of an expert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub id: i64,
    pub specialty: Specialty,
    pub active: bool,
    pub conflicts: &'a [String],
}

/// The experts who may be drawn for a matter of `enterprise`: active, of one
/// of `specialties` (any when empty), without a declared conflict with the
/// enterprise; in id order, which with the seed makes the draw reproducible.
pub fn eligible(pool: &[Candidate<'_>], specialties: &[Specialty], enterprise: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = pool
        .iter()
        .filter(|c| c.active)
        .filter(|c| specialties.is_empty() || specialties.contains(&c.specialty))
        .filter(|c| !c.conflicts.iter().any(|code| code == enterprise))
        .map(|c| c.id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Draws `count` experts from `eligible` with `seed`: a Fisher–Yates shuffle
/// driven by SplitMix64, so anyone holding the recorded seed and list can
/// repeat it. Codes: `invalid_draw_size`, `not_enough_experts`.
pub fn draw(eligible: &[i64], count: usize, seed: u64) -> Result<Vec<i64>, DomainError> {
    if !DRAW_SIZES.contains(&count) {
        return Err(DomainError::invalid(
            "invalid_draw_size",
            format!("抽取专家人数应为{}~{}人", DRAW_SIZES.start(), DRAW_SIZES.end()),
        ));
    }
    if eligible.len() < count {
        return Err(DomainError::conflict(
            "not_enough_experts",
            format!("符合条件（专业对口、无利害关系）的专家只有{}人，不足{count}人", eligible.len()),
        ));
    }
    let mut pool = eligible.to_vec();
    let mut state = seed;
    for i in 0..count {
        let span = (pool.len() - i) as u64;
        let j = i + usize::try_from(splitmix64(&mut state) % span).unwrap_or(0);
        pool.swap(i, j);
    }
    pool.truncate(count);
    Ok(pool)
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A draw as recorded with the matter's history: anyone can repeat it from the
/// seed and the eligible list ([`DrawRecord::reproduces`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DrawRecord {
    pub purpose: DrawPurpose,
    pub seed: u64,
    pub specialties: Vec<Specialty>,
    /// Who could be drawn, in id order (active, of the specialties, without a conflict).
    pub eligible: Vec<i64>,
    pub chosen: Vec<i64>,
}

impl DrawRecord {
    /// Draws `count` experts of `specialties` from `pool` for a matter of `enterprise` with `seed`.
    /// Codes as [`draw`].
    pub fn make(
        purpose: DrawPurpose,
        pool: &[Candidate<'_>],
        specialties: Vec<Specialty>,
        enterprise: &str,
        count: usize,
        seed: u64,
    ) -> Result<Self, DomainError> {
        let eligible = eligible(pool, &specialties, enterprise);
        let chosen = draw(&eligible, count, seed)?;
        Ok(Self { purpose, seed, specialties, eligible, chosen })
    }

    /// Whether drawing again from the recorded list with the recorded seed gives the recorded experts.
    pub fn reproduces(&self) -> bool {
        draw(&self.eligible, self.chosen.len(), self.seed).is_ok_and(|again| again == self.chosen)
    }
}

/// One instalment of an agreement's payment schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Instalment {
    pub due: NaiveDate,
    pub amount_fen: i64,
}

/// A compensation agreement (赔偿协议).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Agreement {
    pub amount_fen: i64,
    pub signed_on: NaiveDate,
    pub instalments: Vec<Instalment>,
    /// The remediation obligations (修复义务).
    pub remediation: String,
    pub remediation_due: NaiveDate,
}

impl Agreement {
    /// Checks an agreement as entered: amounts in yuan, dates `YYYY-MM-DD`.
    /// The instalments add up to the amount, fall due in order, not before
    /// signing. Codes: `invalid_amount`, `invalid_date`, `invalid_instalments`,
    /// `text_required` / `text_too_long`.
    pub fn new(
        amount: &str,
        signed_on: &str,
        instalments: &[(String, String)],
        remediation: &str,
        remediation_due: &str,
    ) -> Result<Self, DomainError> {
        let amount_fen = fen("赔偿金额", amount)?;
        if amount_fen == 0 {
            return Err(DomainError::invalid("invalid_amount", "赔偿金额应大于0"));
        }
        let signed_on = date("签订日期", signed_on)?;
        let remediation = required_text("修复义务", remediation, MAX_TEXT_CHARS)?;
        let remediation_due = date("修复期限", remediation_due)?;
        if remediation_due < signed_on {
            return Err(DomainError::invalid("invalid_date", "修复期限不能早于协议签订日期"));
        }
        let bad = |m: String| DomainError::invalid("invalid_instalments", m);
        if instalments.is_empty() || instalments.len() > MAX_INSTALMENTS {
            return Err(bad(format!("分期应为1~{MAX_INSTALMENTS}期")));
        }
        let mut schedule: Vec<Instalment> = Vec::with_capacity(instalments.len());
        for (n, (due, amount)) in instalments.iter().enumerate() {
            let due = date(&format!("第{}期缴款日期", n + 1), due)?;
            let amount_fen = fen(&format!("第{}期金额", n + 1), amount)?;
            if amount_fen == 0 {
                return Err(bad(format!("第{}期金额应大于0", n + 1)));
            }
            if due < signed_on || schedule.last().is_some_and(|prev| due < prev.due) {
                return Err(bad(format!("第{}期缴款日期应不早于签订日期和上一期", n + 1)));
            }
            schedule.push(Instalment { due, amount_fen });
        }
        let total: i64 = schedule.iter().map(|i| i.amount_fen).sum();
        if total != amount_fen {
            return Err(bad(format!("各期金额合计{}元，与赔偿金额{}元不符", fen_text(total), fen_text(amount_fen))));
        }
        Ok(Self { amount_fen, signed_on, instalments: schedule, remediation, remediation_due })
    }
}

/// An amount in yuan (two decimals at most) as fen (`invalid_amount`).
pub fn fen(label: &str, yuan: &str) -> Result<i64, DomainError> {
    crate::money::parse_fen("invalid_amount", label, yuan, MAX_AMOUNT_FEN)
}

pub use crate::money::fen_text;

fn date(label: &str, text: &str) -> Result<NaiveDate, DomainError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| DomainError::invalid("invalid_date", format!("「{label}」应为日期，如 2026-12-31")))
}

/// An instalment with what has been paid towards it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct InstalmentStatus {
    pub due: NaiveDate,
    pub amount_fen: i64,
    pub paid_fen: i64,
    /// Due before `today` and not paid in full (逾期).
    pub overdue: bool,
}

/// The schedule with `paid_fen` paid so far, applied to the instalments in
/// order (an early payment counts towards the next instalment due).
pub fn schedule(agreement: &Agreement, paid_fen: i64, today: NaiveDate) -> Vec<InstalmentStatus> {
    let mut left = paid_fen.max(0);
    agreement
        .instalments
        .iter()
        .map(|i| {
            let paid = left.min(i.amount_fen);
            left -= paid;
            InstalmentStatus {
                due: i.due,
                amount_fen: i.amount_fen,
                paid_fen: paid,
                overdue: paid < i.amount_fen && i.due < today,
            }
        })
        .collect()
}

/// An obligation of a signed agreement that is pressed (督办) once when overdue:
/// an instalment, by its position in the schedule (1-based), or the remediation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Obligation {
    Instalment(usize),
    Remediation,
}

impl Obligation {
    /// The stable code stored with the 督办: `instalment:2`, `remediation`.
    pub fn code(self) -> String {
        match self {
            Self::Instalment(n) => format!("instalment:{n}"),
            Self::Remediation => "remediation".into(),
        }
    }

    /// The inverse of [`Obligation::code`].
    pub fn parse(code: &str) -> Option<Self> {
        if code == "remediation" {
            return Some(Self::Remediation);
        }
        let n: usize = code.strip_prefix("instalment:")?.parse().ok()?;
        (n >= 1).then_some(Self::Instalment(n))
    }

    /// As people read it: `第2期赔偿金`, `生态修复义务`.
    pub fn label(self) -> String {
        match self {
            Self::Instalment(n) => format!("第{n}期赔偿金"),
            Self::Remediation => "生态修复义务".into(),
        }
    }
}

/// The obligations of an open matter that are overdue on `today`, each with
/// its due date: instalments past due and not paid in full, and the
/// remediation past its date while not yet reported done (the matter still
/// at 协议履行, or its review failed). None for a matter without agreement or closed.
pub fn overdue_obligations(matter: &Matter, today: NaiveDate) -> Vec<(Obligation, NaiveDate)> {
    let Some(agreement) = matter.agreement.as_ref().filter(|_| matter.stage.is_open()) else { return Vec::new() };
    let mut due: Vec<(Obligation, NaiveDate)> = schedule(agreement, matter.paid_fen, today)
        .iter()
        .enumerate()
        .filter(|(_, i)| i.overdue)
        .map(|(n, i)| (Obligation::Instalment(n + 1), i.due))
        .collect();
    if agreement.remediation_due < today && !obligation_met(matter, Obligation::Remediation) {
        due.push((Obligation::Remediation, agreement.remediation_due));
    }
    due
}

/// Whether an obligation is met (or no longer owed): the instalment paid in
/// full, the remediation reported done and not failed at review; everything
/// once the matter is closed or terminated.
pub fn obligation_met(matter: &Matter, obligation: Obligation) -> bool {
    let Some(agreement) = matter.agreement.as_ref().filter(|_| matter.stage.is_open()) else { return true };
    match obligation {
        Obligation::Instalment(n) => {
            // The date plays no part in what is paid towards an instalment.
            let statuses = schedule(agreement, matter.paid_fen, agreement.signed_on);
            statuses.get(n.wrapping_sub(1)).is_none_or(|i| i.paid_fen >= i.amount_fen)
        }
        Obligation::Remediation => matter.remediation_passed || matter.stage == MatterStage::Reviewing,
    }
}

/// A compensation matter (赔偿事项) as the domain sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matter {
    pub stage: MatterStage,
    pub procedure: Procedure,
    pub damage_fen: Option<i64>,
    pub assessment: Option<String>,
    /// The appraisal institution (鉴定机构), ordinary procedure.
    pub appraiser: Option<String>,
    pub assessment_experts: Vec<i64>,
    pub review_experts: Vec<i64>,
    pub consultations: u32,
    pub agreement: Option<Agreement>,
    pub paid_fen: i64,
    pub remediation_passed: bool,
    pub closed_reason: Option<String>,
}

impl Matter {
    /// A new matter at 损害鉴定评估.
    pub fn new(procedure: Procedure) -> Self {
        Self {
            stage: MatterStage::Assessing,
            procedure,
            damage_fen: None,
            assessment: None,
            appraiser: None,
            assessment_experts: Vec::new(),
            review_experts: Vec::new(),
            consultations: 0,
            agreement: None,
            paid_fen: 0,
            remediation_passed: false,
            closed_reason: None,
        }
    }

    /// What the agreement still asks to be paid.
    pub fn outstanding_fen(&self) -> i64 {
        self.agreement.as_ref().map_or(0, |a| a.amount_fen - self.paid_fen)
    }
}

/// Something done to a matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatterAction {
    /// Experts drawn for the assessment or the review.
    Draw { purpose: DrawPurpose, experts: Vec<i64> },
    /// The damage assessment (鉴定评估意见) with the damage in fen; the matter moves to 磋商.
    Assess { damage_fen: i64, report: String, appraiser: Option<String> },
    /// A consultation round (磋商) with its minutes.
    Consult { minutes: String },
    /// The agreement is signed (签订赔偿协议); the matter moves to 协议履行.
    Sign(Agreement),
    /// A payment received (缴款).
    Pay { amount_fen: i64, paid_on: NaiveDate },
    /// The enterprise reports the remediation done; the matter moves to 修复效果评估.
    ReportRemediation { note: String },
    /// The drawn experts' opinion on the remediation: passed, or back to 协议履行.
    Review { passed: bool, opinion: String },
    /// Closed when paid in full and the remediation passed.
    Close { note: Option<String> },
    /// Ended early (终止: 磋商不成转诉讼, the enterprise dissolved, …) with a reason.
    Terminate { reason: String },
}

impl MatterAction {
    /// The stable code of the history row.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Draw { .. } => "draw",
            Self::Assess { .. } => "assessed",
            Self::Consult { .. } => "consultation",
            Self::Sign(_) => "signed",
            Self::Pay { .. } => "payment",
            Self::ReportRemediation { .. } => "remediation_reported",
            Self::Review { .. } => "reviewed",
            Self::Close { .. } => "closed",
            Self::Terminate { .. } => "terminated",
        }
    }

    /// The history row's text: the report, minutes, agreement terms, payment, opinion or reason.
    /// A draw's text names the experts, which only the caller knows: `None` here.
    pub fn note(&self) -> Option<String> {
        match self {
            Self::Draw { .. } => None,
            Self::Assess { report, appraiser: Some(a), .. } => Some(format!("{a}：{report}")),
            Self::Assess { report, .. } => Some(report.clone()),
            Self::Consult { minutes } => Some(minutes.clone()),
            Self::Sign(a) => Some(format!(
                "赔偿{}元，分{}期缴纳；修复义务：{}（{}前完成）",
                fen_text(a.amount_fen),
                a.instalments.len(),
                a.remediation,
                a.remediation_due
            )),
            Self::Pay { amount_fen, paid_on } => Some(format!("{paid_on} 缴款{}元", fen_text(*amount_fen))),
            Self::ReportRemediation { note } => Some(note.clone()),
            Self::Review { opinion, .. } => Some(opinion.clone()),
            Self::Close { note } => note.clone(),
            Self::Terminate { reason } => Some(reason.clone()),
        }
    }

    /// The amount the history row carries: the damage assessed, the sum agreed or a payment, in fen.
    pub fn amount_fen(&self) -> Option<i64> {
        match self {
            Self::Assess { damage_fen, .. } => Some(*damage_fen),
            Self::Sign(a) => Some(a.amount_fen),
            Self::Pay { amount_fen, .. } => Some(*amount_fen),
            _ => None,
        }
    }

    /// Its label in the history.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Draw { .. } => "抽取专家",
            Self::Assess { .. } => "损害鉴定评估",
            Self::Consult { .. } => "赔偿磋商",
            Self::Sign(_) => "签订赔偿协议",
            Self::Pay { .. } => "缴纳赔偿金",
            Self::ReportRemediation { .. } => "报告修复完成",
            Self::Review { passed: true, .. } => "修复效果评估通过",
            Self::Review { passed: false, .. } => "修复效果评估未通过",
            Self::Close { .. } => "结案",
            Self::Terminate { .. } => "终止",
        }
    }
}

fn leader_required(what: &str) -> DomainError {
    DomainError {
        kind: ErrorKind::Forbidden, code: "leader_required", message: format!("{what}须由单位领导办理")
    }
}

fn wrong_stage(m: &Matter, action: &MatterAction) -> DomainError {
    DomainError::conflict(
        "illegal_matter_transition",
        format!("赔偿事项当前处于「{}」阶段，不能「{}」", m.stage.label(), action.label()),
    )
}

/// What `action` makes of `m`; `leader` is whether the actor is the unit's
/// leader (or an administrator), who signs, closes and terminates.
/// Codes: `illegal_matter_transition`, `matter_closed` (409); `experts_required`,
/// `appraiser_required`, `consultation_required`, `overpayment`, `not_paid_in_full`,
/// `remediation_not_passed`, `invalid_amount` (422); `leader_required` (403).
pub fn apply(m: &Matter, action: &MatterAction, leader: bool) -> Result<Matter, DomainError> {
    use MatterStage::*;
    if !m.stage.is_open() {
        return Err(DomainError::conflict("matter_closed", "赔偿事项已结案，不能再变更"));
    }
    let mut next = m.clone();
    let at = |stage: MatterStage| if m.stage == stage { Ok(()) } else { Err(wrong_stage(m, action)) };
    match action {
        MatterAction::Draw { purpose, experts } => {
            at(purpose.stage())?;
            if *purpose == DrawPurpose::Assessment && m.procedure != Procedure::Simple {
                return Err(DomainError::invalid("appraiser_required", "一般程序由鉴定机构评估，不抽取专家"));
            }
            match purpose {
                DrawPurpose::Assessment => next.assessment_experts = experts.clone(),
                DrawPurpose::Review => next.review_experts = experts.clone(),
            }
        }
        MatterAction::Assess { damage_fen, report, appraiser } => {
            at(Assessing)?;
            match m.procedure {
                Procedure::Simple if m.assessment_experts.is_empty() => {
                    return Err(DomainError::invalid("experts_required", "简易程序须先从专家库抽取专家评估"));
                }
                Procedure::Ordinary if appraiser.as_deref().is_none_or(|a| a.trim().is_empty()) => {
                    return Err(DomainError::invalid("appraiser_required", "一般程序须填写鉴定机构"));
                }
                _ => {}
            }
            if *damage_fen <= 0 {
                return Err(DomainError::invalid("invalid_amount", "损害数额应大于0"));
            }
            next.damage_fen = Some(*damage_fen);
            next.assessment = Some(report.clone());
            next.appraiser = appraiser.clone();
            next.stage = Consulting;
        }
        MatterAction::Consult { .. } => {
            at(Consulting)?;
            next.consultations += 1;
        }
        MatterAction::Sign(agreement) => {
            at(Consulting)?;
            if !leader {
                return Err(leader_required("签订赔偿协议"));
            }
            if m.consultations == 0 {
                return Err(DomainError::invalid("consultation_required", "签订协议前应至少记录一次磋商"));
            }
            next.agreement = Some(agreement.clone());
            next.stage = Performing;
        }
        MatterAction::Pay { amount_fen, .. } => {
            if !matches!(m.stage, Performing | Reviewing) {
                return Err(wrong_stage(m, action));
            }
            if *amount_fen <= 0 {
                return Err(DomainError::invalid("invalid_amount", "缴款金额应大于0"));
            }
            if *amount_fen > m.outstanding_fen() {
                return Err(DomainError::invalid(
                    "overpayment",
                    format!("缴款金额超过尚欠的{}元", fen_text(m.outstanding_fen())),
                ));
            }
            next.paid_fen += amount_fen;
        }
        MatterAction::ReportRemediation { .. } => {
            at(Performing)?;
            next.stage = Reviewing;
            next.review_experts.clear();
            next.remediation_passed = false;
        }
        MatterAction::Review { passed, .. } => {
            at(Reviewing)?;
            if m.review_experts.is_empty() {
                return Err(DomainError::invalid("experts_required", "修复效果评估须先从专家库抽取专家"));
            }
            next.remediation_passed = *passed;
            if !passed {
                next.stage = Performing;
            }
        }
        MatterAction::Close { .. } => {
            at(Reviewing)?;
            if !leader {
                return Err(leader_required("结案"));
            }
            if !m.remediation_passed {
                return Err(DomainError::invalid("remediation_not_passed", "修复效果评估尚未通过，不能结案"));
            }
            if m.outstanding_fen() > 0 {
                return Err(DomainError::invalid(
                    "not_paid_in_full",
                    format!("赔偿金尚欠{}元，不能结案", fen_text(m.outstanding_fen())),
                ));
            }
            next.stage = Closed;
        }
        MatterAction::Terminate { reason } => {
            if !leader {
                return Err(leader_required("终止赔偿事项"));
            }
            next.closed_reason = Some(reason.clone());
            next.stage = Closed;
        }
    }
    Ok(next)
}

/// Checks the free texts of actions: `label` required, at most [`MAX_TEXT_CHARS`].
pub fn text(label: &str, value: &str) -> Result<String, DomainError> {
    required_text(label, value, MAX_TEXT_CHARS)
}

/// An optional free text of at most [`MAX_TEXT_CHARS`].
pub fn optional(label: &str, value: Option<&str>) -> Result<Option<String>, DomainError> {
    optional_text(label, value, MAX_TEXT_CHARS)
}

/// `404 matter_not_found`.
pub fn matter_not_found() -> DomainError {
    DomainError::not_found("matter_not_found", "赔偿事项不存在")
}

/// `409 matter_changed`: the matter moved on since it was read.
pub fn matter_changed() -> DomainError {
    DomainError::conflict("matter_changed", "赔偿事项已被他人更新，请刷新后重试")
}

/// The label of a history row's kind ([`MatterAction::kind`], and `opened`).
pub fn history_label(kind: &str) -> &str {
    match kind {
        "opened" => "启动赔偿",
        "draw" => "抽取专家",
        "assessed" => "损害鉴定评估",
        "consultation" => "赔偿磋商",
        "signed" => "签订赔偿协议",
        "payment" => "缴纳赔偿金",
        "remediation_reported" => "报告修复完成",
        "reviewed" => "修复效果评估",
        "closed" => "结案",
        "terminated" => "终止",
        "document_added" => "上传附件",
        "document_withdrawn" => "撤回附件",
        "supervised" => "逾期督办",
        "supervision_resolved" => "督办办结",
        other => other,
    }
}

/// `404 expert_not_found`.
pub fn expert_not_found() -> DomainError {
    DomainError::not_found("expert_not_found", "专家不存在")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const ENTERPRISE: &str = "91350100M000100Y43";

    #[test]
    fn the_draw_is_reproducible_and_skips_conflicts_and_other_specialties() {
        let conflict = vec![ENTERPRISE.to_owned()];
        let none: Vec<String> = Vec::new();
        let pool: Vec<Candidate<'_>> = (1..=12)
            .map(|id| Candidate {
                id,
                specialty: if id % 4 == 0 { Specialty::Air } else { Specialty::Water },
                active: id != 5,
                conflicts: if id == 3 { &conflict } else { &none },
            })
            .collect();
        let ids = eligible(&pool, &[Specialty::Water], ENTERPRISE);
        assert_eq!(ids, vec![1, 2, 6, 7, 9, 10, 11]);
        let first = draw(&ids, 3, 42).unwrap();
        assert_eq!(first, draw(&ids, 3, 42).unwrap(), "same seed, same experts");
        assert_eq!(first.len(), 3);
        assert!(first.iter().all(|id| ids.contains(id)));
        let mut unique = first.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 3);
        // Different seeds spread over the eligible: every one is drawn at some seed.
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            seen.extend(draw(&ids, 3, seed).unwrap());
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), ids);
        assert_eq!(draw(&ids, 9, 1).unwrap_err().code, "not_enough_experts");
        assert_eq!(draw(&ids, 2, 1).unwrap_err().code, "invalid_draw_size");
        assert_eq!(eligible(&pool, &[], ENTERPRISE).len(), 10);
    }

    fn agreement() -> Agreement {
        let instalments = vec![("2026-06-30".into(), "60000".into()), ("2026-12-31".into(), "62000.50".into())];
        Agreement::new("122000.50", "2026-06-01", &instalments, "补种水生植物，清淤300米", "2026-11-30").unwrap()
    }

    #[test]
    fn an_agreement_adds_up_and_falls_due_in_order() {
        let a = agreement();
        assert_eq!(a.amount_fen, 12_200_050);
        let code = |amount: &str, plan: &[(&str, &str)]| {
            let plan: Vec<(String, String)> = plan.iter().map(|(d, a)| ((*d).into(), (*a).into())).collect();
            Agreement::new(amount, "2026-06-01", &plan, "修复", "2026-12-01").err().map_or("ok", |e| e.code)
        };
        assert_eq!(code("100", &[("2026-07-01", "100")]), "ok");
        assert_eq!(code("100", &[("2026-07-01", "60"), ("2026-08-01", "30")]), "invalid_instalments");
        assert_eq!(code("100", &[("2026-08-01", "50"), ("2026-07-01", "50")]), "invalid_instalments");
        assert_eq!(code("100", &[("2026-05-01", "100")]), "invalid_instalments");
        assert_eq!(code("100", &[("2026-07-01", "0"), ("2026-08-01", "100")]), "invalid_instalments");
        assert_eq!(code("100", &[]), "invalid_instalments");
        assert_eq!(code("0", &[("2026-07-01", "0")]), "invalid_amount");
        assert_eq!(code("-5", &[("2026-07-01", "5")]), "invalid_amount");
        assert_eq!(code("1.005", &[("2026-07-01", "1.005")]), "invalid_amount");
        assert_eq!(code("100", &[("2026-13-01", "100")]), "invalid_date");
    }

    #[test]
    fn payments_count_towards_instalments_in_order() {
        let a = agreement();
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let s = schedule(&a, 0, day("2026-07-01"));
        assert!(s[0].overdue && !s[1].overdue);
        let s = schedule(&a, 7_000_000, day("2027-01-05"));
        assert_eq!((s[0].paid_fen, s[1].paid_fen), (6_000_000, 1_000_000));
        assert!(!s[0].overdue && s[1].overdue);
        assert!(schedule(&a, a.amount_fen, day("2030-01-01")).iter().all(|i| !i.overdue));
    }

    #[test]
    fn overdue_obligations_are_met_by_payment_and_the_remediation_report() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let mut m = Matter::new(Procedure::Simple);
        assert!(overdue_obligations(&m, day("2030-01-01")).is_empty(), "nothing owed before the agreement");
        m.agreement = Some(agreement());
        m.stage = MatterStage::Performing;
        assert!(overdue_obligations(&m, day("2026-06-30")).is_empty(), "due today is not late");
        assert_eq!(overdue_obligations(&m, day("2026-07-01")), vec![(Obligation::Instalment(1), day("2026-06-30"))]);
        let all = overdue_obligations(&m, day("2027-01-01"));
        let codes: Vec<String> = all.iter().map(|(o, _)| o.code()).collect();
        assert_eq!(codes, ["instalment:1", "instalment:2", "remediation"]);
        assert!(codes.iter().all(|c| Obligation::parse(c).is_some_and(|o| o.code() == *c)));
        assert_eq!((Obligation::parse("instalment:0"), Obligation::parse("x")), (None, None));
        m.paid_fen = 6_000_000;
        assert!(obligation_met(&m, Obligation::Instalment(1)) && !obligation_met(&m, Obligation::Instalment(2)));
        assert!(!obligation_met(&m, Obligation::Remediation));
        m.stage = MatterStage::Reviewing;
        assert!(obligation_met(&m, Obligation::Remediation), "reported done: under review");
        m.stage = MatterStage::Closed;
        assert!(obligation_met(&m, Obligation::Instalment(2)) && overdue_obligations(&m, day("2027-01-01")).is_empty());
    }

    #[test]
    fn a_simple_matter_goes_from_assessment_to_closure() {
        let m = Matter::new(Procedure::Simple);
        let assess = MatterAction::Assess { damage_fen: 12_200_050, report: "损害数额".into(), appraiser: None };
        assert_eq!(apply(&m, &assess, false).unwrap_err().code, "experts_required");
        let m =
            apply(&m, &MatterAction::Draw { purpose: DrawPurpose::Assessment, experts: vec![1, 2, 3] }, false).unwrap();
        let m = apply(&m, &assess, false).unwrap();
        assert_eq!(m.stage, MatterStage::Consulting);
        let sign = MatterAction::Sign(agreement());
        assert_eq!(apply(&m, &sign, true).unwrap_err().code, "consultation_required");
        let m = apply(&m, &MatterAction::Consult { minutes: "第一轮磋商".into() }, false).unwrap();
        assert_eq!(apply(&m, &sign, false).unwrap_err().code, "leader_required");
        let m = apply(&m, &sign, true).unwrap();
        assert_eq!(m.stage, MatterStage::Performing);
        let day = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        let pay = |fen: i64| MatterAction::Pay { amount_fen: fen, paid_on: day };
        assert_eq!(apply(&m, &pay(12_200_051), false).unwrap_err().code, "overpayment");
        let m = apply(&m, &pay(6_000_000), false).unwrap();
        let m = apply(&m, &MatterAction::ReportRemediation { note: "补种完成".into() }, false).unwrap();
        let review = MatterAction::Review { passed: true, opinion: "水质达标".into() };
        assert_eq!(apply(&m, &review, false).unwrap_err().code, "experts_required");
        let m = apply(&m, &MatterAction::Draw { purpose: DrawPurpose::Review, experts: vec![4, 5, 6] }, false).unwrap();
        let failed = apply(&m, &MatterAction::Review { passed: false, opinion: "未达标".into() }, false).unwrap();
        assert_eq!(failed.stage, MatterStage::Performing);
        let m = apply(&m, &review, false).unwrap();
        let close = MatterAction::Close { note: None };
        assert_eq!(apply(&m, &close, true).unwrap_err().code, "not_paid_in_full");
        let m = apply(&m, &pay(6_200_050), false).unwrap();
        assert_eq!(apply(&m, &close, false).unwrap_err().code, "leader_required");
        let m = apply(&m, &close, true).unwrap();
        assert_eq!(m.stage, MatterStage::Closed);
        assert_eq!(apply(&m, &pay(1), false).unwrap_err().code, "matter_closed");
    }

    #[test]
    fn the_ordinary_procedure_needs_an_appraiser_and_draws_no_assessment_experts() {
        let m = Matter::new(Procedure::Ordinary);
        let draw = MatterAction::Draw { purpose: DrawPurpose::Assessment, experts: vec![1, 2, 3] };
        assert_eq!(apply(&m, &draw, false).unwrap_err().code, "appraiser_required");
        let assess = |appraiser: Option<&str>| MatterAction::Assess {
            damage_fen: 100,
            report: "报告".into(),
            appraiser: appraiser.map(Into::into),
        };
        assert_eq!(apply(&m, &assess(None), false).unwrap_err().code, "appraiser_required");
        assert_eq!(apply(&m, &assess(Some("省环境科学研究院")), false).unwrap().stage, MatterStage::Consulting);
        assert_eq!(
            apply(&m, &MatterAction::Consult { minutes: "x".into() }, false).unwrap_err().code,
            "illegal_matter_transition"
        );
        let end = MatterAction::Terminate { reason: "磋商不成，移送诉讼".into() };
        assert_eq!(apply(&m, &end, false).unwrap_err().code, "leader_required");
        assert_eq!(apply(&m, &end, true).unwrap().stage, MatterStage::Closed);
    }

    #[test]
    fn experts_are_checked_field_by_field() {
        let draft = || ExpertDraft {
            name: "王工".into(),
            specialty: "water".into(),
            employer: "中山大学".into(),
            conflicts: vec![ENTERPRISE.into(), format!(" {ENTERPRISE} ")],
        };
        assert_eq!(ExpertInput::new(draft()).unwrap().conflicts, vec![ENTERPRISE.to_owned()]);
        let code = |d: ExpertDraft| ExpertInput::new(d).err().map_or("ok", |e| e.code);
        assert_eq!(code(ExpertDraft { specialty: "music".into(), ..draft() }), "invalid_specialty");
        assert_eq!(code(ExpertDraft { name: " ".into(), ..draft() }), "text_required");
        assert_eq!(code(ExpertDraft { conflicts: vec!["123".into()], ..draft() }), "invalid_credit_code");
    }
}
