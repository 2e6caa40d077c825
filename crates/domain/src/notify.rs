//! Notifications (通知): which notices an event causes, to whom, with which
//! template, and the default Chinese templates. Pure: the store writes the
//! decided notices to its outbox in the event's transaction, and a delivery
//! worker sends them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::org::UnitId;
use crate::personal_data::Keyring;
use crate::request::{EventKind, Request};
use crate::time::Instant;

/// How a notice travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeChannel {
    Sms,
    Email,
    Webhook,
}

impl NoticeChannel {
    pub const ALL: &'static [Self] = &[Self::Sms, Self::Email, Self::Webhook];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
            Self::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

/// Who is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The asker (诉求人): SMS to a mobile contact phone, e-mail when given.
    Asker,
    /// The users (with an e-mail address) of these units.
    Units(Vec<UnitId>),
    /// The liaison cadres (联系干部) assigned to the request's enterprise, copied (抄送).
    Liaisons,
}

/// What a notice says, by template (通知模板).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub enum TemplateKey {
    #[serde(rename = "asker.accepted")]
    AskerAccepted,
    #[serde(rename = "asker.dispatched")]
    AskerDispatched,
    #[serde(rename = "asker.extended")]
    AskerExtended,
    #[serde(rename = "asker.replied")]
    AskerReplied,
    #[serde(rename = "asker.closed_rate")]
    AskerClosedRate,
    #[serde(rename = "unit.new_work")]
    UnitNewWork,
    #[serde(rename = "unit.return_decided")]
    UnitReturnDecided,
    #[serde(rename = "unit.urged")]
    UnitUrged,
    #[serde(rename = "unit.escalated")]
    UnitEscalated,
    #[serde(rename = "liaison.new_request")]
    LiaisonNewRequest,
    #[serde(rename = "onsite.accepted")]
    OnsiteAccepted,
    #[serde(rename = "onsite.proposed")]
    OnsiteProposed,
    #[serde(rename = "onsite.refused")]
    OnsiteRefused,
    #[serde(rename = "direct_line.answered")]
    DirectLineAnswered,
    #[serde(rename = "password_reset.code")]
    PasswordResetCode,
    #[serde(rename = "password_reset.shared_phone")]
    PasswordResetSharedPhone,
}

const ASKER_VARS: &[&str] =
    &["tracking_no", "check_code", "progress_link", "title", "unit_name", "deadline", "reply_excerpt"];
const UNIT_VARS: &[&str] = &["tracking_no", "title", "unit_name", "deadline", "message"];
/// An on-site service (行走办) decision told to the enterprise: the request's number, the centre, the
/// session date (accepted, proposed), the reason's start (refused), and the request's page (sign-in needed).
const ONSITE_VARS: &[&str] = &["number", "centre", "date", "reason_excerpt", "link"];
/// A direct-line (书记市长直通车) answer approved, told to the asker: to whom the item was written (书记 or
/// 市长), the item's number and check code, and its progress page (number and check code in it).
const DIRECT_LINE_VARS: &[&str] = &["addressee", "tracking_no", "check_code", "link"];
/// A password-reset code (密码重置验证码) and the minutes it stays valid.
const PASSWORD_RESET_VARS: &[&str] = &["code", "minutes"];
/// A password reset asked for with a phone several accounts share: their usernames (joined, at most five
/// named) and how many there are.
const SHARED_PHONE_VARS: &[&str] = &["accounts", "count"];

impl TemplateKey {
    pub const ALL: &'static [Self] = &[
        Self::AskerAccepted,
        Self::AskerDispatched,
        Self::AskerExtended,
        Self::AskerReplied,
        Self::AskerClosedRate,
        Self::UnitNewWork,
        Self::UnitReturnDecided,
        Self::UnitUrged,
        Self::UnitEscalated,
        Self::LiaisonNewRequest,
        Self::OnsiteAccepted,
        Self::OnsiteProposed,
        Self::OnsiteRefused,
        Self::DirectLineAnswered,
        Self::PasswordResetCode,
        Self::PasswordResetSharedPhone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AskerAccepted => "asker.accepted",
            Self::AskerDispatched => "asker.dispatched",
            Self::AskerExtended => "asker.extended",
            Self::AskerReplied => "asker.replied",
            Self::AskerClosedRate => "asker.closed_rate",
            Self::UnitNewWork => "unit.new_work",
            Self::UnitReturnDecided => "unit.return_decided",
            Self::UnitUrged => "unit.urged",
            Self::UnitEscalated => "unit.escalated",
            Self::LiaisonNewRequest => "liaison.new_request",
            Self::OnsiteAccepted => "onsite.accepted",
            Self::OnsiteProposed => "onsite.proposed",
            Self::OnsiteRefused => "onsite.refused",
            Self::DirectLineAnswered => "direct_line.answered",
            Self::PasswordResetCode => "password_reset.code",
            Self::PasswordResetSharedPhone => "password_reset.shared_phone",
        }
    }

    /// What the notice is, in the administrators' words (the templates page).
    pub fn label(self) -> &'static str {
        match self {
            Self::AskerAccepted => "诉求已受理（告知诉求人）",
            Self::AskerDispatched => "诉求已转办（告知诉求人）",
            Self::AskerExtended => "办理期限延长（告知诉求人）",
            Self::AskerReplied => "诉求已答复（告知诉求人）",
            Self::AskerClosedRate => "诉求已办结、请评价（告知诉求人）",
            Self::UnitNewWork => "新工单（告知承办单位）",
            Self::UnitReturnDecided => "退单未获同意（告知承办单位）",
            Self::UnitUrged => "催办（告知承办单位）",
            Self::UnitEscalated => "提级督办（告知承办单位）",
            Self::LiaisonNewRequest => "联系企业有新诉求（抄送联系干部）",
            Self::OnsiteAccepted => "上门服务申请已受理（告知企业）",
            Self::OnsiteProposed => "上门服务建议改期（告知企业）",
            Self::OnsiteRefused => "上门服务不予受理（告知企业）",
            Self::DirectLineAnswered => "直通车来信答复经审核同意（告知来信人）",
            Self::PasswordResetCode => "密码重置验证码（发给账号登记的手机）",
            Self::PasswordResetSharedPhone => "找回密码时手机号登记了多个账号（发给该手机，列出账号）",
        }
    }

    /// The placeholders a template of this key must use: a password-reset SMS without its code
    /// would leave nobody able to reset a password, one to a shared phone without the accounts
    /// nobody able to choose the username to type.
    pub fn required_variables(self) -> &'static [&'static str] {
        match self {
            Self::PasswordResetCode => &["code"],
            Self::PasswordResetSharedPhone => &["accounts"],
            _ => &[],
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    pub fn for_asker(self) -> bool {
        self.as_str().starts_with("asker.")
    }

    /// An on-site service decision told to the asking enterprise (not a request event).
    pub fn for_onsite(self) -> bool {
        self.as_str().starts_with("onsite.")
    }

    /// The placeholders a template of this key may use.
    pub fn variables(self) -> &'static [&'static str] {
        if self == Self::DirectLineAnswered {
            DIRECT_LINE_VARS
        } else if self == Self::PasswordResetCode {
            PASSWORD_RESET_VARS
        } else if self == Self::PasswordResetSharedPhone {
            SHARED_PHONE_VARS
        } else if self.for_asker() {
            ASKER_VARS
        } else if self.for_onsite() {
            ONSITE_VARS
        } else {
            UNIT_VARS
        }
    }

    /// The channels that carry this key: the asker and the enterprise by SMS and e-mail, units by e-mail;
    /// the direct line's asker (who gives no e-mail address) and the password-reset SMS (a code, or the
    /// accounts of a shared phone) by SMS alone.
    pub fn channels(self) -> &'static [NoticeChannel] {
        if matches!(self, Self::DirectLineAnswered | Self::PasswordResetCode | Self::PasswordResetSharedPhone) {
            &[NoticeChannel::Sms]
        } else if self.for_asker() || self.for_onsite() {
            &[NoticeChannel::Sms, NoticeChannel::Email]
        } else {
            &[NoticeChannel::Email]
        }
    }
}

/// A notice decided for an event, before it is addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub template: TemplateKey,
    pub audience: Audience,
}

/// What the planner needs of an event.
#[derive(Debug, Clone, Copy)]
pub struct EventFacts<'a> {
    pub kind: EventKind,
    pub comment: Option<&'a str>,
    pub details: &'a crate::event::EventDetails,
    /// The deadline in force after the event.
    pub due_at: Option<Instant>,
}

/// The notices an event causes. `request` is the request after the event.
pub fn plan(request: &Request, event: &EventFacts<'_>) -> Vec<Planned> {
    let lead: Vec<UnitId> = request.lead_unit_id.into_iter().collect();
    let handling: Vec<UnitId> = lead.iter().chain(request.co_unit_ids.iter()).copied().collect();
    let asker = |template| Planned { template, audience: Audience::Asker };
    let units = |template, units: &Vec<UnitId>| Planned { template, audience: Audience::Units(units.clone()) };
    let mut notices = match event.kind {
        // The liaison cadres of an enterprise are copied on each of its requests (抄送).
        EventKind::Received if request.asker.credit_code().is_some() => vec![
            asker(TemplateKey::AskerAccepted),
            Planned { template: TemplateKey::LiaisonNewRequest, audience: Audience::Liaisons },
        ],
        EventKind::Received => vec![asker(TemplateKey::AskerAccepted)],
        EventKind::Dispatched => vec![asker(TemplateKey::AskerDispatched), units(TemplateKey::UnitNewWork, &handling)],
        EventKind::Redispatched | EventKind::Reopened => vec![units(TemplateKey::UnitNewWork, &handling)],
        EventKind::ReturnRefused => vec![units(TemplateKey::UnitReturnDecided, &lead)],
        EventKind::ExtensionApproved => vec![asker(TemplateKey::AskerExtended)],
        EventKind::Replied => vec![asker(TemplateKey::AskerReplied)],
        EventKind::Closed | EventKind::DirectlyClosed => vec![asker(TemplateKey::AskerClosedRate)],
        // A unit's own deadline (二次派单, 协办期限) concerns that unit alone.
        EventKind::Overdue => match event.details.noticed_own_unit() {
            Some(unit) => vec![units(TemplateKey::UnitUrged, &vec![unit])],
            None => vec![units(TemplateKey::UnitUrged, &handling)],
        },
        EventKind::Urged => vec![units(TemplateKey::UnitUrged, &handling)],
        EventKind::Escalated => vec![units(TemplateKey::UnitEscalated, &lead)],
        _ => Vec::new(),
    };
    notices.retain(|n| !matches!(&n.audience, Audience::Units(u) if u.is_empty()));
    // A direct-line (书记市长直通车) request's asker follows the direct-line item, whose reply the
    // leaders' office reviews before the asker sees it: the request itself tells the asker nothing
    // (its notices would carry its own check code and its unreviewed reply).
    if request.channel == crate::request::Channel::DirectLine {
        notices.retain(|n| n.audience != Audience::Asker);
    }
    notices
}

/// Template variables, by name.
pub type Vars = BTreeMap<&'static str, String>;

/// The variables of a notice. `unit_name` is the unit told (unit notices) or
/// the lead unit (asker notices); `progress_link` the public progress page.
pub fn variables(request: &Request, event: &EventFacts<'_>, unit_name: Option<&str>, progress_link: &str) -> Vars {
    let deadline = event.due_at.or(request.due_at).map(|t| t.format("%Y-%m-%d %H:%M").to_string());
    let mut vars = Vars::new();
    vars.insert("tracking_no", request.tracking_no.clone());
    vars.insert("check_code", request.check_code.clone());
    vars.insert("progress_link", progress_link.to_owned());
    vars.insert("title", request.title.clone());
    vars.insert("unit_name", unit_name.unwrap_or("承办单位").to_owned());
    vars.insert("deadline", deadline.unwrap_or_else(|| "—".into()));
    vars.insert("reply_excerpt", excerpt(event.comment.unwrap_or(""), 30));
    vars.insert("message", event.comment.unwrap_or("").to_owned());
    vars
}

/// The first `max` characters of `text`, with an ellipsis when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

/// The public progress page of a request under `base` (the platform's public address).
pub fn progress_link(base: &str, request: &Request) -> String {
    format!("{}/track/{}?code={}", base.trim_end_matches('/'), request.tracking_no, request.check_code)
}

/// A template: a subject (e-mail only) and a body with `{{var}}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Template {
    pub subject: Option<String>,
    pub body: String,
}

/// The built-in template for a key and channel (None where the key does not use the channel).
pub fn default_template(key: TemplateKey, channel: NoticeChannel) -> Option<Template> {
    if !key.channels().contains(&channel) {
        return None;
    }
    let (subject, sms, mail) = default_texts(key);
    let body = if channel == NoticeChannel::Sms { sms } else { mail };
    let subject = (channel == NoticeChannel::Email).then(|| subject.to_owned());
    Some(Template { subject, body: body.to_owned() })
}

/// (e-mail subject, SMS text, e-mail body) of each key.
fn default_texts(key: TemplateKey) -> (&'static str, &'static str, &'static str) {
    match key {
        TemplateKey::AskerAccepted => (
            "【马上办】您的诉求已受理 {{tracking_no}}",
            "【马上办】您的诉求已受理，编号{{tracking_no}}，查询码{{check_code}}。进度：{{progress_link}}",
            "您好：\n\n您的诉求「{{title}}」已受理，受理编号 {{tracking_no}}，查询码 {{check_code}}。\n答复期限：{{deadline}}。\n查看办理进度：{{progress_link}}\n\n马上办",
        ),
        TemplateKey::AskerDispatched => (
            "【马上办】您的诉求已转交办理 {{tracking_no}}",
            "【马上办】您的诉求{{tracking_no}}已转{{unit_name}}办理。进度：{{progress_link}}",
            "您好：\n\n您的诉求「{{title}}」（{{tracking_no}}）已转交{{unit_name}}办理，答复期限 {{deadline}}。\n查看办理进度：{{progress_link}}\n\n马上办",
        ),
        TemplateKey::AskerExtended => (
            "【马上办】您的诉求办理期限已延长 {{tracking_no}}",
            "【马上办】您的诉求{{tracking_no}}办理期限延至{{deadline}}。进度：{{progress_link}}",
            "您好：\n\n您的诉求「{{title}}」（{{tracking_no}}）经批准延期办理，新的答复期限为 {{deadline}}。\n查看办理进度：{{progress_link}}\n\n马上办",
        ),
        TemplateKey::AskerReplied => (
            "【马上办】您的诉求已答复 {{tracking_no}}",
            "【马上办】您的诉求{{tracking_no}}已答复：{{reply_excerpt}} 详见{{progress_link}}",
            "您好：\n\n{{unit_name}}已答复您的诉求「{{title}}」（{{tracking_no}}）：\n{{reply_excerpt}}\n\n答复全文：{{progress_link}}\n\n马上办",
        ),
        TemplateKey::AskerClosedRate => (
            "【马上办】您的诉求已办结，请评价 {{tracking_no}}",
            "【马上办】您的诉求{{tracking_no}}已办结，请评价办理结果：{{progress_link}}",
            "您好：\n\n您的诉求「{{title}}」（{{tracking_no}}）已办结。请对办理结果进行评价，您的意见是我们改进工作的依据：\n{{progress_link}}\n\n马上办",
        ),
        TemplateKey::UnitNewWork => (
            "【马上办】新工单 {{tracking_no}}：{{title}}",
            "",
            "{{unit_name}}：\n\n有一件新诉求派给贵单位办理：{{tracking_no}}「{{title}}」，答复期限 {{deadline}}。请及时签收。\n\n马上办",
        ),
        TemplateKey::UnitReturnDecided => (
            "【马上办】退单未获同意 {{tracking_no}}",
            "",
            "{{unit_name}}：\n\n贵单位对 {{tracking_no}}「{{title}}」的退单申请未获同意，请继续办理。\n意见：{{message}}\n\n马上办",
        ),
        TemplateKey::UnitUrged => (
            "【马上办】催办 {{tracking_no}}",
            "",
            "{{unit_name}}：\n\n诉求 {{tracking_no}}「{{title}}」请抓紧办理，答复期限 {{deadline}}。\n{{message}}\n\n马上办",
        ),
        TemplateKey::LiaisonNewRequest => (
            "【马上办】您联系的企业有新诉求 {{tracking_no}}",
            "",
            "联系干部：\n\n您联系的企业提交了诉求 {{tracking_no}}「{{title}}」，答复期限 {{deadline}}。\n可在“我联系的企业”中查看进度、催办和批注。\n\n马上办",
        ),
        TemplateKey::UnitEscalated => (
            "【马上办】提级督办 {{tracking_no}}",
            "",
            "{{unit_name}}：\n\n诉求 {{tracking_no}}「{{title}}」已超期，现提级督办。\n{{message}}\n\n马上办",
        ),
        // The e-mail body repeats the SMS text (as before these were templates).
        TemplateKey::OnsiteAccepted => ("【马上办】上门服务申请{{number}}已受理", ONSITE_ACCEPTED, ONSITE_ACCEPTED),
        TemplateKey::OnsiteProposed => ("【马上办】上门服务申请{{number}}建议改期", ONSITE_PROPOSED, ONSITE_PROPOSED),
        TemplateKey::OnsiteRefused => ("【马上办】上门服务申请{{number}}不予受理", ONSITE_REFUSED, ONSITE_REFUSED),
        // SMS only (no e-mail copy).
        TemplateKey::DirectLineAnswered => ("", DIRECT_LINE_ANSWERED, ""),
        TemplateKey::PasswordResetCode => ("", PASSWORD_RESET_CODE, ""),
        TemplateKey::PasswordResetSharedPhone => ("", PASSWORD_RESET_SHARED_PHONE, ""),
    }
}

/// The reply's text is not in it (it may name people; the progress page shows it to the asker).
const DIRECT_LINE_ANSWERED: &str = "【马上办】您写给{{addressee}}的来信{{tracking_no}}已有答复，请查看并评价：{{link}}";
const PASSWORD_RESET_CODE: &str =
    "【马上办】您的密码重置验证码为{{code}}，{{minutes}}分钟内有效。如非本人操作，请忽略本短信，切勿告诉他人。";
/// The words of the SMS to a shared phone before it was a template.
const PASSWORD_RESET_SHARED_PHONE: &str = "【马上办】本手机号登记了{{count}}个账号（{{accounts}}）。找回密码时请输入其中一个账号的用户名获取验证码。如非本人操作，请忽略本短信。";

const ONSITE_ACCEPTED: &str =
    "【马上办】您的上门服务申请{{number}}已受理：{{centre}}将于{{date}}上门办理。请登录马上办查看。";
const ONSITE_PROPOSED: &str =
    "【马上办】您的上门服务申请{{number}}：{{centre}}建议改为{{date}}上门，请登录马上办确认或撤回。";
const ONSITE_REFUSED: &str =
    "【马上办】您的上门服务申请{{number}}，{{centre}}不予受理：{{reason_excerpt}}。请登录马上办查看。";

/// Replaces every `{{var}}` with its value; unknown placeholders stay as they are.
pub fn render(text: &str, vars: &Vars) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match vars.get(name) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The placeholders of a template text, or an error for an unclosed `{{`.
fn placeholders(text: &str) -> Result<Vec<&str>, DomainError> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| DomainError::invalid("invalid_template", "模板中有未闭合的「{{」"))?;
        names.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    Ok(names)
}

/// The longest template body, in characters.
pub const TEMPLATE_MAX: usize = 2000;

/// Validates a template an administrator saves for a key and channel.
pub fn validate_template(key: TemplateKey, channel: NoticeChannel, t: &Template) -> Result<Template, DomainError> {
    if !key.channels().contains(&channel) {
        return Err(DomainError::invalid(
            "invalid_template",
            format!("通知「{}」不通过「{}」渠道发送", key.as_str(), channel.as_str()),
        ));
    }
    let body = crate::validation::required_text("模板正文", &t.body, TEMPLATE_MAX)?;
    let subject = match channel {
        NoticeChannel::Email => {
            Some(crate::validation::required_text("邮件主题", t.subject.as_deref().unwrap_or(""), 200)?)
        }
        _ => None,
    };
    let mut used = Vec::new();
    for text in std::iter::once(body.as_str()).chain(subject.as_deref()) {
        for name in placeholders(text)? {
            used.push(name);
            if !key.variables().contains(&name) {
                return Err(DomainError::invalid(
                    "invalid_template",
                    format!("模板中的占位符「{{{{{name}}}}}」不可用；可用：{}", key.variables().join("、")),
                ));
            }
        }
    }
    if let Some(missing) = key.required_variables().iter().find(|name| !used.contains(name)) {
        return Err(DomainError::invalid(
            "invalid_template",
            format!("模板必须包含占位符「{{{{{missing}}}}}」，否则通知缺少必要内容"),
        ));
    }
    Ok(Template { subject, body })
}

/// The longest e-mail address accepted.
pub const EMAIL_MAX: usize = 254;

/// Validates an e-mail address simply: one `@`, a dot inside the domain, no spaces, ≤ 254 characters.
pub fn parse_email(input: &str) -> Result<String, DomainError> {
    let s = input.trim();
    let bad = || DomainError::invalid("invalid_email", format!("电子邮箱「{}」格式不正确", excerpt(s, 60)));
    if s.is_empty() || s.chars().count() > EMAIL_MAX || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = s.split_once('@').ok_or_else(bad)?;
    let domain_ok =
        domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains("..");
    if local.is_empty() || domain.contains('@') || !domain_ok {
        return Err(bad());
    }
    Ok(s.to_owned())
}

/// A short stable hash of a recipient, for idempotency keys (which receivers such as SMS gateways see,
/// and the outbox stores): with the keys of personal data, HMAC-SM3 under the look-up key of the current
/// key (as every node of a cluster is configured), over a label and the recipient, truncated to 64 bits;
/// so a phone cannot be recovered from the key by trying every number. Without keys (a store opened for
/// tests or tools with no personal data at rest), the unkeyed 64-bit FNV-1a of earlier versions. Queued
/// rows keep the key they were written with: retries never recompute it.
pub fn recipient_hash(keys: Option<&Keyring>, recipient: &str) -> String {
    match keys {
        Some(keys) => {
            let mut mac = keys.lookup_hash(&format!("{RECIPIENT_LABEL}{recipient}"));
            mac.truncate(16);
            mac
        }
        None => fnv_hex(recipient),
    }
}

/// What a recipient's keyed hash is computed over before the recipient, so it is never equal to the
/// look-up hash of the same phone stored beside a request.
const RECIPIENT_LABEL: &str = "outbox.recipient\u{0}";

/// FNV-1a, 64 bits, hex.
fn fnv_hex(recipient: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in recipient.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The idempotency key of a delivery: the same event, channel and recipient
/// always give the same key (under the same keys), so a receiver can drop a retried duplicate.
pub fn idempotency_key(keys: Option<&Keyring>, event_id: i64, channel: NoticeChannel, recipient: &str) -> String {
    format!("evt-{event_id}-{}-{}", channel.as_str(), recipient_hash(keys, recipient))
}

/// Whether a webhook with this event filter (event kind codes; empty = all) wants the event.
/// Staff-only events (内部备注, work inside a unit) never leave the platform, whatever the filter says.
pub fn webhook_wants(filter: &[String], kind: EventKind, details: &crate::event::EventDetails) -> bool {
    !kind.is_staff_only()
        && !details.is_inside_unit()
        && (filter.is_empty() || filter.iter().any(|k| k == kind.as_str()))
}

/// The JSON a partner system receives for an event. No personal data.
pub fn webhook_payload(request: &Request, event_id: i64, event: &EventFacts<'_>, at: &Instant) -> serde_json::Value {
    serde_json::json!({
        "event": event.kind.as_str(),
        "event_label": event.kind.label(),
        "event_id": event_id,
        "at": crate::time::format_instant(at),
        "tracking_no": request.tracking_no,
        "kind": request.kind.as_str(),
        "state": request.state.as_str(),
        "lead_unit_id": request.lead_unit_id,
        "co_unit_ids": request.co_unit_ids,
        "due_at": event.due_at.as_ref().map(crate::time::format_instant),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_never_receive_internal_notes() {
        let none = crate::event::EventDetails::None;
        assert!(webhook_wants(&[], EventKind::Dispatched, &none));
        assert!(!webhook_wants(&[], EventKind::InternalNote, &none));
        assert!(!webhook_wants(&["internal_note".into()], EventKind::InternalNote, &none));
        assert!(!webhook_wants(&["closed".into()], EventKind::Dispatched, &none));
    }

    #[test]
    fn render_replaces_known_placeholders() {
        let mut vars = Vars::new();
        vars.insert("tracking_no", "ZS1".into());
        assert_eq!(render("编号{{tracking_no}}，{{ tracking_no }}{{x}}{{", &vars), "编号ZS1，ZS1{{x}}{{");
    }

    #[test]
    fn templates_reject_unknown_placeholders() {
        let t = Template { subject: None, body: "【马上办】{{tracking_no}} {{phone}}".into() };
        let e = validate_template(TemplateKey::AskerAccepted, NoticeChannel::Sms, &t).err();
        assert_eq!(e.map(|e| e.code), Some("invalid_template"));
        let t = Template { subject: None, body: "【马上办】{{tracking_no}}".into() };
        assert!(validate_template(TemplateKey::AskerAccepted, NoticeChannel::Sms, &t).is_ok());
        assert!(validate_template(TemplateKey::UnitUrged, NoticeChannel::Sms, &t).is_err());
        // The on-site notices have their own placeholders: a request's are not theirs.
        let t = Template {
            subject: None, body: "【马上办】{{number}}：{{centre}}将于{{date}}上门。{{link}}".into()
        };
        assert!(validate_template(TemplateKey::OnsiteAccepted, NoticeChannel::Sms, &t).is_ok());
        let t = Template { subject: None, body: "【马上办】{{number}} {{tracking_no}}".into() };
        let e = validate_template(TemplateKey::OnsiteAccepted, NoticeChannel::Sms, &t).err();
        assert_eq!(e.map(|e| e.code), Some("invalid_template"));
    }

    #[test]
    fn default_templates_are_valid() {
        for &key in TemplateKey::ALL {
            for &channel in key.channels() {
                let t = default_template(key, channel);
                assert!(t.is_some_and(|t| validate_template(key, channel, &t).is_ok()), "{key:?} {channel:?}");
            }
        }
    }

    #[test]
    fn emails() {
        assert!(parse_email("chen@example.com").is_ok());
        for bad in ["", "a", "a@b", "@b.cn", "a@@b.cn", "a b@c.cn", "a@.cn", "a@b.", "a@b..cn"] {
            assert_eq!(parse_email(bad).err().map(|e| e.code), Some("invalid_email"), "{bad}");
        }
        assert!(parse_email(&format!("{}@b.cn", "a".repeat(250))).is_err());
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn keys_are_stable_and_keyed() {
        let ring = |byte| {
            let key = crate::personal_data::PersonalDataKey::new("k1", [byte; 16]).unwrap();
            Keyring::new(key, Vec::new()).unwrap()
        };
        let (a, a_again, b) = (ring(1), ring(1), ring(2));
        let key = |keys: Option<&Keyring>, phone| idempotency_key(keys, 7, NoticeChannel::Sms, phone);
        // Stable: the same recipient under the same key material (another node, a retry) gives the same key.
        assert_eq!(key(Some(&a), "13800138000"), key(Some(&a_again), "13800138000"));
        assert_eq!(key(None, "13800138000"), key(None, "13800138000"));
        // Each recipient its own key.
        assert_ne!(key(Some(&a), "13800138000"), key(Some(&a), "13800138001"));
        // Keyed: another key gives another hash, and neither is the unkeyed FNV of the phone nor a
        // prefix of the phone's look-up hash.
        let keyed = recipient_hash(Some(&a), "13800138000");
        assert_eq!(keyed.len(), 16);
        assert!(keyed.bytes().all(|b| b.is_ascii_hexdigit()), "{keyed}");
        assert_ne!(keyed, recipient_hash(Some(&b), "13800138000"));
        assert_ne!(keyed, recipient_hash(None, "13800138000"));
        assert!(!a.lookup_hash("13800138000").starts_with(&keyed));
        // The unkeyed form is the FNV-1a of earlier versions (rows queued by them keep theirs).
        assert_eq!(recipient_hash(None, ""), "cbf29ce484222325");
        assert_eq!(key(None, "13800138000"), format!("evt-7-sms-{}", recipient_hash(None, "13800138000")));
    }
}
