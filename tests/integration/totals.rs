//! Dashboards, exports and publication (issues 7 and 8) over real HTTPS on a
//! small federation: two units' reports are driven to acceptance; then the
//! progress and totals pages show the numbers, the CSV and Excel downloads
//! hold the exact decimal totals, a publication makes the public page show
//! them with no login (an unpublished period is 404), and an enterprise user
//! is refused the dashboards and the downloads.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde_json::{Value, json};
use testkit::{Body, DEADLINE, Federation, wait_until};
use zhibao_node::clock::Timestamp;

pub(crate) const THREE: [&str; 3] = ["national", "province-320000", "city-320100"];
pub(crate) const CITY: &str = "city-320100";
pub(crate) const PROVINCE: &str = "province-320000";
pub(crate) const NATION: &str = "national";

/// A clean G101 (no rule fires) with COD emissions `cod`.
pub(crate) fn clean_values(cod: &str) -> Value {
    json!({
        "output_value": "1200.5", "production_hours": 8000, "production_status": "normal",
        "water_total": "1000", "water_fresh": "600", "water_reused": "400",
        "ww_discharged": "500", "ww_direct": "200", "ww_to_plant": "300",
        "cod_gen": "2.5", "cod_emit": cod, "nh3n_gen": "0.2", "nh3n_emit": "0.05"
    })
}

/// A GET with a bearer token (or none): status, content type, disposition, body.
pub(crate) async fn get(
    federation: &Federation,
    node: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, String, String, Vec<u8>) {
    let mut request = federation
        .web_client()
        .get(format!("{}{path}", federation.node(node).web_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let status = response.status().as_u16();
    (
        status,
        content_type,
        disposition,
        response.bytes().await.unwrap().to_vec(),
    )
}

pub(crate) async fn page(
    federation: &Federation,
    node: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, String) {
    let (status, _, _, body) = get(federation, node, path, token).await;
    (status, String::from_utf8(body).unwrap())
}

/// Drives one report from the unit to the nation's acceptance.
/// Waits until the city's progress counts `count` accepted reports of 2025 G101
/// (the acceptance receipts have come down).
pub(crate) async fn wait_for_accepted_at_city(
    federation: &Federation,
    city_reviewer: &str,
    count: u64,
) {
    wait_until("the city hears of the acceptances", DEADLINE, || async {
        let (_, progress) = federation
            .call(
                CITY,
                "GET",
                "/api/v1/progress?form=G101&period=2025",
                city_reviewer,
                Body::Empty,
            )
            .await;
        progress["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["counts"]["accepted"].as_u64().unwrap())
            .sum::<u64>()
            == count
    })
    .await;
}

pub(crate) async fn accept_everywhere(
    federation: &Federation,
    unit: &str,
    tokens: &[(&str, &str); 3],
) {
    let report = format!("/api/v1/reports/{unit}/G101/2025");
    let review = format!("/api/v1/review/{unit}/G101/2025");
    for (node, token) in tokens {
        wait_until(&format!("{unit} waits at {node}"), DEADLINE, || async {
            federation
                .call(node, "GET", &report, token, Body::Empty)
                .await
                .1["state"]
                == "submitted"
        })
        .await;
        let (status, answer) = federation
            .call(node, "POST", &format!("{report}/check"), token, Body::Empty)
            .await;
        assert_eq!(status, 200, "{answer}");
        let (status, answer) = federation
            .call(
                node,
                "POST",
                &format!("{review}/approve"),
                token,
                Body::Json(json!({})),
            )
            .await;
        assert_eq!(status, 200, "{node}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_exports_and_publication_show_the_accepted_totals() {
    let federation = Federation::start(&THREE).await;
    let city = &federation.node(CITY).state;
    let units = zhibao_node::registry::sample::sample_units(city.config.division, 6, 5)
        .into_iter()
        .filter(|unit| matches!(unit.status, zhibao_node::registry::UnitStatus::Active))
        .take(3)
        .collect::<Vec<_>>();
    assert_eq!(units.len(), 3);
    let counties: Vec<String> = units.iter().map(|unit| unit.county.to_string()).collect();
    let outcome = zhibao_node::registry::flow::import_units(
        city,
        zhibao_node::registry::PeriodId::parse("2025").unwrap(),
        units,
        "test",
        false,
        Timestamp::now_from_system_clock(),
    )
    .await
    .unwrap();
    let mut logins = Vec::new();
    for login in &outcome.new_logins {
        let (status, answer) = federation
            .log_in(CITY, &login.username, &login.password)
            .await;
        assert_eq!(status, 200, "{answer}");
        logins.push((
            login.unit.clone(),
            answer["token"].as_str().unwrap().to_string(),
        ));
    }
    let city_reviewer = federation.token_of(CITY, "reviewer").await;
    let city_admin = federation.token_of(CITY, "admin").await;
    let province_reviewer = federation.token_of(PROVINCE, "reviewer").await;
    let nation_reviewer = federation.token_of(NATION, "reviewer").await;
    let nation_admin = federation.token_of(NATION, "admin").await;

    // Two units report and are accepted; the third never submits (it is late).
    for ((unit, token), cod) in logins.iter().zip(["1.5", "0.125"]) {
        let report = format!("/api/v1/reports/{unit}/G101/2025");
        let (status, answer) = federation
            .call(
                CITY,
                "PUT",
                &format!("{report}/draft"),
                token,
                Body::Json(json!({"values": clean_values(cod)})),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        let (status, answer) = federation
            .call(
                CITY,
                "POST",
                &format!("{report}/submit"),
                token,
                Body::Json(json!({})),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        accept_everywhere(
            &federation,
            unit,
            &[
                (CITY, &city_reviewer),
                (PROVINCE, &province_reviewer),
                (NATION, &nation_reviewer),
            ],
        )
        .await;
    }
    let (late_unit, enterprise) = logins[2].clone();
    wait_for_accepted_at_city(&federation, &city_reviewer, 2).await;

    // The progress page: counts per county, the completion and the late unit.
    let (status, html) = page(
        &federation,
        CITY,
        "/progress?form=G101&period=2025",
        Some(&city_reviewer),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("id=\"progress-total\""), "{html}");
    assert!(html.contains("value=\"66\""), "2 of 3 accepted: {html}");
    assert!(
        html.contains(&late_unit),
        "the unit that never submitted is listed: {html}"
    );
    assert!(
        html.contains(&format!("id=\"progress-{}\"", counties[0])),
        "{html}"
    );

    // The totals page at the city, the nation, and down to a county's units.
    let (status, html) = page(
        &federation,
        CITY,
        "/totals?form=G101&period=2025",
        Some(&city_reviewer),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("1.625"), "the COD total: {html}");
    assert!(html.contains("<svg"), "the chart: {html}");
    assert!(html.contains("id=\"chart-cod_emit\""), "{html}");
    let (_, html) = page(
        &federation,
        CITY,
        "/totals?form=G101&period=2025&indicator=output_value",
        Some(&city_reviewer),
    )
    .await;
    assert!(html.contains("2,401"), "thousands separators: {html}");
    let (status, html) = page(
        &federation,
        NATION,
        "/totals?form=G101&period=2025",
        Some(&nation_reviewer),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("1.625") && html.contains("division=320000"),
        "{html}"
    );
    let (status, html) = page(
        &federation,
        CITY,
        &format!("/totals?form=G101&period=2025&division={}", counties[0]),
        Some(&city_reviewer),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(&format!("/review/{}/G101/2025", logins[0].0)),
        "a county's units link to their report: {html}"
    );
    let (status, _) = page(
        &federation,
        CITY,
        "/totals?division=320500",
        Some(&city_reviewer),
    )
    .await;
    assert_eq!(status, 403, "another city is outside the jurisdiction");
    let (_, html) = page(&federation, CITY, "/totals?lang=en", Some(&city_reviewer)).await;
    assert!(
        html.contains("Main pollutants") && html.contains("(t)"),
        "{html}"
    );

    // CSV: BOM, bilingual headers, exact totals, a file name.
    let (status, content_type, disposition, body) = get(
        &federation,
        CITY,
        "/api/v1/aggregates/export?format=csv&form=G101&period=2025",
        Some(&city_reviewer),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert_eq!(
        disposition,
        "attachment; filename=\"totals-G101-2025-320100-division.csv\""
    );
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM for Excel");
    let text = String::from_utf8(body[3..].to_vec()).unwrap();
    assert!(text.contains("化学需氧量排放量（吨） / "), "{text}");
    let total_line = text.lines().last().unwrap();
    assert!(
        total_line.contains("Total") && total_line.contains(",1.625,2"),
        "{text}"
    );

    // Excel: read back, the same exact totals.
    let (status, content_type, disposition, body) = get(
        &federation,
        CITY,
        "/api/v1/aggregates/export?format=xlsx&form=G101&period=2025",
        Some(&city_reviewer),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(disposition.ends_with(".xlsx\""), "{disposition}");
    let mut workbook = Xlsx::new(Cursor::new(body)).unwrap();
    let sheet = workbook.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<Data>> = sheet.rows().map(<[Data]>::to_vec).collect();
    let cod_column = rows[0]
        .iter()
        .position(|cell| cell.to_string().starts_with("化学需氧量排放量（吨）"))
        .unwrap();
    let output_column = rows[0]
        .iter()
        .position(|cell| cell.to_string().starts_with("工业总产值"))
        .unwrap();
    let last = rows.last().unwrap();
    assert_eq!(last[2].to_string(), "Total");
    assert_eq!(last[cod_column].to_string(), "1.625");
    assert_eq!(last[output_column].to_string(), "2401");
    assert!(matches!(last[cod_column], Data::Float(_)), "a number cell");

    // An unknown format names the field.
    let (status, answer) = federation
        .call(
            CITY,
            "GET",
            "/api/v1/aggregates/export?format=pdf",
            &city_reviewer,
            Body::Empty,
        )
        .await;
    assert_eq!(
        (status, answer["error"]["details"]["field"].as_str()),
        (400, Some("format")),
        "{answer}"
    );

    // The registry download: bilingual headers, every unit of the city.
    let (status, _, disposition, body) = get(
        &federation,
        CITY,
        "/api/v1/units/export?format=csv&period=2025",
        Some(&city_admin),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        disposition,
        "attachment; filename=\"units-320100-2025.csv\""
    );
    let text = String::from_utf8(body[3..].to_vec()).unwrap();
    assert!(
        text.starts_with("统一社会信用代码 / Credit code,"),
        "{text}"
    );
    for (unit, _) in &logins {
        assert!(text.contains(unit.as_str()), "{unit} in {text}");
    }
    let (status, _, _, body) = get(
        &federation,
        CITY,
        "/api/v1/units/export?format=xlsx&status=active",
        Some(&city_reviewer),
    )
    .await;
    assert_eq!(status, 200);
    let mut workbook = Xlsx::new(Cursor::new(body)).unwrap();
    let sheet = workbook.worksheet_range_at(0).unwrap().unwrap();
    assert!(sheet.height() >= 2, "header and units");
    let (status, answer) = federation
        .call(
            CITY,
            "GET",
            "/api/v1/units/export?format=doc",
            &city_admin,
            Body::Empty,
        )
        .await;
    assert_eq!(
        (status, answer["error"]["details"]["field"].as_str()),
        (400, Some("format"))
    );

    // An enterprise user: no dashboards, no downloads.
    for path in ["/progress", "/totals"] {
        let (status, _) = page(&federation, CITY, path, Some(&enterprise)).await;
        assert_eq!(status, 403, "{path}");
    }
    for path in [
        "/api/v1/aggregates/export?format=csv",
        "/api/v1/units/export?format=xlsx",
    ] {
        let (status, answer) = federation
            .call(CITY, "GET", path, &enterprise, Body::Empty)
            .await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (403, Some("ACC005")),
            "{path}"
        );
    }

    // Publication: nothing public before; admins only; then visible with no login.
    let (status, _) = page(&federation, CITY, "/public/G101/2025", None).await;
    assert_eq!(status, 404, "unpublished");
    let (status, answer) = federation
        .call(
            CITY,
            "POST",
            "/api/v1/publications",
            &city_reviewer,
            Body::Json(json!({"form": "G101", "period": "2025"})),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("ACC005"))
    );
    let (status, answer) = federation
        .call(
            CITY,
            "POST",
            "/api/v1/publications",
            &city_admin,
            Body::Json(json!({"form": "G101", "period": "2024"})),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("PUB001")),
        "nothing accepted in 2024"
    );
    let (status, answer) = federation
        .call(
            CITY,
            "POST",
            "/api/v1/publications",
            &city_admin,
            Body::Json(json!({"form": "G101", "period": "2025"})),
        )
        .await;
    assert_eq!(
        (status, answer["version"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );
    let (status, html) = page(&federation, CITY, "/public/G101/2025", None).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("1.625") && html.contains("2,401"), "{html}");
    for (unit, _) in &logins {
        assert!(
            !html.contains(unit.as_str()),
            "no unit on a public page: {html}"
        );
    }
    let (status, html) = page(&federation, CITY, "/public", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("/public/G101/2025"), "{html}");
    let (status, _) = page(&federation, CITY, "/public/G101/2024", None).await;
    assert_eq!(status, 404);
    let (status, answer) = federation
        .call(
            CITY,
            "POST",
            "/api/v1/publications",
            &city_admin,
            Body::Json(json!({"form": "G101", "period": "2025"})),
        )
        .await;
    assert_eq!(
        (status, answer["version"].as_u64()),
        (200, Some(2)),
        "{answer}"
    );
    let (status, list) = federation
        .call(CITY, "GET", "/api/v1/publications", "", Body::Empty)
        .await;
    assert_eq!(status, 200);
    let versions: Vec<u64> = list["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, vec![1, 2], "the first version is kept");
    let (status, html) = page(&federation, CITY, "/public/G101/2025?version=1", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"publication-version\">1<"), "{html}");
    // The nation publishes its own totals; they hold the same exact figure.
    let (status, _) = federation
        .call(
            NATION,
            "POST",
            "/api/v1/publications",
            &nation_admin,
            Body::Json(json!({"form": "G101", "period": "2025"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, html) = page(&federation, NATION, "/public/G101/2025", None).await;
    assert!(html.contains("江苏省") && html.contains("1.625"), "{html}");
    federation.shutdown().await;
}
