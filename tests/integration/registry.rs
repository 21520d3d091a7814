//! The registry as a city admin and an enterprise meet it: a real Excel
//! workbook of 2,000 units imported over HTTPS with a per-row report, logins
//! for every unit, an enterprise that must change its password and sees only
//! its own unit, and the city's registry counted at the province and nation.

use testkit::{DEADLINE, Federation, wait_until};
use zhibao_node::registry::SurveyUnit;

const THREE: [&str; 3] = ["national", "province-320000", "city-320100"];

const HEADER: [&str; 9] = [
    "统一社会信用代码",
    "单位名称",
    "详细地址",
    "行政区划代码",
    "行业代码",
    "控制类别",
    "重点行业",
    "联系人",
    "联系电话",
];

fn row_of(unit: &SurveyUnit) -> Vec<String> {
    vec![
        unit.code.as_str().to_string(),
        unit.name.clone(),
        unit.address.clone(),
        unit.county.to_string(),
        unit.industry.as_str().to_string(),
        unit.classes.labels_zh(),
        if unit.key_industry { "是" } else { "否" }.to_string(),
        unit.contact.person.clone(),
        unit.contact.phone.clone(),
    ]
}

fn workbook(rows: &[Vec<String>]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, text) in HEADER.iter().enumerate() {
        sheet.write_string(0, column as u16, *text).unwrap();
    }
    for (index, row) in rows.iter().enumerate() {
        for (column, text) in row.iter().enumerate() {
            sheet
                .write_string(index as u32 + 1, column as u16, text)
                .unwrap();
        }
    }
    workbook.save_to_buffer().unwrap()
}

async fn upload(
    federation: &Federation,
    token: &str,
    query: &str,
    body: Vec<u8>,
) -> serde_json::Value {
    let response = federation
        .web_client()
        .post(format!(
            "{}/api/v1/units/import?{query}",
            federation.node("city-320100").web_url()
        ))
        .bearer_auth(token)
        .header(
            "content-type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_imports_two_thousand_units_from_excel_and_the_levels_above_see_them() {
    let federation = Federation::start(&THREE).await;
    let admin = federation.token_of("city-320100", "admin").await;
    let units = zhibao_node::registry::sample::sample_units(
        zhibao_node::division::DivisionCode::parse("320100").unwrap(),
        2000,
        7,
    );
    let mut rows: Vec<Vec<String>> = units.iter().map(row_of).collect();
    // Row 17 of the sheet (data row 16): a wrong check character.
    let good_code = rows[15][0].clone();
    let mut bad_code = good_code.clone();
    let last = bad_code.pop().unwrap();
    bad_code.push(if last == 'A' { 'B' } else { 'A' });
    rows[15][0] = bad_code;

    // Checked, not written: the report names row 17 and the column.
    let report = upload(
        &federation,
        &admin,
        "period=2025&commit=true",
        workbook(&rows),
    )
    .await;
    assert_eq!(report["written"], false, "nothing is half-imported");
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["row"], 17);
    assert!(
        problems[0]["message_zh"]
            .as_str()
            .unwrap()
            .contains("校验位"),
        "{problems:?}"
    );

    // Corrected and written: 2,000 units, 2,000 logins.
    rows[15][0] = good_code;
    let report = upload(
        &federation,
        &admin,
        "period=2025&commit=true",
        workbook(&rows),
    )
    .await;
    assert_eq!(report["written"], true, "{report}");
    assert_eq!(report["added"], 2000);
    let logins = report["new_logins"].as_array().unwrap();
    assert_eq!(logins.len(), 2000);

    // An enterprise logs in, must change its password, then sees only its own unit.
    let login = &logins[0];
    let (username, password) = (
        login["username"].as_str().unwrap(),
        login["password"].as_str().unwrap(),
    );
    let (status, answer) = federation.log_in("city-320100", username, password).await;
    assert_eq!(
        (status, answer["must_change_password"].as_bool()),
        (200, Some(true))
    );
    assert_eq!(answer["role"], "enterprise");
    let token = answer["token"].as_str().unwrap();
    let city = federation.node("city-320100").web_url();
    let own = format!("{city}/api/v1/units/{}", login["unit"].as_str().unwrap());
    let blocked = federation
        .web_client()
        .get(&own)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), 403, "first the password change");
    let changed = federation
        .web_client()
        .post(format!("{city}/api/v1/session/password"))
        .bearer_auth(token)
        .json(&serde_json::json!({"old_password": password, "new_password": "Unit-Passw0rd-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_eq!(
        federation
            .web_client()
            .get(&own)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let someone_else = format!(
        "{city}/api/v1/units/{}",
        logins[1]["unit"].as_str().unwrap()
    );
    assert_eq!(
        federation
            .web_client()
            .get(&someone_else)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        federation
            .web_client()
            .get(format!("{city}/api/v1/units"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    // The province and the nation learn the population they expect reports from.
    for node in ["province-320000", "national"] {
        let token = federation.token_of(node, "reviewer").await;
        wait_until(
            &format!("{node} counts the city's units"),
            DEADLINE * 3,
            || async {
                let answer: serde_json::Value = federation
                    .web_client()
                    .get(format!(
                        "{}/api/v1/units?division=320100&period=2025",
                        federation.node(node).web_url()
                    ))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                answer["counts"]["total"] == 2000
            },
        )
        .await;
    }
    federation.shutdown().await;
}
