//! Liaison cadres (领导干部联系企业) and contact cards (联系卡): the 12345
//! platform's dispatchers and administrators keep each cadre's profile and
//! assign cadres to enterprises (one lead liaison per enterprise); a cadre
//! sees the enterprises assigned to them and their requests (the enterprise
//! and request scopes), is copied on each new request by e-mail, and may
//! urge and remark on them. A card's QR code carries a link the server signs
//! with HMAC-SHA256 under a secret kept outside the database
//! ([`crate::Settings::card_secret`]); the link opens the portal's form
//! prefilled with the enterprise and the cadre, and the request it submits
//! records the cadre in its intake event.

use chrono::{Duration, NaiveDate};
use hmac::{Hmac, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use mashangban_domain::enterprise::{EnterpriseScope, parse_credit_code};
use mashangban_domain::event::CardSource;
use mashangban_domain::liaison::{
    CARD_DAYS_DEFAULT, CARD_DAYS_MAX, CadreInput, CadreLevel, CardClaim, LiaisonKind, assignment_not_found,
    card_expired, card_invalid, card_withdrawn,
};
use mashangban_domain::org::{OrgTree, UserId};
use mashangban_domain::time::{format_instant, in_shanghai};
use mashangban_store::{Assignment, AssignmentFilter, Cadre, Store};

use crate::enterprises::author;
use crate::error::{AppError, AppResult};
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller};

/// Assignments a listing answers at most (a town's batch of cards included).
pub const LIST_MAX: u32 = 5000;
/// Hex digits of the card signature kept in the link (128 bits).
const SIGNATURE_HEX: usize = 32;

/// The liaison service: `app.liaisons()`.
pub struct Liaisons<'a, S> {
    app: &'a App<S>,
}

/// A cadre's profile as people see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CadreView {
    pub user_id: UserId,
    pub name: String,
    pub unit: Option<UnitRef>,
    /// `city`, `department` or `town`.
    pub level: CadreLevel,
    pub level_label: &'static str,
    /// The visit-frequency rule of the level, e.g. 每季度至少走访一次.
    pub visit_rule: &'static str,
    pub visit_interval_days: u32,
    /// 职务, as printed on cards.
    pub post: String,
    /// The work phone printed on cards (a public office number, not masked).
    pub work_phone: String,
    /// Enterprises assigned now.
    pub enterprises: u64,
    pub updated_at: String,
    pub updated_by: String,
}

/// A cadre's profile as it is written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CadreBody {
    /// `city` (市领导), `department` (部门负责人) or `town` (镇街领导).
    pub level: CadreLevel,
    #[schemars(length(max = 40))]
    pub post: String,
    pub work_phone: String,
}

/// One assignment of a cadre to an enterprise.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AssignmentView {
    pub id: i64,
    pub credit_code: String,
    pub enterprise_name: String,
    pub town: Option<UnitRef>,
    pub user_id: UserId,
    pub cadre_name: String,
    pub level: CadreLevel,
    pub level_label: &'static str,
    pub visit_rule: &'static str,
    pub post: String,
    pub work_phone: String,
    /// `lead` (牵头联系) or `member` (联系).
    pub kind: LiaisonKind,
    pub kind_label: &'static str,
    pub assigned_at: String,
    pub assigned_by: String,
    pub ended_at: Option<String>,
    pub ended_by: Option<String>,
}

/// An enterprise's cadres now, and every assignment ever made (newest first).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EnterpriseLiaisons {
    pub current: Vec<AssignmentView>,
    pub history: Vec<AssignmentView>,
}

/// An assignment as it is asked for.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The cadre's user id (see `GET /api/v1/liaisons/cadres`).
    pub user_id: UserId,
    /// `lead` (牵头联系, one per enterprise) or `member` (联系, default).
    #[serde(default)]
    pub kind: Option<LiaisonKind>,
}

/// A contact card (联系卡), ready to print.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CardView {
    pub assignment: AssignmentView,
    /// The signed link the QR code carries.
    pub link: String,
    /// YYYY-MM-DD, the last day the link is accepted.
    pub expires_on: String,
    /// The hotline printed on the card.
    pub hotline: String,
}

/// What a verified card prefills on the portal's form.
#[derive(Debug, Clone)]
pub struct CardPrefill {
    pub claim: CardClaim,
    pub enterprise_name: String,
    pub source: CardSource,
    pub post: String,
}

impl<'a, S: Store> Liaisons<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    // ---- cadres ----------------------------------------------------------------------

    /// Every cadre with their level, post, phone and number of enterprises.
    pub async fn cadres(&self, _caller: &Caller) -> AppResult<Vec<CadreView>> {
        let org = self.app.caches().org();
        Ok(self.app.store().cadres().await?.into_iter().map(|c| cadre_view(c, &org)).collect())
    }

    /// Writes a cadre's profile: the user must hold a cadre role
    /// (`not_a_cadre`) and exist (`404 cadre_not_found`).
    pub async fn save_cadre(&self, caller: &Caller, user_id: UserId, body: CadreBody) -> AppResult<CadreView> {
        let user = self
            .app
            .store()
            .list_users()
            .await?
            .into_iter()
            .find(|u| u.id == user_id)
            .ok_or_else(mashangban_domain::liaison::cadre_not_found)?;
        let input = CadreInput::new(user_id, user.role, body.level, &body.post, &body.work_phone)?;
        let saved = self.app.store().save_cadre(input, self.app.now(), author(caller)).await?;
        Ok(cadre_view(saved, &self.app.caches().org()))
    }

    // ---- assignments -----------------------------------------------------------------

    /// An enterprise's cadres and the history of its assignments, if the
    /// enterprise is in the caller's scope (`404` otherwise).
    pub async fn of_enterprise(&self, caller: &Caller, code: &str) -> AppResult<EnterpriseLiaisons> {
        let found = self.app.enterprises().record(caller, code).await?;
        let filter = AssignmentFilter {
            credit_code: Some(found.credit_code),
            with_ended: true,
            limit: LIST_MAX,
            ..AssignmentFilter::default()
        };
        let org = self.app.caches().org();
        let history: Vec<AssignmentView> =
            self.app.store().assignments(&filter).await?.into_iter().map(|a| assignment_view(a, &org)).collect();
        let mut current: Vec<AssignmentView> = history.iter().filter(|a| a.ended_at.is_none()).cloned().collect();
        current.sort_by_key(|a| (a.kind != LiaisonKind::Lead, a.id));
        Ok(EnterpriseLiaisons { current, history })
    }

    /// Assigns a cadre to an enterprise in the caller's scope.
    pub async fn assign(&self, caller: &Caller, code: &str, body: AssignBody) -> AppResult<AssignmentView> {
        let found = self.app.enterprises().record(caller, code).await?;
        let kind = body.kind.unwrap_or(LiaisonKind::Member);
        let saved =
            self.app.store().assign(&found.credit_code, body.user_id, kind, self.app.now(), author(caller)).await?;
        Ok(assignment_view(saved, &self.app.caches().org()))
    }

    /// Ends an assignment (the row stays, with who ended it and when).
    pub async fn unassign(&self, caller: &Caller, id: i64) -> AppResult<AssignmentView> {
        self.in_scope(caller, id).await?;
        let ended = self.app.store().unassign(id, self.app.now(), author(caller)).await?;
        Ok(assignment_view(ended, &self.app.caches().org()))
    }

    /// The caller's own assignments in force (a cadre's 我联系的企业).
    pub async fn mine(&self, caller: &Caller) -> AppResult<Vec<AssignmentView>> {
        let Some(user_id) = caller.actor.user_id() else { return Ok(Vec::new()) };
        let filter = AssignmentFilter { user_id: Some(user_id), limit: LIST_MAX, ..AssignmentFilter::default() };
        let org = self.app.caches().org();
        Ok(self.app.store().assignments(&filter).await?.into_iter().map(|a| assignment_view(a, &org)).collect())
    }

    /// An assignment whose enterprise is in the caller's scope (a cadre: their own).
    async fn in_scope(&self, caller: &Caller, id: i64) -> AppResult<Assignment> {
        let found = self.app.store().assignment(id).await?.ok_or_else(assignment_not_found)?;
        if !EnterpriseScope::of(&caller.actor).permits(found.town_id, &[found.user_id]) {
            return Err(assignment_not_found().into());
        }
        Ok(found)
    }

    // ---- contact cards ---------------------------------------------------------------

    /// The card of an assignment in force, its link valid for `days` days
    /// (default [`CARD_DAYS_DEFAULT`], at most [`CARD_DAYS_MAX`]).
    pub async fn card(&self, caller: &Caller, id: i64, days: Option<i64>) -> AppResult<CardView> {
        let found = self.in_scope(caller, id).await?;
        if found.ended_at.is_some() {
            return Err(mashangban_domain::liaison::assignment_ended().into());
        }
        let expires_on = self.expiry(days)?;
        Ok(self.card_of(found, expires_on, &self.app.caches().org()))
    }

    /// Every card of the enterprises of a town (by code) in the caller's
    /// scope, by enterprise, lead cadre first: a town's batch print.
    pub async fn town_cards(&self, caller: &Caller, town: &str, days: Option<i64>) -> AppResult<Vec<CardView>> {
        let org = self.app.caches().org();
        let town_id = org
            .by_code(town.trim())
            .filter(|u| u.kind == mashangban_domain::org::UnitKind::Town)
            .map(|u| u.id)
            .ok_or_else(|| AppError::not_found("town_not_found", format!("镇街「{}」不存在", town.trim())))?;
        let expires_on = self.expiry(days)?;
        let scope = EnterpriseScope::of(&caller.actor);
        let filter = AssignmentFilter { town_id: Some(town_id), limit: LIST_MAX, ..AssignmentFilter::default() };
        Ok(self
            .app
            .store()
            .assignments(&filter)
            .await?
            .into_iter()
            .filter(|a| scope.permits(a.town_id, &[a.user_id]))
            .map(|a| self.card_of(a, expires_on, &org))
            .collect())
    }

    fn expiry(&self, days: Option<i64>) -> AppResult<NaiveDate> {
        let days = days.unwrap_or(CARD_DAYS_DEFAULT);
        if !(1..=CARD_DAYS_MAX).contains(&days) {
            return Err(AppError::invalid("invalid_card_days", format!("联系卡有效期应为 1 至 {CARD_DAYS_MAX} 天")));
        }
        Ok(in_shanghai(&self.app.now()).date_naive() + Duration::days(days))
    }

    fn card_of(&self, a: Assignment, expires_on: NaiveDate, org: &OrgTree) -> CardView {
        let claim = CardClaim { credit_code: a.credit_code.clone(), liaison_user_id: a.user_id, expires_on };
        let settings = self.app.settings();
        let link = format!(
            "{}/card?e={}&l={}&x={}&s={}",
            settings.public_url.trim_end_matches('/'),
            claim.credit_code,
            claim.liaison_user_id,
            expires_on.format("%Y%m%d"),
            sign(&settings.card_secret.0, &claim)
        );
        CardView {
            assignment: assignment_view(a, org),
            link,
            expires_on: expires_on.format("%Y-%m-%d").to_string(),
            hotline: settings.hotline.clone(),
        }
    }

    /// Checks a card link's fields as they arrive: the signature
    /// (`card_invalid`), the expiry (`card_expired`) and that the cadre still
    /// follows the enterprise (`card_withdrawn`), in that order; all 403.
    pub async fn verify_card(&self, e: &str, l: &str, x: &str, s: &str) -> AppResult<CardPrefill> {
        let claim = CardClaim::parse(e, l, x)?;
        if !verify(&self.app.settings().card_secret.0, &claim, s) {
            return Err(card_invalid().into());
        }
        if !claim.valid_on(in_shanghai(&self.app.now()).date_naive()) {
            return Err(card_expired(claim.expires_on).into());
        }
        let code = parse_credit_code(&claim.credit_code).map_err(|_| AppError::from(card_invalid()))?;
        let filter = AssignmentFilter {
            credit_code: Some(code.as_str().to_owned()),
            user_id: Some(claim.liaison_user_id),
            limit: 1,
            ..AssignmentFilter::default()
        };
        let found = self.app.store().assignments(&filter).await?.into_iter().next().ok_or_else(card_withdrawn)?;
        Ok(CardPrefill {
            enterprise_name: found.enterprise_name,
            source: CardSource { liaison_user_id: found.user_id, liaison_name: found.cadre_name },
            post: found.post,
            claim,
        })
    }
}

/// The card's signature: HMAC-SHA256 of [`CardClaim::signed_text`] under the
/// secret, its first [`SIGNATURE_HEX`] hex digits.
pub fn sign(secret: &[u8], claim: &CardClaim) -> String {
    let mut hex_digits = hex::encode(tag(secret, claim));
    hex_digits.truncate(SIGNATURE_HEX);
    hex_digits
}

/// Whether `signature` is the claim's, compared in constant time by the MAC.
pub fn verify(secret: &[u8], claim: &CardClaim, signature: &str) -> bool {
    if signature.len() != SIGNATURE_HEX {
        return false;
    }
    let Ok(bytes) = hex::decode(signature.to_ascii_lowercase()) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return false };
    mac.update(claim.signed_text().as_bytes());
    mac.verify_truncated_left(&bytes).is_ok()
}

fn tag(secret: &[u8], claim: &CardClaim) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(claim.signed_text().as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn cadre_view(c: Cadre, org: &OrgTree) -> CadreView {
    CadreView {
        user_id: c.user_id,
        name: c.name,
        unit: unit_ref(org, c.unit_id),
        level: c.level,
        level_label: c.level.label(),
        visit_rule: c.level.visit_rule(),
        visit_interval_days: c.level.visit_interval_days(),
        post: c.post,
        work_phone: c.work_phone,
        enterprises: c.enterprises,
        updated_at: format_instant(&c.updated_at),
        updated_by: c.updated_by,
    }
}

pub(crate) fn assignment_view(a: Assignment, org: &OrgTree) -> AssignmentView {
    AssignmentView {
        id: a.id,
        town: unit_ref(org, Some(a.town_id)),
        credit_code: a.credit_code,
        enterprise_name: a.enterprise_name,
        user_id: a.user_id,
        cadre_name: a.cadre_name,
        level: a.level,
        level_label: a.level.label(),
        visit_rule: a.level.visit_rule(),
        post: a.post,
        work_phone: a.work_phone,
        kind: a.kind,
        kind_label: a.kind.label(),
        assigned_at: format_instant(&a.assigned_at),
        assigned_by: a.assigned_by,
        ended_at: a.ended_at.as_ref().map(format_instant),
        ended_by: a.ended_by,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_card_signature_binds_every_field_and_the_secret() {
        let claim = CardClaim::parse("91350100M000100Y43", "12", "20271231").unwrap();
        let s = sign(b"secret-one", &claim);
        assert_eq!(s.len(), SIGNATURE_HEX);
        assert!(verify(b"secret-one", &claim, &s));
        assert!(verify(b"secret-one", &claim, &s.to_ascii_uppercase()));
        assert!(!verify(b"secret-two", &claim, &s));
        for other in [
            CardClaim::parse("91110108551385082Q", "12", "20271231").unwrap(),
            CardClaim::parse("91350100M000100Y43", "13", "20271231").unwrap(),
            CardClaim::parse("91350100M000100Y43", "12", "20281231").unwrap(),
        ] {
            assert!(!verify(b"secret-one", &other, &s));
        }
        let mut flipped = s.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        assert!(!verify(b"secret-one", &claim, std::str::from_utf8(&flipped).unwrap()));
        assert!(!verify(b"secret-one", &claim, &s[..31]));
        assert!(!verify(b"secret-one", &claim, "zz"));
    }
}
