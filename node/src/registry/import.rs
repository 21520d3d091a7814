//! Import of survey units from an uploaded spreadsheet (R3, R24): `.xlsx` or
//! CSV (UTF-8) with a header row.
//!
//! The result is an [`ImportReport`]: the units of every valid row and a
//! problem per wrong cell, with the row number as the user sees it in Excel
//! ("第 17 行 统一社会信用代码：校验位错误，应为 X"). Nothing is stored here:
//! the caller shows the report and the user chooses to import all valid rows
//! or none ([`super::store::RegistryStore::put_units`] writes them in one
//! transaction).
//!
//! A file is refused as a whole, before any row is checked, when it is not a
//! workbook or CSV, is larger than [`ImportLimits::max_bytes`], has more rows
//! than [`ImportLimits::max_rows`], contains formulas (values could change
//! after the check), or lacks a required column.
//!
//! The workbook is read cell by cell (calamine's streaming reader), so a sheet
//! claiming a huge used range does not make us allocate it.

use std::collections::HashMap;

use crate::division::DivisionCode;
use crate::spreadsheet::{CheckedWorkbook, SheetError, SheetLimits, SheetRow, WhichSheet};

use super::codes::UnitCode;
use super::unit::{FieldError, SurveyUnit, UnitField, UnitInput, validate_new_unit};

/// Limits on an uploaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Largest file accepted, in bytes.
    pub max_bytes: usize,
    /// Most data rows accepted (header not counted).
    pub max_rows: usize,
    /// Largest total size the parts of an `.xlsx` may declare once inflated
    /// (a 20 MiB zip can inflate to gigabytes).
    pub max_inflated_bytes: u64,
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits {
            max_bytes: 20 * 1024 * 1024,
            max_rows: 50_000,
            max_inflated_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Columns beyond this are ignored (the template has 12).
const MAX_COLUMNS: u32 = 64;

/// Why a whole file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The file is too large.
    #[error(
        "文件过大：{bytes} 字节，上限 {limit} 字节，请分批导入 / the file is too large: {bytes} bytes, the limit is {limit}; import it in parts"
    )]
    TooLarge {
        /// Size of the file.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The workbook's parts would inflate beyond the limit.
    #[error(
        "工作簿解压后过大：{bytes} 字节，上限 {limit} 字节 / the workbook inflates to {bytes} bytes, the limit is {limit}"
    )]
    TooLargeInflated {
        /// Total declared size of the parts.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// Neither a workbook nor text.
    #[error(
        "文件不是 Excel 工作簿（.xlsx）或 CSV 文本 / the file is neither an Excel workbook (.xlsx) nor CSV text"
    )]
    NotASpreadsheet,
    /// An Excel 97–2003 `.xls` file.
    #[error(
        "不支持旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 后再导入 / old Excel files (.xls) are not supported: save as .xlsx in Excel and import again"
    )]
    OldExcelFormat,
    /// CSV text that is not UTF-8 (Excel's default “CSV” in China is GBK).
    #[error(
        "CSV 文件不是 UTF-8 编码：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”，或改用 .xlsx / the CSV file is not UTF-8: save it as 'CSV UTF-8 (comma delimited)' in Excel, or use .xlsx"
    )]
    NotUtf8,
    /// The file could not be parsed.
    #[error("文件无法读取：{0} / the file cannot be read: {0}")]
    Unreadable(String),
    /// The workbook has no worksheet.
    #[error("工作簿中没有工作表 / the workbook has no worksheet")]
    NoWorksheet,
    /// No header row at all.
    #[error("文件为空，第一行应为表头 / the file is empty: the first row must be the header")]
    Empty,
    /// Too many data rows.
    #[error("行数超过上限 {limit}，请分批导入 / more than {limit} rows: import the file in parts")]
    TooManyRows {
        /// The limit.
        limit: usize,
    },
    /// A cell holds a formula.
    #[error(
        "单元格 {cell} 含有公式（{formula}），请将公式转换为数值后再导入 / cell {cell} holds a formula ({formula}): paste it as values and import again"
    )]
    Formula {
        /// The cell, e.g. `C17`.
        cell: String,
        /// The formula text.
        formula: String,
    },
    /// Required columns are missing from the header row.
    #[error(
        "表头缺少必填列：{missing_zh}（第 {header_row} 行为表头） / the header row lacks required columns: {missing_en} (header in row {header_row})"
    )]
    MissingColumns {
        /// Row of the header, 1-based.
        header_row: usize,
        /// The missing columns in Chinese.
        missing_zh: String,
        /// The missing columns in English.
        missing_en: String,
    },
    /// Two header cells name the same field.
    #[error(
        "表头中“{first}”和“{second}”是同一列 / the header names the same column twice: '{first}' and '{second}'"
    )]
    DuplicateColumn {
        /// First header text.
        first: String,
        /// Second header text.
        second: String,
    },
}

impl From<SheetError> for ImportError {
    fn from(error: SheetError) -> Self {
        match error {
            SheetError::TooLarge { bytes, limit } => ImportError::TooLarge { bytes, limit },
            SheetError::TooLargeInflated { bytes, limit } => {
                ImportError::TooLargeInflated { bytes, limit }
            }
            SheetError::NotAWorkbook => ImportError::NotASpreadsheet,
            SheetError::OldExcelFormat => ImportError::OldExcelFormat,
            SheetError::Unreadable(reason) => ImportError::Unreadable(reason),
            SheetError::MissingSheet(_) | SheetError::NoWorksheet => ImportError::NoWorksheet,
            SheetError::TooManyRows { limit } => ImportError::TooManyRows { limit },
            SheetError::Formula { cell, formula } => ImportError::Formula { cell, formula },
        }
    }
}

/// One problem of one row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowProblem {
    /// Row number as Excel shows it (the header is usually row 1).
    pub row: usize,
    /// The column's header as written in the file (empty for a whole-row problem).
    pub column: String,
    /// The field, when the problem is about one.
    pub field: Option<UnitField>,
    /// The cell's value.
    pub value: String,
    /// What is wrong, in Chinese.
    pub message_zh: String,
    /// What is wrong, in English.
    pub message_en: String,
}

/// The outcome of reading a file: valid units and problems, nothing stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportReport {
    /// The units of the rows without problems, in file order.
    pub valid: Vec<SurveyUnit>,
    /// Every problem, in row order.
    pub problems: Vec<RowProblem>,
    /// Data rows read (blank rows not counted).
    pub rows_read: usize,
}

impl ImportReport {
    /// True when every row is valid.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Number of distinct rows with at least one problem.
    pub fn rows_with_problems(&self) -> usize {
        let mut rows: Vec<usize> = self.problems.iter().map(|problem| problem.row).collect();
        rows.dedup();
        rows.len()
    }
}

/// The kinds of file we recognise by their first bytes.
enum FileKind {
    Xlsx,
    Csv,
}

fn detect_kind(bytes: &[u8]) -> Result<FileKind, ImportError> {
    const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
    const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if bytes.starts_with(ZIP_MAGIC) {
        Ok(FileKind::Xlsx)
    } else if bytes.starts_with(OLE_MAGIC) {
        Err(ImportError::OldExcelFormat)
    } else if bytes.is_empty() {
        Err(ImportError::Empty)
    } else if bytes.contains(&0) {
        Err(ImportError::NotASpreadsheet)
    } else if std::str::from_utf8(bytes).is_err() {
        Err(ImportError::NotUtf8)
    } else {
        Ok(FileKind::Csv)
    }
}

/// Reads an uploaded file (xlsx or CSV, told apart by content, not by name)
/// and checks every row as a new unit of the node whose jurisdiction is
/// `node_division`.
pub fn read_units(
    bytes: &[u8],
    node_division: DivisionCode,
    limits: ImportLimits,
) -> Result<ImportReport, ImportError> {
    if bytes.len() > limits.max_bytes {
        return Err(ImportError::TooLarge {
            bytes: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let rows = match detect_kind(bytes)? {
        FileKind::Xlsx => {
            let sheet_limits = SheetLimits {
                max_bytes: limits.max_bytes,
                max_rows: limits.max_rows,
                max_inflated_bytes: limits.max_inflated_bytes,
                max_columns: MAX_COLUMNS,
            };
            CheckedWorkbook::open(bytes, sheet_limits)?.rows(WhichSheet::First)?
        }
        FileKind::Csv => read_csv_rows(bytes, limits.max_rows)?,
    };
    check_rows(&rows, node_division)
}

fn read_csv_rows(bytes: &[u8], max_rows: usize) -> Result<Vec<SheetRow>, ImportError> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut rows = Vec::new();
    // Excel shows one row per record and per blank line, so the row number is
    // the physical line of the record's start, less the line breaks inside
    // quoted cells of earlier records (the csv crate skips blank lines and
    // does not count them in its own line numbers).
    let mut counted_up_to = 0usize;
    let mut physical_line = 1usize;
    let mut breaks_inside_cells = 0usize;
    for record in reader.records() {
        let record = record.map_err(|error| ImportError::Unreadable(error.to_string()))?;
        let reported_start = record
            .position()
            .map_or(counted_up_to, |position| position.byte() as usize);
        // The reported position is before any blank lines the reader skipped.
        let start = reported_start
            + text.get(reported_start..).map_or(0, |rest| {
                rest.iter()
                    .take_while(|byte| matches!(byte, b'\r' | b'\n'))
                    .count()
            });
        physical_line += text.get(counted_up_to..start).map_or(0, |skipped| {
            skipped.iter().filter(|byte| **byte == b'\n').count()
        });
        counted_up_to = counted_up_to.max(start);
        let row = physical_line - breaks_inside_cells;
        breaks_inside_cells += record
            .iter()
            .map(|cell| cell.matches('\n').count())
            .sum::<usize>();
        let cells: Vec<String> = record.iter().map(|cell| cell.trim().to_string()).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        // The first row is the header; count only data rows against the limit.
        if rows.len() > max_rows {
            return Err(ImportError::TooManyRows { limit: max_rows });
        }
        rows.push(SheetRow { row, cells });
    }
    Ok(rows)
}

/// Header words accepted for each field (compared after removing spaces,
/// `*` required markers and case).
fn header_aliases(field: UnitField) -> &'static [&'static str] {
    match field {
        UnitField::Code => &[
            "统一社会信用代码",
            "信用代码",
            "社会信用代码",
            "组织机构代码",
            "统一社会信用代码(组织机构代码)",
            "creditcode",
            "code",
            "unitcode",
        ],
        UnitField::Name => &["单位名称", "企业名称", "名称", "name", "unitname"],
        UnitField::Address => &["详细地址", "地址", "单位地址", "address"],
        UnitField::County => &[
            "行政区划代码",
            "区划代码",
            "所在区县代码",
            "divisioncode",
            "division",
            "county",
        ],
        UnitField::Industry => &["行业代码", "行业类别代码", "industrycode", "industry"],
        UnitField::Classes => &[
            "控制类别",
            "企业类别",
            "控制级别",
            "controlclasses",
            "classes",
            "class",
        ],
        UnitField::KeyIndustry => &[
            "重点行业",
            "是否重点行业",
            "总量减排重点行业企业",
            "keyindustry",
        ],
        UnitField::ContactPerson => &["联系人", "contactperson", "contact"],
        UnitField::ContactPhone => &["联系电话", "电话", "phone", "contactphone"],
        UnitField::ContactEmail => &["电子邮箱", "邮箱", "email", "contactemail"],
        UnitField::Liaison => &["联络员", "liaison"],
        UnitField::GroupCompany => &["集团公司", "所属集团", "groupcompany", "group"],
    }
}

/// Columns without which a row cannot make a unit.
const REQUIRED_FIELDS: [UnitField; 8] = [
    UnitField::Code,
    UnitField::Name,
    UnitField::Address,
    UnitField::County,
    UnitField::Industry,
    UnitField::Classes,
    UnitField::ContactPerson,
    UnitField::ContactPhone,
];

fn normalize_header(text: &str) -> String {
    text.chars()
        .filter(|character| {
            !character.is_whitespace() && !matches!(character, '*' | '＊' | '_' | '-')
        })
        .map(|character| match character {
            '（' => '(',
            '）' => ')',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

fn field_for_header(header: &str) -> Option<UnitField> {
    let matching = |text: &str| {
        let normalized = normalize_header(text);
        UnitField::ALL.into_iter().find(|field| {
            header_aliases(*field)
                .iter()
                .any(|alias| normalize_header(alias) == normalized)
        })
    };
    // A bilingual header `统一社会信用代码 / Credit code` (our own exports) is read by its Chinese half.
    matching(header).or_else(|| {
        header
            .split_once(" / ")
            .and_then(|(chinese, _)| matching(chinese))
    })
}

/// Which column holds which field, and the header text of each.
struct ColumnMap {
    columns: HashMap<UnitField, (usize, String)>,
}

fn map_header(header: &SheetRow) -> Result<ColumnMap, ImportError> {
    let mut columns: HashMap<UnitField, (usize, String)> = HashMap::new();
    for (index, text) in header.cells.iter().enumerate() {
        let Some(field) = field_for_header(text) else {
            continue;
        };
        if let Some((_, first)) = columns.get(&field) {
            return Err(ImportError::DuplicateColumn {
                first: first.clone(),
                second: text.clone(),
            });
        }
        columns.insert(field, (index, text.clone()));
    }
    let missing: Vec<UnitField> = REQUIRED_FIELDS
        .into_iter()
        .filter(|field| !columns.contains_key(field))
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns {
            header_row: header.row,
            missing_zh: missing
                .iter()
                .map(|field| field.label_zh())
                .collect::<Vec<_>>()
                .join("、"),
            missing_en: missing
                .iter()
                .map(|field| field.label_en())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(ColumnMap { columns })
}

impl ColumnMap {
    fn cell<'a>(&self, row: &'a SheetRow, field: UnitField) -> &'a str {
        self.columns
            .get(&field)
            .and_then(|(index, _)| row.cells.get(*index))
            .map_or("", String::as_str)
    }

    fn header(&self, field: UnitField) -> String {
        self.columns.get(&field).map_or_else(
            || field.label_zh().to_string(),
            |(_, header)| header.clone(),
        )
    }
}

/// Splits `国控、省控` / `国控,市控` / `国控；其他` into labels.
fn split_classes(text: &str) -> Vec<String> {
    text.split(['、', ',', '，', ';', '；', '/', '|'])
        .map(|part| part.trim().to_string())
        .filter(|part| !part.is_empty())
        .collect()
}

/// Reads 是/否 and friends; empty means no.
fn parse_yes_no(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "" | "否" | "不是" | "n" | "no" | "false" | "0" | "×" => Some(false),
        "是" | "y" | "yes" | "true" | "1" | "√" | "✓" | "重点" => Some(true),
        _ => None,
    }
}

/// Excel drops the leading zero of industry codes such as `06` typed as numbers.
fn restore_leading_zero(industry: &str) -> String {
    let trimmed = industry.trim();
    if trimmed.len() == 1 && trimmed.bytes().all(|byte| byte.is_ascii_digit()) {
        format!("0{trimmed}")
    } else {
        trimmed.to_string()
    }
}

fn row_input(columns: &ColumnMap, row: &SheetRow) -> (UnitInput, Option<FieldError>) {
    let key_industry_text = columns.cell(row, UnitField::KeyIndustry);
    let key_industry = parse_yes_no(key_industry_text);
    let key_industry_error = key_industry.is_none().then(|| {
        FieldError::new(
            UnitField::KeyIndustry,
            key_industry_text,
            format!("重点行业应填“是”或“否”，而不是“{key_industry_text}”"),
            format!("key industry must be yes (是) or no (否), not '{key_industry_text}'"),
        )
    });
    let input = UnitInput {
        code: columns.cell(row, UnitField::Code).to_string(),
        name: columns.cell(row, UnitField::Name).to_string(),
        address: columns.cell(row, UnitField::Address).to_string(),
        county: columns.cell(row, UnitField::County).to_string(),
        industry: restore_leading_zero(columns.cell(row, UnitField::Industry)),
        classes: split_classes(columns.cell(row, UnitField::Classes)),
        key_industry: key_industry.unwrap_or(false),
        contact_person: columns.cell(row, UnitField::ContactPerson).to_string(),
        contact_phone: columns.cell(row, UnitField::ContactPhone).to_string(),
        contact_email: columns.cell(row, UnitField::ContactEmail).to_string(),
        liaison: columns.cell(row, UnitField::Liaison).to_string(),
        group_company: columns.cell(row, UnitField::GroupCompany).to_string(),
    };
    (input, key_industry_error)
}

fn problem_from_field_error(columns: &ColumnMap, row: usize, error: FieldError) -> RowProblem {
    RowProblem {
        row,
        column: columns.header(error.field),
        field: Some(error.field),
        value: error.value,
        message_zh: error.message_zh,
        message_en: error.message_en,
    }
}

/// Remembers the codes seen so far, to report duplicates within the file.
#[derive(Default)]
struct SeenCodes {
    by_code: HashMap<UnitCode, usize>,
    /// Organisation-code part → first row, to catch an organisation code and
    /// a credit code of the same unit in one file.
    by_org_code: HashMap<String, (usize, UnitCode)>,
}

impl SeenCodes {
    fn duplicate_problem(
        &mut self,
        columns: &ColumnMap,
        row: usize,
        code: &UnitCode,
    ) -> Option<RowProblem> {
        let problem = |message_zh: String, message_en: String| RowProblem {
            row,
            column: columns.header(UnitField::Code),
            field: Some(UnitField::Code),
            value: code.to_string(),
            message_zh,
            message_en,
        };
        if let Some(first_row) = self.by_code.get(code) {
            return Some(problem(
                format!("代码与第 {first_row} 行重复"),
                format!("the code repeats row {first_row}"),
            ));
        }
        if let Some((first_row, first_code)) = self.by_org_code.get(code.org_code_text()) {
            return Some(problem(
                format!("组织机构代码部分与第 {first_row} 行的 {first_code} 相同，应为同一单位"),
                format!(
                    "the organisation-code part equals that of {first_code} in row {first_row}: the same unit"
                ),
            ));
        }
        self.by_code.insert(code.clone(), row);
        self.by_org_code
            .insert(code.org_code_text().to_string(), (row, code.clone()));
        None
    }
}

fn check_rows(rows: &[SheetRow], node_division: DivisionCode) -> Result<ImportReport, ImportError> {
    let Some((header, data_rows)) = rows.split_first() else {
        return Err(ImportError::Empty);
    };
    let columns = map_header(header)?;
    let mut report = ImportReport {
        rows_read: data_rows.len(),
        ..ImportReport::default()
    };
    let mut seen = SeenCodes::default();
    for row in data_rows {
        let (input, key_industry_error) = row_input(&columns, row);
        let mut row_problems: Vec<RowProblem> = key_industry_error
            .into_iter()
            .map(|error| problem_from_field_error(&columns, row.row, error))
            .collect();
        if let Ok(code) = UnitCode::parse(&input.code) {
            row_problems.extend(seen.duplicate_problem(&columns, row.row, &code));
        }
        match validate_new_unit(&input, node_division) {
            Ok(unit) => {
                if row_problems.is_empty() {
                    report.valid.push(unit);
                }
            }
            Err(errors) => row_problems.extend(
                errors
                    .into_iter()
                    .map(|error| problem_from_field_error(&columns, row.row, error)),
            ),
        }
        report.problems.extend(row_problems);
    }
    Ok(report)
}
