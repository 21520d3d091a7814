//! A survey unit's attributes, and the check of a new unit typed in a form or
//! read from an import row.

use std::collections::BTreeSet;
use std::fmt;

use crate::division::{DivisionCode, DivisionError, DivisionKind};

use super::change::ChangeRecord;
use super::codes::{Bilingual, IndustryCode, UnitCode};
use super::period::PeriodId;

/// Longest unit or group-company name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest address accepted, in characters.
pub const MAX_ADDRESS_CHARS: usize = 200;
/// Longest person name (contact, liaison) accepted, in characters.
pub const MAX_PERSON_CHARS: usize = 30;

/// One control class (控制类别). A unit carries a set of them (R27).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ControlClass {
    /// 国控: nationally monitored.
    National,
    /// 省控: province-controlled.
    Provincial,
    /// 市控: city-controlled.
    City,
    /// 其他.
    Other,
}

impl ControlClass {
    /// All four, in order.
    pub const ALL: [ControlClass; 4] = [
        ControlClass::National,
        ControlClass::Provincial,
        ControlClass::City,
        ControlClass::Other,
    ];

    /// The short Chinese label used in lists and spreadsheets: 国控, 省控, 市控, 其他.
    pub fn label_zh(self) -> &'static str {
        match self {
            ControlClass::National => "国控",
            ControlClass::Provincial => "省控",
            ControlClass::City => "市控",
            ControlClass::Other => "其他",
        }
    }

    /// The code word: `national`, `provincial`, `city`, `other` (as on the wire).
    pub fn code_word(self) -> &'static str {
        match self {
            ControlClass::National => "national",
            ControlClass::Provincial => "provincial",
            ControlClass::City => "city",
            ControlClass::Other => "other",
        }
    }

    /// Reads a Chinese label (国控, 国控企业, 国家重点监控…) or an English word.
    pub fn parse(text: &str) -> Option<ControlClass> {
        let word = text.trim();
        let lower = word.to_ascii_lowercase();
        match (word, lower.as_str()) {
            ("国控" | "国控企业" | "国家重点监控" | "国家重点监控企业", _)
            | (_, "national" | "n") => Some(ControlClass::National),
            ("省控" | "省控企业", _) | (_, "provincial" | "province" | "p") => {
                Some(ControlClass::Provincial)
            }
            ("市控" | "市控企业", _) | (_, "city" | "c") => Some(ControlClass::City),
            ("其他" | "其它" | "其他企业", _) | (_, "other" | "o") => {
                Some(ControlClass::Other)
            }
            _ => None,
        }
    }
}

/// A non-empty set of control classes. Serialized as a list of code words.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ControlClasses(BTreeSet<ControlClass>);

impl ControlClasses {
    /// The set of the given classes; `None` when empty.
    pub fn new(classes: impl IntoIterator<Item = ControlClass>) -> Option<ControlClasses> {
        let set: BTreeSet<ControlClass> = classes.into_iter().collect();
        (!set.is_empty()).then_some(ControlClasses(set))
    }

    /// A set of one class.
    pub fn single(class: ControlClass) -> ControlClasses {
        ControlClasses(BTreeSet::from([class]))
    }

    /// True when the class applies.
    pub fn contains(&self, class: ControlClass) -> bool {
        self.0.contains(&class)
    }

    /// The classes, in order.
    pub fn iter(&self) -> impl Iterator<Item = ControlClass> + '_ {
        self.0.iter().copied()
    }

    /// The labels joined the way spreadsheets write them: `国控、市控`.
    pub fn labels_zh(&self) -> String {
        self.iter()
            .map(ControlClass::label_zh)
            .collect::<Vec<_>>()
            .join("、")
    }
}

impl<'de> serde::Deserialize<'de> for ControlClasses {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let classes = Vec::<ControlClass>::deserialize(deserializer)?;
        ControlClasses::new(classes)
            .ok_or_else(|| serde::de::Error::custom("a unit needs at least one control class"))
    }
}

/// Why a unit reports nothing for a period (R29).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuspensionReason {
    /// 季节性停产: production stops for the season covering the period.
    SeasonalStop,
    /// 全年停产: stopped for the whole year.
    StoppedAllYear,
    /// 停产整治: stopped for remediation by order.
    StoppedForRemediation,
    /// Another reason, in words.
    Other(String),
}

impl SuspensionReason {
    /// Chinese label.
    pub fn label_zh(&self) -> String {
        match self {
            SuspensionReason::SeasonalStop => "季节性停产".to_string(),
            SuspensionReason::StoppedAllYear => "全年停产".to_string(),
            SuspensionReason::StoppedForRemediation => "停产整治".to_string(),
            SuspensionReason::Other(text) => text.clone(),
        }
    }

    /// Reads a Chinese label; any other non-empty text becomes [`SuspensionReason::Other`].
    pub fn parse(text: &str) -> Option<SuspensionReason> {
        match text.trim() {
            "" => None,
            "季节性停产" | "seasonal_stop" => Some(SuspensionReason::SeasonalStop),
            "全年停产" | "stopped_all_year" => Some(SuspensionReason::StoppedAllYear),
            "停产整治" | "stopped_for_remediation" => {
                Some(SuspensionReason::StoppedForRemediation)
            }
            other => Some(SuspensionReason::Other(other.to_string())),
        }
    }
}

/// A unit's status within one period.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum UnitStatus {
    /// Expected to report.
    Active,
    /// 停报: no emissions for the whole period; reports nothing, counted apart.
    Suspended {
        /// Why.
        reason: SuspensionReason,
    },
    /// Closed from this period on.
    Closed,
}

impl UnitStatus {
    /// The status without its details, for filters and counts.
    pub fn kind(&self) -> StatusKind {
        match self {
            UnitStatus::Active => StatusKind::Active,
            UnitStatus::Suspended { .. } => StatusKind::Suspended,
            UnitStatus::Closed => StatusKind::Closed,
        }
    }
}

/// [`UnitStatus`] without details.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// 正常.
    Active,
    /// 停报.
    Suspended,
    /// 关闭.
    Closed,
}

impl StatusKind {
    /// All three, in order.
    pub const ALL: [StatusKind; 3] = [
        StatusKind::Active,
        StatusKind::Suspended,
        StatusKind::Closed,
    ];

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            StatusKind::Active => "正常",
            StatusKind::Suspended => "停报",
            StatusKind::Closed => "关闭",
        }
    }
}

/// Whom the bureau calls about a unit (联系人, R39).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Contact {
    /// Name of the contact person.
    pub person: String,
    /// Phone number as written (mobile or landline with area code).
    pub phone: String,
    /// E-mail address, when given.
    pub email: Option<String>,
}

/// A survey unit (调查单位) as registered for a period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SurveyUnit {
    /// Credit code, or organisation code on old records.
    pub code: UnitCode,
    /// 单位名称, as on the licence.
    pub name: String,
    /// 详细地址.
    pub address: String,
    /// The county-level division the unit lies in (or a city without counties).
    pub county: DivisionCode,
    /// GB/T 4754 major category.
    pub industry: IndustryCode,
    /// Control classes; at least one, several may apply (R27).
    pub classes: ControlClasses,
    /// 总量减排重点行业企业 (R26); the list changes quarterly.
    pub key_industry: bool,
    /// 联系人 at the unit (R39).
    pub contact: Contact,
    /// 联络员 at the bureau (R24); every unit should get one when the registry is cleaned.
    pub liaison: Option<String>,
    /// 集团公司 the unit belongs to (R41), if any.
    pub group_company: Option<String>,
    /// Status in the period the unit is registered for.
    pub status: UnitStatus,
}

/// A unit's registration in one period's registry, with the history of
/// changes made to it within that period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RegistryEntry {
    /// The period this registry version belongs to.
    pub period: PeriodId,
    /// The unit as registered in that period (classes and status included).
    pub unit: SurveyUnit,
    /// Every change made to this entry, oldest first.
    pub history: Vec<ChangeRecord>,
}

/// A new unit as typed in a form or read from an import row: plain text,
/// checked by [`validate_new_unit`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct UnitInput {
    /// Credit code or organisation code.
    pub code: String,
    /// Unit name.
    pub name: String,
    /// Address.
    pub address: String,
    /// County-level division code (6 digits).
    pub county: String,
    /// Industry code (2 digits; a finer code is reduced to its major category).
    pub industry: String,
    /// Control classes, as labels (国控) or code words (national).
    pub classes: Vec<String>,
    /// Key-industry flag.
    pub key_industry: bool,
    /// Contact person.
    pub contact_person: String,
    /// Contact phone.
    pub contact_phone: String,
    /// Contact e-mail; empty for none.
    pub contact_email: String,
    /// Liaison at the bureau; empty for none yet.
    pub liaison: String,
    /// Group company; empty for none.
    pub group_company: String,
}

impl From<&SurveyUnit> for UnitInput {
    /// The unit as form fields, e.g. to pre-fill an edit form or re-check a unit.
    fn from(unit: &SurveyUnit) -> UnitInput {
        UnitInput {
            code: unit.code.to_string(),
            name: unit.name.clone(),
            address: unit.address.clone(),
            county: unit.county.to_string(),
            industry: unit.industry.to_string(),
            classes: unit
                .classes
                .iter()
                .map(|class| class.code_word().to_string())
                .collect(),
            key_industry: unit.key_industry,
            contact_person: unit.contact.person.clone(),
            contact_phone: unit.contact.phone.clone(),
            contact_email: unit.contact.email.clone().unwrap_or_default(),
            liaison: unit.liaison.clone().unwrap_or_default(),
            group_company: unit.group_company.clone().unwrap_or_default(),
        }
    }
}

/// A field of a survey unit, as named in forms, spreadsheets and errors.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum UnitField {
    /// 统一社会信用代码.
    Code,
    /// 单位名称.
    Name,
    /// 详细地址.
    Address,
    /// 行政区划代码.
    County,
    /// 行业代码.
    Industry,
    /// 控制类别.
    Classes,
    /// 重点行业.
    KeyIndustry,
    /// 联系人.
    ContactPerson,
    /// 联系电话.
    ContactPhone,
    /// 电子邮箱.
    ContactEmail,
    /// 联络员.
    Liaison,
    /// 集团公司.
    GroupCompany,
}

impl UnitField {
    /// All fields, in spreadsheet column order.
    pub const ALL: [UnitField; 12] = [
        UnitField::Code,
        UnitField::Name,
        UnitField::Address,
        UnitField::County,
        UnitField::Industry,
        UnitField::Classes,
        UnitField::KeyIndustry,
        UnitField::ContactPerson,
        UnitField::ContactPhone,
        UnitField::ContactEmail,
        UnitField::Liaison,
        UnitField::GroupCompany,
    ];

    /// Chinese label, as in the import template's header row.
    pub fn label_zh(self) -> &'static str {
        match self {
            UnitField::Code => "统一社会信用代码",
            UnitField::Name => "单位名称",
            UnitField::Address => "详细地址",
            UnitField::County => "行政区划代码",
            UnitField::Industry => "行业代码",
            UnitField::Classes => "控制类别",
            UnitField::KeyIndustry => "重点行业",
            UnitField::ContactPerson => "联系人",
            UnitField::ContactPhone => "联系电话",
            UnitField::ContactEmail => "电子邮箱",
            UnitField::Liaison => "联络员",
            UnitField::GroupCompany => "集团公司",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            UnitField::Code => "credit code",
            UnitField::Name => "unit name",
            UnitField::Address => "address",
            UnitField::County => "division code",
            UnitField::Industry => "industry code",
            UnitField::Classes => "control classes",
            UnitField::KeyIndustry => "key industry",
            UnitField::ContactPerson => "contact person",
            UnitField::ContactPhone => "contact phone",
            UnitField::ContactEmail => "contact email",
            UnitField::Liaison => "liaison",
            UnitField::GroupCompany => "group company",
        }
    }
}

impl fmt::Display for UnitField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_en())
    }
}

/// What is wrong with one field of a new unit, in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    /// The field.
    pub field: UnitField,
    /// The value given (as text).
    pub value: String,
    /// What is wrong, in Chinese.
    pub message_zh: String,
    /// What is wrong, in English.
    pub message_en: String,
}

impl FieldError {
    /// An error with both messages given.
    pub fn new(
        field: UnitField,
        value: &str,
        message_zh: impl Into<String>,
        message_en: impl Into<String>,
    ) -> FieldError {
        FieldError {
            field,
            value: value.to_string(),
            message_zh: message_zh.into(),
            message_en: message_en.into(),
        }
    }

    fn from_bilingual(field: UnitField, value: &str, error: &impl Bilingual) -> FieldError {
        FieldError::new(field, value, error.message_zh(), error.message_en())
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} / {}: {}",
            self.field.label_zh(),
            self.message_zh,
            self.field.label_en(),
            self.message_en
        )
    }
}

/// True when units may be registered in this division: a county-level
/// division, or a city that has no counties (东莞市 441900).
pub fn is_registrable_county(division: DivisionCode) -> bool {
    match division.kind() {
        DivisionKind::County => true,
        DivisionKind::City => division.children().is_empty(),
        DivisionKind::Nation | DivisionKind::Province => false,
    }
}

/// Checks a new unit for a node whose jurisdiction is `node_division` and
/// builds it (status `Active`), or returns every field error at once.
pub fn validate_new_unit(
    input: &UnitInput,
    node_division: DivisionCode,
) -> Result<SurveyUnit, Vec<FieldError>> {
    let mut errors = Vec::new();
    let code = collect(
        &mut errors,
        UnitCode::parse(&input.code)
            .map_err(|error| FieldError::from_bilingual(UnitField::Code, &input.code, &error)),
    );
    let name = collect(
        &mut errors,
        check_required_text(UnitField::Name, &input.name, MAX_NAME_CHARS),
    );
    let address = collect(
        &mut errors,
        check_required_text(UnitField::Address, &input.address, MAX_ADDRESS_CHARS),
    );
    let county = collect(&mut errors, check_county(&input.county, node_division));
    let industry = collect(
        &mut errors,
        IndustryCode::parse(&input.industry).map_err(|error| {
            FieldError::from_bilingual(UnitField::Industry, &input.industry, &error)
        }),
    );
    let classes = collect(&mut errors, check_classes(&input.classes));
    let contact = match check_contact(&Contact {
        person: input.contact_person.clone(),
        phone: input.contact_phone.clone(),
        email: Some(input.contact_email.clone()),
    }) {
        Ok(contact) => Some(contact),
        Err(contact_errors) => {
            errors.extend(contact_errors);
            None
        }
    };
    let liaison = collect(
        &mut errors,
        check_optional_text(UnitField::Liaison, &input.liaison, MAX_PERSON_CHARS),
    );
    let group_company = collect(
        &mut errors,
        check_optional_text(
            UnitField::GroupCompany,
            &input.group_company,
            MAX_NAME_CHARS,
        ),
    );
    let (
        Some(code),
        Some(name),
        Some(address),
        Some(county),
        Some(industry),
        Some(classes),
        Some(contact),
        Some(liaison),
        Some(group_company),
    ) = (
        code,
        name,
        address,
        county,
        industry,
        classes,
        contact,
        liaison,
        group_company,
    )
    else {
        return Err(errors);
    };
    Ok(SurveyUnit {
        code,
        name,
        address,
        county,
        industry,
        classes,
        key_industry: input.key_industry,
        contact,
        liaison,
        group_company,
        status: UnitStatus::Active,
    })
}

/// Keeps the value, or records the error and keeps nothing.
fn collect<T>(errors: &mut Vec<FieldError>, result: Result<T, FieldError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            errors.push(error);
            None
        }
    }
}

/// Collapses runs of whitespace (including the ideographic space) into one space.
pub(crate) fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check_required_text(
    field: UnitField,
    text: &str,
    max_chars: usize,
) -> Result<String, FieldError> {
    let cleaned = collapse_whitespace(text);
    if cleaned.is_empty() {
        return Err(FieldError::new(
            field,
            text,
            format!("{}不能为空", field.label_zh()),
            format!("{} is required", field.label_en()),
        ));
    }
    check_length_and_characters(field, text, cleaned, max_chars)
}

fn check_optional_text(
    field: UnitField,
    text: &str,
    max_chars: usize,
) -> Result<Option<String>, FieldError> {
    let cleaned = collapse_whitespace(text);
    if cleaned.is_empty() {
        return Ok(None);
    }
    check_length_and_characters(field, text, cleaned, max_chars).map(Some)
}

fn check_length_and_characters(
    field: UnitField,
    text: &str,
    cleaned: String,
    max_chars: usize,
) -> Result<String, FieldError> {
    let n_chars = cleaned.chars().count();
    if n_chars > max_chars {
        return Err(FieldError::new(
            field,
            text,
            format!(
                "{}过长：{n_chars} 个字，最多 {max_chars} 个",
                field.label_zh()
            ),
            format!(
                "{} is too long: {n_chars} characters, at most {max_chars}",
                field.label_en()
            ),
        ));
    }
    if cleaned.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            text,
            format!("{}含有控制字符", field.label_zh()),
            format!("{} contains control characters", field.label_en()),
        ));
    }
    Ok(cleaned)
}

fn division_error_messages(text: &str, error: &DivisionError) -> (String, String) {
    match error {
        DivisionError::Malformed(_) => (
            format!("行政区划代码“{text}”格式错误，应为 6 位数字（GB/T 2260），如 320102"),
            format!(
                "division code '{text}' is malformed: expected six digits (GB/T 2260), e.g. 320102"
            ),
        ),
        DivisionError::Unknown(_) => (
            format!("行政区划代码 {text} 在 GB/T 2260 中不存在"),
            format!("division code {text} does not exist in GB/T 2260"),
        ),
    }
}

fn check_county(text: &str, node_division: DivisionCode) -> Result<DivisionCode, FieldError> {
    let county = DivisionCode::parse(text.trim()).map_err(|error| {
        let (message_zh, message_en) = division_error_messages(text.trim(), &error);
        FieldError::new(UnitField::County, text, message_zh, message_en)
    })?;
    if !is_registrable_county(county) {
        return Err(FieldError::new(
            UnitField::County,
            text,
            format!(
                "{county}（{}）不是县级行政区划，请填写单位所在的区县代码",
                county.name_zh()
            ),
            format!(
                "{county} ({}) is not a county-level division: give the county or district the unit lies in",
                county.name_zh()
            ),
        ));
    }
    if !node_division.contains(county) {
        return Err(FieldError::new(
            UnitField::County,
            text,
            format!(
                "{county}（{}）不在本节点辖区 {node_division}（{}）内",
                county.name_zh(),
                node_division.name_zh()
            ),
            format!(
                "{county} ({}) is outside this node's jurisdiction {node_division} ({})",
                county.name_zh(),
                node_division.name_zh()
            ),
        ));
    }
    Ok(county)
}

fn check_classes(texts: &[String]) -> Result<ControlClasses, FieldError> {
    let joined = texts.join("、");
    let mut classes = Vec::new();
    for text in texts.iter().filter(|text| !text.trim().is_empty()) {
        let class = ControlClass::parse(text).ok_or_else(|| {
            FieldError::new(
                UnitField::Classes,
                &joined,
                format!(
                    "控制类别“{}”无效，应为 国控、省控、市控 或 其他",
                    text.trim()
                ),
                format!(
                    "control class '{}' is unknown: expected national, provincial, city or other",
                    text.trim()
                ),
            )
        })?;
        classes.push(class);
    }
    ControlClasses::new(classes).ok_or_else(|| {
        FieldError::new(
            UnitField::Classes,
            &joined,
            "至少需要一个控制类别（国控、省控、市控、其他，可多选）",
            "at least one control class is required (national, provincial, city, other; several may apply)",
        )
    })
}

/// Checks a contact as entered (person required, phone well-formed, e-mail
/// optional), returning it cleaned up or every field error.
pub fn check_contact(contact: &Contact) -> Result<Contact, Vec<FieldError>> {
    let mut errors = Vec::new();
    let person = collect(
        &mut errors,
        check_required_text(UnitField::ContactPerson, &contact.person, MAX_PERSON_CHARS),
    );
    let phone = collect(&mut errors, check_phone(&contact.phone));
    let email = collect(
        &mut errors,
        check_email(contact.email.as_deref().unwrap_or_default()),
    );
    match (person, phone, email) {
        (Some(person), Some(phone), Some(email)) if errors.is_empty() => Ok(Contact {
            person,
            phone,
            email,
        }),
        _ => Err(errors),
    }
}

fn check_phone(text: &str) -> Result<String, FieldError> {
    let cleaned = collapse_whitespace(text);
    let n_digits = cleaned.chars().filter(char::is_ascii_digit).count();
    let allowed = |character: char| {
        character.is_ascii_digit()
            || matches!(character, '-' | '+' | ' ' | '(' | ')' | '（' | '）' | '转')
    };
    if cleaned.is_empty() {
        return Err(FieldError::new(
            UnitField::ContactPhone,
            text,
            "联系电话不能为空",
            "contact phone is required",
        ));
    }
    if !cleaned.chars().all(allowed) || !(7..=20).contains(&n_digits) {
        return Err(FieldError::new(
            UnitField::ContactPhone,
            text,
            "联系电话格式错误，应为手机号（如 13912345678）或带区号的固话（如 025-84681234）",
            "contact phone is malformed: expected a mobile number (13912345678) or a landline with area code (025-84681234)",
        ));
    }
    Ok(cleaned)
}

fn check_email(text: &str) -> Result<Option<String>, FieldError> {
    let cleaned = text.trim();
    if cleaned.is_empty() {
        return Ok(None);
    }
    let well_formed = match cleaned.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !cleaned.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if well_formed {
        Ok(Some(cleaned.to_string()))
    } else {
        Err(FieldError::new(
            UnitField::ContactEmail,
            text,
            format!("电子邮箱“{cleaned}”格式错误"),
            format!("email address '{cleaned}' is malformed"),
        ))
    }
}
