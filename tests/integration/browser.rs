//! The pages in a real browser (headless Chromium through chromedriver):
//! an enterprise logs in, is made to change its first password, fills G101
//! (autosaved in the background, seen over the API) and a facility row
//! (a value out of range shown in its cell, "more rows") so that a warning
//! fires, explains it at the field, submits and prints the version; the city
//! reviewer runs the rules and returns it with a comment on one indicator,
//! which the unit sees at that field, corrects and resubmits; the reviewer
//! sees the change since version 1 and approves; the province approves; the
//! nation receives the report. The English switch is checked; with two more reports
//! approved (and last year's totals seeded), the city's progress and totals
//! dashboards and the data report linked from them are shown. A
//! screenshot of each main page lands in `docs/screenshots/`.
//!
//! A missing browser is a failure, never a skip (in CI, `CI=true`, and here).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use testkit::{Body, CHANGED_PASSWORD, DEADLINE, Federation, initial_login, wait_until};
use zhibao_node::clock::Timestamp;
use zhibao_node::report::ReportKey;

const THREE: [&str; 3] = ["national", "province-320000", "city-320100"];
const UNIT_NAME: &str = "<script>alert(1)</script>南京示范化工有限公司";
const FIRST_PASSWORD_CHANGED: &str = "Unit-Passw0rd-2026";

/// chromedriver on a free port, killed when dropped.
struct Driver {
    _process: tokio::process::Child,
    _profile: tempfile::TempDir,
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

async fn start_driver() -> (Driver, Client) {
    let Some(chromedriver) = find_on_path("chromedriver") else {
        panic!(
            "chromedriver is not installed: apt-get install -y --no-install-recommends chromium chromium-driver (CI={})",
            std::env::var("CI").unwrap_or_default()
        );
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let process = tokio::process::Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(started.elapsed() < DEADLINE, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = tempfile::tempdir().unwrap();
    let mut options = serde_json::json!({
        "args": [
            "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--ignore-certificate-errors", "--window-size=1366,768",
            format!("--user-data-dir={}", profile.path().display()),
        ]
    });
    if let Some(binary) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .find(|path| std::path::Path::new(path).is_file())
    {
        options["binary"] = serde_json::json!(binary);
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".to_string(), options);
    let url = format!("http://127.0.0.1:{port}");
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&url)
        .await
        .unwrap_or_else(|error| panic!("no browser session from chromedriver: {error}"));
    (
        Driver {
            _process: process,
            _profile: profile,
        },
        client,
    )
}

/// The element, or a failure that shows the page it is missing from.
async fn element(browser: &Client, css: &str) -> fantoccini::elements::Element {
    match browser.find(Locator::Css(css)).await {
        Ok(element) => element,
        Err(error) => {
            let page = browser.source().await.unwrap_or_default();
            panic!(
                "{css} not on {}: {error}\n{page}",
                browser.current_url().await.unwrap()
            )
        }
    }
}

async fn text_of(browser: &Client, css: &str) -> String {
    element(browser, css).await.text().await.unwrap()
}

async fn type_into(browser: &Client, css: &str, text: &str) {
    let field = element(browser, css).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Clicks a link or a submit button and waits until the next page replaced this one.
async fn click(browser: &Client, css: &str) {
    let old_page = element(browser, "html").await;
    element(browser, css).await.click().await.unwrap();
    let started = Instant::now();
    while old_page.tag_name().await.is_ok() {
        assert!(started.elapsed() < DEADLINE, "clicking {css} led nowhere");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    browser
        .wait()
        .for_element(Locator::Css("main"))
        .await
        .unwrap();
}

async fn path_of(browser: &Client) -> String {
    browser.current_url().await.unwrap().path().to_string()
}

async fn screenshot(browser: &Client, name: &str) {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&folder).unwrap();
    let png = browser.screenshot().await.unwrap();
    std::fs::write(folder.join(format!("{name}.png")), png).unwrap();
}

/// Logs in through the login page; changes a forced first password to `new_password`.
async fn log_in(browser: &Client, base: &str, username: &str, password: &str, new_password: &str) {
    browser.goto(&format!("{base}/login")).await.unwrap();
    type_into(browser, "#username", username).await;
    type_into(browser, "#password", password).await;
    click(browser, "#login").await;
    if path_of(browser).await == "/password" {
        type_into(browser, "#old_password", password).await;
        type_into(browser, "#new_password", new_password).await;
        type_into(browser, "#repeat_password", new_password).await;
        click(browser, "#change").await;
        if path_of(browser).await == "/password" {
            panic!(
                "password change refused: {}",
                text_of(browser, "main").await
            );
        }
    }
}

async fn log_out(browser: &Client) {
    click(browser, "form[action='/logout'] button").await;
    assert_eq!(path_of(browser).await, "/login");
}

/// Values of a clean G101 except `cod_emit` 0 while wastewater is discharged (N005).
const WARNED_VALUES: [(&str, &str); 13] = [
    ("output_value", "1200.5"),
    ("production_hours", "8000"),
    ("water_total", "1000"),
    ("water_fresh", "600"),
    ("water_reused", "400"),
    ("ww_discharged", "500"),
    ("ww_direct", "200"),
    ("ww_to_plant", "300"),
    ("cod_gen", "2.5"),
    ("cod_emit", "0"),
    ("nh3n_gen", "0.2"),
    ("nh3n_emit", "0.05"),
    ("production_status", "normal"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enterprise_reports_and_three_levels_review_in_a_browser() {
    let started = Instant::now();
    let (driver, browser) = start_driver().await;
    let federation = Federation::start(&THREE).await;
    let city = federation.node("city-320100");
    let city_url = city.web_url();

    // Units with logins in the city; the one in the browser must change its first password.
    let mut units = zhibao_node::registry::sample::sample_units(city.state.config.division, 3, 7)
        .into_iter()
        .filter(|unit| matches!(unit.status, zhibao_node::registry::UnitStatus::Active))
        .collect::<Vec<_>>();
    units[0].name = UNIT_NAME.to_string();
    let outcome = zhibao_node::registry::flow::import_units(
        &city.state,
        zhibao_node::registry::PeriodId::parse("2025").unwrap(),
        units.clone(),
        "test",
        true,
        Timestamp::now_from_system_clock(),
    )
    .await
    .unwrap();
    let login = outcome
        .new_logins
        .iter()
        .find(|login| login.name == UNIT_NAME)
        .unwrap()
        .clone();

    // The enterprise: forced password change, then its home page.
    browser.goto(&format!("{city_url}/")).await.unwrap();
    assert_eq!(path_of(&browser).await, "/login");
    assert_eq!(text_of(&browser, "h1").await, "登录");
    screenshot(&browser, "login").await;
    // An address that leads nowhere: a friendly page with the way home.
    browser
        .goto(&format!("{city_url}/no-such-page"))
        .await
        .unwrap();
    assert_eq!(text_of(&browser, "h1").await, "页面不存在");
    click(&browser, "#go-home").await;
    assert_eq!(path_of(&browser).await, "/login");
    type_into(&browser, "#username", &login.username).await;
    type_into(&browser, "#password", &login.password).await;
    click(&browser, "#login").await;
    assert_eq!(path_of(&browser).await, "/password");
    assert!(text_of(&browser, "#forced").await.contains("请先修改密码"));
    type_into(&browser, "#old_password", &login.password).await;
    type_into(&browser, "#new_password", FIRST_PASSWORD_CHANGED).await;
    type_into(&browser, "#repeat_password", FIRST_PASSWORD_CHANGED).await;
    click(&browser, "#change").await;
    assert_eq!(path_of(&browser).await, "/home");
    // A unit named like a script shows as text.
    assert_eq!(text_of(&browser, "#unit-name").await, UNIT_NAME);
    assert!(text_of(&browser, ".crumbs").await.contains("南京市"));

    // The form: values that trigger N005, checked, the warning shown at its field.
    click(&browser, "#open-G101").await;
    let form_path = path_of(&browser).await;
    assert!(
        form_path.starts_with(&format!("/reports/{}/G101/", login.unit)),
        "{form_path}"
    );
    let period = form_path.rsplit('/').next().unwrap().to_string();
    // Offline entry from the page: a file that is not a workbook is refused, nothing saved.
    let not_a_workbook =
        std::env::temp_dir().join(format!("zhibao-not-a-workbook-{}.xlsx", std::process::id()));
    std::fs::write(&not_a_workbook, "name,value\n").unwrap();
    element(&browser, "#workbook")
        .await
        .send_keys(not_a_workbook.to_str().unwrap())
        .await
        .unwrap();
    click(&browser, "#upload").await;
    assert!(
        text_of(&browser, "p.alert")
            .await
            .contains("不是 Excel 工作簿"),
        "{}",
        text_of(&browser, "p.alert").await
    );
    assert_eq!(path_of(&browser).await, format!("{form_path}/upload"));
    browser
        .goto(&format!("{city_url}{form_path}"))
        .await
        .unwrap();
    let _ = std::fs::remove_file(&not_a_workbook);
    for (key, value) in WARNED_VALUES {
        let css = format!("#v-{key}");
        let field = browser.find(Locator::Css(&css)).await.unwrap();
        if field.tag_name().await.unwrap() == "select" {
            field.select_by_value(value).await.unwrap();
        } else {
            type_into(&browser, &css, value).await;
        }
    }
    // Autosave: typing stopped, the draft reaches the store in the background
    // (read back over the API with the browser's own session).
    let session = browser
        .get_named_cookie("zhibao_session")
        .await
        .unwrap()
        .value()
        .to_string();
    let report_api = format!("/api/v1/reports/{}/G101/{period}", login.unit);
    wait_until("autosave saves the typed values", DEADLINE, || async {
        let (status, answer) = federation
            .call("city-320100", "GET", &report_api, &session, Body::Empty)
            .await;
        status == 200 && answer["draft"]["content"]["values"]["nh3n_emit"] == "0.05"
    })
    .await;
    wait_until("the page says it saved", DEADLINE, || async {
        text_of(&browser, "#autosave-status")
            .await
            .contains("已自动保存")
    })
    .await;

    // A facility row (G103 on the G101 page): a value out of range is shown in its cell.
    type_into(&browser, "#r-0-facility_name", "1号VOCs治理设施").await;
    element(&browser, "#r-0-kind")
        .await
        .select_by_value("voc")
        .await
        .unwrap();
    type_into(&browser, "#r-0-capacity", "12.5").await;
    type_into(&browser, "#r-0-hours", "99999").await;
    click(&browser, "#save").await;
    assert!(!text_of(&browser, "#r-0-hours-problem").await.is_empty());
    assert_eq!(
        element(&browser, "#r-0-hours")
            .await
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    type_into(&browser, "#r-0-hours", "7200").await;
    // "More rows" saves and shows three more blank rows, without script.
    click(&browser, "#more-rows").await;
    element(&browser, "#r-6-facility_name").await;
    assert_eq!(
        element(&browser, "#r-0-hours")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("7200")
    );
    let (_, answer) = federation
        .call("city-320100", "GET", &report_api, &session, Body::Empty)
        .await;
    assert_eq!(
        answer["draft"]["content"]["rows"],
        serde_json::json!([{"facility_name": "1号VOCs治理设施", "kind": "voc", "capacity": "12.5", "hours": "7200"}])
    );

    click(&browser, "#check").await;
    let warning = text_of(&browser, ".indicator #finding-N005").await;
    assert!(warning.contains("提示"), "{warning}");
    // Submitting without explanations is refused at the fields.
    click(&browser, "#submit").await;
    assert!(text_of(&browser, ".alert").await.contains("审核未通过"));
    let explanations = browser
        .find_all(Locator::Css("textarea[name^='x.']"))
        .await
        .unwrap();
    assert!(!explanations.is_empty());
    for textarea in explanations {
        textarea
            .send_keys("本年污水全部回用，化学需氧量排放为零")
            .await
            .unwrap();
    }
    screenshot(&browser, "form").await;
    // The same form on a phone: one column, nothing cut off.
    browser.set_window_size(390, 844).await.unwrap();
    let fits = browser
        .execute(
            "return document.documentElement.scrollWidth <= document.documentElement.clientWidth;",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        fits,
        serde_json::json!(true),
        "the form is wider than a phone"
    );
    screenshot(&browser, "form-phone").await;
    browser.set_window_size(1366, 768).await.unwrap();
    click(&browser, "#submit").await;
    assert_eq!(text_of(&browser, "#report-state").await, "已提交");
    // The copy of record of the version just submitted is listed with its hash.
    assert!(
        text_of(&browser, ".versions")
            .await
            .contains("下载存档副本")
    );
    // The print view of that version, laid out like the paper form.
    click(&browser, "#print-version-1").await;
    assert_eq!(text_of(&browser, "#print-unit-name").await, UNIT_NAME);
    assert_eq!(text_of(&browser, "#print-version").await, "1");
    assert!(
        text_of(&browser, "#print-rows")
            .await
            .contains("1号VOCs治理设施")
    );
    assert!(
        text_of(&browser, "#print-explanations")
            .await
            .contains("全部回用")
    );
    assert!(text_of(&browser, ".signatures").await.contains("填表人"));
    browser.set_window_size(1366, 1800).await.unwrap();
    screenshot(&browser, "print").await;
    browser.set_window_size(1366, 768).await.unwrap();
    click(&browser, "#print-back").await;
    log_out(&browser).await;

    // The city reviewer: queue, rules, approve.
    let (username, password) = initial_login(city, "reviewer");
    log_in(&browser, &city_url, &username, &password, CHANGED_PASSWORD).await;
    assert_eq!(path_of(&browser).await, "/review");
    assert!(text_of(&browser, "#queue-count").await.contains('1'));
    screenshot(&browser, "review-queue").await;
    click(&browser, &format!("#open-{}", login.unit)).await;
    assert_eq!(text_of(&browser, "#rules-run").await, "否");
    click(&browser, "#run-rules").await;
    assert!(text_of(&browser, ".findings").await.contains("N005"));
    assert!(text_of(&browser, ".findings").await.contains("全部回用"));
    // Returned with a comment on one indicator and a deadline.
    element(&browser, "#return-ci-0")
        .await
        .select_by_value("cod_emit")
        .await
        .unwrap();
    type_into(&browser, "#return-ct-0", "请核实化学需氧量排放量<b>").await;
    browser
        .execute(
            "document.getElementById('return-due').value = arguments[0];",
            vec![serde_json::json!("2099-12-31")],
        )
        .await
        .unwrap();
    click(&browser, "#return").await;
    assert_eq!(text_of(&browser, "#report-state").await, "已退回");
    log_out(&browser).await;

    // The unit sees the comment at the field it concerns, corrects and resubmits.
    log_in(
        &browser,
        &city_url,
        &login.username,
        FIRST_PASSWORD_CHANGED,
        FIRST_PASSWORD_CHANGED,
    )
    .await;
    browser
        .goto(&format!("{city_url}{form_path}"))
        .await
        .unwrap();
    assert_eq!(
        text_of(&browser, "#comments-cod_emit").await,
        "审核意见: 请核实化学需氧量排放量<b>"
    );
    assert!(
        text_of(&browser, "#returned-comments")
            .await
            .contains("G101-15")
    );
    type_into(&browser, "#v-cod_emit", "0.3").await;
    click(&browser, "#submit").await;
    assert_eq!(text_of(&browser, "#report-state").await, "已提交");
    log_out(&browser).await;

    // The reviewer sees what changed since version 1, checks and approves.
    log_in(
        &browser,
        &city_url,
        &username,
        CHANGED_PASSWORD,
        CHANGED_PASSWORD,
    )
    .await;
    click(&browser, &format!("#open-{}", login.unit)).await;
    let changes = text_of(&browser, "#changes").await;
    assert!(
        changes.contains("G101-15") && changes.contains("0.3"),
        "{changes}"
    );
    click(&browser, "#run-rules").await;
    screenshot(&browser, "review").await;
    click(&browser, "#approve").await;
    assert_eq!(text_of(&browser, "#report-state").await, "已审核通过");
    log_out(&browser).await;

    // The province receives it, runs the rules and approves.
    let key = ReportKey {
        unit: login.unit.clone(),
        form: "G101".to_string(),
        period: period.clone(),
    };
    let province = federation.node("province-320000");
    wait_until("the province receives the report", DEADLINE, || async {
        province
            .state
            .review
            .received
            .get(&key.to_bytes())
            .unwrap()
            .is_some()
    })
    .await;
    let province_url = province.web_url();
    let (username, password) = initial_login(province, "reviewer");
    log_in(
        &browser,
        &province_url,
        &username,
        &password,
        CHANGED_PASSWORD,
    )
    .await;
    assert_eq!(path_of(&browser).await, "/review");
    click(&browser, &format!("#open-{}", login.unit)).await;
    assert!(text_of(&browser, ".crumbs").await.contains("江苏省"));
    // The province prints the version it received.
    click(&browser, "#print-report").await;
    assert_eq!(text_of(&browser, "#print-version").await, "2");
    assert_eq!(text_of(&browser, "#print-unit-name").await, UNIT_NAME);
    click(&browser, "#print-back").await;
    click(&browser, "#run-rules").await;
    click(&browser, "#approve").await;
    assert_eq!(text_of(&browser, "#report-state").await, "已审核通过");

    // The nation received it.
    let national = federation.node("national");
    wait_until("the nation receives the report", DEADLINE, || async {
        national
            .state
            .review
            .received
            .get(&key.to_bytes())
            .unwrap()
            .is_some()
    })
    .await;
    let at_nation = national
        .state
        .review
        .received
        .get(&key.to_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(at_nation.report.values["cod_emit"], "0.3");
    assert_eq!(at_nation.report.unit_name, UNIT_NAME);

    // English on request, remembered by the cookie.
    browser
        .goto(&format!("{province_url}/review?lang=en"))
        .await
        .unwrap();
    assert_eq!(text_of(&browser, "h1").await, "Reports to review");
    browser
        .goto(&format!("{province_url}/no/such/page"))
        .await
        .unwrap();
    assert_eq!(text_of(&browser, "h1").await, "Page not found");
    browser
        .goto(&format!("{province_url}/review"))
        .await
        .unwrap();
    assert_eq!(text_of(&browser, "#switch-lang").await, "中文");
    log_out(&browser).await;
    assert_eq!(text_of(&browser, "h1").await, "Log in");

    // Two more units report and the city approves them (over the API), so the
    // dashboards have figures to show; then their screenshots.
    let reviewer_token = federation.token_of("city-320100", "reviewer").await;
    for (login, cod) in outcome
        .new_logins
        .iter()
        .filter(|other| other.unit != login.unit)
        .zip(["0.8", "1.75"])
    {
        let (status, answer) = federation
            .log_in("city-320100", &login.username, &login.password)
            .await;
        assert_eq!(status, 200, "{answer}");
        let token = answer["token"].as_str().unwrap().to_string();
        let (status, answer) = federation
            .call(
                "city-320100",
                "POST",
                "/api/v1/session/password",
                &token,
                Body::Json(serde_json::json!({"old_password": login.password, "new_password": FIRST_PASSWORD_CHANGED})),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        let mut values: serde_json::Map<String, serde_json::Value> = WARNED_VALUES
            .iter()
            .map(|(key, value)| (key.to_string(), serde_json::json!(value)))
            .collect();
        values.insert("cod_emit".to_string(), serde_json::json!(cod));
        let report = format!("/api/v1/reports/{}/G101/{period}", login.unit);
        for (method, path, body) in [
            (
                "PUT",
                format!("{report}/draft"),
                serde_json::json!({"values": values}),
            ),
            ("POST", format!("{report}/submit"), serde_json::json!({})),
        ] {
            let (status, answer) = federation
                .call("city-320100", method, &path, &token, Body::Json(body))
                .await;
            assert_eq!(status, 200, "{path}: {answer}");
        }
        for path in [
            format!("{report}/check"),
            format!("/api/v1/review/{}/G101/{period}/approve", login.unit),
        ] {
            let (status, answer) = federation
                .call(
                    "city-320100",
                    "POST",
                    &path,
                    &reviewer_token,
                    Body::Json(serde_json::json!({})),
                )
                .await;
            assert_eq!(status, 200, "{path}: {answer}");
        }
    }
    // Last year's accepted totals, so the data report has a comparison.
    for (unit, cod) in units.iter().zip(["1.2", "0.9", "1.6"]) {
        crate::data_report::seed_2024(&city.state, unit, cod);
    }
    let (username, _) = initial_login(city, "reviewer");
    log_in(
        &browser,
        &city_url,
        &username,
        CHANGED_PASSWORD,
        CHANGED_PASSWORD,
    )
    .await;
    browser
        .goto(&format!(
            "{city_url}/progress?form=G101&period={period}&lang=zh"
        ))
        .await
        .unwrap();
    assert!(text_of(&browser, "h1").await.starts_with("上报进度"));
    assert!(text_of(&browser, "#progress-total").await.contains("100%"));
    screenshot(&browser, "progress").await;
    click(&browser, "a[href^='/totals']").await;
    assert!(text_of(&browser, "#row-total").await.contains("2.85"));
    assert!(
        element(&browser, "#chart-cod_emit svg")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    // A taller window, so the chart below the table is in the picture.
    browser.set_window_size(1366, 1500).await.unwrap();
    screenshot(&browser, "totals").await;
    // The data report, linked from the totals page.
    click(&browser, "#data-report-link").await;
    assert!(
        text_of(&browser, "#report-title")
            .await
            .contains("数据报告")
    );
    let total = text_of(&browser, "#division-cod_emit-total").await;
    assert!(total.contains("2.85") && total.contains('%'), "{total}");
    browser.set_window_size(1000, 1800).await.unwrap();
    screenshot(&browser, "data-report").await;
    browser.set_window_size(1366, 768).await.unwrap();
    click(&browser, "#report-back").await;
    log_out(&browser).await;

    browser.close().await.unwrap();
    drop(driver);
    federation.shutdown().await;
    eprintln!("browser scenario took {:?}", started.elapsed());
}

/// A cookie-signed page POST without the session's CSRF token is refused with
/// a friendly page, even from the same origin; with the token it goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_post_without_the_csrf_token_is_refused() {
    let federation = Federation::start(&["city-320100"]).await;
    let city = federation.node("city-320100");
    let token = federation.token_of("city-320100", "reviewer").await;
    let client = federation.web_client();
    let cookie = format!("zhibao_session={token}");
    let refused = client
        .post(format!("{}/logout", city.web_url()))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("csrf=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let page = refused.text().await.unwrap();
    assert!(page.contains("页面已过期"), "{page}");
    assert!(page.contains("ACC007"), "{page}");

    let queue = client
        .get(format!("{}/review", city.web_url()))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = queue
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let accepted = client
        .post(format!("{}/logout", city.web_url()))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    // Logged out: redirected to the login page.
    assert_eq!(accepted.url().path(), "/login");

    // An admin lands on the federation links page; a reviewer may not see it.
    let admin = federation.token_of("city-320100", "admin").await;
    let links = client
        .get(format!("{}/", city.web_url()))
        .header("cookie", format!("zhibao_session={admin}"))
        .send()
        .await
        .unwrap();
    assert_eq!(links.url().path(), "/federation");
    let page = links.text().await.unwrap();
    assert!(
        page.contains("上下级连接") && page.contains("zhibao://node/province/320000"),
        "{page}"
    );
    let reviewer = federation.token_of("city-320100", "reviewer").await;
    let refused = client
        .get(format!("{}/federation?lang=en", city.web_url()))
        .header("cookie", format!("zhibao_session={reviewer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("not allowed"));
    federation.shutdown().await;
}
