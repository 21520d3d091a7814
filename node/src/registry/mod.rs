//! The registry of survey units (调查单位名录库).
//!
//! A **survey unit** ([`SurveyUnit`]) is an enterprise, sewage plant or farm
//! that must report: identified by its unified social credit code (or, on old
//! records, its organisation code: [`UnitCode`]), located in one county-level
//! division, classified by industry (GB/T 4754) and by a *set* of control
//! classes — national, provincial, city, other; several may apply (R27). It
//! may be a key-industry unit for total-emission reduction (R26), names a
//! contact person (R39) and has a liaison at the bureau (R24).
//!
//! The registry is kept **per reporting period** ([`RegistryEntry`]): each
//! year's list is its own version, so a unit's classes and status in 2025 stay
//! as they were when 2026 changes them, and each entry keeps the history of
//! changes made to it (who, when, why).
//!
//! ## States of a unit within a period
//! - `Active`: expected to report.
//! - `Suspended { reason }` (停报企业, R29): no emissions for the whole period
//!   (seasonal stop, stopped all year); reports nothing, counted apart.
//!   `resume` returns it to `Active`.
//! - `Closed`: gone from this period on; final within the period (a later
//!   period may list the unit again if it reopens).
//!
//! States move only through [`apply_change`] with a [`UnitChange`]
//! (`Suspend`, `Resume`, `Close`, `Reclassify`, …), which records who, when
//! and why.
//!
//! ## Who may do what (enforced by the web layer, which knows the caller)
//! - National bureau: builds the national list and updates it every year (R3).
//! - Province bureau: adds province-controlled units (R18).
//! - City bureau: merges the lists into one registry per city, verifies and
//!   cleans it, keeps a liaison for every unit (R24, R27), imports units,
//!   marks suspended units with the reason (R29), reclassifies, maps renamed or
//!   recoded units to the previous period ([`lineage`], R28).
//! - County (a scope inside the city node): reports quarterly changes of the
//!   key-industry list and of suspended units (R34).
//! - A survey unit: names its contact person (R39); nothing else here.
//!
//! A node only registers units inside its own jurisdiction:
//! [`validate_new_unit`] takes the node's division and refuses a county
//! outside it.
//!
//! Everything here is pure (no I/O, time passed in) except [`store`].

pub mod change;
mod codes;
pub mod county;
pub mod flow;
pub mod import;
pub mod lineage;
mod period;
pub mod sample;
pub mod store;
mod unit;

#[cfg(test)]
mod tests;

pub use change::{
    ChangeError, ChangeRecord, ChangeRequest, HistoryEvent, UnitChange, apply_change,
    register_entry,
};
pub use codes::{
    Bilingual, CREDIT_CODE_CHARACTERS, CodeAlphabet, CodeError, CreditCode, Industry, IndustryCode,
    IndustryError, OrgCode, UnitCode, all_industry_codes, credit_code_check_character,
    org_code_check_character,
};
pub use period::{PeriodError, PeriodId};
pub use unit::{
    Contact, ControlClass, ControlClasses, FieldError, RegistryEntry, StatusKind, SurveyUnit,
    SuspensionReason, UnitField, UnitInput, UnitStatus, check_contact, is_registrable_county,
    validate_new_unit,
};
