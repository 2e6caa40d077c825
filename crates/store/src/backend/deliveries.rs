//! An event's notices (通知) addressed and rendered into outbox rows, the
//! same in every backend. `mashangban_domain::notify` decides what is sent
//! to whom; a backend loads what the rows depend on ([`NoticeData`], for the
//! units [`units_needed`] names) in the event's transaction, then inserts
//! the rows [`deliveries`] returns, in order.

use std::collections::{BTreeSet, HashMap};

use mashangban_domain::notify::{self, Audience, EventFacts, NoticeChannel, Planned, Template, TemplateKey};
use mashangban_domain::org::UnitId;
use mashangban_domain::request::Request;
use mashangban_domain::time::Instant;

/// What the deliveries of an event depend on, read from the database.
#[derive(Debug, Clone, Default)]
pub struct NoticeData {
    /// Short name (else name) of each unit in [`NeededUnits::named`].
    pub unit_names: HashMap<UnitId, String>,
    /// The e-mail addresses of the enabled users of each unit in
    /// [`NeededUnits::emailed`], sorted, without duplicates.
    pub unit_emails: HashMap<UnitId, Vec<String>>,
    /// The templates administrators stored (the built-in ones fill the rest).
    pub templates: HashMap<(TemplateKey, NoticeChannel), Template>,
    /// The active webhooks by id, ascending, with their event-kind filters.
    pub webhooks: Vec<(i64, Vec<String>)>,
    /// The e-mail addresses of the enabled cadres assigned to the request's
    /// enterprise, sorted, without duplicates (when a notice is for them).
    pub liaison_emails: Vec<String>,
    /// The keys of personal data at rest: the recipients' hashes in idempotency keys are keyed with them
    /// (`notify::recipient_hash`).
    pub keys: Option<mashangban_domain::personal_data::Keyring>,
}

/// The units whose names and e-mail addresses the planned notices need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeededUnits {
    pub named: BTreeSet<UnitId>,
    pub emailed: BTreeSet<UnitId>,
}

pub fn units_needed(request: &Request, plans: &[Planned]) -> NeededUnits {
    let mut needed = NeededUnits::default();
    for planned in plans {
        match &planned.audience {
            Audience::Asker => needed.named.extend(request.lead_unit_id),
            Audience::Units(units) => {
                needed.named.extend(units.iter().copied());
                needed.emailed.extend(units.iter().copied());
            }
            Audience::Liaisons => {}
        }
    }
    needed
}

/// One row of the outbox, addressed and rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub idempotency_key: String,
    pub channel: NoticeChannel,
    /// A phone number, an e-mail address, or a webhook id.
    pub recipient: String,
    pub template_key: Option<&'static str>,
    pub subject: Option<String>,
    pub body: String,
}

/// The event's deliveries: for each planned notice the asker by SMS (mobile
/// phones) and e-mail, or each unit's users by e-mail; then every active
/// webhook that wants the event. `request` is the request after the event.
pub fn deliveries(
    request: &Request,
    event_id: i64,
    facts: &EventFacts<'_>,
    at: &Instant,
    link_base: &str,
    plans: &[Planned],
    data: &NoticeData,
) -> Vec<Delivery> {
    let link = notify::progress_link(link_base, request);
    let mut out = Vec::new();
    let mut push = |key: TemplateKey, channel: NoticeChannel, recipient: String, vars: &notify::Vars| {
        let template = template(data, key, channel);
        out.push(Delivery {
            idempotency_key: notify::idempotency_key(data.keys.as_ref(), event_id, channel, &recipient),
            channel,
            recipient,
            template_key: Some(key.as_str()),
            subject: template.subject.map(|s| notify::render(&s, vars)),
            body: notify::render(&template.body, vars),
        });
    };
    for planned in plans {
        match &planned.audience {
            Audience::Asker => {
                let lead = request.lead_unit_id.and_then(|u| data.unit_names.get(&u));
                let vars = notify::variables(request, facts, lead.map(String::as_str), &link);
                if request.contact.phone.is_mobile() {
                    push(planned.template, NoticeChannel::Sms, request.contact.phone.as_str().to_owned(), &vars);
                }
                if let Some(email) = &request.contact.email {
                    push(planned.template, NoticeChannel::Email, email.clone(), &vars);
                }
            }
            Audience::Units(units) => {
                for unit in units {
                    let vars = notify::variables(request, facts, data.unit_names.get(unit).map(String::as_str), &link);
                    for email in data.unit_emails.get(unit).into_iter().flatten() {
                        push(planned.template, NoticeChannel::Email, email.clone(), &vars);
                    }
                }
            }
            Audience::Liaisons => {
                let vars = notify::variables(request, facts, Some("联系干部"), &link);
                for email in &data.liaison_emails {
                    push(planned.template, NoticeChannel::Email, email.clone(), &vars);
                }
            }
        }
    }
    for (hook, filter) in &data.webhooks {
        if notify::webhook_wants(filter, facts.kind, facts.details) {
            let recipient = hook.to_string();
            out.push(Delivery {
                idempotency_key: notify::idempotency_key(
                    data.keys.as_ref(),
                    event_id,
                    NoticeChannel::Webhook,
                    &recipient,
                ),
                channel: NoticeChannel::Webhook,
                recipient,
                template_key: None,
                subject: None,
                body: notify::webhook_payload(request, event_id, facts, at).to_string(),
            });
        }
    }
    out
}

/// The stored template for a key and channel, else the built-in one.
fn template(data: &NoticeData, key: TemplateKey, channel: NoticeChannel) -> Template {
    data.templates
        .get(&(key, channel))
        .cloned()
        .or_else(|| notify::default_template(key, channel))
        .unwrap_or(Template { subject: None, body: String::new() })
}
