//! The registry pages (issue 5, item 9) driven like a browser over real
//! HTTPS, with the session cookie and the pages' CSRF tokens: a city admin
//! imports a CSV (checked first, a bad row shown and nothing stored, then a
//! clean file committed with its new logins shown once), suspends and
//! resumes a unit from its page, issues and revokes its certificate; a
//! county user proposes a change that the city admin confirms; an
//! enterprise user is refused with the friendly page; a post without the
//! CSRF token changes nothing.

use serde_json::json;
use testkit::{Body, Federation, valid_credit_code};
use zhibao_node::registry::{PeriodId, UnitCode, UnitStatus};

const CITY: &str = "city-320100";
const PAIR: [&str; 2] = ["province-320000", CITY];
const HEADER: &str =
    "统一社会信用代码,单位名称,详细地址,行政区划代码,行业代码,控制类别,重点行业,联系人,联系电话";

/// A browser-like page client of the city: the session cookie, same-origin requests.
struct Browser<'a> {
    federation: &'a Federation,
    cookie: String,
}

impl Browser<'_> {
    fn with_token<'a>(federation: &'a Federation, token: &str) -> Browser<'a> {
        Browser {
            federation,
            cookie: format!("zhibao_session={token}"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.federation.node(CITY).web_url())
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .federation
            .web_client()
            .get(self.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Posts a form with the CSRF token of `page` (reqwest follows the 303).
    async fn post(&self, path: &str, page: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let csrf = csrf_of(page);
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post_raw(path, &form).await
    }

    /// Posts a form as given (no token added).
    async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let response = self
            .federation
            .web_client()
            .post(self.url(path))
            .header("cookie", &self.cookie)
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(form))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Posts the import form as multipart: the token, the period, the mode and the file.
    async fn upload(&self, page: &str, period: &str, mode: &str, file: &str) -> (u16, String) {
        let boundary = "zhibao-test-boundary-7d3f";
        let mut body = String::new();
        for (name, value) in [
            ("csrf", csrf_of(page).as_str()),
            ("period", period),
            ("mode", mode),
        ] {
            body.push_str(&format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"units.csv\"\r\ncontent-type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n"
        ));
        let response = self
            .federation
            .web_client()
            .post(self.url("/registry/import"))
            .header("cookie", &self.cookie)
            .header("sec-fetch-site", "same-origin")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

fn csrf_of(page: &str) -> String {
    between(page, "name=\"csrf\" value=\"", "\"")
}

/// `application/x-www-form-urlencoded` (reqwest is built without its form feature).
fn form_body(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(byte).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {text}"))
        + start.len();
    let to = text[from..].find(end).unwrap() + from;
    text[from..to].to_string()
}

fn csv_line(code: &str, name: &str) -> String {
    format!("{code},{name},南京市玄武区工业路18号,320102,26,国控,是,王伟,13912345678")
}

fn period_2025() -> PeriodId {
    PeriodId::parse("2025").unwrap()
}

fn status_of(federation: &Federation, code: &str) -> UnitStatus {
    federation
        .node(CITY)
        .state
        .registry
        .entry(period_2025(), &UnitCode::parse(code).unwrap())
        .unwrap()
        .unwrap()
        .unit
        .status
}

/// Active sample units of the city, imported into its 2025 registry, with their logins.
async fn sample_units(
    federation: &Federation,
) -> (
    Vec<zhibao_node::registry::SurveyUnit>,
    Vec<zhibao_node::registry::flow::NewUnitLogin>,
) {
    let state = &federation.node(CITY).state;
    let units = zhibao_node::registry::sample::sample_units(state.config.division, 40, 5)
        .into_iter()
        .filter(|unit| matches!(unit.status, UnitStatus::Active))
        .collect::<Vec<_>>();
    let logins = zhibao_node::registry::flow::import_units(
        state,
        period_2025(),
        units.clone(),
        "test",
        false,
        zhibao_node::clock::Timestamp::now_from_system_clock(),
    )
    .await
    .unwrap()
    .new_logins;
    (units, logins)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_admin_checks_then_imports_a_csv_from_the_page() {
    let federation = Federation::start(&PAIR).await;
    let admin = Browser::with_token(&federation, &federation.token_of(CITY, "admin").await);
    let (status, registry) = admin.get("/registry").await;
    assert_eq!(status, 200, "{registry}");
    assert!(registry.contains("href=\"/registry/import\""), "{registry}");
    let (status, page) = admin.get("/registry/import").await;
    assert_eq!(status, 200, "{page}");
    let period = between(&page, "id=\"import-period\" name=\"period\" value=\"", "\"");
    assert_eq!(period, "2025");

    let good = valid_credit_code("320102", 501);
    let other = valid_credit_code("320102", 502);
    let bad_file = format!(
        "{HEADER}\n{}\n{}\n",
        csv_line(&good, "玄武恒盛化工有限公司"),
        csv_line("91320115MA1N2G7L00", "江宁宏达热电有限公司"),
    );
    // Check only: the bad row is named with its column, value and problem.
    let (status, answer) = admin.upload(&page, &period, "check", &bad_file).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("id=\"rows-read\">2<"), "{answer}");
    assert!(answer.contains("id=\"rows-with-problems\">1<"), "{answer}");
    assert!(answer.contains("91320115MA1N2G7L00"), "{answer}");
    assert!(answer.contains("校验位错误"), "{answer}");
    // "Only if all valid": nothing is written.
    let (status, answer) = admin
        .upload(&page, &period, "all_or_nothing", &bad_file)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("未导入任何内容"), "{answer}");
    let state = &federation.node(CITY).state;
    assert!(state.registry.list(period_2025(), None).unwrap().is_empty());

    // A clean file is imported; the new logins are shown once.
    let good_file = format!(
        "{HEADER}\n{}\n{}\n",
        csv_line(&good, "玄武恒盛化工有限公司"),
        csv_line(&other, "玄武宏达热电有限公司"),
    );
    let (status, answer) = admin
        .upload(&page, &period, "all_or_nothing", &good_file)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("id=\"import-written\""), "{answer}");
    assert!(answer.contains("id=\"new-logins\""), "{answer}");
    let password = between(&answer, "class=\"new-login-password\">", "<");
    assert_eq!(state.registry.list(period_2025(), None).unwrap().len(), 2);
    let (status, session) = federation.log_in(CITY, &good, &password).await;
    assert_eq!(status, 200, "{session}");

    // Without the CSRF token the upload is refused.
    let (status, _) = admin
        .upload(
            "name=\"csrf\" value=\"forged\"",
            &period,
            "check",
            &good_file,
        )
        .await;
    assert_eq!(status, 403);
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_admin_changes_a_unit_and_its_certificates_from_the_unit_page() {
    let federation = Federation::start(&PAIR).await;
    let (units, logins) = sample_units(&federation).await;
    let code = units[0].code.as_str().to_string();
    let admin = Browser::with_token(&federation, &federation.token_of(CITY, "admin").await);
    let reviewer = Browser::with_token(&federation, &federation.token_of(CITY, "reviewer").await);

    // The search links the unit's page.
    let (status, page) = reviewer.get(&format!("/registry?q={code}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&format!("href=\"/registry/units/{code}\"")),
        "{page}"
    );
    // A reviewer reads the entry, without the forms.
    let (status, page) = reviewer.get(&format!("/registry/units/{code}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&units[0].name) && !page.contains("id=\"form-suspend\""));

    let path = format!("/registry/units/{code}/change");
    let (status, page) = admin.get(&format!("/registry/units/{code}")).await;
    assert_eq!(status, 200, "{page}");
    // Suspend with a reason; the status shows it.
    let (status, page) = admin
        .post(
            &path,
            &page,
            &[
                ("period", "2025"),
                ("action", "suspend"),
                ("reason", "stopped_for_remediation"),
                ("other_reason", ""),
                ("why", "环保督察停产整治"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("变更已保存"), "{page}");
    assert!(
        between(&page, "id=\"unit-status\">", "<").contains("停产整治"),
        "{page}"
    );
    assert!(matches!(
        status_of(&federation, &code),
        UnitStatus::Suspended { .. }
    ));
    // A refusal is shown in the page language (no reason given), nothing changes.
    let (status, refused) = admin
        .post(
            &format!("{path}?lang=en"),
            &page,
            &[("period", "2025"), ("action", "resume"), ("why", " ")],
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused.contains("give the reason for the change"),
        "{refused}"
    );
    // Without the CSRF token nothing happens.
    let (status, _) = admin
        .post_raw(
            &path,
            &[("period", "2025"), ("action", "resume"), ("why", "复产")],
        )
        .await;
    assert_eq!(status, 403);
    assert!(matches!(
        status_of(&federation, &code),
        UnitStatus::Suspended { .. }
    ));
    // Resume; the history shows both changes with who and why.
    let (status, page) = admin
        .post(
            &path,
            &page,
            &[
                ("period", "2025"),
                ("action", "resume"),
                ("why", "整治完成复产"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(status_of(&federation, &code), UnitStatus::Active);
    let history = between(&page, "id=\"unit-history\">", "</table>");
    for text in [
        "停报",
        "环保督察停产整治",
        "恢复报送",
        "整治完成复产",
        "admin",
    ] {
        assert!(history.contains(text), "{text} in {history}");
    }

    // A certificate is issued: its key is shown once, with the warning.
    let (status, issued) = admin
        .post(&format!("/registry/units/{code}/certificate"), &page, &[])
        .await;
    assert_eq!(status, 200, "{issued}");
    assert!(issued.contains("id=\"certificate-warning\""), "{issued}");
    assert!(issued.contains("PRIVATE KEY"), "{issued}");
    assert!(issued.contains("BEGIN CERTIFICATE"), "{issued}");
    let (_, page) = admin.get(&format!("/registry/units/{code}")).await;
    assert!(page.contains("id=\"revoke-certificates\""), "{page}");
    assert!(
        !page.contains("PRIVATE KEY"),
        "the key is never shown again"
    );
    let (status, page) = admin
        .post(
            &format!("/registry/units/{code}/certificate/revoke"),
            &page,
            &[],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("证书已吊销"), "{page}");
    assert!(page.contains("class=\"certificate-revoked\""), "{page}");
    assert!(!page.contains("id=\"revoke-certificates\""), "{page}");
    let records = federation
        .node(CITY)
        .state
        .unit_certificates
        .as_ref()
        .unwrap()
        .of_unit(&code)
        .unwrap();
    assert!(records.len() == 1 && records[0].revoked_at_ms.is_some());

    // An enterprise user gets the friendly refusal page on every registry page.
    let login = &logins[0];
    let (status, session) = federation
        .log_in(CITY, &login.username, &login.password)
        .await;
    assert_eq!(status, 200, "{session}");
    let enterprise = Browser::with_token(&federation, session["token"].as_str().unwrap());
    for page_path in [
        format!("/registry/units/{code}"),
        "/registry/import".to_string(),
        "/registry/county".to_string(),
        "/registry/proposals".to_string(),
    ] {
        let (status, page) = enterprise.get(&page_path).await;
        assert_eq!(status, 403, "{page_path}: {page}");
        assert!(
            page.contains("<html") && page.contains("href=\"/"),
            "{page}"
        );
    }

    // Closing needs the confirmation box; then the unit is closed and its forms are gone.
    let other = units[1].code.as_str();
    let path = format!("/registry/units/{other}/change");
    let (_, page) = admin.get(&format!("/registry/units/{other}")).await;
    let close = [("period", "2025"), ("action", "close"), ("why", "企业注销")];
    let (status, refused) = admin.post(&path, &page, &close).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.contains("关闭单位前请勾选确认"), "{refused}");
    let (status, page) = admin
        .post(
            &path,
            &page,
            &[close.as_slice(), &[("confirm_close", "yes")]].concat(),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(status_of(&federation, other), UnitStatus::Closed);
    assert!(!page.contains("id=\"form-close\""), "{page}");
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_proposes_on_its_page_and_the_city_admin_confirms_on_the_proposals_page() {
    let federation = Federation::start(&PAIR).await;
    let (units, _) = sample_units(&federation).await;
    let county = units[0].county.to_string();
    let in_county: Vec<_> = units
        .iter()
        .filter(|unit| unit.county.to_string() == county)
        .collect();
    assert!(in_county.len() >= 2, "two units in {county}");
    let (first, second) = (in_county[0].code.as_str(), in_county[1].code.as_str());
    let key_change = if in_county[1].key_industry {
        "key_industry_out"
    } else {
        "key_industry_in"
    };
    let admin_token = federation.token_of(CITY, "admin").await;
    let admin = Browser::with_token(&federation, &admin_token);

    // The admin makes a county user, who changes the initial password.
    let (status, made) = federation
        .call(
            CITY,
            "POST",
            "/api/v1/accounts",
            &admin_token,
            Body::Json(json!({"username": "countyuser", "role": "county", "county": county})),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let password = made["password"].as_str().unwrap();
    let (_, session) = federation.log_in(CITY, "countyuser", password).await;
    let first_token = session["token"].as_str().unwrap();
    let change =
        Body::Json(json!({"old_password": password, "new_password": testkit::CHANGED_PASSWORD}));
    let (status, _) = federation
        .call(
            CITY,
            "POST",
            "/api/v1/session/password",
            first_token,
            change,
        )
        .await;
    assert_eq!(status, 200);
    let (_, session) = federation
        .log_in(CITY, "countyuser", testkit::CHANGED_PASSWORD)
        .await;
    let county_user = Browser::with_token(&federation, session["token"].as_str().unwrap());

    // The county's page: its units with a form each; the nav leads there.
    let (status, page) = county_user.get("/registry/county").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("href=\"/registry/county\""), "{page}");
    assert!(page.contains(&format!("id=\"propose-{first}\"")), "{page}");
    let (status, page) = county_user
        .post(
            "/registry/county",
            &page,
            &[
                ("period", "2025"),
                ("unit", first),
                ("action", "suspend"),
                ("reason", "seasonal_stop"),
                ("why", "冬季停产"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("已上报市级"), "{page}");
    assert!(page.contains("class=\"proposal-pending\""), "{page}");
    // A refused proposal (resuming a unit not suspended) says why; nothing is stored.
    let (status, refused) = county_user
        .post(
            "/registry/county",
            &page,
            &[
                ("period", "2025"),
                ("unit", second),
                ("action", "resume"),
                ("why", "复产"),
            ],
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused.contains("该单位未停报"), "{refused}");
    let (status, page) = county_user
        .post(
            "/registry/county",
            &page,
            &[
                ("period", "2025"),
                ("unit", second),
                ("action", key_change),
                ("why", "不再列入"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");

    // The city admin confirms the first and rejects the second with a note.
    let (status, page) = admin.get("/registry/proposals").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("href=\"/registry/proposals\""), "{page}");
    let first_id = between(&page, &format!("id=\"confirm-{county}-2025-{first}"), "\"");
    let first_id = format!("{county}-2025-{first}{first_id}");
    let second_id = between(&page, &format!("id=\"reject-{county}-2025-{second}"), "\"");
    let second_id = format!("{county}-2025-{second}{second_id}");
    let (status, page) = admin
        .post(
            &format!("/registry/proposals/{first_id}"),
            &page,
            &[("decision", "confirm"), ("note", "")],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("已确认，名录已修改"), "{page}");
    assert!(!page.contains(&format!("confirm-{first_id}")), "{page}");
    assert!(matches!(
        status_of(&federation, first),
        UnitStatus::Suspended { .. }
    ));
    let (status, refused) = admin
        .post(
            &format!("/registry/proposals/{second_id}"),
            &page,
            &[("decision", "reject"), ("note", "")],
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.contains("退回县级上报时请说明原因"), "{refused}");
    let (status, page) = admin
        .post(
            &format!("/registry/proposals/{second_id}"),
            &page,
            &[("decision", "reject"), ("note", "仍属重点行业")],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"no-proposals\""), "{page}");

    // The county sees both decisions, with the city's note.
    let (_, page) = county_user.get("/registry/county").await;
    assert!(page.contains("class=\"proposal-confirmed\""), "{page}");
    assert!(
        page.contains("class=\"proposal-rejected\"") && page.contains("仍属重点行业"),
        "{page}"
    );
    // A county user has no proposals page of the city.
    let (status, _) = county_user.get("/registry/proposals").await;
    assert_eq!(status, 403);
    federation.shutdown().await;
}
