//! Offline entry (离线填报, R37) and the unit's copy of record (R40) as Excel
//! workbooks.
//!
//! A template is one form of one unit and period: a sheet `填报` with one row
//! per indicator (code, name, unit, the previous period's value for
//! reference, the value to fill, what is allowed), grouped as on the paper
//! form; for G101 a sheet `明细行` for the facility rows (G103); and a very
//! hidden sheet `zhibao` that says which unit, form and period the file is
//! for, so a file uploaded to the wrong report is refused by name. The
//! sheets are protected: only the value cells can be typed in, so the codes
//! the reader matches on stay as they were written.
//!
//! Reading a filled template back gives the report content and, for every
//! value, the cell it came from, so the problems of the usual value checks
//! can be reported per cell (`填报!E12`). Nothing here stores anything.

use std::collections::BTreeMap;

use rust_xlsxwriter::{DataValidation, Format, FormatAlign, FormatBorder, Workbook, Worksheet};

use crate::metadata::{Form, Indicator, IndicatorGroup, ValueKind};
use crate::spreadsheet::{
    CheckedWorkbook, SheetError, SheetLimits, SheetRow, WhichSheet, cell_name,
};

use super::facts::ValueProblem;
use super::{ReportContent, ReportKey};

/// The sheet of indicator values.
pub const VALUES_SHEET: &str = "填报";
/// The sheet of rows (G103 facilities).
pub const ROWS_SHEET: &str = "明细行";
/// The very hidden sheet naming the report the file is for.
pub const IDENTITY_SHEET: &str = "zhibao";
/// Changes when the layout changes; older files are refused with a clear message.
const TEMPLATE_LAYOUT_VERSION: &str = "1";

/// Columns of the values sheet (0-based).
const CODE_COLUMN: u16 = 0;
const NAME_COLUMN: u16 = 1;
const UNIT_COLUMN: u16 = 2;
const PREVIOUS_COLUMN: u16 = 3;
const VALUE_COLUMN: u16 = 4;
const ALLOWED_COLUMN: u16 = 5;
/// Excel row (0-based) of the values sheet's header; data starts below it.
const HEADER_ROW: u32 = 4;
/// The most facility rows a template offers (blank rows to fill).
const ROW_FORM_ROWS: u32 = 200;

/// Limits on an uploaded template: a filled one is about 20 KB.
pub const UPLOAD_LIMITS: SheetLimits = SheetLimits {
    max_bytes: 5 * 1024 * 1024,
    max_rows: 2_000,
    max_inflated_bytes: 50 * 1024 * 1024,
    max_columns: 32,
};

/// Who submitted a version, for the copy of record.
#[derive(Debug, Clone)]
pub struct RecordStamp {
    /// Version number.
    pub version: u32,
    /// When, as Beijing time text.
    pub submitted_at: String,
    /// Who.
    pub submitted_by: String,
    /// The version's content hash.
    pub content_hash: String,
}

/// Everything a workbook shows.
#[derive(Debug, Clone)]
pub struct WorkbookContents<'a> {
    /// The report.
    pub key: &'a ReportKey,
    /// The unit's name.
    pub unit_name: &'a str,
    /// The form.
    pub form: &'a Form,
    /// The row form whose rows the form carries (G103 for G101).
    pub row_form: Option<&'a Form>,
    /// The previous period's submitted values, for reference.
    pub previous: Option<&'a ReportContent>,
    /// Values already entered (the draft), or the version recorded.
    pub current: Option<&'a ReportContent>,
    /// Set for a copy of record: the workbook is a read-only record of that version.
    pub record: Option<RecordStamp>,
}

/// The workbook could not be written (a bug or an impossible size, never the user's input).
#[derive(Debug, thiserror::Error)]
#[error("无法生成工作簿 / the workbook cannot be written: {0}")]
pub struct WorkbookWriteError(String);

impl From<rust_xlsxwriter::XlsxError> for WorkbookWriteError {
    fn from(error: rust_xlsxwriter::XlsxError) -> Self {
        WorkbookWriteError(error.to_string())
    }
}

/// One problem with one cell of an uploaded template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CellProblem {
    /// `填报!E12`, or empty when the problem is not one cell's.
    pub cell: String,
    /// Indicator key, or `rows[3].capacity`.
    pub indicator: String,
    /// What is wrong and what to do, in Chinese.
    pub message_zh: String,
    /// The same in English.
    pub message_en: String,
}

/// Why an uploaded template gives no draft.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    /// The file is not a workbook we can read safely.
    #[error(transparent)]
    Sheet(#[from] SheetError),
    /// A workbook, but not one of our templates.
    #[error(
        "这不是本系统的填报模板：请在报表页面下载模板，填写后再上传 / this is not a Zhibao template: download the template from the form page, fill it in and upload it"
    )]
    NotATemplate,
    /// A template of an older layout.
    #[error(
        "模板版本已过期（{found}），请重新下载模板 / the template is of an older layout ({found}): download it again"
    )]
    OldLayout {
        /// The layout version in the file.
        found: String,
    },
    /// A template of another report.
    #[error(
        "该文件是 {found} 的模板，不是 {expected} 的：请上传对应的文件 / this file is the template of {found}, not of {expected}: upload the right file"
    )]
    OtherReport {
        /// `unit form period` the URL names.
        expected: String,
        /// `unit form period` the file names.
        found: String,
    },
    /// Some cells do not fit their indicators.
    #[error("{} 个单元格有误 / {} cell(s) are wrong", .0.len(), .0.len())]
    Cells(Vec<CellProblem>),
}

/// Writes the template (or the copy of record) of one report.
pub fn write_workbook(contents: &WorkbookContents<'_>) -> Result<Vec<u8>, WorkbookWriteError> {
    let mut workbook = Workbook::new();
    let styles = Styles::new(contents.record.is_some());
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name(VALUES_SHEET)?;
        write_values_sheet(sheet, contents, &styles)?;
    }
    if let Some(row_form) = contents.row_form {
        let sheet = workbook.add_worksheet();
        sheet.set_name(ROWS_SHEET)?;
        write_rows_sheet(sheet, row_form, contents, &styles)?;
    }
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name(IDENTITY_SHEET)?;
        let identity = [
            ("unit", contents.key.unit.as_str()),
            ("form", contents.key.form.as_str()),
            ("period", contents.key.period.as_str()),
            ("layout", TEMPLATE_LAYOUT_VERSION),
        ];
        for (row, (name, value)) in (0u32..).zip(identity) {
            sheet.write_string(row, 0, name)?;
            sheet.write_string(row, 1, value)?;
        }
        sheet.protect();
        sheet.set_very_hidden(true);
    }
    Ok(workbook.save_to_buffer()?)
}

struct Styles {
    title: Format,
    header: Format,
    group: Format,
    fixed: Format,
    value: Format,
    record: bool,
}

impl Styles {
    fn new(record: bool) -> Self {
        let border = FormatBorder::Thin;
        let value = Format::new()
            .set_border(border)
            .set_align(FormatAlign::Right);
        Styles {
            title: Format::new().set_bold().set_font_size(14),
            header: Format::new()
                .set_bold()
                .set_border(border)
                .set_background_color(0xD9E1F2)
                .set_text_wrap(),
            group: Format::new().set_bold().set_background_color(0xEDEDED),
            fixed: Format::new().set_border(border).set_text_wrap(),
            // A record is read-only; a template's value cells are the only unlocked ones.
            value: if record {
                value
            } else {
                value.set_unlocked().set_background_color(0xFFF2CC)
            },
            record,
        }
    }
}

fn group_heading(group: IndicatorGroup) -> &'static str {
    match group {
        IndicatorGroup::General => "一、基本情况 General",
        IndicatorGroup::Water => "二、用水及废水 Water use and wastewater",
        IndicatorGroup::WaterPollutants => "三、废水污染物 Water pollutants",
        IndicatorGroup::Air => "四、废气 Waste gas",
        IndicatorGroup::SolidWaste => "五、一般工业固体废物 General solid waste",
        IndicatorGroup::HazardousWaste => "六、危险废物 Hazardous waste",
    }
}

/// What a cell accepts, as a hint beside it.
fn allowed_text(indicator: &Indicator) -> String {
    let mut parts = Vec::new();
    match &indicator.kind {
        ValueKind::Decimal { places } => parts.push(format!("数值，最多 {places} 位小数")),
        ValueKind::Integer => parts.push("整数".to_string()),
        ValueKind::Enum { options } => parts.push(
            options
                .iter()
                .map(|option| enum_choice(&option.value, &option.label_zh))
                .collect::<Vec<_>>()
                .join(" / "),
        ),
        ValueKind::Text { max_chars } => parts.push(format!("文字，不超过 {max_chars} 字")),
    }
    if let Some(min) = indicator.min {
        parts.push(format!("≥ {min}"));
    }
    if let Some(max) = indicator.max {
        parts.push(format!("≤ {max}"));
    }
    if indicator.required {
        parts.push("必填".to_string());
    }
    parts.join("；")
}

/// How an enum option appears in the drop-down: `stopped（全年停产）`.
fn enum_choice(value: &str, label_zh: &str) -> String {
    format!("{value}（{label_zh}）")
}

fn write_values_sheet(
    sheet: &mut Worksheet,
    contents: &WorkbookContents<'_>,
    styles: &Styles,
) -> Result<(), WorkbookWriteError> {
    let form = contents.form;
    let key = contents.key;
    sheet.set_column_width(CODE_COLUMN, 11)?;
    sheet.set_column_width(NAME_COLUMN, 40)?;
    sheet.set_column_width(UNIT_COLUMN, 12)?;
    sheet.set_column_width(PREVIOUS_COLUMN, 16)?;
    sheet.set_column_width(VALUE_COLUMN, 18)?;
    sheet.set_column_width(ALLOWED_COLUMN, 36)?;
    sheet.write_string_with_format(
        0,
        0,
        format!(
            "{} {} — {} / {}",
            form.code.as_str(),
            form.name_zh,
            key.period,
            form.name_en
        ),
        &styles.title,
    )?;
    sheet.write_string(
        1,
        0,
        format!("填报单位 Unit：{} {}", key.unit, contents.unit_name),
    )?;
    let note = match &contents.record {
        Some(stamp) => format!(
            "存档副本 Copy of record：第 {} 版 version {}，{} 由 {} 提交 submitted by {}，内容哈希 content hash {}",
            stamp.version,
            stamp.version,
            stamp.submitted_at,
            stamp.submitted_by,
            stamp.submitted_by,
            stamp.content_hash
        ),
        None => "只在黄色单元格中填写；填好后在报表页面上传本文件，系统按在线填报的同样规则审核。/ Fill the yellow cells only, then upload this file on the form page: it is checked by the same rules as online entry.".to_string(),
    };
    sheet.write_string(2, 0, note)?;
    let headers = [
        "指标代码\nCode",
        "指标名称\nIndicator",
        "计量单位\nUnit",
        "上期值\nPrevious period",
        if styles.record {
            "本期值\nValue"
        } else {
            "本期值（填写）\nValue (fill in)"
        },
        "填写要求\nWhat is allowed",
    ];
    for (column, header) in (0u16..).zip(headers) {
        sheet.write_string_with_format(HEADER_ROW, column, header, &styles.header)?;
    }
    sheet.set_freeze_panes(HEADER_ROW + 1, 0)?;
    let mut row = HEADER_ROW + 1;
    let mut last_group = None;
    for indicator in &form.indicators {
        if last_group != Some(indicator.group) {
            sheet.write_string_with_format(
                row,
                0,
                group_heading(indicator.group),
                &styles.group,
            )?;
            last_group = Some(indicator.group);
            row += 1;
        }
        write_indicator_row(sheet, row, indicator, contents, styles)?;
        row += 1;
    }
    if !styles.record {
        sheet.protect();
    }
    Ok(())
}

fn write_indicator_row(
    sheet: &mut Worksheet,
    row: u32,
    indicator: &Indicator,
    contents: &WorkbookContents<'_>,
    styles: &Styles,
) -> Result<(), WorkbookWriteError> {
    let key = indicator.key.as_str();
    sheet.write_string_with_format(row, CODE_COLUMN, indicator.code.as_str(), &styles.fixed)?;
    sheet.write_string_with_format(
        row,
        NAME_COLUMN,
        format!("{}\n{}", indicator.name_zh, indicator.name_en),
        &styles.fixed,
    )?;
    sheet.write_string_with_format(row, UNIT_COLUMN, &indicator.unit, &styles.fixed)?;
    let previous = contents
        .previous
        .and_then(|content| content.values.get(key))
        .map_or("", String::as_str);
    write_value_cell(
        sheet,
        row,
        PREVIOUS_COLUMN,
        indicator,
        previous,
        &styles.fixed,
    )?;
    let current = contents
        .current
        .and_then(|content| content.values.get(key))
        .map_or("", String::as_str);
    write_value_cell(sheet, row, VALUE_COLUMN, indicator, current, &styles.value)?;
    sheet.write_string_with_format(row, ALLOWED_COLUMN, allowed_text(indicator), &styles.fixed)?;
    if let ValueKind::Enum { options } = &indicator.kind
        && !styles.record
    {
        let choices: Vec<String> = options
            .iter()
            .map(|option| enum_choice(&option.value, &option.label_zh))
            .collect();
        let validation = DataValidation::new().allow_list_strings(&choices)?;
        sheet.add_data_validation(row, VALUE_COLUMN, row, VALUE_COLUMN, &validation)?;
    }
    Ok(())
}

/// Numbers are written as numbers when they survive the trip through a
/// double unchanged (then Excel can sum them); anything else as text, so no
/// digit of an exact decimal is lost.
fn write_value_cell(
    sheet: &mut Worksheet,
    row: u32,
    column: u16,
    indicator: &Indicator,
    text: &str,
    format: &Format,
) -> Result<(), WorkbookWriteError> {
    let enum_label = match &indicator.kind {
        ValueKind::Enum { options } => options
            .iter()
            .find(|option| option.value == text)
            .map(|option| enum_choice(&option.value, &option.label_zh)),
        _ => None,
    };
    let as_number = text
        .parse::<f64>()
        .ok()
        .filter(|number| indicator.kind.is_numeric() && number.to_string() == text);
    match (enum_label, as_number) {
        (Some(label), _) => sheet.write_string_with_format(row, column, label, format)?,
        (None, Some(number)) => sheet.write_number_with_format(row, column, number, format)?,
        (None, None) if text.is_empty() => sheet.write_blank(row, column, format)?,
        (None, None) => sheet.write_string_with_format(row, column, text, format)?,
    };
    Ok(())
}

fn write_rows_sheet(
    sheet: &mut Worksheet,
    row_form: &Form,
    contents: &WorkbookContents<'_>,
    styles: &Styles,
) -> Result<(), WorkbookWriteError> {
    sheet.write_string_with_format(
        0,
        0,
        format!(
            "{} {} / {}",
            row_form.code.as_str(),
            row_form.name_zh,
            row_form.name_en
        ),
        &styles.title,
    )?;
    sheet.write_string(
        1,
        0,
        "每行一套设施；第 3 行为列代码，请勿修改。/ One facility per row; row 3 holds the column codes: do not change it.",
    )?;
    for (column, indicator) in (0u16..).zip(&row_form.row_columns) {
        sheet.set_column_width(column, 22)?;
        sheet.write_string_with_format(2, column, indicator.code.as_str(), &styles.fixed)?;
        let unit = if indicator.unit.is_empty() {
            String::new()
        } else {
            format!("（{}）", indicator.unit)
        };
        sheet.write_string_with_format(
            3,
            column,
            format!("{}{unit}\n{}", indicator.name_zh, indicator.name_en),
            &styles.header,
        )?;
    }
    sheet.set_freeze_panes(4, 0)?;
    let rows = contents
        .current
        .map_or(&[][..], |content| &content.rows[..]);
    let offered = if styles.record {
        rows.len() as u32
    } else {
        ROW_FORM_ROWS.max(rows.len() as u32 + 20)
    };
    for offset in 0..offered {
        let excel_row = 4 + offset;
        let values = rows.get(offset as usize);
        for (column, indicator) in (0u16..).zip(&row_form.row_columns) {
            let text = values
                .and_then(|values| values.get(indicator.key.as_str()))
                .map_or("", String::as_str);
            write_value_cell(sheet, excel_row, column, indicator, text, &styles.value)?;
            if let ValueKind::Enum { options } = &indicator.kind
                && !styles.record
                && offset == 0
            {
                let choices: Vec<String> = options
                    .iter()
                    .map(|option| enum_choice(&option.value, &option.label_zh))
                    .collect();
                let validation = DataValidation::new().allow_list_strings(&choices)?;
                sheet.add_data_validation(4, column, 4 + offered - 1, column, &validation)?;
            }
        }
    }
    if !styles.record {
        sheet.protect();
    }
    Ok(())
}

/// What a filled template holds, and where each value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedContent {
    /// Indicator key → value as typed (enum choices back to their stored value).
    pub values: BTreeMap<String, String>,
    /// Facility rows, in sheet order, blank rows skipped.
    pub rows: Vec<BTreeMap<String, String>>,
    /// Indicator key or `rows[i].key` → `填报!E12`.
    pub cells: BTreeMap<String, String>,
}

impl UploadedContent {
    /// The value problems of the usual checks, placed at their cells.
    pub fn place_problems(&self, problems: Vec<ValueProblem>) -> Vec<CellProblem> {
        problems
            .into_iter()
            .map(|problem| CellProblem {
                cell: self
                    .cells
                    .get(&problem.indicator)
                    .cloned()
                    .unwrap_or_default(),
                message_zh: match self.cells.get(&problem.indicator) {
                    Some(cell) => format!("单元格 {cell}：{}", problem.message_zh),
                    None => problem.message_zh,
                },
                message_en: match self.cells.get(&problem.indicator) {
                    Some(cell) => format!("cell {cell}: {}", problem.message_en),
                    None => problem.message_en,
                },
                indicator: problem.indicator,
            })
            .collect()
    }
}

/// Reads a filled template of `key` on `form` (and its row form).
pub fn read_workbook(
    bytes: &[u8],
    key: &ReportKey,
    form: &Form,
    row_form: Option<&Form>,
) -> Result<UploadedContent, UploadError> {
    let mut workbook = CheckedWorkbook::open(bytes, UPLOAD_LIMITS)?;
    if !workbook.has_sheet(IDENTITY_SHEET) || !workbook.has_sheet(VALUES_SHEET) {
        return Err(UploadError::NotATemplate);
    }
    check_identity(&workbook.rows(WhichSheet::Named(IDENTITY_SHEET))?, key)?;
    let mut uploaded = UploadedContent {
        values: BTreeMap::new(),
        rows: Vec::new(),
        cells: BTreeMap::new(),
    };
    let mut problems = Vec::new();
    for row in workbook.rows(WhichSheet::Named(VALUES_SHEET))? {
        // Only rows whose first cell is an indicator code of the form carry values.
        let Some(indicator) = form.indicator_by_code(row.cell(CODE_COLUMN as usize)) else {
            continue;
        };
        let text = row.cell(VALUE_COLUMN as usize);
        let cell = format!(
            "{VALUES_SHEET}!{}",
            cell_name(row.row, VALUE_COLUMN as usize)
        );
        let key = indicator.key.as_str().to_string();
        if uploaded.cells.insert(key.clone(), cell.clone()).is_some() {
            problems.push(CellProblem {
                cell,
                indicator: key.clone(),
                message_zh: format!("指标代码 {} 出现了两次", indicator.code.as_str()),
                message_en: format!("indicator code {} appears twice", indicator.code.as_str()),
            });
            continue;
        }
        if !text.is_empty() {
            uploaded.values.insert(key, stored_value(indicator, text));
        }
    }
    if let Some(row_form) = row_form
        && workbook.has_sheet(ROWS_SHEET)
    {
        read_rows_sheet(
            &workbook.rows(WhichSheet::Named(ROWS_SHEET))?,
            row_form,
            &mut uploaded,
        );
    }
    if problems.is_empty() {
        Ok(uploaded)
    } else {
        Err(UploadError::Cells(problems))
    }
}

fn check_identity(rows: &[SheetRow], key: &ReportKey) -> Result<(), UploadError> {
    let field = |name: &str| {
        rows.iter()
            .find(|row| row.cell(0) == name)
            .map(|row| row.cell(1).to_string())
            .unwrap_or_default()
    };
    let layout = field("layout");
    if layout != TEMPLATE_LAYOUT_VERSION {
        return Err(UploadError::OldLayout { found: layout });
    }
    let found = format!("{} {} {}", field("unit"), field("form"), field("period"));
    let expected = format!("{} {} {}", key.unit, key.form, key.period);
    if found == expected {
        Ok(())
    } else {
        Err(UploadError::OtherReport { expected, found })
    }
}

/// A drop-down choice `stopped（全年停产）` or its label `全年停产` back to `stopped`.
fn stored_value(indicator: &Indicator, text: &str) -> String {
    if let ValueKind::Enum { options } = &indicator.kind {
        for option in options {
            if text == option.value
                || text == option.label_zh
                || text == enum_choice(&option.value, &option.label_zh)
            {
                return option.value.clone();
            }
        }
    }
    text.to_string()
}

fn read_rows_sheet(rows: &[SheetRow], row_form: &Form, uploaded: &mut UploadedContent) {
    // Row 3 holds the column codes; each code says which column is which.
    let Some(code_row) = rows.iter().find(|row| row.row == 3) else {
        return;
    };
    let columns: Vec<(usize, &Indicator)> = code_row
        .cells
        .iter()
        .enumerate()
        .filter_map(|(column, code)| {
            row_form
                .row_columns
                .iter()
                .find(|indicator| indicator.code.as_str() == code)
                .map(|indicator| (column, indicator))
        })
        .collect();
    for row in rows.iter().filter(|row| row.row > 4) {
        let mut values = BTreeMap::new();
        let index = uploaded.rows.len();
        for (column, indicator) in &columns {
            let text = row.cell(*column);
            if text.is_empty() {
                continue;
            }
            let key = indicator.key.as_str().to_string();
            uploaded.cells.insert(
                format!("rows[{index}].{key}"),
                format!("{ROWS_SHEET}!{}", cell_name(row.row, *column)),
            );
            values.insert(key, stored_value(indicator, text));
        }
        if !values.is_empty() {
            uploaded.rows.push(values);
        }
    }
}
