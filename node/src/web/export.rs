//! Downloads as CSV or Excel (R8, R16): one [`Sheet`] of bilingual headers
//! and cells, written by the `csv` crate or `rust_xlsxwriter`, answered with
//! its Content-Type and an attachment file name.
//!
//! CSV starts with a UTF-8 byte-order mark: without it, Excel on a Chinese
//! Windows reads the file as GBK and the Chinese turns to mojibake. Numbers
//! stay exact decimal text in CSV; in a workbook a number is a number cell
//! when the double Excel keeps is exactly that decimal, text otherwise, so
//! no digit is ever lost.

use std::str::FromStr;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;

use super::error::ApiError;

/// A cell of a sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Text, written as is.
    Text(String),
    /// An exact decimal, as text (`"12.345"`).
    Number(String),
}

/// A table to download.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    /// The worksheet's name (at most 31 characters in Excel).
    pub name: String,
    /// Column headers, `中文 / English`.
    pub headers: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

/// A download format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `text/csv`, UTF-8 with BOM.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

impl ExportFormat {
    /// Reads `format=` (CSV when absent); anything else is a 400 naming the field.
    pub fn parse(text: Option<&str>) -> Result<ExportFormat, ApiError> {
        match text {
            None | Some("csv") => Ok(ExportFormat::Csv),
            Some("xlsx") => Ok(ExportFormat::Xlsx),
            Some(other) => Err(ApiError::BadRequest {
                field: Some("format".to_string()),
                message: format!("format '{other}'：应为 csv 或 xlsx / expected csv or xlsx"),
            }),
        }
    }

    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }
}

fn cell_text(cell: &Cell) -> &str {
    match cell {
        Cell::Text(text) | Cell::Number(text) => text,
    }
}

/// The sheet as CSV bytes, BOM first.
pub fn to_csv(sheet: &Sheet) -> Result<Vec<u8>, ApiError> {
    let failed = |error: csv::Error| ApiError::Internal(format!("csv export: {error}"));
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    writer.write_record(&sheet.headers).map_err(failed)?;
    for row in &sheet.rows {
        writer
            .write_record(row.iter().map(cell_text))
            .map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|error| ApiError::Internal(format!("csv export: {error}")))
}

/// The double of `text` when it is exactly that decimal.
fn exact_double(text: &str) -> Option<f64> {
    let decimal = Decimal::from_str(text).ok()?;
    let double = f64::from_str(text).ok()?;
    let back = Decimal::from_str(&double.to_string()).ok()?;
    (back == decimal).then_some(double)
}

/// The sheet as an .xlsx workbook.
pub fn to_xlsx(sheet: &Sheet) -> Result<Vec<u8>, ApiError> {
    to_workbook(std::slice::from_ref(sheet))
}

/// Several sheets as one .xlsx workbook, in order (names must differ).
pub fn to_workbook(sheets: &[Sheet]) -> Result<Vec<u8>, ApiError> {
    let failed =
        |error: rust_xlsxwriter::XlsxError| ApiError::Internal(format!("xlsx export: {error}"));
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for sheet in sheets {
        let worksheet = workbook.add_worksheet();
        let name: String = sheet.name.chars().take(31).collect();
        worksheet.set_name(&name).map_err(failed)?;
        for (column, header) in sheet.headers.iter().enumerate() {
            let column = u16::try_from(column)
                .map_err(|_| ApiError::Internal("xlsx: too many columns".to_string()))?;
            worksheet
                .write_string_with_format(0, column, header, &bold)
                .map_err(failed)?;
            worksheet
                .set_column_width(column, 12.0 + header.chars().count().min(40) as f64 / 2.0)
                .map_err(failed)?;
        }
        for (index, row) in sheet.rows.iter().enumerate() {
            let line = u32::try_from(index + 1)
                .map_err(|_| ApiError::Internal("xlsx: too many rows".to_string()))?;
            for (column, cell) in row.iter().enumerate() {
                let column = u16::try_from(column)
                    .map_err(|_| ApiError::Internal("xlsx: too many columns".to_string()))?;
                match cell {
                    Cell::Number(text) => match exact_double(text) {
                        Some(number) => worksheet.write_number(line, column, number),
                        None => worksheet.write_string(line, column, text),
                    },
                    Cell::Text(text) => worksheet.write_string(line, column, text),
                }
                .map_err(failed)?;
            }
        }
        worksheet.set_freeze_panes(1, 0).map_err(failed)?;
    }
    workbook.save_to_buffer().map_err(failed)
}

/// A workbook of several sheets as a download `{stem}.xlsx`.
pub fn download_workbook(sheets: &[Sheet], stem: &str) -> Result<Response, ApiError> {
    Ok(attachment(to_workbook(sheets)?, ExportFormat::Xlsx, stem))
}

/// The download: the sheet in `format`, saved as `{stem}.{csv|xlsx}`.
pub fn download(sheet: &Sheet, format: ExportFormat, stem: &str) -> Result<Response, ApiError> {
    let bytes = match format {
        ExportFormat::Csv => to_csv(sheet)?,
        ExportFormat::Xlsx => to_xlsx(sheet)?,
    };
    Ok(attachment(bytes, format, stem))
}

/// A file download saved as `{stem}.{csv|xlsx}`; never cached (it holds a bureau's or a unit's data).
pub(crate) fn attachment(bytes: Vec<u8>, format: ExportFormat, stem: &str) -> Response {
    // The stem is built from codes (ASCII letters, digits, '-'); nothing to quote.
    let disposition = format!("attachment; filename=\"{stem}.{}\"", format.extension());
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_bom_and_exact_numbers() {
        let sheet = Sheet {
            name: "t".into(),
            headers: vec!["名称 / Name".into(), "值 / Value".into()],
            rows: vec![vec![
                Cell::Text("南京, 市".into()),
                Cell::Number("0.3".into()),
            ]],
        };
        let bytes = to_csv(&sheet).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert_eq!(text, "名称 / Name,值 / Value\n\"南京, 市\",0.3\n");
    }

    #[test]
    fn a_decimal_is_a_number_cell_only_when_exact() {
        assert_eq!(exact_double("0.3"), Some(0.3));
        assert_eq!(exact_double("12345.678"), Some(12345.678));
        assert_eq!(exact_double("12345678901234567.891"), None);
        assert_eq!(exact_double("abc"), None);
    }

    #[test]
    fn an_unknown_format_names_the_field() {
        let error = ExportFormat::parse(Some("pdf")).unwrap_err();
        assert_eq!(error.status_and_code().1, "GEN400");
        assert!(
            matches!(error, ApiError::BadRequest { field: Some(field), .. } if field == "format")
        );
    }
}
