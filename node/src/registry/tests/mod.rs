//! Tests of the registry domain, one module per area. Shared helpers here.

mod codes;
mod import;
mod lineage;
mod sample;
mod store;
mod units;

use super::*;
use crate::division::DivisionCode;

/// A division code that must exist.
fn division(code: &str) -> DivisionCode {
    DivisionCode::parse(code).unwrap()
}

/// A valid credit code with the given first 17 characters.
fn credit_code_with_body(first_17: &str) -> String {
    let check = credit_code_check_character(first_17).unwrap();
    format!("{first_17}{check}")
}

/// A valid credit code registered in `county` whose organisation code is `org_code`.
fn credit_code_for(county: &str, org_code: &str) -> String {
    credit_code_with_body(&format!("91{county}{org_code}"))
}

/// A unit input that passes for Nanjing (320100), to be varied by each case.
fn good_input() -> UnitInput {
    UnitInput {
        code: "91320102MA1MXXXX92".into(),
        name: "南京玄武恒盛化工有限公司".into(),
        address: "南京市玄武区工业路18号".into(),
        county: "320102".into(),
        industry: "26".into(),
        classes: vec!["国控".into()],
        key_industry: true,
        contact_person: "王伟".into(),
        contact_phone: "13912345678".into(),
        contact_email: "wangwei@example.cn".into(),
        liaison: "李娟".into(),
        group_company: String::new(),
    }
}
