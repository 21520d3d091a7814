//! Reading uploaded Excel workbooks without trusting them: shared by the
//! registry import and the offline entry of reports (R37).
//!
//! A workbook is refused as a whole, before any cell is looked at, when it is
//! larger than the limit, is not an `.xlsx` (an old `.xls`, a renamed file),
//! or its zip parts declare more bytes than the limit once inflated (a
//! 20 MiB zip can inflate to gigabytes). A sheet is read cell by cell
//! (calamine's streaming reader, so a sheet claiming a huge used range does
//! not make us allocate it) and refused when it holds a formula: a value that
//! Excel recomputes could change after our checks.

use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx};

/// Limits on an uploaded workbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SheetLimits {
    /// Largest file accepted, in bytes.
    pub max_bytes: usize,
    /// Most non-blank rows read from one sheet.
    pub max_rows: usize,
    /// Largest total size the parts may declare once inflated.
    pub max_inflated_bytes: u64,
    /// Columns beyond this are ignored.
    pub max_columns: u32,
}

/// Why a workbook is refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    /// The file is too large.
    #[error(
        "文件过大：{bytes} 字节，上限 {limit} 字节 / the file is too large: {bytes} bytes, the limit is {limit}"
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
    /// Not an `.xlsx` workbook at all.
    #[error("文件不是 Excel 工作簿（.xlsx） / the file is not an Excel workbook (.xlsx)")]
    NotAWorkbook,
    /// An Excel 97–2003 `.xls` file.
    #[error(
        "不支持旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx / old Excel files (.xls) are not supported: save as .xlsx in Excel"
    )]
    OldExcelFormat,
    /// The zip or the sheet XML could not be parsed.
    #[error("文件无法读取：{0} / the file cannot be read: {0}")]
    Unreadable(String),
    /// The workbook lacks the sheet we need.
    #[error("工作簿中没有工作表“{0}” / the workbook has no sheet '{0}'")]
    MissingSheet(String),
    /// The workbook has no sheet at all.
    #[error("工作簿中没有工作表 / the workbook has no worksheet")]
    NoWorksheet,
    /// Too many rows.
    #[error("行数超过上限 {limit} / more than {limit} rows")]
    TooManyRows {
        /// The limit.
        limit: usize,
    },
    /// A cell holds a formula.
    #[error(
        "单元格 {cell} 含有公式（{formula}），请将公式转换为数值后再上传 / cell {cell} holds a formula ({formula}): paste it as values and upload again"
    )]
    Formula {
        /// The cell, e.g. `C17`.
        cell: String,
        /// The formula text.
        formula: String,
    },
}

/// One non-blank row of a sheet: its Excel row number (1-based) and its
/// cells as text, by 0-based column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    /// Row number as Excel shows it.
    pub row: usize,
    /// The cells as text; blank cells are empty strings.
    pub cells: Vec<String>,
}

impl SheetRow {
    /// The text of a column, empty when the row is shorter.
    pub fn cell(&self, column: usize) -> &str {
        self.cells.get(column).map_or("", String::as_str)
    }
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Whether the bytes start like a zip (every `.xlsx` does).
pub fn looks_like_xlsx(bytes: &[u8]) -> bool {
    bytes.starts_with(ZIP_MAGIC)
}

/// Whether the bytes start like an Excel 97–2003 file.
pub fn looks_like_old_excel(bytes: &[u8]) -> bool {
    bytes.starts_with(OLE_MAGIC)
}

/// The checks made before anything is parsed: size, kind, declared inflated size.
pub fn refuse_unsafe_workbook(bytes: &[u8], limits: SheetLimits) -> Result<(), SheetError> {
    if bytes.len() > limits.max_bytes {
        return Err(SheetError::TooLarge {
            bytes: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    if looks_like_old_excel(bytes) {
        return Err(SheetError::OldExcelFormat);
    }
    if !looks_like_xlsx(bytes) {
        return Err(SheetError::NotAWorkbook);
    }
    refuse_zip_bombs(bytes, limits.max_inflated_bytes)
}

/// Sums the sizes the zip's entries declare, before anything is inflated.
fn refuse_zip_bombs(bytes: &[u8], limit: u64) -> Result<(), SheetError> {
    let unreadable = |error: zip::result::ZipError| SheetError::Unreadable(error.to_string());
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    let mut total = 0u64;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(unreadable)?;
        total = total.saturating_add(entry.size());
    }
    if total > limit {
        return Err(SheetError::TooLargeInflated {
            bytes: total,
            limit,
        });
    }
    Ok(())
}

/// Which sheet to read.
#[derive(Debug, Clone, Copy)]
pub enum WhichSheet<'a> {
    /// The first sheet of the workbook.
    First,
    /// The sheet with this name.
    Named(&'a str),
}

/// An opened workbook, checked by [`refuse_unsafe_workbook`].
pub struct CheckedWorkbook<'a> {
    workbook: Xlsx<Cursor<&'a [u8]>>,
    limits: SheetLimits,
}

impl std::fmt::Debug for CheckedWorkbook<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CheckedWorkbook")
            .field("sheets", &self.workbook.sheet_names())
            .finish()
    }
}

impl<'a> CheckedWorkbook<'a> {
    /// Checks the bytes, then opens the workbook.
    pub fn open(bytes: &'a [u8], limits: SheetLimits) -> Result<Self, SheetError> {
        refuse_unsafe_workbook(bytes, limits)?;
        let workbook = Xlsx::new(Cursor::new(bytes))
            .map_err(|error| SheetError::Unreadable(error.to_string()))?;
        Ok(CheckedWorkbook { workbook, limits })
    }

    /// Whether the workbook has a sheet with this name.
    pub fn has_sheet(&self, name: &str) -> bool {
        self.workbook
            .sheet_names()
            .iter()
            .any(|sheet| sheet == name)
    }

    /// The non-blank rows of a sheet; refuses a sheet with formulas.
    pub fn rows(&mut self, which: WhichSheet<'_>) -> Result<Vec<SheetRow>, SheetError> {
        let unreadable = |error: calamine::XlsxError| SheetError::Unreadable(error.to_string());
        let sheet_name = match which {
            WhichSheet::First => self
                .workbook
                .sheet_names()
                .first()
                .cloned()
                .ok_or(SheetError::NoWorksheet)?,
            WhichSheet::Named(name) if self.has_sheet(name) => name.to_string(),
            WhichSheet::Named(name) => return Err(SheetError::MissingSheet(name.to_string())),
        };
        self.refuse_formulas(&sheet_name)?;
        let max_rows = self.limits.max_rows;
        let max_columns = self.limits.max_columns;
        let mut reader = self
            .workbook
            .worksheet_cells_reader(&sheet_name)
            .map_err(unreadable)?;
        let mut by_row: std::collections::BTreeMap<u32, Vec<String>> = Default::default();
        while let Some(cell) = reader.next_cell().map_err(unreadable)? {
            let (row, column) = cell.get_position();
            if column >= max_columns {
                continue;
            }
            let text = cell_text(cell.get_value());
            if text.is_empty() {
                continue;
            }
            if !by_row.contains_key(&row) && by_row.len() > max_rows {
                return Err(SheetError::TooManyRows { limit: max_rows });
            }
            let cells = by_row.entry(row).or_default();
            let column_index = column as usize;
            if cells.len() <= column_index {
                cells.resize(column_index + 1, String::new());
            }
            cells[column_index] = text;
        }
        Ok(by_row
            .into_iter()
            .map(|(row, cells)| SheetRow {
                row: row as usize + 1,
                cells,
            })
            .collect())
    }

    fn refuse_formulas(&mut self, sheet_name: &str) -> Result<(), SheetError> {
        let unreadable = |error: calamine::XlsxError| SheetError::Unreadable(error.to_string());
        let mut reader = self
            .workbook
            .worksheet_cells_reader(sheet_name)
            .map_err(unreadable)?;
        while let Some(cell) = reader.next_formula().map_err(unreadable)? {
            if !cell.get_value().is_empty() {
                let (row, column) = cell.get_position();
                return Err(SheetError::Formula {
                    cell: cell_name(row as usize + 1, column as usize),
                    formula: cell.get_value().clone(),
                });
            }
        }
        Ok(())
    }
}

/// `A`, `B`, …, `Z`, `AA`, … for a 0-based column index.
pub fn column_letters(column: usize) -> String {
    let mut column = column;
    let mut letters = Vec::new();
    loop {
        letters.push(char::from(b'A' + (column % 26) as u8));
        if column < 26 {
            break;
        }
        column = column / 26 - 1;
    }
    letters.iter().rev().collect()
}

/// `E12` for row 12 (1-based, as Excel shows it) and 0-based column 4.
pub fn cell_name(row: usize, column: usize) -> String {
    format!("{}{row}", column_letters(column))
}

/// A cell as the text a user sees. Whole numbers lose Excel's `.0`; other
/// numbers print as the shortest text that reads back to the same double,
/// which is what the user typed for any value with up to 15 significant digits.
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Int(number) => number.to_string(),
        DataRef::Float(number) if number.fract() == 0.0 && number.abs() < 1e15 => {
            format!("{number:.0}")
        }
        DataRef::Float(number) => number.to_string(),
        DataRef::String(text) => text.trim().to_string(),
        DataRef::SharedString(text) => text.trim().to_string(),
        DataRef::Bool(true) => "是".to_string(),
        DataRef::Bool(false) => "否".to_string(),
        DataRef::DateTime(date_time) => date_time.to_string(),
        DataRef::DateTimeIso(text) | DataRef::DurationIso(text) => text.clone(),
        DataRef::Error(error) => format!("#{error}"),
        DataRef::Empty => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_follow_excel() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
        assert_eq!(cell_name(12, 4), "E12");
    }

    #[test]
    fn foreign_files_are_refused_before_parsing() {
        let limits = SheetLimits {
            max_bytes: 100,
            max_rows: 10,
            max_inflated_bytes: 1000,
            max_columns: 10,
        };
        assert_eq!(
            refuse_unsafe_workbook(b"hello, world", limits),
            Err(SheetError::NotAWorkbook)
        );
        assert_eq!(
            refuse_unsafe_workbook(OLE_MAGIC, limits),
            Err(SheetError::OldExcelFormat)
        );
        assert!(matches!(
            refuse_unsafe_workbook(&[b'P'; 200], limits),
            Err(SheetError::TooLarge {
                bytes: 200,
                limit: 100
            })
        ));
        assert!(matches!(
            refuse_unsafe_workbook(b"PK\x03\x04 not really a zip", limits),
            Err(SheetError::Unreadable(_))
        ));
    }
}
