//! Stage moves (阶段流转): the state machine of a ledger type, who may move
//! an item, and which fields an item must hold before it enters a stage.

use super::codes;
use super::def::{MoveDef, StageDef};
use super::roles;
use super::types::LedgerType;
use super::value::Values;
use crate::error::{DomainError, ErrorKind};

impl LedgerType {
    /// The moves that leave `stage`.
    pub fn moves_from<'a>(&'a self, stage: &'a str) -> impl Iterator<Item = &'a MoveDef> + 'a {
        self.moves().iter().filter(move |m| m.from == stage)
    }

    /// The moves out of `stage` that a person holding `roles` may make.
    pub fn moves_for<'a>(&'a self, stage: &'a str, roles: &'a [&'a str]) -> impl Iterator<Item = &'a MoveDef> + 'a {
        self.moves_from(stage).filter(move |m| m.roles.iter().any(|r| roles.contains(&r.as_str())))
    }

    /// Checks moving an item with `values` from stage `from` to stage `to` by someone holding `roles`.
    /// Checks, in order: both stages exist, the move is in the table, a role allows it, and the
    /// target stage's required fields are present.
    ///
    /// # Errors
    ///
    /// `stage_unknown` (422), `stage_move_not_allowed` (409), `stage_role_forbidden` (403),
    /// `stage_fields_missing` (422), each with a Chinese message.
    pub fn check_move<'a>(
        &'a self,
        values: &Values,
        from: &str,
        to: &str,
        roles: &[&str],
    ) -> Result<&'a MoveDef, DomainError> {
        let from_stage = self.known_stage(from)?;
        let to_stage = self.known_stage(to)?;
        let Some(mv) = self.moves().iter().find(|m| m.from == from && m.to == to) else {
            let targets: Vec<&str> =
                self.moves_from(from).filter_map(|m| self.stage(&m.to)).map(|s| s.name.as_str()).collect();
            let allowed = if targets.is_empty() {
                "该阶段不能再流转".to_owned()
            } else {
                format!("可转入：{}", targets.join("、"))
            };
            return Err(DomainError::conflict(
                codes::STAGE_MOVE_NOT_ALLOWED,
                format!("不能从「{}」直接转入「{}」；{allowed}", from_stage.name, to_stage.name),
            ));
        };
        if !mv.roles.iter().any(|r| roles.contains(&r.as_str())) {
            let who: Vec<String> = mv.roles.iter().map(|r| roles::label(r)).collect();
            return Err(DomainError {
                kind: ErrorKind::Forbidden,
                code: codes::STAGE_ROLE_FORBIDDEN,
                message: format!("从「{}」转入「{}」只能由{}操作", from_stage.name, to_stage.name, who.join("、")),
            });
        }
        self.check_entry(values, to_stage)?;
        Ok(mv)
    }

    /// Checks that `values` hold every field `stage` requires, e.g. when an import places an
    /// item straight into a later stage.
    ///
    /// # Errors
    ///
    /// `stage_fields_missing` listing the missing fields' labels.
    pub fn check_entry(&self, values: &Values, stage: &StageDef) -> Result<(), DomainError> {
        let missing: Vec<&str> =
            stage.requires.iter().filter(|f| !values.contains_key(f.as_str())).map(|f| self.label_of(f)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(DomainError::invalid(
                codes::STAGE_FIELDS_MISSING,
                format!("进入「{}」前须填写：{}", stage.name, missing.join("、")),
            ))
        }
    }

    /// The stage by code, or `stage_unknown`.
    ///
    /// # Errors
    ///
    /// `stage_unknown` when the type has no such stage.
    pub fn known_stage(&self, code: &str) -> Result<&StageDef, DomainError> {
        self.stage(code).ok_or_else(|| {
            DomainError::invalid(codes::STAGE_UNKNOWN, format!("台账「{}」没有阶段「{code}」", self.name()))
        })
    }
}
