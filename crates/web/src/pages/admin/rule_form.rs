//! The time-limit rule table (时限规则) as an HTML form: one row per rule —
//! request type, urgency, channel, asker (马上办 is an urgency, for
//! enterprises) and each limit with its clock — read back into [`Rule`]s
//! with a Chinese message beside each field that does not hold, and what was
//! typed kept. The rules then go through the same `app.rules().publish` (and
//! the domain's `RuleSet::validate`) as `PUT /api/v1/time-limits`.

use std::collections::BTreeMap;

use mashangban_domain::calendar::{Clock, TimeLimit};
use mashangban_domain::request::{Channel, RequestKind, Urgency};
use mashangban_domain::time_limit::{Rule, check_limit};

use crate::pages::Choice;

/// Rows the form takes at most: the rules and the blank rows for new ones.
pub const MAX_ROWS: usize = 200;

/// Blank rows offered for new rules.
const NEW_ROWS: usize = 3;

/// The limits of a rule in table order: the field name and its column label.
pub const LIMITS: [(&str, &str); 5] = [
    ("sign_for", "签收"),
    ("contact", "联系诉求人"),
    ("stage_reply", "阶段性答复"),
    ("reply", "答复办结"),
    ("co_answer", "会签答复"),
];

/// The clocks a limit is counted on, as the form names them (natural time in
/// hours or minutes; the rule stores minutes).
const CLOCKS: [(&str, &str); 4] =
    [("working_days", "工作日"), ("working_hours", "工作小时"), ("hours", "自然小时"), ("minutes", "自然分钟")];

const ASKERS: [(&str, &str); 2] = [("enterprise", "企业"), ("resident", "个人")];
const REVIEWS: [(&str, &str); 2] = [("1", "须审核"), ("0", "不须审核")];

/// What was typed in one row, as typed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RowInput {
    kind: String,
    urgency: String,
    channel: String,
    asker: String,
    review: String,
    /// The amount and clock of each of [`LIMITS`].
    limits: [(String, String); 5],
    delete: bool,
    /// The 序号 typed to move the row (blank: where it is). Between equally specific rules the
    /// later wins, so the order is part of the table.
    order: String,
}

/// Why a row does not hold: beside a condition, beside a limit.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RowErrors {
    pub row: Option<String>,
    pub limits: [Option<String>; 5],
}

impl RowErrors {
    fn any(&self) -> bool {
        self.row.is_some() || self.limits.iter().any(Option::is_some)
    }
}

impl RowInput {
    /// A rule as the form shows it.
    pub fn of(rule: &Rule) -> Self {
        let code = |c: Option<&'static str>| c.unwrap_or_default().to_owned();
        let limits = [rule.sign_for, rule.contact, rule.stage_reply, rule.reply, rule.co_answer].map(limit_input);
        Self {
            kind: code(rule.kind.map(RequestKind::as_str)),
            urgency: code(rule.urgency.map(Urgency::as_str)),
            channel: code(rule.channel.map(Channel::as_str)),
            asker: code(rule.enterprise.map(|e| if e { "enterprise" } else { "resident" })),
            review: code(rule.review.map(|r| if r { "1" } else { "0" })),
            limits,
            delete: false,
            order: String::new(),
        }
    }

    /// The 序号 typed (`Some(None)` when blank), `None` when it is no number.
    fn position(&self) -> Option<Option<usize>> {
        match self.order.trim() {
            "" => Some(None),
            typed => typed.parse::<usize>().ok().filter(|n| (1..=999).contains(n)).map(Some),
        }
    }

    /// Nothing chosen or typed: a new row left empty, skipped.
    fn is_blank(&self) -> bool {
        [&self.kind, &self.urgency, &self.channel, &self.asker, &self.review].iter().all(|v| v.trim().is_empty())
            && self.limits.iter().all(|(amount, _)| amount.trim().is_empty())
    }

    fn set(&mut self, field: &str, value: String) {
        let limit = |name: &str| LIMITS.iter().position(|(f, _)| *f == name);
        match field {
            "kind" => self.kind = value,
            "urgency" => self.urgency = value,
            "channel" => self.channel = value,
            "asker" => self.asker = value,
            "review" => self.review = value,
            "delete" => self.delete = value == "1",
            "order" => self.order = value,
            _ => {
                if let Some((name, part)) = field.rsplit_once('_')
                    && let Some(i) = limit(name)
                {
                    match part {
                        "amount" => self.limits[i].0 = value,
                        "clock" => self.limits[i].1 = value,
                        _ => {}
                    }
                }
            }
        }
    }

    /// The rule this row says (`None` when deleted or blank), or why not.
    fn read(&self) -> Result<Option<Rule>, Box<RowErrors>> {
        if self.delete || self.is_blank() {
            return Ok(None);
        }
        let mut errors = RowErrors::default();
        if self.position().is_none() {
            errors.row = Some("序号应为1到999的整数".into());
            return Err(Box::new(errors));
        }
        let mut limits = [None; 5];
        for (i, (amount, clock)) in self.limits.iter().enumerate() {
            match read_limit(amount, clock) {
                Ok(limit) => limits[i] = limit,
                Err(e) => errors.limits[i] = Some(e),
            }
        }
        let keys = self.keys().map_err(|e| errors.row = Some(e)).ok();
        let Some(rule) = keys.filter(|_| !errors.any()) else {
            return Err(Box::new(errors));
        };
        if limits.iter().all(Option::is_none) && rule.review.is_none() {
            errors.row = Some("这一条没有规定任何时限：请填写时限，或勾选“删除”".into());
            return Err(Box::new(errors));
        }
        let [sign_for, contact, stage_reply, reply, co_answer] = limits;
        Ok(Some(Rule { sign_for, contact, stage_reply, reply, co_answer, ..rule }))
    }

    /// The rule's conditions and review setting, no limits yet.
    fn keys(&self) -> Result<Rule, String> {
        let kind = choice(&self.kind, RequestKind::parse, "诉求类型")?;
        let urgency = choice(&self.urgency, Urgency::parse, "紧急程度")?;
        let channel = choice(&self.channel, Channel::parse, "渠道")?;
        let enterprise = choice(&self.asker, |v| ASKERS.iter().position(|(c, _)| *c == v).map(|i| i == 0), "诉求人")?;
        let review = choice(&self.review, |v| REVIEWS.iter().position(|(c, _)| *c == v).map(|i| i == 0), "领导审核")?;
        if urgency == Some(Urgency::ActNow) && enterprise == Some(false) {
            return Err("“马上办”只适用于企业诉求，诉求人为个人的规则不会被用到：请改为企业或不限".into());
        }
        let (sign_for, contact, stage_reply, reply, co_answer) = (None, None, None, None, None);
        Ok(Rule { kind, urgency, channel, enterprise, sign_for, contact, stage_reply, reply, co_answer, review })
    }
}

/// An optional choice: empty is "不限"; anything else must be one of the list.
fn choice<T>(value: &str, parse: impl Fn(&str) -> Option<T>, label: &str) -> Result<Option<T>, String> {
    match value.trim() {
        "" => Ok(None),
        v => parse(v).map(Some).ok_or_else(|| format!("「{label}」无法识别，请从列表中选择")),
    }
}

/// A limit as the form shows it: natural time in whole hours where it can be.
fn limit_input(limit: Option<TimeLimit>) -> (String, String) {
    match limit {
        None => (String::new(), "working_days".into()),
        Some(TimeLimit { clock: Clock::WorkingDays, amount }) => (amount.to_string(), "working_days".into()),
        Some(TimeLimit { clock: Clock::WorkingHours, amount }) => (amount.to_string(), "working_hours".into()),
        Some(TimeLimit { clock: Clock::Natural, amount }) if amount % 60 == 0 => {
            ((amount / 60).to_string(), "hours".into())
        }
        Some(TimeLimit { clock: Clock::Natural, amount }) => (amount.to_string(), "minutes".into()),
    }
}

/// A limit typed in the form: empty is none; otherwise a whole number on a
/// listed clock, checked as the domain checks every rule's limits.
fn read_limit(amount: &str, clock: &str) -> Result<Option<TimeLimit>, String> {
    let amount = amount.trim();
    if amount.is_empty() {
        return Ok(None);
    }
    if amount.len() > 9 || !amount.bytes().all(|b| b.is_ascii_digit()) {
        return Err("请填写整数，如 5".into());
    }
    let n: u32 = amount.parse().map_err(|_| "请填写整数，如 5".to_owned())?;
    let limit = match clock {
        "working_days" => TimeLimit::working_days(n),
        "working_hours" => TimeLimit::working_hours(n),
        "hours" => TimeLimit::natural_minutes(n.saturating_mul(60)),
        "minutes" => TimeLimit::natural_minutes(n),
        _ => return Err("计时方式无法识别，请从列表中选择".into()),
    };
    check_limit(limit).map_err(|e| e.message)?;
    Ok(Some(limit))
}

/// The rows of a posted form (`r{n}_{field}` names) in the order their 序号
/// say, or why the form cannot be read.
pub fn rows_of(pairs: Vec<(String, String)>) -> Result<Vec<RowInput>, String> {
    let mut rows: BTreeMap<usize, RowInput> = BTreeMap::new();
    for (name, value) in pairs {
        let Some((n, field)) = name.strip_prefix('r').and_then(|rest| rest.split_once('_')) else { continue };
        let Ok(n) = n.parse::<usize>() else { continue };
        if n >= MAX_ROWS {
            return Err(format!("时限规则最多{MAX_ROWS}条"));
        }
        rows.entry(n).or_default().set(field, value);
    }
    Ok(in_typed_order(rows.into_values().collect()))
}

/// The rows sorted by the 序号 typed: a row given another row's number goes
/// before it, a blank or unreadable number keeps the row where it was. The
/// numbers are then cleared (the rows are numbered by place again), except
/// unreadable ones, which stay to be shown with their error.
fn in_typed_order(rows: Vec<RowInput>) -> Vec<RowInput> {
    let mut keyed: Vec<_> = rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let place = i + 1;
            let wanted = row.position().flatten().unwrap_or(place);
            ((wanted, wanted == place, i), row)
        })
        .collect();
    keyed.sort_by_key(|(key, _)| *key);
    keyed
        .into_iter()
        .map(|(_, mut row)| {
            if row.position().is_some() {
                row.order.clear();
            }
            row
        })
        .collect()
}

/// The rules the rows say, or each row's errors (one per row) when any does not hold.
pub fn read(rows: &[RowInput]) -> Result<Vec<Rule>, Vec<RowErrors>> {
    let read: Vec<_> = rows.iter().map(RowInput::read).collect();
    if read.iter().any(Result::is_err) {
        return Err(read.into_iter().map(|r| r.err().map(|e| *e).unwrap_or_default()).collect());
    }
    Ok(read.into_iter().filter_map(|r| r.ok().flatten()).collect())
}

/// The rows to show for the rules in force, with blank rows for new ones.
pub fn rows_for(rules: &[Rule]) -> Vec<RowInput> {
    let mut rows: Vec<RowInput> = rules.iter().take(MAX_ROWS - NEW_ROWS).map(RowInput::of).collect();
    rows.extend(std::iter::repeat_with(RowInput::default).take(NEW_ROWS));
    rows
}

/// One row of the form as the template draws it.
pub struct RowView {
    /// The row's index in the field names.
    pub n: usize,
    /// Its number as people count (1, 2, …).
    pub number: usize,
    pub kind: Vec<Choice>,
    pub urgency: Vec<Choice>,
    pub channel: Vec<Choice>,
    pub asker: Vec<Choice>,
    pub review: Vec<Choice>,
    pub limits: Vec<LimitCell>,
    pub delete: bool,
    /// The 序号 field: the row's number, or an unreadable number as typed.
    pub order: String,
    pub error: Option<String>,
}

/// One limit of a row: the amount typed, its clock, and why it does not hold.
pub struct LimitCell {
    pub field: &'static str,
    pub label: &'static str,
    pub amount: String,
    pub clocks: Vec<Choice>,
    pub error: Option<String>,
}

/// The rows as the template draws them, with their errors (if any).
pub fn views(rows: &[RowInput], errors: &[RowErrors]) -> Vec<RowView> {
    let none = RowErrors::default();
    rows.iter()
        .enumerate()
        .map(|(n, row)| {
            let errors = errors.get(n).unwrap_or(&none);
            let limits = LIMITS
                .iter()
                .zip(&row.limits)
                .zip(&errors.limits)
                .map(|(((field, label), (amount, clock)), error)| LimitCell {
                    field,
                    label,
                    amount: amount.clone(),
                    clocks: CLOCKS.iter().map(|(v, l)| Choice::new(*v, *l, v == clock)).collect(),
                    error: error.clone(),
                })
                .collect();
            RowView {
                n,
                number: n + 1,
                kind: choices(RequestKind::ALL.iter().map(|k| (k.as_str(), k.label())), &row.kind, "不限"),
                urgency: choices(Urgency::ALL.iter().map(|u| (u.as_str(), u.label())), &row.urgency, "不限"),
                channel: choices(Channel::ALL.iter().map(|c| (c.as_str(), c.label())), &row.channel, "不限"),
                asker: choices(ASKERS.iter().copied(), &row.asker, "不限"),
                review: choices(REVIEWS.iter().copied(), &row.review, "不规定"),
                limits,
                delete: row.delete,
                order: if row.order.is_empty() { (n + 1).to_string() } else { row.order.clone() },
                error: errors.row.clone(),
            }
        })
        .collect()
}

/// A select's options: "any" first, the typed value selected.
fn choices<'a>(all: impl Iterator<Item = (&'a str, &'a str)>, selected: &str, any: &str) -> Vec<Choice> {
    std::iter::once(Choice::new("", any, selected.is_empty()))
        .chain(all.map(|(value, label)| Choice::new(value, label, value == selected)))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use mashangban_domain::time_limit::RuleSet;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_defaults_read_back_as_themselves() {
        let defaults = RuleSet::guangdong_defaults().rules;
        let rows = rows_for(&defaults);
        assert_eq!(rows.len(), defaults.len() + NEW_ROWS);
        assert_eq!(read(&rows).unwrap(), defaults, "blank rows skipped; urgent 30 minutes and 2 hours kept");
    }

    #[test]
    fn a_posted_row_becomes_a_rule() {
        let form = pairs(&[
            ("r0_urgency", "act_now"),
            ("r0_asker", "enterprise"),
            ("r0_contact_amount", " 2 "),
            ("r0_contact_clock", "working_hours"),
            ("r0_reply_amount", "3"),
            ("r0_reply_clock", "hours"),
            ("r0_review", "1"),
            ("r1_reply_amount", "9"),
            ("r1_reply_clock", "working_days"),
            ("r1_delete", "1"),
            ("other", "x"),
        ]);
        let rows = rows_of(form).unwrap();
        let rules = read(&rows).unwrap();
        assert_eq!(rules.len(), 1, "the deleted row is left out");
        let rule = &rules[0];
        assert_eq!((rule.urgency, rule.enterprise, rule.review), (Some(Urgency::ActNow), Some(true), Some(true)));
        assert_eq!(
            (rule.contact, rule.reply),
            (Some(TimeLimit::working_hours(2)), Some(TimeLimit::natural_minutes(180)))
        );
    }

    #[test]
    fn rows_move_to_the_number_typed() {
        let row = |n: usize, days: &str, order: &str| {
            [("reply_amount", days), ("reply_clock", "working_days"), ("order", order)]
                .map(|(field, value)| (format!("r{n}_{field}"), value.to_owned()))
        };
        let days = |rows: &[RowInput]| rows.iter().map(|r| r.limits[3].0.clone()).collect::<Vec<_>>();
        // The third row moved to 1 goes before the first; blank and unchanged numbers keep their place.
        let form = [row(0, "1", "1"), row(1, "2", ""), row(2, "3", "1"), row(3, "4", "4")].concat();
        let rows = rows_of(form).unwrap();
        assert_eq!(days(&rows), ["3", "1", "2", "4"]);
        assert!(rows.iter().all(|r| r.order.is_empty()), "numbered by place again");
        // Past the end: last. Not a number: where it was, kept to be shown with its error.
        let form = [row(0, "1", "9"), row(1, "2", "二"), row(2, "3", "3")].concat();
        let rows = rows_of(form).unwrap();
        assert_eq!(days(&rows), ["2", "3", "1"]);
        let errors = read(&rows).unwrap_err();
        assert_eq!(errors[0].row.as_deref(), Some("序号应为1到999的整数"));
        assert_eq!(views(&rows, &errors)[0].order, "二");
    }

    #[test]
    fn bad_fields_are_named_beside_themselves() {
        let form = pairs(&[
            ("r0_reply_amount", "五"),
            ("r0_reply_clock", "working_days"),
            ("r0_kind", "complaint"),
            ("r1_kind", "boss"),
            ("r1_reply_amount", "5"),
            ("r2_kind", "help"),
            ("r3_sign_for_amount", "0"),
            ("r3_sign_for_clock", "working_days"),
            ("r4_urgency", "act_now"),
            ("r4_asker", "resident"),
            ("r4_reply_amount", "1"),
            ("r4_reply_clock", "working_days"),
            ("r5_reply_amount", "3651"),
            ("r5_reply_clock", "working_days"),
        ]);
        let errors = read(&rows_of(form).unwrap()).unwrap_err();
        assert_eq!(errors[0].limits[3].as_deref(), Some("请填写整数，如 5"));
        assert_eq!(errors[1].row.as_deref(), Some("「诉求类型」无法识别，请从列表中选择"));
        assert!(errors[2].row.as_deref().unwrap().starts_with("这一条没有规定任何时限"));
        assert_eq!(errors[3].limits[0].as_deref(), Some("时限不能为0"));
        assert!(errors[4].row.as_deref().unwrap().contains("马上办"));
        assert_eq!(errors[5].limits[3].as_deref(), Some("时限过长：最多3650个工作日"));
        assert!(rows_of(pairs(&[("r200_kind", "help")])).is_err(), "rows are bounded");
    }
}
