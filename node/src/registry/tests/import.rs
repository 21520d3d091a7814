use super::*;
use crate::registry::import::{ImportError, ImportLimits, ImportReport, read_units};
use crate::registry::sample::sample_units;

const HEADER_ZH: &str =
    "统一社会信用代码,单位名称,详细地址,行政区划代码,行业代码,控制类别,重点行业,联系人,联系电话";

/// A CSV line for a unit like [`good_input`], with the given code, county, classes and key-industry text.
fn csv_line(code: &str, name: &str, county: &str, classes: &str, key_industry: &str) -> String {
    format!(
        "{code},{name},南京市玄武区工业路18号,{county},26,\"{classes}\",{key_industry},王伟,13912345678"
    )
}

fn import_csv(text: &str) -> Result<ImportReport, ImportError> {
    read_units(text.as_bytes(), division("320100"), ImportLimits::default())
}

/// Reads the CSV and checks the number of valid units and each problem as
/// (row, column header, part of the Chinese message).
fn check_csv(text: &str, n_valid: usize, problems: &[(usize, &str, &str)]) {
    let report = import_csv(text).unwrap();
    let found: Vec<(usize, &str, &str)> = report
        .problems
        .iter()
        .map(|problem| {
            (
                problem.row,
                problem.column.as_str(),
                problem.message_zh.as_str(),
            )
        })
        .collect();
    assert_eq!(found.len(), problems.len(), "{found:#?}");
    for ((row, column, part), problem) in problems.iter().zip(&found) {
        assert_eq!((problem.0, problem.1), (*row, *column), "{problem:?}");
        assert!(problem.2.contains(part), "{problem:?} lacks {part:?}");
    }
    assert_eq!(report.valid.len(), n_valid, "{:#?}", report.problems);
}

const GOOD: &str = "91320102MA1MXXXX92";
const OTHER: &str = "91320115MA1N2G7L0E";

#[test]
fn csv_rows_are_checked_with_the_row_number_excel_shows() {
    let good = csv_line(GOOD, "玄武恒盛化工有限公司", "320102", "国控", "是");
    let other = csv_line(OTHER, "江宁宏达热电有限公司", "320115", "国控、市控", "否");
    check_csv(&format!("{HEADER_ZH}\n{good}\n{other}\n"), 2, &[]);
    check_csv(
        &format!(
            "{HEADER_ZH}\n{good}\n{}\n",
            csv_line("91320115MA1N2G7L00", "乙", "320115", "国控", "")
        ),
        1,
        &[(3, "统一社会信用代码", "校验位错误，应为 E")],
    );
    check_csv(
        &format!(
            "{HEADER_ZH}\n{good}\n{}\n",
            csv_line(OTHER, "乙", "320582", "市控", "")
        ),
        1,
        &[(3, "行政区划代码", "不在本节点辖区")],
    );
    check_csv(
        &format!(
            "{HEADER_ZH}\n{good}\n{}\n",
            csv_line(OTHER, "乙", "320115", "国控,省控,市控", "")
        ),
        2,
        &[],
    );
    check_csv(
        &format!(
            "{HEADER_ZH}\n{good}\n{}\n",
            csv_line(OTHER, "乙", "320115", "区控", "")
        ),
        1,
        &[(3, "控制类别", "控制类别“区控”无效")],
    );
    check_csv(
        &format!(
            "{HEADER_ZH}\n{good}\n{}\n",
            csv_line(OTHER, "乙", "320115", "国控", "也许")
        ),
        1,
        &[(3, "重点行业", "应填“是”或“否”")],
    );
    // Blank lines are skipped but still count as rows.
    check_csv(
        &format!(
            "{HEADER_ZH}\n{good}\n\n{}\n",
            csv_line(OTHER, "", "320115", "国控", "")
        ),
        1,
        &[(4, "单位名称", "不能为空")],
    );
    // A line break inside a quoted cell is one Excel row.
    check_csv(
        &format!(
            "{HEADER_ZH}\n{}\n{}\n",
            csv_line(GOOD, "\"玄武恒盛\n化工有限公司\"", "320102", "国控", ""),
            csv_line(OTHER, "乙", "320115", "国控", "也许")
        ),
        1,
        &[(3, "重点行业", "应填“是”或“否”")],
    );
    // Two problems in one row, reported in column order.
    check_csv(
        &format!(
            "{HEADER_ZH}\n{}\n",
            csv_line("91320102MA1MXXXX93", "甲", "999999", "国控", "")
        ),
        0,
        &[
            (2, "统一社会信用代码", "校验位错误，应为 2"),
            (2, "行政区划代码", "不存在"),
        ],
    );
}

#[test]
fn codes_repeated_within_the_file_are_problems() {
    let good = csv_line(GOOD, "玄武恒盛化工有限公司", "320102", "国控", "");
    let same_code = csv_line(GOOD, "玄武恒盛化工股份有限公司", "320102", "国控", "");
    check_csv(
        &format!("{HEADER_ZH}\n{good}\n{same_code}\n"),
        1,
        &[(3, "统一社会信用代码", "代码与第 2 行重复")],
    );
    // The organisation code of a unit next to its credit code: the same unit twice.
    let org_code = csv_line("MA1MXXXX9", "玄武恒盛化工", "320102", "国控", "");
    check_csv(
        &format!("{HEADER_ZH}\n{good}\n{org_code}\n"),
        1,
        &[(3, "统一社会信用代码", "与第 2 行的 91320102MA1MXXXX92 相同")],
    );
}

#[test]
fn english_headers_a_bom_and_extra_columns_are_accepted() {
    let text = format!(
        "\u{feff}Credit code,Name,Address,Division code,Industry code,Classes,Key industry,Contact person,Contact phone,Contact email,Remarks\n\
         {GOOD},甲化工有限公司,南京市玄武区工业路1号,320102,6,national;city,yes,王伟,025-84681234,wang@example.cn,备注\n"
    );
    let report = import_csv(&text).unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
    let unit = &report.valid[0];
    assert_eq!(
        unit.industry.as_str(),
        "06",
        "Excel's lost leading zero is restored"
    );
    assert_eq!(unit.classes.labels_zh(), "国控、市控");
    assert!(unit.key_industry);
    assert_eq!(unit.contact.email.as_deref(), Some("wang@example.cn"));
}

#[test]
fn the_bilingual_headers_of_a_registry_export_are_read_by_their_chinese_half() {
    let text = format!(
        "\u{feff}统一社会信用代码 / Credit code,单位名称 / Name,详细地址 / Address,行政区划代码 / Division code,区县 / County,\
         行业代码 / Industry code,行业 / Industry,控制类别 / Control classes,重点行业 / Key industry,状态 / Status,\
         停报原因 / Suspension reason,联系人 / Contact person,联系电话 / Contact phone,电子邮箱 / Email,联络员 / Liaison\n\
         {GOOD},甲化工有限公司,南京市玄武区工业路1号,320102,玄武区,26,化学原料和化学制品制造业,国控、市控,是,active,,王伟,025-84681234,,李明\n"
    );
    let report = import_csv(&text).unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
    let unit = &report.valid[0];
    assert_eq!(unit.classes.labels_zh(), "国控、市控");
    assert!(unit.key_industry);
    assert_eq!(unit.liaison.as_deref(), Some("李明"));
}

/// Checks that a file is refused as a whole, with part of the Chinese message.
fn check_refused(bytes: &[u8], limits: ImportLimits, part: &str) {
    let error = read_units(bytes, division("320100"), limits).unwrap_err();
    assert!(error.to_string().contains(part), "{error} lacks {part:?}");
}

#[test]
fn unusable_files_are_refused_before_any_row_is_checked() {
    let limits = ImportLimits::default();
    let good = csv_line(GOOD, "甲", "320102", "国控", "");
    check_refused(b"", limits, "文件为空");
    check_refused(
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        limits,
        "不是 Excel 工作簿",
    );
    check_refused(
        &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0],
        limits,
        "另存为 .xlsx",
    );
    // 统一社会信用代码 in GBK, as Excel in China saves "CSV".
    check_refused(
        &[0xCD, 0xB3, 0xD2, 0xBB, 0xC9, 0xE7, 0xBB, 0xE1],
        limits,
        "CSV UTF-8",
    );
    check_refused(b"PK\x03\x04 not really a zip", limits, "文件无法读取");
    let text = format!("{HEADER_ZH}\n{good}\n");
    check_refused(
        text.as_bytes(),
        ImportLimits {
            max_bytes: 100,
            ..limits
        },
        "文件过大",
    );
    let many = format!("{HEADER_ZH}\n{good}\n{good}\n{good}\n{good}\n");
    check_refused(
        many.as_bytes(),
        ImportLimits {
            max_rows: 3,
            ..limits
        },
        "行数超过上限 3",
    );
    check_refused(
        "单位名称,详细地址\n甲,乙\n".as_bytes(),
        limits,
        "表头缺少必填列：统一社会信用代码、行政区划代码、行业代码、控制类别、联系人、联系电话",
    );
    check_refused(
        format!("{HEADER_ZH},企业名称\n").as_bytes(),
        limits,
        "“单位名称”和“企业名称”是同一列",
    );
}

/// Writes a workbook: a header row, then the given rows of text cells.
fn workbook_bytes(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, text) in header.iter().enumerate() {
        sheet.write_string(0, column as u16, *text).unwrap();
    }
    for (index, row) in rows.iter().enumerate() {
        for (column, text) in row.iter().enumerate() {
            if !text.is_empty() {
                sheet
                    .write_string(index as u32 + 1, column as u16, text)
                    .unwrap();
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

const HEADER_FULL: [&str; 12] = [
    "统一社会信用代码",
    "单位名称",
    "详细地址",
    "行政区划代码",
    "行业代码",
    "控制类别",
    "重点行业",
    "联系人",
    "联系电话",
    "电子邮箱",
    "联络员",
    "集团公司",
];

fn unit_row(unit: &SurveyUnit) -> Vec<String> {
    let input = UnitInput::from(unit);
    vec![
        input.code,
        input.name,
        input.address,
        input.county,
        input.industry,
        unit.classes.labels_zh(),
        if unit.key_industry { "是" } else { "否" }.to_string(),
        input.contact_person,
        input.contact_phone,
        input.contact_email,
        input.liaison,
        input.group_company,
    ]
}

#[test]
fn a_workbook_of_two_thousand_units_with_a_few_bad_rows() {
    let nanjing = division("320100");
    let units = sample_units(nanjing, 2000, 5);
    let mut rows: Vec<Vec<String>> = units.iter().map(unit_row).collect();
    // Excel row 2002: a wrong check character.
    let mut wrong_check = unit_row(&sample_units(nanjing, 2001, 5)[2000]);
    let code = wrong_check[0].clone();
    let (body, check) = code.split_at(17);
    let wrong = CREDIT_CODE_CHARACTERS
        .chars()
        .find(|candidate| candidate.to_string() != check)
        .unwrap();
    wrong_check[0] = format!("{body}{wrong}");
    rows.push(wrong_check);
    // Row 2003: the code of row 2 again.
    let mut duplicate = rows[0].clone();
    duplicate[1] = "另一家化工有限公司".into();
    rows.push(duplicate);
    // Row 2004 blank; row 2005: a county in Suzhou and no contact.
    rows.push(vec![]);
    let mut outside = unit_row(&units[5]);
    outside[0] = credit_code_for("320582", "MA1Q3R5T1");
    outside[3] = "320582".into();
    outside[7] = String::new();
    rows.push(outside);

    let bytes = workbook_bytes(&HEADER_FULL, &rows);
    let report = read_units(&bytes, nanjing, ImportLimits::default()).unwrap();
    assert_eq!(report.rows_read, 2003);
    assert_eq!(report.valid.len(), 2000);
    assert_eq!(report.valid[17].code, units[17].code);
    assert_eq!(report.valid[17].classes, units[17].classes);
    let problems: Vec<(usize, &str)> = report
        .problems
        .iter()
        .map(|problem| (problem.row, problem.column.as_str()))
        .collect();
    assert_eq!(
        problems,
        [
            (2002, "统一社会信用代码"),
            (2003, "统一社会信用代码"),
            (2005, "行政区划代码"),
            (2005, "联系人"),
        ]
    );
    assert!(
        report.problems[0]
            .message_zh
            .contains(&format!("校验位错误，应为 {check}")),
        "{:?}",
        report.problems[0]
    );
    assert!(
        report.problems[0]
            .message_en
            .contains("check character wrong")
    );
    assert_eq!(report.rows_with_problems(), 3);
}

#[test]
fn numbers_typed_into_cells_are_read_as_the_user_sees_them() {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, text) in HEADER_FULL.iter().enumerate() {
        sheet.write_string(0, column as u16, *text).unwrap();
    }
    let row = unit_row(&validate_new_unit(&good_input(), division("320100")).unwrap());
    for (column, text) in row.iter().enumerate() {
        sheet.write_string(1, column as u16, text).unwrap();
    }
    sheet.write_number(1, 3, 320102.0).unwrap();
    sheet.write_number(1, 4, 6.0).unwrap();
    sheet.write_number(1, 8, 13912345678.0).unwrap();
    sheet.write_boolean(1, 6, true).unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    let report = read_units(&bytes, division("320100"), ImportLimits::default()).unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
    let unit = &report.valid[0];
    assert_eq!(unit.county, division("320102"));
    assert_eq!(unit.industry.as_str(), "06");
    assert_eq!(unit.contact.phone, "13912345678");
    assert!(unit.key_industry);
}

#[test]
fn a_workbook_with_a_formula_is_refused_naming_the_cell() {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, text) in HEADER_FULL.iter().enumerate() {
        sheet.write_string(0, column as u16, *text).unwrap();
    }
    let row = unit_row(&validate_new_unit(&good_input(), division("320100")).unwrap());
    for (column, text) in row.iter().enumerate() {
        sheet.write_string(1, column as u16, text).unwrap();
        sheet.write_string(2, column as u16, text).unwrap();
    }
    sheet.write_formula(2, 3, "=D2").unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    let error = read_units(&bytes, division("320100"), ImportLimits::default()).unwrap_err();
    assert_eq!(
        error,
        ImportError::Formula {
            cell: "D3".into(),
            formula: "D2".into()
        }
    );
    assert!(error.to_string().contains("单元格 D3 含有公式"), "{error}");
}

#[test]
fn a_workbook_with_too_many_rows_is_refused() {
    let units = sample_units(division("320100"), 30, 9);
    let rows: Vec<Vec<String>> = units.iter().map(unit_row).collect();
    let bytes = workbook_bytes(&HEADER_FULL, &rows);
    let limits = ImportLimits {
        max_rows: 20,
        ..ImportLimits::default()
    };
    let error = read_units(&bytes, division("320100"), limits).unwrap_err();
    assert_eq!(error, ImportError::TooManyRows { limit: 20 });
    let exactly = ImportLimits {
        max_rows: 30,
        ..ImportLimits::default()
    };
    assert_eq!(
        read_units(&bytes, division("320100"), exactly)
            .unwrap()
            .valid
            .len(),
        30
    );
}

#[test]
fn a_workbook_that_inflates_beyond_the_limit_is_refused() {
    let units = sample_units(division("320100"), 200, 9);
    let rows: Vec<Vec<String>> = units.iter().map(unit_row).collect();
    let bytes = workbook_bytes(&HEADER_FULL, &rows);
    let limits = ImportLimits {
        max_inflated_bytes: 10_000,
        ..ImportLimits::default()
    };
    let error = read_units(&bytes, division("320100"), limits).unwrap_err();
    assert!(
        matches!(error, ImportError::TooLargeInflated { limit: 10_000, bytes } if bytes > 10_000),
        "{error}"
    );
    assert!(error.to_string().contains("工作簿解压后过大"), "{error}");
}
