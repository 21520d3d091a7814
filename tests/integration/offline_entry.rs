//! Offline entry (R37) and the copy of record (R40) over real HTTPS: a unit
//! downloads its G101 template, fills it "in Excel" (the test writes the
//! workbook back as Excel would, with typed numbers as numbers), uploads it,
//! gets a per-cell report for wrong cells with nothing stored, submits, and
//! downloads the version it submitted as a read-only workbook.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde_json::{Value, json};
use testkit::Federation;

use crate::reporting::{Unit, clean_values, units_with_logins};

const CITY: &str = "city-320100";

struct Sheet {
    name: String,
    cells: Vec<Vec<String>>,
}

async fn download(federation: &Federation, path: &str, token: &str) -> (u16, String, Vec<u8>) {
    let response = federation
        .web_client()
        .get(format!("{}{path}", federation.node(CITY).web_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

async fn upload(
    federation: &Federation,
    as_unit: &Unit,
    report_of: &str,
    period: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let response = federation
        .web_client()
        .put(format!(
            "{}/api/v1/reports/{}/G101/{period}/draft.xlsx",
            federation.node(CITY).web_url(),
            report_of
        ))
        .bearer_auth(&as_unit.token)
        .header(
            "content-type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(text) => text.clone(),
        Data::Float(number) => number.to_string(),
        Data::Int(number) => number.to_string(),
        other => other.to_string(),
    }
}

/// Every sheet of a workbook (hidden ones too), as text.
fn read_sheets(bytes: &[u8]) -> Vec<Sheet> {
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let names = workbook.sheet_names().to_vec();
    names
        .into_iter()
        .map(|name| {
            let range = workbook.worksheet_range(&name).unwrap();
            let (start_row, start_column) = range.start().unwrap_or((0, 0));
            let mut cells = vec![Vec::new(); start_row as usize];
            for row in range.rows() {
                let mut texts = vec![String::new(); start_column as usize];
                texts.extend(row.iter().map(cell_text));
                cells.push(texts);
            }
            Sheet { name, cells }
        })
        .collect()
}

/// The template as a user's Excel would save it after typing `values` into
/// column E of the rows with those codes and `rows` into the facility sheet.
/// Numbers are typed as numbers; `formula` puts a formula in one value cell.
fn fill_in(
    template: &[Sheet],
    values: &[(&str, &str)],
    rows: &[&[&str]],
    formula: Option<&str>,
) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    for sheet in template {
        let worksheet = workbook.add_worksheet();
        worksheet.set_name(&sheet.name).unwrap();
        for (row_index, row) in sheet.cells.iter().enumerate() {
            for (column_index, text) in row.iter().enumerate() {
                if !text.is_empty() {
                    worksheet
                        .write_string(row_index as u32, column_index as u16, text)
                        .unwrap();
                }
            }
            let code = row.first().map(String::as_str).unwrap_or("");
            if sheet.name == "填报" {
                if let Some((_, value)) = values.iter().find(|(wanted, _)| *wanted == code) {
                    match value.parse::<f64>() {
                        Ok(number) => worksheet.write_number(row_index as u32, 4, number),
                        Err(_) => worksheet.write_string(row_index as u32, 4, *value),
                    }
                    .unwrap();
                }
                if formula.is_some_and(|wanted| wanted == code) {
                    worksheet
                        .write_formula(row_index as u32, 4, "=1+1")
                        .unwrap();
                }
            }
        }
        if sheet.name == "明细行" {
            for (offset, row) in rows.iter().enumerate() {
                for (column, value) in row.iter().enumerate() {
                    let excel_row = 4 + offset as u32;
                    match value.parse::<f64>() {
                        Ok(number) => worksheet.write_number(excel_row, column as u16, number),
                        Err(_) => worksheet.write_string(excel_row, column as u16, *value),
                    }
                    .unwrap();
                }
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

/// Codes of the G101 indicators with the clean values of the reporting test.
fn clean_values_by_code() -> Vec<(String, String)> {
    let standard = zhibao_node::metadata::NationalStandard::default_standard().unwrap();
    let form = standard
        .release
        .forms
        .iter()
        .find(|form| form.code.as_str() == "G101")
        .unwrap()
        .clone();
    let values = clean_values("2.345");
    values
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, value)| {
            let code = form.indicator(key).unwrap().code.as_str().to_string();
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (code, text)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_fills_its_form_offline_and_keeps_a_copy_of_record() {
    let federation = Federation::start(&[CITY]).await;
    let units = units_with_logins(&federation, CITY, 2).await;
    let (unit, other_unit) = (&units[0], &units[1]);
    let base = format!("/api/v1/reports/{}/G101/2025", unit.code);

    // The template: a real workbook with the form's rows and the report it is for.
    let (status, content_type, template_bytes) =
        download(&federation, &format!("{base}/template.xlsx"), &unit.token).await;
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let template = read_sheets(&template_bytes);
    let names: Vec<&str> = template.iter().map(|sheet| sheet.name.as_str()).collect();
    assert_eq!(names, ["填报", "明细行", "zhibao"]);
    let values_sheet = &template[0];
    let cod_row = values_sheet
        .cells
        .iter()
        .position(|row| row.first().is_some_and(|code| code == "G101-15"))
        .expect("a row for G101-15");
    assert!(values_sheet.cells[cod_row][1].contains("化学需氧量"));
    assert!(
        template[2]
            .cells
            .iter()
            .any(|row| row.get(1) == Some(&unit.code))
    );

    // Another unit's template is not this unit's business.
    let (status, _, _) = download(
        &federation,
        &format!("{base}/template.xlsx"),
        &other_unit.token,
    )
    .await;
    assert_eq!(status, 404);

    // Filled and uploaded: saved as the draft, rules run, exact decimals kept.
    let values = clean_values_by_code();
    let mut typed: Vec<(&str, &str)> = values
        .iter()
        .map(|(code, value)| (code.as_str(), value.as_str()))
        .collect();
    // One desulphurisation facility, listed on the facility sheet (rule N019 compares them).
    typed.push(("G101-32", "1"));
    let filled = fill_in(
        &template,
        &typed,
        &[&["1号脱硫塔", "desulf（脱硫）", "12.5", "8000"]],
        None,
    );
    let (status, answer) = upload(&federation, unit, &unit.code, "2025", filled).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["rows"], 1);
    assert!(answer["findings"].is_array());
    let (status, report) = federation
        .call(CITY, "GET", &base, &unit.token, testkit::Body::Empty)
        .await;
    assert_eq!(status, 200);
    assert_eq!(report["draft"]["content"]["values"]["cod_emit"], "2.345");
    assert_eq!(
        report["draft"]["content"]["values"]["production_status"],
        "normal"
    );
    assert_eq!(report["draft"]["content"]["rows"][0]["kind"], "desulf");
    let revision = report["draft"]["revision"].clone();

    // Wrong cells: a per-cell report, and nothing stored.
    let mut wrong = typed.clone();
    wrong.retain(|(code, _)| *code != "G101-02" && *code != "G101-15");
    wrong.push(("G101-02", "9000"));
    wrong.push(("G101-15", "很多"));
    let (status, answer) = upload(
        &federation,
        unit,
        &unit.code,
        "2025",
        fill_in(&template, &wrong, &[], None),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "RPT008");
    let problems = answer["error"]["details"]["problems"].as_array().unwrap();
    let cells: Vec<&str> = problems
        .iter()
        .map(|problem| problem["cell"].as_str().unwrap())
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        cells.iter().all(|cell| cell.starts_with("填报!E")),
        "{cells:?}"
    );
    assert!(
        problems
            .iter()
            .any(|problem| problem["indicator"] == "production_hours"
                && problem["message_zh"].as_str().unwrap().contains("8784"))
    );
    let (_, report) = federation
        .call(CITY, "GET", &base, &unit.token, testkit::Body::Empty)
        .await;
    assert_eq!(
        report["draft"]["revision"], revision,
        "nothing stored from a wrong file"
    );

    // Files that cannot be trusted are refused as a whole.
    let (status, answer) = upload(
        &federation,
        unit,
        &unit.code,
        "2025",
        vec![b'P'; 6 * 1024 * 1024],
    )
    .await;
    assert_eq!(
        status, 413,
        "an oversized upload is refused before it is read: {answer}"
    );
    assert_eq!(answer["error"]["code"], "GEN413", "{answer}");
    let (status, answer) = upload(
        &federation,
        unit,
        &unit.code,
        "2025",
        fill_in(&template, &typed, &[], Some("G101-16")),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("公式"),
        "{answer}"
    );
    let (status, answer) = upload(
        &federation,
        unit,
        &unit.code,
        "2025",
        b"name,value\ncod,1\n".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains(".xlsx"),
        "{answer}"
    );
    let mut not_ours = rust_xlsxwriter::Workbook::new();
    not_ours
        .add_worksheet()
        .write_string(0, 0, "G101-01")
        .unwrap();
    let (status, answer) = upload(
        &federation,
        unit,
        &unit.code,
        "2025",
        not_ours.save_to_buffer().unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("模板"),
        "{answer}"
    );
    // The template of 2025 uploaded to 2026 names both.
    let (status, answer) = upload(
        &federation,
        unit,
        &unit.code,
        "2026",
        fill_in(&template, &typed, &[], None),
    )
    .await;
    assert!(status == 400 || status == 409, "{status} {answer}");
    if status == 400 {
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("2025"),
            "{answer}"
        );
    }
    // Another unit uploading its own file of this unit names both; into this unit's report it cannot.
    let (status, answer) = upload(
        &federation,
        other_unit,
        &other_unit.code,
        "2025",
        fill_in(&template, &typed, &[], None),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&unit.code),
        "{answer}"
    );
    let (status, _) = upload(
        &federation,
        other_unit,
        &unit.code,
        "2025",
        fill_in(&template, &typed, &[], None),
    )
    .await;
    assert_eq!(status, 404);

    // Submitted, then the copy of record: read-only, with the content hash.
    let (status, submitted) = federation
        .call(
            CITY,
            "POST",
            &format!("{base}/submit"),
            &unit.token,
            testkit::Body::Json(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{submitted}");
    let hash = submitted["content_hash"].as_str().unwrap().to_string();
    let (status, _, record) = download(
        &federation,
        &format!("{base}/versions/1/record.xlsx"),
        &unit.token,
    )
    .await;
    assert_eq!(status, 200);
    let record = read_sheets(&record);
    let record_text: String = record[0]
        .cells
        .iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        record_text.contains(&hash),
        "the record names its content hash"
    );
    let cod_value = &record[0].cells[cod_row][4];
    assert_eq!(cod_value, "2.345");
    // Its bureau may read it too; another unit may not; an unknown version is 404.
    let reviewer = federation.token_of(CITY, "reviewer").await;
    let (status, _, _) = download(
        &federation,
        &format!("{base}/versions/1/record.xlsx"),
        &reviewer,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = download(
        &federation,
        &format!("{base}/versions/1/record.xlsx"),
        &other_unit.token,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = download(
        &federation,
        &format!("{base}/versions/7/record.xlsx"),
        &unit.token,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = download(
        &federation,
        &format!("{base}/versions/x/record.xlsx"),
        &unit.token,
    )
    .await;
    assert_eq!(status, 400);
    federation.shutdown().await;
}
