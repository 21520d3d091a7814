//! The role × action matrix of `docs/roles.md`, walked through the HTTP API
//! over HTTPS against four real nodes: every route for every role, including
//! another unit of the same city, a unit of another city, a token carried to
//! another node and a reviewer of another city. Refusals must be the exact
//! status and code of the table; allowed cells must succeed.

use std::cell::RefCell;

use serde_json::{Value, json};
use testkit::{DEADLINE, Federation, wait_until};
use zhibao_node::clock::Timestamp;

const FOUR: [&str; 4] = ["national", "province-320000", "city-320100", "city-320500"];
const CITY: &str = "city-320100";
const OTHER_CITY: &str = "city-320500";
const PROVINCE: &str = "province-320000";
const NATION: &str = "national";

/// A clean G101 (no rule fires).
fn clean_values() -> Value {
    json!({
        "output_value": "1200.5", "production_hours": 8000, "production_status": "normal",
        "water_total": "1000", "water_fresh": "600", "water_reused": "400",
        "ww_discharged": "500", "ww_direct": "200", "ww_to_plant": "300",
        "cod_gen": "2.5", "cod_emit": "0.4", "nh3n_gen": "0.2", "nh3n_emit": "0.05"
    })
}

/// A unit with a logged-in enterprise user.
struct Unit {
    code: String,
    token: String,
    password: String,
}

/// Imports `count` active sample units of `node` (after the first `skip`) and logs each in.
async fn units_with_logins(
    federation: &Federation,
    node: &str,
    skip: usize,
    count: usize,
    must_change_password: bool,
) -> Vec<Unit> {
    let state = &federation.node(node).state;
    let units = zhibao_node::registry::sample::sample_units(state.config.division, 8, 11)
        .into_iter()
        .filter(|unit| matches!(unit.status, zhibao_node::registry::UnitStatus::Active))
        .skip(skip)
        .take(count)
        .collect::<Vec<_>>();
    assert_eq!(units.len(), count);
    let outcome = zhibao_node::registry::flow::import_units(
        state,
        zhibao_node::registry::PeriodId::parse("2025").unwrap(),
        units,
        "test",
        must_change_password,
        Timestamp::now_from_system_clock(),
    )
    .await
    .unwrap();
    let mut logged_in = Vec::new();
    for login in outcome.new_logins {
        let (status, answer) = federation
            .log_in(node, &login.username, &login.password)
            .await;
        assert_eq!(status, 200, "{answer}");
        logged_in.push(Unit {
            code: login.unit,
            token: answer["token"].as_str().unwrap().to_string(),
            password: login.password,
        });
    }
    logged_in
}

/// Walks cells and remembers every one that did not answer as the table says.
struct Matrix<'a> {
    federation: &'a Federation,
    failures: RefCell<Vec<String>>,
    cells: RefCell<usize>,
}

impl Matrix<'_> {
    /// One cell: `who` calls `method path` on `node`; expects `status` (and
    /// `code` for a refusal). Answers the JSON body.
    // why: a cell is read best as one row of the table: who, where, what, expected
    #[allow(clippy::too_many_arguments)]
    async fn cell(
        &self,
        who: &str,
        node: &str,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
        status: u16,
        code: Option<&str>,
    ) -> Value {
        *self.cells.borrow_mut() += 1;
        let url = format!("{}{path}", self.federation.node(node).web_url());
        let method_value = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.federation.web_client().request(method_value, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let got = response.status().as_u16();
        let text = response.text().await.unwrap();
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let got_code = answer["error"]["code"].as_str();
        if got != status || (code.is_some() && got_code != code) {
            self.failures.borrow_mut().push(format!(
                "{who} {method} {path} at {node}: expected {status} {code:?}, got {got} {got_code:?}: {text}"
            ));
        }
        answer
    }

    /// A cell with a bearer token.
    // why: a cell is read best as one row of the table: who, where, what, expected
    #[allow(clippy::too_many_arguments)]
    async fn as_user(
        &self,
        who: &str,
        node: &str,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
        status: u16,
        code: Option<&str>,
    ) -> Value {
        self.cell(who, node, Some(token), method, path, body, status, code)
            .await
    }

    /// `POST /api/v1/units/import` with the header-only file (check only, nothing written).
    async fn import_cell(
        &self,
        who: &str,
        node: &str,
        token: &str,
        status: u16,
        code: Option<&str>,
    ) {
        *self.cells.borrow_mut() += 1;
        let response = self
            .federation
            .web_client()
            .post(format!(
                "{}/api/v1/units/import",
                self.federation.node(node).web_url()
            ))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(EMPTY_IMPORT)
            .send()
            .await
            .unwrap();
        let got = response.status().as_u16();
        let text = response.text().await.unwrap();
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let got_code = answer["error"]["code"].as_str();
        if got != status || (code.is_some() && got_code != code) {
            self.failures.borrow_mut().push(format!(
                "{who} POST /api/v1/units/import at {node}: expected {status} {code:?}, got {got} {got_code:?}: {text}"
            ));
        }
    }

    async fn state_of(&self, node: &str, token: &str, unit: &str) -> String {
        let url = format!(
            "{}{}",
            self.federation.node(node).web_url(),
            report(unit, "")
        );
        let answer: Value = self
            .federation
            .web_client()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or(Value::Null);
        answer["state"].as_str().unwrap_or_default().to_string()
    }

    async fn wait_for_state(&self, node: &str, token: &str, unit: &str, wanted: &str) {
        wait_until(
            &format!("{unit} reaches {wanted} at {node}"),
            DEADLINE,
            || async { self.state_of(node, token, unit).await == wanted },
        )
        .await;
    }
}

fn report(unit: &str, tail: &str) -> String {
    format!("/api/v1/reports/{unit}/G101/2025{tail}")
}

fn review(unit: &str, action: &str) -> String {
    format!("/api/v1/review/{unit}/G101/2025/{action}")
}

/// The bodies of the review actions (valid, so only the role decides).
fn review_body(action: &str, due: &str) -> Value {
    match action {
        "approve" => json!({"comment": "同意"}),
        "return" => json!({"comments": [{"indicator": "cod_emit", "text": "请核实"}], "due": due}),
        "feedback" => json!({"comments": [{"text": "请说明"}]}),
        _ => json!({"text": "已核实"}),
    }
}

const REVIEW_ACTIONS: [&str; 4] = ["approve", "return", "feedback", "annotate"];

const ACC000: Option<&str> = Some("ACC000");
const ACC005: Option<&str> = Some("ACC005");
const ACC009: Option<&str> = Some("ACC009");
const GEN404: Option<&str> = Some("GEN404");
const RPT404: Option<&str> = Some("RPT404");
const RV005: Option<&str> = Some("RV005");
const ACC404: Option<&str> = Some("ACC404");
const REG002: Option<&str> = Some("REG002");

/// An import file with the header only: checked, nothing written.
const EMPTY_IMPORT: &str =
    "统一社会信用代码,单位名称,详细地址,行政区划代码,行业代码,控制类别,重点行业,联系人,联系电话\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_meets_exactly_the_refusals_of_the_matrix() {
    let federation = Federation::start(&FOUR).await;
    let nanjing_units = units_with_logins(&federation, CITY, 0, 2, false).await;
    let suzhou_units = units_with_logins(&federation, OTHER_CITY, 0, 1, false).await;
    let must_change = units_with_logins(&federation, OTHER_CITY, 1, 1, true).await;
    let (own, same_city, other_city) = (&nanjing_units[0], &nanjing_units[1], &suzhou_units[0]);
    let city_admin = federation.token_of(CITY, "admin").await;
    let city_reviewer = federation.token_of(CITY, "reviewer").await;
    let other_admin = federation.token_of(OTHER_CITY, "admin").await;
    let other_reviewer = federation.token_of(OTHER_CITY, "reviewer").await;
    let province_admin = federation.token_of(PROVINCE, "admin").await;
    let province_reviewer = federation.token_of(PROVINCE, "reviewer").await;
    let nation_reviewer = federation.token_of(NATION, "reviewer").await;
    let nation_admin = federation.token_of(NATION, "admin").await;
    let due = zhibao_node::metadata::period::beijing_time_text(
        Timestamp::now_from_system_clock().plus_seconds(7 * 86_400),
    )[..10]
        .to_string();
    let matrix = Matrix {
        federation: &federation,
        failures: RefCell::new(Vec::new()),
        cells: RefCell::new(0),
    };
    let m = &matrix;
    let draft = || Some(json!({"values": clean_values()}));

    // Anyone: the public routes; every other route needs a session (401 ACC000).
    for path in [
        "/healthz",
        "/api/v1/node",
        "/api/v1/openapi.json",
        "/api/v1/publications",
        "/public",
    ] {
        m.cell("anyone", CITY, None, "GET", path, None, 200, None)
            .await;
    }
    let signed_in_routes: Vec<(&str, String)> = vec![
        ("DELETE", "/api/v1/session".to_string()),
        ("GET", "/api/v1/federation/links".to_string()),
        ("GET", "/api/v1/units".to_string()),
        ("POST", "/api/v1/units/import".to_string()),
        ("GET", format!("/api/v1/units/{}", own.code)),
        ("GET", "/api/v1/forms".to_string()),
        ("GET", "/api/v1/forms/G101".to_string()),
        ("GET", "/api/v1/periods".to_string()),
        ("GET", "/api/v1/rules".to_string()),
        ("GET", report(&own.code, "")),
        ("PUT", report(&own.code, "/draft")),
        ("POST", report(&own.code, "/check")),
        ("POST", report(&own.code, "/submit")),
        ("GET", report(&own.code, "/versions")),
        ("GET", report(&own.code, "/versions/1/record.xlsx")),
        ("GET", report(&own.code, "/template.xlsx")),
        ("PUT", report(&own.code, "/draft.xlsx")),
        ("GET", "/api/v1/review/queue".to_string()),
        ("POST", review(&own.code, "approve")),
        ("POST", review(&own.code, "return")),
        ("POST", review(&own.code, "feedback")),
        ("POST", review(&own.code, "annotate")),
        ("GET", "/api/v1/aggregates".to_string()),
        ("GET", "/api/v1/progress".to_string()),
        ("GET", "/api/v1/notices".to_string()),
        ("POST", format!("/api/v1/units/{}/changes", own.code)),
        ("POST", format!("/api/v1/units/{}/certificate", own.code)),
        ("DELETE", format!("/api/v1/units/{}/certificate", own.code)),
        ("GET", format!("/api/v1/units/{}/certificates", own.code)),
        ("POST", "/api/v1/accounts".to_string()),
        ("GET", "/api/v1/registry/proposals".to_string()),
        ("POST", "/api/v1/registry/proposals".to_string()),
        ("POST", "/api/v1/registry/proposals/x/confirm".to_string()),
        ("POST", "/api/v1/registry/proposals/x/reject".to_string()),
        ("POST", "/api/v1/urge".to_string()),
        ("GET", "/api/v1/accounts".to_string()),
        ("GET", "/api/v1/accounts/export.xlsx".to_string()),
        (
            "POST",
            "/api/v1/accounts/reviewer320100-3/reset-password".to_string(),
        ),
        (
            "POST",
            "/api/v1/accounts/reviewer320100-3/disable".to_string(),
        ),
        (
            "POST",
            "/api/v1/accounts/reviewer320100-3/enable".to_string(),
        ),
        ("GET", "/api/v1/registry/lineage/suggestions".to_string()),
        ("POST", "/api/v1/registry/lineage".to_string()),
        ("GET", "/api/v1/aggregates/export".to_string()),
        ("GET", "/api/v1/data-report".to_string()),
        ("GET", "/api/v1/units/export".to_string()),
        ("POST", "/api/v1/publications".to_string()),
    ];
    for (method, path) in &signed_in_routes {
        m.cell("anyone", CITY, None, method, path, draft(), 401, ACC000)
            .await;
    }

    // Enterprise, its own unit: fills, checks, submits, reads.
    let e = "enterprise (own unit)";
    for path in [
        "/api/v1/forms",
        "/api/v1/forms/G101",
        "/api/v1/periods",
        "/api/v1/rules?form=G101",
    ] {
        m.as_user(e, CITY, &own.token, "GET", path, None, 200, None)
            .await;
    }
    m.as_user(
        e,
        CITY,
        &own.token,
        "GET",
        &format!("/api/v1/units/{}", own.code),
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        e,
        CITY,
        &own.token,
        "PUT",
        &report(&own.code, "/draft"),
        draft(),
        200,
        None,
    )
    .await;
    m.as_user(
        e,
        CITY,
        &own.token,
        "POST",
        &report(&own.code, "/check"),
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        e,
        CITY,
        &own.token,
        "POST",
        &report(&own.code, "/submit"),
        Some(json!({})),
        200,
        None,
    )
    .await;
    m.as_user(
        e,
        CITY,
        &own.token,
        "GET",
        &report(&own.code, ""),
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        e,
        CITY,
        &own.token,
        "GET",
        &report(&own.code, "/versions"),
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        e,
        CITY,
        &own.token,
        "GET",
        &report(&own.code, "/template.xlsx"),
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        e,
        CITY,
        &own.token,
        "GET",
        "/api/v1/notices",
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        e,
        CITY,
        &own.token,
        "POST",
        "/api/v1/urge",
        Some(urge_body()),
        403,
        ACC005,
    )
    .await;
    // The other city's unit submits too: one submitted report per city.
    m.as_user(
        e,
        OTHER_CITY,
        &other_city.token,
        "PUT",
        &report(&other_city.code, "/draft"),
        draft(),
        200,
        None,
    )
    .await;
    m.as_user(
        e,
        OTHER_CITY,
        &other_city.token,
        "POST",
        &report(&other_city.code, "/submit"),
        None,
        200,
        None,
    )
    .await;

    // Enterprise on another unit of its city, and on a unit of another city: 404.
    for (who, unit) in [
        ("enterprise → same-city unit", &same_city.code),
        ("enterprise → other-city unit", &other_city.code),
    ] {
        m.as_user(
            who,
            CITY,
            &own.token,
            "GET",
            &format!("/api/v1/units/{unit}"),
            None,
            404,
            GEN404,
        )
        .await;
        m.as_user(
            who,
            CITY,
            &own.token,
            "GET",
            &report(unit, ""),
            None,
            404,
            RPT404,
        )
        .await;
        m.as_user(
            who,
            CITY,
            &own.token,
            "PUT",
            &report(unit, "/draft"),
            draft(),
            404,
            RPT404,
        )
        .await;
        m.as_user(
            who,
            CITY,
            &own.token,
            "POST",
            &report(unit, "/check"),
            None,
            404,
            RPT404,
        )
        .await;
        m.as_user(
            who,
            CITY,
            &own.token,
            "POST",
            &report(unit, "/submit"),
            None,
            404,
            RPT404,
        )
        .await;
        m.as_user(
            who,
            CITY,
            &own.token,
            "GET",
            &report(unit, "/versions"),
            None,
            404,
            RPT404,
        )
        .await;
        for (method, tail) in [
            ("GET", "/template.xlsx"),
            ("PUT", "/draft.xlsx"),
            ("GET", "/versions/1/record.xlsx"),
        ] {
            m.as_user(
                who,
                CITY,
                &own.token,
                method,
                &report(unit, tail),
                None,
                404,
                RPT404,
            )
            .await;
        }
    }
    // The other city's enterprise, on its own node, on the first city's unit.
    let who = "other-city enterprise → unit of another city";
    m.as_user(
        who,
        OTHER_CITY,
        &other_city.token,
        "GET",
        &report(&own.code, ""),
        None,
        404,
        RPT404,
    )
    .await;
    m.as_user(
        who,
        OTHER_CITY,
        &other_city.token,
        "PUT",
        &report(&own.code, "/draft"),
        draft(),
        404,
        RPT404,
    )
    .await;
    // Enterprise on bureau routes: 403 ACC005.
    let e = "enterprise";
    for (method, path) in [
        ("GET", "/api/v1/units".to_string()),
        ("POST", "/api/v1/units/import".to_string()),
        ("GET", "/api/v1/federation/links".to_string()),
        ("GET", "/api/v1/review/queue".to_string()),
        ("GET", "/api/v1/aggregates".to_string()),
        ("GET", "/api/v1/progress".to_string()),
    ] {
        m.as_user(e, CITY, &own.token, method, &path, None, 403, ACC005)
            .await;
    }
    for action in REVIEW_ACTIONS {
        m.as_user(
            e,
            CITY,
            &own.token,
            "POST",
            &review(&own.code, action),
            Some(review_body(action, &due)),
            403,
            ACC005,
        )
        .await;
    }
    // A session belongs to its node: the token means nothing elsewhere.
    m.as_user(
        "enterprise token at another node",
        OTHER_CITY,
        &own.token,
        "GET",
        "/api/v1/forms",
        None,
        401,
        ACC000,
    )
    .await;

    // City admin: registry, import, links, reading and checking reports, totals.
    let a = "city admin";
    for path in [
        "/api/v1/units".to_string(),
        format!("/api/v1/units/{}", own.code),
        format!("/api/v1/units/{}", same_city.code),
        "/api/v1/federation/links".to_string(),
        report(&own.code, ""),
        report(&own.code, "/versions"),
        report(&own.code, "/template.xlsx"),
        "/api/v1/aggregates".to_string(),
        "/api/v1/progress".to_string(),
        "/api/v1/forms".to_string(),
    ] {
        m.as_user(a, CITY, &city_admin, "GET", &path, None, 200, None)
            .await;
    }
    m.as_user(
        a,
        CITY,
        &city_admin,
        "PUT",
        &report(&own.code, "/draft.xlsx"),
        None,
        403,
        ACC005,
    )
    .await;
    m.as_user(
        a,
        CITY,
        &city_admin,
        "GET",
        "/api/v1/notices",
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        a,
        CITY,
        &city_admin,
        "POST",
        "/api/v1/urge",
        Some(urge_body()),
        200,
        None,
    )
    .await;
    let imported = m
        .federation
        .web_client()
        .post(format!(
            "{}/api/v1/units/import",
            federation.node(CITY).web_url()
        ))
        .bearer_auth(&city_admin)
        .header("content-type", "text/csv")
        .body(EMPTY_IMPORT)
        .send()
        .await
        .unwrap();
    let imported_status = imported.status().as_u16();
    let imported_text = imported.text().await.unwrap();
    assert_eq!(
        imported_status, 200,
        "city admin import (check only): {imported_text}"
    );
    m.as_user(
        a,
        CITY,
        &city_admin,
        "POST",
        &report(&own.code, "/check"),
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        a,
        CITY,
        &city_admin,
        "PUT",
        &report(&own.code, "/draft"),
        draft(),
        403,
        ACC005,
    )
    .await;
    m.as_user(
        a,
        CITY,
        &city_admin,
        "POST",
        &report(&own.code, "/submit"),
        None,
        403,
        ACC005,
    )
    .await;
    m.as_user(
        a,
        CITY,
        &city_admin,
        "GET",
        "/api/v1/review/queue",
        None,
        403,
        ACC005,
    )
    .await;
    for action in REVIEW_ACTIONS {
        m.as_user(
            a,
            CITY,
            &city_admin,
            "POST",
            &review(&own.code, action),
            Some(review_body(action, &due)),
            403,
            ACC005,
        )
        .await;
    }
    let a = "city admin → other city";
    m.as_user(
        a,
        CITY,
        &city_admin,
        "GET",
        "/api/v1/units?division=320500",
        None,
        403,
        ACC009,
    )
    .await;
    for path in [
        "/api/v1/aggregates?division=320500",
        "/api/v1/aggregates/export?division=320500",
        "/api/v1/data-report?division=320500",
        "/api/v1/units/export?division=320500",
    ] {
        m.as_user(a, CITY, &city_admin, "GET", path, None, 403, ACC009)
            .await;
    }
    // The data report page: another city is outside the jurisdiction (HTML, status only).
    m.as_user(
        a,
        CITY,
        &city_admin,
        "GET",
        "/data-report/G101/2025?division=320500",
        None,
        403,
        None,
    )
    .await;
    m.as_user(
        a,
        CITY,
        &city_admin,
        "GET",
        &format!("/api/v1/units/{}", other_city.code),
        None,
        404,
        GEN404,
    )
    .await;
    // Certificates and registry changes: the admin's own units only.
    for method in ["POST", "DELETE"] {
        m.as_user(
            a,
            CITY,
            &city_admin,
            method,
            &format!("/api/v1/units/{}/certificate", other_city.code),
            None,
            404,
            GEN404,
        )
        .await;
    }
    m.as_user(
        a,
        CITY,
        &city_admin,
        "GET",
        &format!("/api/v1/units/{}/certificates", own.code),
        None,
        200,
        None,
    )
    .await;
    for (method, path) in [
        ("POST", format!("/api/v1/units/{}/certificate", own.code)),
        ("GET", format!("/api/v1/units/{}/certificates", own.code)),
        ("POST", format!("/api/v1/units/{}/changes", own.code)),
        ("POST", "/api/v1/accounts".to_string()),
        ("GET", "/api/v1/registry/proposals".to_string()),
        ("POST", "/api/v1/registry/proposals/x/confirm".to_string()),
    ] {
        m.as_user(
            "enterprise (own unit)",
            CITY,
            &own.token,
            method,
            &path,
            None,
            403,
            ACC005,
        )
        .await;
    }
    for (method, tail) in [("GET", ""), ("GET", "/versions"), ("POST", "/check")] {
        m.as_user(
            a,
            CITY,
            &city_admin,
            method,
            &report(&other_city.code, tail),
            None,
            404,
            RPT404,
        )
        .await;
    }
    m.as_user(
        "city admin token at the nation",
        NATION,
        &city_admin,
        "GET",
        "/api/v1/forms",
        None,
        401,
        ACC000,
    )
    .await;

    // The other city's bureau users on the first city's unit and report: 404 / 403 ACC009.
    let a = "city-320500 admin → 320100";
    m.as_user(
        a,
        OTHER_CITY,
        &other_admin,
        "GET",
        "/api/v1/units?division=320100",
        None,
        403,
        ACC009,
    )
    .await;
    m.as_user(
        a,
        OTHER_CITY,
        &other_admin,
        "GET",
        "/api/v1/aggregates?division=320100",
        None,
        403,
        ACC009,
    )
    .await;
    m.as_user(
        a,
        OTHER_CITY,
        &other_admin,
        "GET",
        &format!("/api/v1/units/{}", own.code),
        None,
        404,
        GEN404,
    )
    .await;
    let r = "city-320500 reviewer → 320100 report";
    m.as_user(
        r,
        OTHER_CITY,
        &other_reviewer,
        "GET",
        &report(&own.code, ""),
        None,
        404,
        RPT404,
    )
    .await;
    m.as_user(
        r,
        OTHER_CITY,
        &other_reviewer,
        "GET",
        &report(&own.code, "/versions"),
        None,
        404,
        RPT404,
    )
    .await;
    m.as_user(
        r,
        OTHER_CITY,
        &other_reviewer,
        "POST",
        &report(&own.code, "/check"),
        None,
        404,
        RPT404,
    )
    .await;
    for action in REVIEW_ACTIONS {
        m.as_user(
            r,
            OTHER_CITY,
            &other_reviewer,
            "POST",
            &review(&own.code, action),
            Some(review_body(action, &due)),
            404,
            RPT404,
        )
        .await;
    }
    m.as_user(
        "city-320500 reviewer token at city-320100",
        CITY,
        &other_reviewer,
        "POST",
        &review(&own.code, "approve"),
        Some(json!({})),
        401,
        ACC000,
    )
    .await;

    // City reviewer: reads, queue, checks, returns, approves; no admin routes.
    let r = "city reviewer";
    for path in [
        "/api/v1/units".to_string(),
        format!("/api/v1/units/{}", own.code),
        "/api/v1/review/queue".to_string(),
        report(&own.code, ""),
        report(&own.code, "/versions"),
        "/api/v1/aggregates".to_string(),
        "/api/v1/progress".to_string(),
    ] {
        m.as_user(r, CITY, &city_reviewer, "GET", &path, None, 200, None)
            .await;
    }
    m.as_user(
        r,
        CITY,
        &city_reviewer,
        "POST",
        "/api/v1/units/import",
        None,
        403,
        ACC005,
    )
    .await;
    m.as_user(
        r,
        CITY,
        &city_reviewer,
        "GET",
        "/api/v1/federation/links",
        None,
        403,
        ACC005,
    )
    .await;
    m.as_user(
        r,
        CITY,
        &city_reviewer,
        "PUT",
        &report(&own.code, "/draft"),
        draft(),
        403,
        ACC005,
    )
    .await;
    m.as_user(
        r,
        CITY,
        &city_reviewer,
        "POST",
        &report(&own.code, "/submit"),
        None,
        403,
        ACC005,
    )
    .await;
    // Feedback is the upper levels': at a city no report has been received from below.
    m.as_user(
        r,
        CITY,
        &city_reviewer,
        "POST",
        &review(&own.code, "feedback"),
        Some(review_body("feedback", &due)),
        404,
        RPT404,
    )
    .await;
    let r = "city reviewer → other-city report";
    for tail in ["", "/versions"] {
        m.as_user(
            r,
            CITY,
            &city_reviewer,
            "GET",
            &report(&other_city.code, tail),
            None,
            404,
            RPT404,
        )
        .await;
    }
    m.as_user(
        r,
        CITY,
        &city_reviewer,
        "POST",
        &report(&other_city.code, "/check"),
        None,
        404,
        RPT404,
    )
    .await;
    for action in ["approve", "return", "annotate"] {
        m.as_user(
            r,
            CITY,
            &city_reviewer,
            "POST",
            &review(&other_city.code, action),
            Some(review_body(action, &due)),
            404,
            RPT404,
        )
        .await;
    }
    let r = "city reviewer";
    m.as_user(
        r,
        CITY,
        &city_reviewer,
        "POST",
        &report(&own.code, "/check"),
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        r,
        CITY,
        &city_reviewer,
        "POST",
        &review(&own.code, "return"),
        Some(review_body("return", &due)),
        200,
        None,
    )
    .await;
    m.as_user(
        "enterprise (own unit, returned)",
        CITY,
        &own.token,
        "PUT",
        &report(&own.code, "/draft"),
        draft(),
        200,
        None,
    )
    .await;
    m.as_user(
        "enterprise (own unit, returned)",
        CITY,
        &own.token,
        "POST",
        &report(&own.code, "/submit"),
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        r,
        CITY,
        &city_reviewer,
        "POST",
        &report(&own.code, "/check"),
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        r,
        CITY,
        &city_reviewer,
        "POST",
        &review(&own.code, "approve"),
        Some(review_body("approve", &due)),
        200,
        None,
    )
    .await;

    // Province: reviewers check, send feedback and approve; return and annotate are the city's.
    m.wait_for_state(PROVINCE, &province_reviewer, &own.code, "submitted")
        .await;
    let r = "province reviewer";
    for path in [
        "/api/v1/review/queue".to_string(),
        report(&own.code, ""),
        report(&own.code, "/versions"),
        "/api/v1/units?division=320100".to_string(),
        "/api/v1/aggregates?division=320100".to_string(),
    ] {
        m.as_user(
            r,
            PROVINCE,
            &province_reviewer,
            "GET",
            &path,
            None,
            200,
            None,
        )
        .await;
    }
    m.as_user(
        r,
        PROVINCE,
        &province_reviewer,
        "POST",
        &review(&own.code, "return"),
        Some(review_body("return", &due)),
        403,
        RV005,
    )
    .await;
    m.as_user(
        r,
        PROVINCE,
        &province_reviewer,
        "POST",
        &review(&own.code, "annotate"),
        Some(review_body("annotate", &due)),
        403,
        RV005,
    )
    .await;
    m.as_user(
        r,
        PROVINCE,
        &province_reviewer,
        "POST",
        &report(&own.code, "/check"),
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        r,
        PROVINCE,
        &province_reviewer,
        "POST",
        &review(&own.code, "feedback"),
        Some(review_body("feedback", &due)),
        200,
        None,
    )
    .await;
    let a = "province admin";
    m.as_user(
        a,
        PROVINCE,
        &province_admin,
        "GET",
        "/api/v1/federation/links",
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        a,
        PROVINCE,
        &province_admin,
        "GET",
        "/api/v1/review/queue",
        None,
        403,
        ACC005,
    )
    .await;
    for action in REVIEW_ACTIONS {
        m.as_user(
            a,
            PROVINCE,
            &province_admin,
            "POST",
            &review(&own.code, action),
            Some(review_body(action, &due)),
            403,
            ACC005,
        )
        .await;
    }
    m.as_user(
        "province reviewer token at a city",
        CITY,
        &province_reviewer,
        "GET",
        &report(&own.code, ""),
        None,
        401,
        ACC000,
    )
    .await;

    // The city answers the feedback by annotation; the province approves.
    m.wait_for_state(CITY, &city_reviewer, &own.code, "feedback_received")
        .await;
    m.as_user(
        "city reviewer",
        CITY,
        &city_reviewer,
        "POST",
        &review(&own.code, "annotate"),
        Some(review_body("annotate", &due)),
        200,
        None,
    )
    .await;
    wait_until(
        "the annotated report is back at the province",
        DEADLINE,
        || async {
            let answer = m
                .as_user(
                    r,
                    PROVINCE,
                    &province_reviewer,
                    "GET",
                    &report(&own.code, ""),
                    None,
                    200,
                    None,
                )
                .await;
            answer["state"] == "submitted" && answer["received"]["report"]["annotation"].is_string()
        },
    )
    .await;
    m.as_user(
        r,
        PROVINCE,
        &province_reviewer,
        "POST",
        &report(&own.code, "/check"),
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        r,
        PROVINCE,
        &province_reviewer,
        "POST",
        &review(&own.code, "approve"),
        Some(review_body("approve", &due)),
        200,
        None,
    )
    .await;

    // Nation: a report not received is 404; the received one is checked and accepted.
    m.wait_for_state(NATION, &nation_reviewer, &own.code, "submitted")
        .await;
    let r = "national reviewer";
    m.as_user(
        r,
        NATION,
        &nation_reviewer,
        "POST",
        &review(&own.code, "return"),
        Some(review_body("return", &due)),
        403,
        RV005,
    )
    .await;
    m.as_user(
        r,
        NATION,
        &nation_reviewer,
        "POST",
        &review(&other_city.code, "feedback"),
        Some(review_body("feedback", &due)),
        404,
        RPT404,
    )
    .await;
    m.as_user(
        r,
        NATION,
        &nation_reviewer,
        "POST",
        &report(&own.code, "/check"),
        None,
        200,
        None,
    )
    .await;
    let accepted = m
        .as_user(
            r,
            NATION,
            &nation_reviewer,
            "POST",
            &review(&own.code, "approve"),
            Some(review_body("approve", &due)),
            200,
            None,
        )
        .await;
    assert_eq!(accepted["state"], "accepted", "{accepted}");
    m.as_user(
        "national admin",
        NATION,
        &nation_admin,
        "GET",
        "/api/v1/aggregates",
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        "national admin",
        NATION,
        &nation_admin,
        "POST",
        &review(&own.code, "approve"),
        Some(json!({})),
        403,
        ACC005,
    )
    .await;

    // Urging: a city urges its units, a province or the nation the bureaus below.
    let with_units = json!({"form": "G101", "period": "2025", "units": [own.code]});
    let with_divisions = json!({"form": "G101", "period": "2025", "divisions": ["320100"]});
    m.as_user(
        "city admin",
        CITY,
        &city_admin,
        "POST",
        "/api/v1/urge",
        Some(with_divisions),
        403,
        RV005,
    )
    .await;
    for (who, node, token, child) in [
        ("province reviewer", PROVINCE, &province_reviewer, "320100"),
        ("province admin", PROVINCE, &province_admin, "320500"),
        ("national reviewer", NATION, &nation_reviewer, "320000"),
        ("national admin", NATION, &nation_admin, "320000"),
    ] {
        let to_child = json!({"form": "G101", "period": "2025", "divisions": [child]});
        m.as_user(
            who,
            node,
            token,
            "POST",
            "/api/v1/urge",
            Some(to_child),
            200,
            None,
        )
        .await;
        m.as_user(
            who,
            node,
            token,
            "POST",
            "/api/v1/urge",
            Some(urge_body()),
            200,
            None,
        )
        .await;
        m.as_user(
            who,
            node,
            token,
            "POST",
            "/api/v1/urge",
            Some(with_units.clone()),
            403,
            RV005,
        )
        .await;
        let not_a_child = json!({"form": "G101", "period": "2025", "divisions": ["330100"]});
        m.as_user(
            who,
            node,
            token,
            "POST",
            "/api/v1/urge",
            Some(not_a_child),
            404,
            Some("URG404"),
        )
        .await;
    }

    // The session cookie works like the token for reading; a cookie-signed change
    // from another site is refused (CSRF), from our own pages it is allowed.
    let cookie = format!("zhibao_session={}", own.token);
    let city_url = federation.node(CITY).web_url();
    let by_cookie = federation
        .web_client()
        .get(format!("{city_url}{}", report(&own.code, "")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 200, "a cookie-signed read");
    let cross_site = federation
        .web_client()
        .post(format!("{city_url}{}", report(&own.code, "/check")))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(
        cross_site.status(),
        403,
        "a cross-site cookie-signed change"
    );
    let cross_site: Value = cross_site.json().await.unwrap();
    assert_eq!(cross_site["error"]["code"], "ACC007");

    // Every actor on the routes whose answer depends on the role alone.
    let actors: [(&str, &str, &str, &str); 10] = [
        ("enterprise", "enterprise (320100)", CITY, &own.token),
        (
            "enterprise",
            "enterprise (320500)",
            OTHER_CITY,
            &other_city.token,
        ),
        ("admin", "city-320100 admin", CITY, &city_admin),
        ("reviewer", "city-320100 reviewer", CITY, &city_reviewer),
        ("admin", "city-320500 admin", OTHER_CITY, &other_admin),
        (
            "reviewer",
            "city-320500 reviewer",
            OTHER_CITY,
            &other_reviewer,
        ),
        ("admin", "province admin", PROVINCE, &province_admin),
        (
            "reviewer",
            "province reviewer",
            PROVINCE,
            &province_reviewer,
        ),
        ("admin", "national admin", NATION, &nation_admin),
        ("reviewer", "national reviewer", NATION, &nation_reviewer),
    ];
    let allowed_if = |allowed: bool, refusal: Option<&'static str>| {
        if allowed { (200, None) } else { (403, refusal) }
    };
    for (role, who, node, token) in actors {
        for path in [
            "/healthz",
            "/api/v1/node",
            "/api/v1/openapi.json",
            "/api/v1/forms",
            "/api/v1/forms/G101",
            "/api/v1/periods",
            "/api/v1/rules?form=G101",
        ] {
            m.as_user(who, node, token, "GET", path, None, 200, None)
                .await;
        }
        let (status, code) = allowed_if(role == "admin", ACC005);
        m.as_user(
            who,
            node,
            token,
            "GET",
            "/api/v1/federation/links",
            None,
            status,
            code,
        )
        .await;
        m.import_cell(who, node, token, status, code).await;
        let (status, code) = allowed_if(role == "reviewer", ACC005);
        m.as_user(
            who,
            node,
            token,
            "GET",
            "/api/v1/review/queue",
            None,
            status,
            code,
        )
        .await;
        let (status, code) = allowed_if(role != "enterprise", ACC005);
        for path in [
            "/api/v1/units",
            "/api/v1/aggregates",
            "/api/v1/progress",
            "/api/v1/aggregates/export?format=csv",
            "/api/v1/data-report?form=G101&period=2025",
            "/api/v1/units/export?format=xlsx",
        ] {
            m.as_user(who, node, token, "GET", path, None, status, code)
                .await;
        }
        // The dashboards are pages (HTML): the status alone is compared.
        for path in ["/progress", "/totals", "/data-report/G101/2025"] {
            m.as_user(who, node, token, "GET", path, None, status, None)
                .await;
        }
        m.as_user(
            who,
            node,
            token,
            "GET",
            "/api/v1/publications",
            None,
            200,
            None,
        )
        .await;
        // Admins publish; at the other city nothing is accepted yet (409 PUB001).
        let (status, code) = match (role, node) {
            ("admin", OTHER_CITY) => (409, Some("PUB001")),
            ("admin", _) => (200, None),
            _ => (403, ACC005),
        };
        m.as_user(
            who,
            node,
            token,
            "POST",
            "/api/v1/publications",
            Some(json!({"form": "G101", "period": "2025"})),
            status,
            code,
        )
        .await;
        if role != "enterprise" {
            for (method, tail) in [("PUT", "/draft"), ("POST", "/submit")] {
                m.as_user(
                    who,
                    node,
                    token,
                    method,
                    &report(&own.code, tail),
                    draft(),
                    403,
                    ACC005,
                )
                .await;
            }
        }
        // Account administration: admins, on the accounts of their own node only.
        let (status, code) = allowed_if(role == "admin", ACC005);
        for path in ["/api/v1/accounts", "/api/v1/accounts/export.xlsx"] {
            m.as_user(who, node, token, "GET", path, None, status, code)
                .await;
        }
        let division = m.federation.node(node).state.config.division.to_string();
        // reviewer-3 of each node is used by no other cell.
        let spare = format!("reviewer{division}-3");
        for action in ["reset-password", "disable", "enable"] {
            m.as_user(
                who,
                node,
                token,
                "POST",
                &format!("/api/v1/accounts/{spare}/{action}"),
                None,
                status,
                code,
            )
            .await;
        }
        if role == "admin" {
            // Another node's account, and a unit's login of another city, are not found here.
            let foreign = if node == NATION {
                "admin320100"
            } else {
                "admin000000"
            };
            for target in [foreign, other_city.code.as_str()] {
                if node == OTHER_CITY && target == other_city.code {
                    continue;
                }
                for action in ["reset-password", "disable", "enable"] {
                    m.as_user(
                        who,
                        node,
                        token,
                        "POST",
                        &format!("/api/v1/accounts/{target}/{action}"),
                        None,
                        404,
                        ACC404,
                    )
                    .await;
                }
            }
        }
        // Lineage: bureau users of a city see suggestions; a city admin confirms.
        let at_city = node == CITY || node == OTHER_CITY;
        let (status, code) = match (role, at_city) {
            ("enterprise", _) => (403, ACC005),
            (_, true) => (200, None),
            (_, false) => (403, REG002),
        };
        m.as_user(
            who,
            node,
            token,
            "GET",
            "/api/v1/registry/lineage/suggestions",
            None,
            status,
            code,
        )
        .await;
        let link = json!({"current": own.code, "previous": same_city.code, "kind": "merged"});
        let (status, code) = match (role, node) {
            ("admin", CITY) => (200, None),
            ("admin", OTHER_CITY) => (404, GEN404),
            ("admin", _) => (403, REG002),
            _ => (403, ACC005),
        };
        m.as_user(
            who,
            node,
            token,
            "POST",
            "/api/v1/registry/lineage",
            Some(link),
            status,
            code,
        )
        .await;
        if role != "reviewer" {
            for action in REVIEW_ACTIONS {
                m.as_user(
                    who,
                    node,
                    token,
                    "POST",
                    &review(&own.code, action),
                    Some(review_body(action, &due)),
                    403,
                    ACC005,
                )
                .await;
            }
        }
    }

    // A password due for change (a real import's new login) blocks everything but changing it.
    let due_change = &must_change[0];
    let who = "enterprise, password change due";
    for path in ["/api/v1/forms".to_string(), report(&due_change.code, "")] {
        m.as_user(
            who,
            OTHER_CITY,
            &due_change.token,
            "GET",
            &path,
            None,
            403,
            Some("ACC004"),
        )
        .await;
    }
    m.as_user(
        who,
        OTHER_CITY,
        &due_change.token,
        "PUT",
        &report(&due_change.code, "/draft"),
        draft(),
        403,
        Some("ACC004"),
    )
    .await;
    m.as_user(
        who,
        OTHER_CITY,
        &due_change.token,
        "POST",
        "/api/v1/session/password",
        Some(json!({"old_password": due_change.password, "new_password": "Unit-Passw0rd-7"})),
        200,
        None,
    )
    .await;
    m.as_user(
        "enterprise, password changed",
        OTHER_CITY,
        &due_change.token,
        "GET",
        &report(&due_change.code, ""),
        None,
        200,
        None,
    )
    .await;

    // Any signed-in user changes its own password and logs out; the token then ends.
    let e = "enterprise";
    m.as_user(
        e,
        OTHER_CITY,
        &other_city.token,
        "POST",
        "/api/v1/session/password",
        Some(json!({"old_password": other_city.password, "new_password": "Unit-Passw0rd-9"})),
        200,
        None,
    )
    .await;
    m.as_user(
        e,
        CITY,
        &own.token,
        "DELETE",
        "/api/v1/session",
        None,
        200,
        None,
    )
    .await;
    m.as_user(
        "enterprise after log-out",
        CITY,
        &own.token,
        "GET",
        &report(&own.code, ""),
        None,
        401,
        ACC000,
    )
    .await;
    for (_, who, node, token) in actors.iter().skip(1) {
        m.as_user(
            who,
            node,
            token,
            "DELETE",
            "/api/v1/session",
            None,
            200,
            None,
        )
        .await;
        m.as_user(who, node, token, "GET", "/api/v1/forms", None, 401, ACC000)
            .await;
    }

    let failures = matrix.failures.take();
    assert!(
        failures.is_empty(),
        "{} of {} cells differ from docs/roles.md:\n{}",
        failures.len(),
        matrix.cells.take(),
        failures.join("\n")
    );
    federation.shutdown().await;
}

/// A valid `POST /api/v1/urge` body: every unit that still owes 2025 G101.
fn urge_body() -> Value {
    json!({"form": "G101", "period": "2025"})
}
