//! Storage of the enterprise registry (企业名录, 一企一档): one row per
//! credit code. Imports upsert a whole file in one transaction.

use std::future::Future;

use chrono::NaiveDate;
use serde::Serialize;

use mashangban_domain::enterprise::{EnterpriseInput, EnterpriseScope, EnterpriseSize};
use mashangban_domain::org::UnitId;
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// An enterprise's record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enterprise {
    pub credit_code: String,
    pub name: String,
    pub town_id: UnitId,
    pub address: Option<String>,
    pub industry_code: Option<String>,
    pub industry_name: Option<String>,
    pub size: Option<EnterpriseSize>,
    pub registered_on: Option<NaiveDate>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub tags: Vec<String>,
    /// 1 when created, one more with every change.
    pub version: i64,
    pub created_at: Instant,
    pub updated_at: Instant,
    /// Who made the latest change, as `name（role）`.
    pub updated_by: String,
}

impl Enterprise {
    /// Whether the record already holds exactly this input.
    pub fn holds(&self, input: &EnterpriseInput) -> bool {
        self.name == input.name
            && self.town_id == input.town_id
            && self.address == input.address
            && self.industry_code == input.industry_code
            && self.industry_name == input.industry_name
            && self.size == input.size
            && self.registered_on == input.registered_on
            && self.contact_name == input.contact_name
            && self.contact_phone == input.contact_phone
            && self.tags == input.tags
    }
}

/// Which records a listing answers, and which page.
#[derive(Debug, Clone, Default)]
pub struct EnterpriseFilter {
    pub town_id: Option<UnitId>,
    /// Industry code prefix (`C` or `C38` matches `C3874`; `38` matches `3874`).
    pub industry: Option<String>,
    pub size: Option<EnterpriseSize>,
    /// Part of the name.
    pub name: Option<String>,
    pub offset: u32,
    pub limit: u32,
}

/// One page of a listing and how many records match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterprisePage {
    pub items: Vec<Enterprise>,
    pub total: u64,
}

/// What an import did, or would do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UpsertCounts {
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
}

pub trait EnterpriseStore {
    /// Creates a record (`409 enterprise_exists` if the code is registered).
    fn create_enterprise(
        &self,
        input: EnterpriseInput,
        at: Instant,
        by: String,
    ) -> impl Future<Output = StoreResult<Enterprise>> + Send;

    /// Replaces a record still at `expected_version` (`409 enterprise_changed`),
    /// within `scope` (else `404 enterprise_not_found`).
    fn update_enterprise(
        &self,
        input: EnterpriseInput,
        expected_version: i64,
        scope: EnterpriseScope,
        at: Instant,
        by: String,
    ) -> impl Future<Output = StoreResult<Enterprise>> + Send;

    /// Upserts every record by credit code in one transaction (all or
    /// nothing); a record already holding its input is left alone. With
    /// `apply` false nothing is written: the counts say what would happen.
    fn upsert_enterprises(
        &self,
        inputs: Vec<EnterpriseInput>,
        apply: bool,
        at: Instant,
        by: String,
    ) -> impl Future<Output = StoreResult<UpsertCounts>> + Send;

    /// A record in scope.
    fn enterprise(
        &self,
        credit_code: &str,
        scope: EnterpriseScope,
    ) -> impl Future<Output = StoreResult<Option<Enterprise>>> + Send;

    /// Records in scope matching the filter, by name, with the total count.
    fn list_enterprises(
        &self,
        filter: &EnterpriseFilter,
        scope: EnterpriseScope,
    ) -> impl Future<Output = StoreResult<EnterprisePage>> + Send;
}
