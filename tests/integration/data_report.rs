//! The data report of a period (issue 7) over real HTTPS on a small
//! federation: two units' 2025 reports are driven to acceptance, last
//! year's accepted totals are seeded at the city and the nation; then the
//! printable page at the city and at the nation shows the exact totals, the
//! previous period beside them and the change, the sentences and the
//! coverage, the workbook read back holds the same exact decimals, and an
//! enterprise user or a division outside the jurisdiction is refused.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde_json::json;
use testkit::{Body, Federation};
use zhibao_node::aggregate::{Contribution, count_accepted, dimensions};
use zhibao_node::clock::Timestamp;
use zhibao_node::node::NodeState;
use zhibao_node::registry::SurveyUnit;
use zhibao_node::report::ReportKey;
use zhibao_node::store::{StoreError, TxError};

use crate::totals::{
    CITY, NATION, PROVINCE, THREE, accept_everywhere, clean_values, get, page,
    wait_for_accepted_at_city,
};

/// Counts `unit`'s 2024 report (COD `cod`) in a node's totals, as if it had
/// been accepted last year (its windows are long closed, so it cannot be
/// driven through the API).
pub(crate) fn seed_2024(state: &NodeState, unit: &SurveyUnit, cod: &str) {
    let classes: Vec<String> = unit
        .classes
        .iter()
        .map(|class| class.code_word().to_string())
        .collect();
    let key = ReportKey {
        unit: unit.code.as_str().to_string(),
        form: "G101".to_string(),
        period: "2024".to_string(),
    };
    let contribution = Contribution {
        version: 1,
        dimensions: dimensions(&unit.county.to_string(), unit.industry.as_str(), &classes),
        values: [("cod_emit".to_string(), cod.to_string())].into(),
    };
    state
        .store
        .transaction(&state.aggregates.handles(), |tx| {
            count_accepted(tx, &state.aggregates, &key, contribution.clone())?;
            Ok::<(), TxError<StoreError>>(())
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_report_shows_exact_totals_and_the_change_on_last_year() {
    let federation = Federation::start(&THREE).await;
    let city = &federation.node(CITY).state;
    let units = zhibao_node::registry::sample::sample_units(city.config.division, 6, 5)
        .into_iter()
        .filter(|unit| matches!(unit.status, zhibao_node::registry::UnitStatus::Active))
        .take(3)
        .collect::<Vec<_>>();
    assert_eq!(units.len(), 3);
    let outcome = zhibao_node::registry::flow::import_units(
        city,
        zhibao_node::registry::PeriodId::parse("2025").unwrap(),
        units.clone(),
        "test",
        false,
        Timestamp::now_from_system_clock(),
    )
    .await
    .unwrap();
    let city_reviewer = federation.token_of(CITY, "reviewer").await;
    let province_reviewer = federation.token_of(PROVINCE, "reviewer").await;
    let nation_reviewer = federation.token_of(NATION, "reviewer").await;
    let mut enterprise = String::new();
    // Two units report 1.5 t and 0.125 t of COD and are accepted; the third never reports.
    for (login, cod) in outcome.new_logins.iter().zip(["1.5", "0.125", ""]) {
        let (status, answer) = federation
            .log_in(CITY, &login.username, &login.password)
            .await;
        assert_eq!(status, 200, "{answer}");
        let token = answer["token"].as_str().unwrap().to_string();
        if cod.is_empty() {
            enterprise = token;
            continue;
        }
        let report = format!("/api/v1/reports/{}/G101/2025", login.unit);
        for (method, path, body) in [
            ("PUT", "/draft", json!({"values": clean_values(cod)})),
            ("POST", "/submit", json!({})),
        ] {
            let (status, answer) = federation
                .call(
                    CITY,
                    method,
                    &format!("{report}{path}"),
                    &token,
                    Body::Json(body),
                )
                .await;
            assert_eq!(status, 200, "{answer}");
        }
        accept_everywhere(
            &federation,
            &login.unit,
            &[
                (CITY, &city_reviewer),
                (PROVINCE, &province_reviewer),
                (NATION, &nation_reviewer),
            ],
        )
        .await;
    }
    wait_for_accepted_at_city(&federation, &city_reviewer, 2).await;
    // Last year: 2 t and 0.5 t, so 2.5 t in all; this year 1.625 t is 35.0% less.
    let by_unit = |code: &str| {
        units
            .iter()
            .find(|unit| unit.code.as_str() == code)
            .unwrap()
    };
    for node in [CITY, NATION] {
        let state = &federation.node(node).state;
        seed_2024(state, by_unit(&outcome.new_logins[0].unit), "2");
        seed_2024(state, by_unit(&outcome.new_logins[1].unit), "0.5");
    }

    // The city's page.
    let (status, html) = page(
        &federation,
        CITY,
        "/data-report/G101/2025",
        Some(&city_reviewer),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("2025年 南京市 国控源直报 G101 数据报告"),
        "{html}"
    );
    let total_row = row_of(&html, "division-cod_emit-total");
    for expected in ["1.625", "2.5", "-0.875", "-35.0%"] {
        assert!(total_row.contains(expected), "{expected} in {total_row}");
    }
    assert!(
        html.contains("化学需氧量排放量 1.625 吨，较上期（2024）下降 35.0%（减少 0.875 吨）。"),
        "{html}"
    );
    assert!(html.contains("id=\"coverage-expected\">3<"), "{html}");
    assert!(html.contains("id=\"coverage-accepted\">2<"), "{html}");
    assert!(html.contains("id=\"coverage-counted\">2<"), "{html}");
    assert!(
        html.contains("id=\"chart-cod_emit\"") && html.contains("<svg"),
        "{html}"
    );
    let industry_total = row_of(&html, "industry-cod_emit-total");
    assert!(industry_total.contains("1.625"), "{industry_total}");
    let (_, css) = page(&federation, CITY, "/static/zhibao.css", None).await;
    assert!(
        css.contains(".data-report .report-section + .report-section { break-before: page; }"),
        "a page per section when printed"
    );
    let (_, html) = page(
        &federation,
        CITY,
        "/data-report/G101/2025?lang=en",
        Some(&city_reviewer),
    )
    .await;
    assert!(
        html.contains(
            "COD discharged: 1.625 t, down 35.0% on the previous period (2024), 0.875 t less."
        ),
        "{html}"
    );
    let (_, html) = page(
        &federation,
        CITY,
        "/totals?form=G101&period=2025",
        Some(&city_reviewer),
    )
    .await;
    assert!(
        html.contains("href=\"/data-report/G101/2025\""),
        "linked from the totals page: {html}"
    );

    // The nation's page: the province's row and the nation's total.
    let (status, html) = page(
        &federation,
        NATION,
        "/data-report/G101/2025",
        Some(&nation_reviewer),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("2025年 全国 国控源直报 G101 数据报告"),
        "{html}"
    );
    let province_row = row_of(&html, "division-cod_emit-320000");
    for expected in ["江苏省", "1.625", "2.5", "-0.875", "-35.0%"] {
        assert!(
            province_row.contains(expected),
            "{expected} in {province_row}"
        );
    }
    // Down to the city from the nation: industries from the cross totals.
    let (status, html) = page(
        &federation,
        NATION,
        "/data-report/G101/2025?division=320100",
        Some(&nation_reviewer),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("南京市"), "{html}");
    assert!(html.contains("id=\"industry-cod_emit-"), "{html}");

    // The workbook: one sheet per table, the same exact decimals.
    let (status, content_type, disposition, body) = get(
        &federation,
        CITY,
        "/api/v1/data-report?form=G101&period=2025",
        Some(&city_reviewer),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(
        disposition,
        "attachment; filename=\"data-report-G101-2025-320100.xlsx\""
    );
    let mut workbook = Xlsx::new(Cursor::new(body)).unwrap();
    assert_eq!(
        workbook.sheet_names(),
        ["概况 Summary", "按区划 By division", "按行业 By industry"]
    );
    let summary = workbook.worksheet_range("概况 Summary").unwrap();
    let accepted = summary
        .rows()
        .find(|row| row[0].to_string().starts_with("已验收"))
        .unwrap();
    assert_eq!(accepted[1], Data::Float(2.0));
    for sheet in ["按区划 By division", "按行业 By industry"] {
        let range = workbook.worksheet_range(sheet).unwrap();
        let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
        let column = |suffix: &str| {
            rows[0]
                .iter()
                .position(|cell| {
                    let header = cell.to_string();
                    header.starts_with("化学需氧量排放量（吨）") && header.ends_with(suffix)
                })
                .unwrap_or_else(|| panic!("{suffix} in {:?}", rows[0]))
        };
        let total = rows.last().unwrap();
        assert_eq!(total[2].to_string(), "Total", "{sheet}");
        assert_eq!(total[column("2025")], Data::Float(1.625), "{sheet}");
        assert_eq!(total[column("2024")], Data::Float(2.5), "{sheet}");
        let change = column("2024") + 1;
        assert_eq!(total[change], Data::Float(-0.875), "{sheet}");
        assert_eq!(total[change + 1], Data::Float(-35.0), "{sheet}");
    }

    // Refusals: an enterprise user; a division outside the jurisdiction.
    let (status, _) = page(
        &federation,
        CITY,
        "/data-report/G101/2025",
        Some(&enterprise),
    )
    .await;
    assert_eq!(status, 403);
    let (status, answer) = federation
        .call(
            CITY,
            "GET",
            "/api/v1/data-report?form=G101&period=2025",
            &enterprise,
            Body::Empty,
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("ACC005"))
    );
    let (status, _) = page(
        &federation,
        CITY,
        "/data-report/G101/2025?division=320500",
        Some(&city_reviewer),
    )
    .await;
    assert_eq!(status, 403, "another city");
    let (status, answer) = federation
        .call(
            CITY,
            "GET",
            "/api/v1/data-report?division=320500",
            &city_reviewer,
            Body::Empty,
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("ACC009"))
    );
    federation.shutdown().await;
}

/// The `<tr>` with `id` in a page.
fn row_of(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no row {id} in {html}"));
    let end = html[start..].find("</tr>").unwrap_or(html.len() - start);
    html[start..start + end].to_string()
}
