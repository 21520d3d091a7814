//! Version 1 payloads (the pilot): kept so that a node still on v1 can talk to us.

/// v1 registry change: one control class per unit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RegistryChange {
    /// `upsert` or `close`.
    pub change: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Unit name.
    pub name: String,
    /// County division code.
    pub division: String,
    /// GB/T 4754 industry code.
    pub industry: String,
    /// The one control class v1 knew: `national`, `provincial`, `city` or `other`.
    pub class: String,
    /// Reporting period the change takes effect in.
    pub period: String,
}
