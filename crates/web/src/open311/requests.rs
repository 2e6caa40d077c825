//! `GET requests`, `GET requests/{id}` and `GET tokens/{token}`: the public
//! state of requests. Anyone may read it, so the asker's personal data never
//! appears: no names, phones, e-mail or credit codes, and free text masked.

use chrono::{Duration, NaiveDate};

use mashangban_app::App;
use mashangban_app::views::PublicStep;
use mashangban_domain::calendar::Clock;
use mashangban_domain::org::OrgTree;
use mashangban_domain::request::{EventKind, Request, State};
use mashangban_domain::time::{Instant, format_instant, parse_instant, shanghai};
use mashangban_domain::time_limit::TimeLimits;
use mashangban_domain::validation::{mask_credit_code, mask_name, mask_phone};
use mashangban_store::{Category, ListFilter, Store};
use mashangban_text::{PUBLIC_COORDINATE_DECIMALS, mask, round_coordinate};

use super::format::{Document, Failure, Fields, Node};
use super::{PAGE_CAP, Params, services};

/// The longest span of `start_date`..`end_date`, and the default window.
const MAX_SPAN_DAYS: i64 = 90;

/// `GET requests`: `service_request_id` (comma list) overrides every other
/// filter; otherwise `service_code`, `start_date`/`end_date`, `status`,
/// `updated_after`/`updated_before`, `page`/`page_size`.
pub async fn list<S: Store>(app: &App<S>, params: &Params) -> Result<Document, Failure> {
    params.check_jurisdiction()?;
    let extensions = params.flag("extensions")?;
    let ids = params.list("service_request_id");
    let requests = if ids.is_empty() {
        app.requests().published_list(filter(app, params)?).await?
    } else {
        by_ids(app, &ids).await?
    };
    render(app, &requests, extensions).await
}

/// `GET requests/{id}`: a list of one.
pub async fn one<S: Store>(app: &App<S>, id: &str, params: &Params) -> Result<Document, Failure> {
    params.check_jurisdiction()?;
    let extensions = params.flag("extensions")?;
    let request = app.requests().published(id).await?.ok_or_else(|| unknown_request(id))?;
    render(app, &[request], extensions).await
}

/// `GET tokens/{token}`. We answer every intake with its service request id
/// at once and issue no tokens; a tracking number serves as its own token. A
/// token answers exactly when `requests/{id}` does: a confidential report
/// (举报) is as unknown here as there.
pub async fn token<S: Store>(app: &App<S>, token: &str, params: &Params) -> Result<Document, Failure> {
    params.check_jurisdiction()?;
    let request = app.requests().published(token).await?;
    let tracking_no =
        request.map(|r| r.tracking_no).ok_or_else(|| Failure::not_found(format!("没有令牌「{token}」")))?;
    let item = Fields::new().text("service_request_id", tracking_no).text("token", token).build();
    Ok(Document::list("service_requests", "request", vec![item]))
}

fn unknown_request(id: &str) -> Failure {
    Failure::not_found(format!("没有编号为「{id}」的诉求"))
}

/// The requests named, in the order given; unknown ids are left out.
async fn by_ids<S: Store>(app: &App<S>, ids: &[&str]) -> Result<Vec<Request>, Failure> {
    if ids.len() > PAGE_CAP as usize {
        return Err(Failure::bad_request(format!("service_request_id 一次最多{PAGE_CAP}个")));
    }
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(request) = app.requests().published(id).await? {
            found.push(request);
        }
    }
    Ok(found)
}

fn filter<S: Store>(app: &App<S>, params: &Params) -> Result<ListFilter, Failure> {
    let (from, to) = window(params, app.now())?;
    let page = number(params, "page", 1, u32::MAX)?;
    let limit = number(params, "page_size", PAGE_CAP, PAGE_CAP)?;
    let offset = (page - 1).checked_mul(limit).ok_or_else(|| Failure::bad_request("page 过大"))?;
    let categories = app.caches().categories();
    let category_ids = params
        .list("service_code")
        .into_iter()
        .map(|code| services::find(&categories, code).map(|c| c.id).ok_or_else(|| services::unknown_service(code)))
        .collect::<Result<_, _>>()?;
    Ok(ListFilter {
        states: statuses(params)?,
        category_ids,
        received_from: Some(from),
        received_to: to,
        updated_after: params.get("updated_after").map(|v| instant("updated_after", v)).transpose()?,
        updated_before: params.get("updated_before").map(|v| instant("updated_before", v)).transpose()?,
        limit,
        offset,
        ..ListFilter::default()
    })
}

/// A whole number in `1..=max`, or the default when absent.
fn number(params: &Params, key: &str, default: u32, max: u32) -> Result<u32, Failure> {
    match params.get(key) {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| Failure::bad_request(format!("参数 {key} 应为 1 到 {max} 的整数"))),
    }
}

/// `status=open,closed`: our states in each.
fn statuses(params: &Params) -> Result<Vec<State>, Failure> {
    let mut states = Vec::new();
    for status in params.list("status") {
        let open = match status {
            "open" => true,
            "closed" => false,
            other => return Err(Failure::bad_request(format!("status 应为 open 或 closed，不能是「{other}」"))),
        };
        states.extend(State::ALL.iter().copied().filter(|s| s.is_open() == open));
    }
    Ok(states)
}

/// The receipt window `[from, to)`: at most 90 days, by default the last 90.
fn window(params: &Params, now: Instant) -> Result<(Instant, Option<Instant>), Failure> {
    let span = Duration::days(MAX_SPAN_DAYS);
    let start = params.get("start_date").map(|v| instant("start_date", v)).transpose()?;
    let end = params.get("end_date").map(end_bound).transpose()?;
    match (start, end) {
        (None, None) => Ok((now - span, None)),
        (Some(start), None) => Ok((start, Some(start + span))),
        (None, Some(end)) => Ok((end - span, Some(end))),
        (Some(start), Some(end)) if end < start => Err(Failure::bad_request("end_date 早于 start_date")),
        (Some(start), Some(end)) if end - start > span => {
            Err(Failure::bad_request(format!("start_date 到 end_date 不能超过{MAX_SPAN_DAYS}天")))
        }
        (Some(start), Some(end)) => Ok((start, Some(end))),
    }
}

/// An ISO 8601 date-time with offset, or a date meaning its start in +08:00.
fn instant(key: &str, value: &str) -> Result<Instant, Failure> {
    parse_instant(value).or_else(|| day_start(value)).ok_or_else(|| {
        Failure::bad_request(format!("参数 {key} 应为带时区的时间（如 2026-11-29T10:00:00+08:00）或日期（2026-11-29）"))
    })
}

fn day_start(value: &str) -> Option<Instant> {
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
    date.and_hms_opt(0, 0, 0)?.and_local_timezone(shanghai()).single()
}

/// `end_date` is inclusive: the bound just after it (a date: its whole day).
fn end_bound(value: &str) -> Result<Instant, Failure> {
    match parse_instant(value) {
        Some(t) => Ok(t + Duration::milliseconds(1)),
        None => instant("end_date", value).map(|day| day + Duration::days(1)),
    }
}

async fn render<S: Store>(app: &App<S>, requests: &[Request], extensions: bool) -> Result<Document, Failure> {
    let org = app.caches().org();
    let categories = app.caches().categories();
    let mut items = Vec::with_capacity(requests.len());
    for request in requests {
        let steps = app.requests().public_steps(request).await?;
        let shown = Shown { request, steps, org: &org, categories: &categories };
        let fields = if extensions {
            shown.extensions(shown.fields(), app.requests().merged_tracking_no(request).await?)
        } else {
            shown.fields()
        };
        items.push(fields.build());
    }
    Ok(Document::list("service_requests", "request", items))
}

/// One request and what is needed to show it.
struct Shown<'a> {
    request: &'a Request,
    /// The public timeline (办理进度), oldest first.
    steps: Vec<PublicStep>,
    org: &'a OrgTree,
    categories: &'a [Category],
}

impl Shown<'_> {
    /// The fields of the specification.
    fn fields(&self) -> Fields {
        let r = self.request;
        let category = self.categories.iter().find(|c| c.id == r.category_id);
        let town = r.location.town_id.and_then(|t| self.org.get(t));
        let address = r.location.address.as_deref().map(|a| self.scrub(a)).or_else(|| town.map(|t| t.name.clone()));
        Fields::new()
            .text("service_request_id", r.tracking_no.clone())
            .text("status", if r.state.is_open() { "open" } else { "closed" })
            .text("status_notes", self.status_notes())
            .opt_text("service_name", category.map(|c| c.name.clone()))
            .opt_text("service_code", category.map(|c| c.code.clone()))
            .text("description", self.scrub(&r.content))
            .opt_text("agency_responsible", r.lead_unit_id.and_then(|u| self.org.get(u)).map(|u| u.name.clone()))
            .opt_text("service_notice", service_notice(r.time_limits.as_ref()))
            .text("requested_datetime", format_instant(&r.received_at))
            .text("updated_datetime", format_instant(&r.updated_at))
            .opt_text("expected_datetime", r.due_at.as_ref().map(format_instant))
            .opt_text("address", address)
            .opt_text("address_id", town.map(|t| t.code.clone()))
            .opt("lat", r.location.point.map(|p| Node::Number(public_coordinate(p.lat))))
            .opt("long", r.location.point.map(|p| Node::Number(public_coordinate(p.lon))))
    }

    /// `extensions=true`: our own attributes and the public history as notes.
    fn extensions(&self, fields: Fields, merged_into: Option<String>) -> Fields {
        let notes = self.steps.iter().map(|s| self.note(s)).collect();
        fields
            .with("extended_attributes", self.extended_attributes(merged_into))
            .with("notes", Node::List("note", notes))
    }

    /// Masks numbers (phones, ID numbers) and the asker's own name, phone and credit code.
    fn scrub(&self, text: &str) -> String {
        let r = self.request;
        let mut out = mask(text);
        let name = r.contact.name.trim();
        if name.chars().count() >= 2 {
            out = out.replace(name, &mask_name(name));
        }
        let phone = r.contact.phone.as_str();
        out = out.replace(phone, &mask_phone(phone));
        if let Some(code) = r.asker.credit_code() {
            out = out.replace(code, &mask_credit_code(code));
        }
        out
    }

    /// The state in Chinese and the latest public step, e.g.
    /// `办理中；最新进展：阶段性答复（市市场监管局）：已联系企业。`
    fn status_notes(&self) -> String {
        let state = self.request.state.label();
        let skipped = [EventKind::Received.as_str(), EventKind::AttachmentAdded.as_str()];
        let Some(step) = self.steps.iter().rev().find(|s| !skipped.contains(&s.kind)) else {
            return state.to_owned();
        };
        let mut notes = format!("{state}；最新进展：{}", step.label);
        if let Some(unit) = &step.unit {
            notes.push_str(&format!("（{unit}）"));
        }
        if let Some(comment) = &step.comment {
            notes.push_str(&format!("：{}", self.scrub(comment)));
        }
        notes
    }

    fn note(&self, step: &PublicStep) -> Node {
        Fields::new()
            .text("datetime", step.at.clone())
            .text("type", step.kind)
            .text("summary", step.label)
            .opt_text("agency", step.unit.clone())
            .opt_text("description", step.comment.as_deref().map(|c| self.scrub(c)))
            .build()
    }

    fn extended_attributes(&self, merged_into: Option<String>) -> Node {
        let r = self.request;
        Fields::new()
            .text("request_kind", r.kind.as_str())
            .text("request_kind_label", r.kind.label())
            .text("channel", r.channel.as_str())
            .text("channel_label", r.channel.label())
            .text("state", r.state.as_str())
            .text("state_label", r.state.label())
            .opt_text("deadline", r.due_at.as_ref().map(format_instant))
            .opt_text("merged_into", merged_into)
            .build()
    }
}

/// A latitude or longitude as the public may see it: rounded to about 100 m, so a request does not point
/// at the asker's door.
fn public_coordinate(degrees: f64) -> f64 {
    round_coordinate(degrees, PUBLIC_COORDINATE_DECIMALS)
}

/// The promised reply time in Chinese, e.g. 本诉求将在15个工作日内答复.
pub fn service_notice(limits: Option<&TimeLimits>) -> Option<String> {
    let limit = limits?.reply?;
    let span = match limit.clock {
        Clock::WorkingDays => format!("{}个工作日", limit.amount),
        Clock::WorkingHours => format!("{}个工作小时", limit.amount),
        Clock::Natural if limit.amount % 60 == 0 => format!("{}小时", limit.amount / 60),
        Clock::Natural => format!("{}分钟", limit.amount),
    };
    Some(format!("本诉求将在{span}内答复"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use mashangban_domain::calendar::TimeLimit;

    fn limits(reply: TimeLimit) -> TimeLimits {
        TimeLimits {
            version: 1,
            sign_for: None,
            contact: None,
            stage_reply: None,
            reply: Some(reply),
            co_answer: None,
            review: false,
        }
    }

    #[test]
    fn notices_name_the_clock() {
        let notice = |l| service_notice(Some(&limits(l)));
        assert_eq!(notice(TimeLimit::working_days(15)).as_deref(), Some("本诉求将在15个工作日内答复"));
        assert_eq!(notice(TimeLimit::natural_minutes(120)).as_deref(), Some("本诉求将在2小时内答复"));
        assert_eq!(notice(TimeLimit::natural_minutes(30)).as_deref(), Some("本诉求将在30分钟内答复"));
        assert_eq!(notice(TimeLimit::working_hours(1)).as_deref(), Some("本诉求将在1个工作小时内答复"));
        assert_eq!(service_notice(None), None);
    }

    #[test]
    fn the_window_is_at_most_ninety_days() {
        let now = parse_instant("2026-11-29T10:00:00+08:00").unwrap();
        let params = |pairs: &[(&str, &str)]| Params::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let (from, to) = window(&params(&[]), now).unwrap();
        assert_eq!((now - from, to), (Duration::days(90), None));
        assert!(window(&params(&[("start_date", "2026-08-01"), ("end_date", "2026-11-29")]), now).is_err());
        assert!(window(&params(&[("start_date", "2026-09-01"), ("end_date", "2026-11-29")]), now).is_ok());
        assert!(window(&params(&[("start_date", "2026-11-29"), ("end_date", "2026-11-01")]), now).is_err());
        assert!(window(&params(&[("start_date", "yesterday")]), now).is_err());
    }
}
