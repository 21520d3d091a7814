//! The account list as an Excel workbook, for a bureau to hand logins to
//! its enterprises (R4, R30): username, role, unit credit code and name, and
//! — only for accounts just reset to a fresh initial password — that password.
//! Passwords are stored hashed, so an export can only show a password it has
//! just made; the service decides which accounts get one.
//!
//! Row 1 holds the Chinese column headers, row 2 the English ones.

/// One row of the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    /// Login name.
    pub username: String,
    /// Role word (`admin`, `reviewer`, `county`, `enterprise`).
    pub role: &'static str,
    /// The unit's credit code (enterprise accounts).
    pub credit_code: Option<String>,
    /// The unit's name (enterprise accounts).
    pub unit_name: Option<String>,
    /// A fresh initial password, when this export reset it.
    pub new_password: Option<String>,
}

/// Column headers: Chinese, English.
const HEADERS: [(&str, &str); 6] = [
    ("用户名", "Username"),
    ("角色", "Role"),
    ("统一社会信用代码", "Unified social credit code"),
    ("单位名称", "Unit name"),
    ("初始密码", "Initial password"),
    ("须修改密码", "Must change password"),
];

/// The role in Chinese, for the sheet.
fn role_zh(role: &str) -> &'static str {
    match role {
        "admin" => "管理用户",
        "reviewer" => "审核用户",
        "county" => "县级用户",
        "enterprise" => "企业",
        _ => "",
    }
}

/// Writes the workbook (one sheet, `账户 Accounts`) into memory.
pub fn accounts_workbook(rows: &[ExportRow]) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut workbook = Workbook::new();
    let header = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let sheet = workbook.add_worksheet();
    sheet
        .set_name("账户 Accounts")
        .map_err(|error| error.to_string())?;
    for (column, (zh, en)) in (0u16..).zip(HEADERS) {
        sheet
            .write_string_with_format(0, column, zh, &header)
            .and_then(|sheet| sheet.write_string_with_format(1, column, en, &header))
            .map_err(|error| error.to_string())?;
    }
    for (row_number, row) in (2u32..).zip(rows) {
        let cells = [
            row.username.clone(),
            format!("{} {}", role_zh(row.role), row.role),
            row.credit_code.clone().unwrap_or_default(),
            row.unit_name.clone().unwrap_or_default(),
            row.new_password.clone().unwrap_or_default(),
            if row.new_password.is_some() {
                "是 yes".to_string()
            } else {
                String::new()
            },
        ];
        for (column, cell) in (0u16..).zip(cells.iter()) {
            // why: credit codes and passwords are text; Excel must not turn them into numbers
            sheet
                .write_string_with_format(row_number, column, cell, &text)
                .map_err(|error| error.to_string())?;
        }
    }
    sheet
        .set_column_width(0, 22)
        .and_then(|sheet| sheet.set_column_width(1, 16))
        .and_then(|sheet| sheet.set_column_width(2, 24))
        .and_then(|sheet| sheet.set_column_width(3, 36))
        .and_then(|sheet| sheet.set_column_width(4, 18))
        .map_err(|error| error.to_string())?;
    workbook.save_to_buffer().map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::Reader;

    #[test]
    fn the_workbook_reads_back_with_bilingual_headers_and_text_cells() {
        let rows = vec![
            ExportRow {
                username: "913201000000000001".into(),
                role: "enterprise",
                credit_code: Some("913201000000000001".into()),
                unit_name: Some("南京测试有限公司".into()),
                new_password: Some("Abc#2345defgHj".into()),
            },
            ExportRow {
                username: "reviewer320100-1".into(),
                role: "reviewer",
                credit_code: None,
                unit_name: None,
                new_password: None,
            },
        ];
        let bytes = accounts_workbook(&rows).unwrap();
        let mut workbook: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let range = workbook.worksheet_range("账户 Accounts").unwrap();
        let cell = |row: u32, column: u32| {
            range
                .get_value((row, column))
                .map(ToString::to_string)
                .unwrap_or_default()
        };
        assert_eq!(cell(0, 0), "用户名");
        assert_eq!(cell(1, 2), "Unified social credit code");
        assert_eq!(cell(2, 2), "913201000000000001");
        assert_eq!(cell(2, 3), "南京测试有限公司");
        assert_eq!(cell(2, 4), "Abc#2345defgHj");
        assert_eq!(cell(3, 1), "审核用户 reviewer");
        assert_eq!(cell(3, 4), "");
    }
}
