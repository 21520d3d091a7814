//! Logging in as a bureau user: forced first password change, lockout,
//! sessions that survive a restart and end at logout, roles.

use testkit::{CHANGED_PASSWORD, Federation, initial_login};

const PAIR: [&str; 2] = ["province-320000", "city-320100"];

async fn get(
    federation: &Federation,
    node: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut request = federation
        .web_client()
        .get(format!("{}{path}", federation.node(node).web_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bureau_starts_with_one_admin_and_three_reviewers_who_must_change_their_password() {
    let federation = Federation::start(&PAIR).await;
    let file = std::fs::read_to_string(
        federation
            .node("city-320100")
            .state
            .config
            .data_dir
            .join(zhibao_node::node::INITIAL_ACCOUNTS_FILE),
    )
    .unwrap();
    let roles: Vec<&str> = file
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split(' ').next().unwrap())
        .collect();
    assert_eq!(roles, ["admin", "reviewer", "reviewer", "reviewer"]);

    let (username, password) = initial_login(federation.node("city-320100"), "admin");
    let (status, answer) = federation.log_in("city-320100", &username, &password).await;
    assert_eq!(status, 200);
    assert_eq!(answer["must_change_password"], true);
    assert_eq!(answer["role"], "admin");
    let token = answer["token"].as_str().unwrap();
    // Nothing but the password change until it is done.
    let (status, body) = get(
        &federation,
        "city-320100",
        "/api/v1/federation/links",
        Some(token),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("ACC004"))
    );
    let change = |new: &str| {
        federation
            .web_client()
            .post(format!(
                "{}/api/v1/session/password",
                federation.node("city-320100").web_url()
            ))
            .bearer_auth(token)
            .json(&serde_json::json!({"old_password": password, "new_password": new}))
            .send()
    };
    let weak = change("password").await.unwrap();
    assert_eq!(weak.status(), 400);
    let body: serde_json::Value = weak.json().await.unwrap();
    assert_eq!(body["error"]["code"], "ACC006");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("至少"),
        "{body}"
    );
    assert_eq!(change(CHANGED_PASSWORD).await.unwrap().status(), 200);
    let (status, _) = get(
        &federation,
        "city-320100",
        "/api/v1/federation/links",
        Some(token),
    )
    .await;
    assert_eq!(status, 200);
    // The old password no longer works; the new one does.
    assert_eq!(
        federation
            .log_in("city-320100", &username, &password)
            .await
            .0,
        401
    );
    assert_eq!(
        federation
            .log_in("city-320100", &username, CHANGED_PASSWORD)
            .await
            .0,
        200
    );
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_lock_the_account() {
    let federation = Federation::start(&PAIR).await;
    let (username, password) = initial_login(federation.node("city-320100"), "reviewer");
    for _ in 0..4 {
        let (status, body) = federation
            .log_in("city-320100", &username, "Wrong-Passw0rd")
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("ACC001"))
        );
    }
    let (status, body) = federation
        .log_in("city-320100", &username, "Wrong-Passw0rd")
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("ACC002"))
    );
    // Locked: even the right password is refused now.
    assert_eq!(
        federation
            .log_in("city-320100", &username, &password)
            .await
            .0,
        429
    );
    // An unknown user gets the same answer as a wrong password.
    let (status, body) = federation
        .log_in("city-320100", "nobody", "Wrong-Passw0rd")
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("ACC001"))
    );
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_survive_a_restart_and_end_at_logout() {
    let mut federation = Federation::start(&PAIR).await;
    let token = federation.token_of("city-320100", "admin").await;
    federation.restart("city-320100").await;
    assert_eq!(
        get(
            &federation,
            "city-320100",
            "/api/v1/federation/links",
            Some(&token)
        )
        .await
        .0,
        200
    );
    let logout = federation
        .web_client()
        .delete(format!(
            "{}/api/v1/session",
            federation.node("city-320100").web_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 200);
    let (status, body) = get(
        &federation,
        "city-320100",
        "/api/v1/federation/links",
        Some(&token),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("ACC000"))
    );
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_links_page_is_for_admins_only() {
    let federation = Federation::start(&PAIR).await;
    assert_eq!(
        get(&federation, "city-320100", "/api/v1/federation/links", None)
            .await
            .0,
        401
    );
    let reviewer = federation.token_of("city-320100", "reviewer").await;
    let (status, body) = get(
        &federation,
        "city-320100",
        "/api/v1/federation/links",
        Some(&reviewer),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("ACC005"))
    );
    // A token of another node means nothing here.
    let province_admin = federation.token_of("province-320000", "admin").await;
    assert_eq!(
        get(
            &federation,
            "city-320100",
            "/api/v1/federation/links",
            Some(&province_admin)
        )
        .await
        .0,
        401
    );
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_login_bodies_get_a_json_400() {
    let federation = Federation::start(&PAIR).await;
    let response = federation
        .web_client()
        .post(format!(
            "{}/api/v1/session",
            federation.node("city-320100").web_url()
        ))
        .header("content-type", "application/json")
        .body("{\"username\": 5")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "GEN400");
    // An unknown query parameter gets the same JSON envelope, not plain text.
    let reviewer = federation.token_of("city-320100", "reviewer").await;
    let (status, body) = federation
        .call(
            "city-320100",
            "GET",
            "/api/v1/progress?form=G101&bogus=1",
            &reviewer,
            testkit::Body::Empty,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("GEN400")),
        "{body}"
    );
    federation.shutdown().await;
}

// ---- Account administration by a node's admin (issue 5) ----

const CITY: &str = "city-320100";

/// The audit entries of a node with this action.
fn audit_entries(
    federation: &Federation,
    node: &str,
    action: &str,
) -> Vec<zhibao_node::audit::AuditEntry> {
    federation
        .node(node)
        .state
        .audit
        .entries
        .scan_prefix(&[])
        .map(|entry| entry.unwrap())
        // the head is a copy of the last entry under u64::MAX
        .filter(|(key, entry)| key.as_slice() != u64::MAX.to_be_bytes() && entry.action == action)
        .map(|(_, entry)| entry)
        .collect()
}

/// Adds `count` sample units (with enterprise logins) to a city's 2025 registry.
async fn import_sample_units(
    federation: &Federation,
    node: &str,
    count: usize,
    must_change_password: bool,
) -> Vec<zhibao_node::registry::flow::NewUnitLogin> {
    let state = &federation.node(node).state;
    let units = zhibao_node::registry::sample::sample_units(state.config.division, 8, 7)
        .into_iter()
        .take(count)
        .collect::<Vec<_>>();
    zhibao_node::registry::flow::import_units(
        state,
        zhibao_node::registry::PeriodId::parse("2025").unwrap(),
        units,
        "test",
        must_change_password,
        zhibao_node::clock::Timestamp::now_from_system_clock(),
    )
    .await
    .unwrap()
    .new_logins
}

fn code_of(answer: &(u16, serde_json::Value)) -> (u16, Option<&str>) {
    (answer.0, answer.1["error"]["code"].as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_resets_disables_and_enables_the_accounts_of_its_own_node_only() {
    let federation = Federation::start(&["province-320000", CITY, "city-320500"]).await;
    let admin = federation.token_of(CITY, "admin").await;
    let (admin_name, _) = initial_login(federation.node(CITY), "admin");
    let (reviewer_name, _) = initial_login(federation.node(CITY), "reviewer");
    let reviewer = federation.token_of(CITY, "reviewer").await;
    let call = |method: &'static str, path: String, token: String| {
        let federation = &federation;
        async move {
            federation
                .call(CITY, method, &path, &token, testkit::Body::Empty)
                .await
        }
    };

    // The list shows the node's staff with their state; never a hash.
    let listed = call("GET", "/api/v1/accounts".into(), admin.clone()).await;
    assert_eq!(listed.0, 200, "{}", listed.1);
    let accounts = listed.1["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 4, "{}", listed.1);
    let row = accounts
        .iter()
        .find(|account| account["username"] == reviewer_name.as_str())
        .unwrap();
    assert_eq!(row["role"], "reviewer");
    assert_eq!(row["must_change_password"], false);
    assert!(row["last_login_ms"].is_i64(), "{row}");
    assert!(row.get("password_hash").is_none());
    let reviewers = call(
        "GET",
        "/api/v1/accounts?role=reviewer".into(),
        admin.clone(),
    )
    .await;
    assert_eq!(reviewers.1["count"], 3);
    let bad = call("GET", "/api/v1/accounts?role=boss".into(), admin.clone()).await;
    assert_eq!(code_of(&bad), (400, Some("GEN400")));
    assert_eq!(bad.1["error"]["details"]["field"], "role");

    // Locked out by wrong passwords, then reset by the admin.
    for _ in 0..5 {
        federation
            .log_in(CITY, &reviewer_name, "Wrong-Passw0rd")
            .await;
    }
    assert_eq!(
        federation
            .log_in(CITY, &reviewer_name, CHANGED_PASSWORD)
            .await
            .0,
        429
    );
    let reset = call(
        "POST",
        format!("/api/v1/accounts/{reviewer_name}/reset-password"),
        admin.clone(),
    )
    .await;
    assert_eq!(reset.0, 200, "{}", reset.1);
    let new_password = reset.1["password"].as_str().unwrap().to_string();
    assert!(zhibao_node::accounts::check_password_policy(&reviewer_name, &new_password).is_ok());
    // The reviewer's session ended; the old password is refused; the new one works and must be changed.
    let (status, _) = call("GET", "/api/v1/forms".into(), reviewer.clone()).await;
    assert_eq!(status, 401);
    let (status, body) = federation
        .log_in(CITY, &reviewer_name, CHANGED_PASSWORD)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("ACC001"))
    );
    let (status, body) = federation.log_in(CITY, &reviewer_name, &new_password).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["must_change_password"], true);
    let fresh = body["token"].as_str().unwrap().to_string();
    let (status, body) = call("GET", "/api/v1/forms".into(), fresh.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("ACC004"))
    );
    let resets = audit_entries(&federation, CITY, "account.password_reset");
    assert_eq!(resets.len(), 1);
    assert_eq!(
        (resets[0].actor.as_str(), resets[0].subject.as_str()),
        (admin_name.as_str(), reviewer_name.as_str())
    );

    // Disabled: its sessions end and it cannot log in (ACC003); enabled again, it can.
    let disabled = call(
        "POST",
        format!("/api/v1/accounts/{reviewer_name}/disable"),
        admin.clone(),
    )
    .await;
    assert_eq!(disabled.0, 200, "{}", disabled.1);
    assert_eq!(disabled.1["disabled"], true);
    let (status, _) = call("POST", "/api/v1/session/password".into(), fresh.clone()).await;
    assert_eq!(status, 401, "the disabled account's session is gone");
    let (status, body) = federation.log_in(CITY, &reviewer_name, &new_password).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("ACC003"))
    );
    let own = call(
        "POST",
        format!("/api/v1/accounts/{admin_name}/disable"),
        admin.clone(),
    )
    .await;
    assert_eq!(code_of(&own), (409, Some("ACC010")));
    let enabled = call(
        "POST",
        format!("/api/v1/accounts/{reviewer_name}/enable"),
        admin.clone(),
    )
    .await;
    assert_eq!(
        (enabled.0, &enabled.1["disabled"]),
        (200, &serde_json::json!(false))
    );
    assert_eq!(
        federation
            .log_in(CITY, &reviewer_name, &new_password)
            .await
            .0,
        200
    );
    for action in ["account.disable", "account.enable"] {
        assert_eq!(
            audit_entries(&federation, CITY, action).len(),
            1,
            "{action}"
        );
    }

    // Another node's accounts are not this admin's: 404 here, 401 with this token there.
    let other_city_unit = import_sample_units(&federation, "city-320500", 1, true).await;
    let (other_admin, _) = initial_login(federation.node("city-320500"), "admin");
    let (province_reviewer, _) = initial_login(federation.node("province-320000"), "reviewer");
    for username in [
        other_admin.as_str(),
        province_reviewer.as_str(),
        other_city_unit[0].username.as_str(),
        "nobody",
    ] {
        for action in ["reset-password", "disable", "enable"] {
            let refused = call(
                "POST",
                format!("/api/v1/accounts/{username}/{action}"),
                admin.clone(),
            )
            .await;
            assert_eq!(
                code_of(&refused),
                (404, Some("ACC404")),
                "{username} {action}"
            );
        }
    }
    let (status, _) = federation
        .call(
            "city-320500",
            "POST",
            &format!("/api/v1/accounts/{other_admin}/disable"),
            &admin,
            testkit::Body::Empty,
        )
        .await;
    assert_eq!(status, 401);
    let listed = call("GET", "/api/v1/accounts".into(), admin.clone()).await;
    assert!(
        listed.1["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|account| account["username"].as_str().unwrap().contains("320100")),
        "{}",
        listed.1
    );
    // A reviewer administers nothing.
    let reviewer_now = federation
        .log_in(CITY, &reviewer_name, &new_password)
        .await
        .1["token"]
        .as_str()
        .unwrap()
        .to_string();
    let _ = federation
        .call(
            CITY,
            "POST",
            "/api/v1/session/password",
            &reviewer_now,
            testkit::Body::Json(
                serde_json::json!({"old_password": new_password, "new_password": CHANGED_PASSWORD}),
            ),
        )
        .await;
    let refused = call(
        "POST",
        format!("/api/v1/accounts/{admin_name}/reset-password"),
        reviewer_now,
    )
    .await;
    assert_eq!(code_of(&refused), (403, Some("ACC005")));
    federation.shutdown().await;
}

/// Downloads the account export; answers the status, the passwords-reset header and the rows.
async fn export(
    federation: &Federation,
    token: &str,
    query: &str,
) -> (u16, String, Vec<Vec<String>>) {
    use calamine::Reader;
    let response = federation
        .web_client()
        .get(format!(
            "{}/api/v1/accounts/export.xlsx{query}",
            federation.node(CITY).web_url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let reset = response
        .headers()
        .get("x-zhibao-passwords-reset")
        .map(|value| value.to_str().unwrap().to_string())
        .unwrap_or_default();
    if status != 200 {
        return (status, reset, Vec::new());
    }
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let bytes = response.bytes().await.unwrap();
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = workbook.sheet_names()[0].clone();
    let range = workbook.worksheet_range(&sheet).unwrap();
    let rows = range
        .rows()
        .map(|row| row.iter().map(ToString::to_string).collect())
        .collect();
    (status, reset, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_lists_the_logins_and_hands_out_fresh_initial_passwords_once() {
    let federation = Federation::start(&[CITY]).await;
    let admin = federation.token_of(CITY, "admin").await;
    let logins = import_sample_units(&federation, CITY, 3, true).await;
    // One unit has already changed its password: it gets no new one.
    let settled = &logins[0];
    let token = federation
        .log_in(CITY, &settled.username, &settled.password)
        .await
        .1["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = federation
        .call(
            CITY,
            "POST",
            "/api/v1/session/password",
            &token,
            testkit::Body::Json(
                serde_json::json!({"old_password": settled.password, "new_password": CHANGED_PASSWORD}),
            ),
        )
        .await;
    assert_eq!(status, 200);

    // Without new passwords: names, roles, codes; no password.
    let (status, reset, rows) = export(&federation, &admin, "?role=enterprise").await;
    assert_eq!((status, reset.as_str()), (200, "0"));
    assert_eq!(rows[0][0], "用户名");
    assert_eq!(rows[1][0], "Username");
    assert_eq!(rows.len(), 2 + 3, "{rows:?}");
    for row in &rows[2..] {
        assert!(row[1].contains("enterprise"), "{row:?}");
        assert_eq!(row[0], row[2], "an enterprise logs in with its credit code");
        assert!(!row[3].is_empty(), "the unit name: {row:?}");
        assert_eq!(
            row[4], "",
            "no password without with_new_passwords: {row:?}"
        );
    }
    // With new passwords: only the two still due get one, and it works; the old ones do not.
    let (status, reset, rows) = export(
        &federation,
        &admin,
        "?role=enterprise&with_new_passwords=true",
    )
    .await;
    assert_eq!((status, reset.as_str()), (200, "2"));
    for login in &logins {
        let row = rows.iter().find(|row| row[0] == login.username).unwrap();
        if login.username == settled.username {
            assert_eq!(row[4], "", "{row:?}");
            continue;
        }
        assert!(!row[4].is_empty(), "{row:?}");
        assert_eq!(
            federation
                .log_in(CITY, &login.username, &login.password)
                .await
                .0,
            401,
            "the old initial password is gone"
        );
        let (status, body) = federation.log_in(CITY, &login.username, &row[4]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["must_change_password"], true);
    }
    // Filtered by unit; the whole list includes the staff.
    let (_, _, rows) = export(&federation, &admin, &format!("?unit={}", settled.unit)).await;
    assert_eq!(rows.len(), 3);
    let (_, _, rows) = export(&federation, &admin, "").await;
    assert_eq!(rows.len(), 2 + 4 + 3);
    // Every export and every reset is in the audit log, with who and how many.
    let (admin_name, _) = initial_login(federation.node(CITY), "admin");
    let exports = audit_entries(&federation, CITY, "accounts.export");
    assert_eq!(exports.len(), 4);
    assert!(exports.iter().all(|entry| entry.actor == admin_name));
    assert!(
        exports[1]
            .subject
            .contains("3 accounts, 2 new initial passwords"),
        "{}",
        exports[1].subject
    );
    assert_eq!(
        audit_entries(&federation, CITY, "account.password_reset").len(),
        2
    );
    // Not for reviewers.
    let reviewer = federation.token_of(CITY, "reviewer").await;
    let (status, _, _) = export(&federation, &reviewer, "").await;
    assert_eq!(status, 403);
    federation.shutdown().await;
}

/// A browser-like page client: the session cookie, same-origin requests.
struct Browser<'a> {
    federation: &'a Federation,
    cookie: String,
}

impl Browser<'_> {
    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .federation
            .web_client()
            .get(format!("{}{path}", self.federation.node(CITY).web_url()))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Posts a form with the page's CSRF token (reqwest follows the 303).
    async fn post(&self, path: &str, page: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let csrf = between(page, "name=\"csrf\" value=\"", "\"");
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        let response = self
            .federation
            .web_client()
            .post(format!("{}{path}", self.federation.node(CITY).web_url()))
            .header("cookie", &self.cookie)
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&form))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

/// `application/x-www-form-urlencoded` (reqwest is built without its form feature).
pub(crate) fn form_body(fields: &[(&str, &str)]) -> String {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accounts_and_registry_pages_act_through_the_same_services() {
    let federation = Federation::start(&[CITY]).await;
    let admin = Browser {
        federation: &federation,
        cookie: format!(
            "zhibao_session={}",
            federation.token_of(CITY, "admin").await
        ),
    };
    let reviewer = Browser {
        federation: &federation,
        cookie: format!(
            "zhibao_session={}",
            federation.token_of(CITY, "reviewer").await
        ),
    };
    let (admin_name, _) = initial_login(federation.node(CITY), "admin");
    let target = "reviewer320100-2";

    // The admin's page lists the node's accounts; the nav offers accounts and registry.
    let (status, page) = admin.get("/accounts?lang=en").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(target) && page.contains("href=\"/accounts\""),
        "{page}"
    );
    assert!(page.contains("href=\"/registry\""));
    // Reset shows the new password once; it logs in and must be changed.
    let (status, answer) = admin
        .post(
            "/accounts",
            &page,
            &[("username", target), ("action", "reset")],
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let password = between(&answer, "id=\"new-password-value\">", "<");
    let (status, body) = federation.log_in(CITY, target, &password).await;
    assert_eq!(
        (status, &body["must_change_password"]),
        (200, &serde_json::json!(true))
    );
    // Disable, then the login is refused; disabling oneself is refused on the page.
    let (status, answer) = admin
        .post(
            "/accounts",
            &page,
            &[("username", target), ("action", "disable")],
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("账户已停用"), "{answer}");
    assert_eq!(federation.log_in(CITY, target, &password).await.0, 403);
    let (status, answer) = admin
        .post(
            "/accounts",
            &page,
            &[("username", &admin_name), ("action", "disable")],
        )
        .await;
    assert_eq!(status, 409, "{answer}");
    // Without the CSRF token nothing happens.
    let forged = federation
        .web_client()
        .post(format!("{}/accounts", federation.node(CITY).web_url()))
        .header("cookie", &admin.cookie)
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("username", target), ("action", "enable")]))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(federation.log_in(CITY, target, &password).await.0, 403);

    // A reviewer has no accounts page and no such link, but has the registry.
    let (status, page) = reviewer.get("/accounts").await;
    assert_eq!(status, 403, "{page}");
    let (status, page) = reviewer.get("/review").await;
    assert_eq!(status, 200);
    assert!(!page.contains("href=\"/accounts\"") && page.contains("href=\"/registry\""));

    // The registry page searches; the admin confirms a suggested link there.
    let state = &federation.node(CITY).state;
    let now = zhibao_node::clock::Timestamp::now_from_system_clock();
    let old_unit =
        zhibao_node::registry::sample::sample_units(state.config.division, 1, 5).remove(0);
    let new_code = testkit::valid_credit_code(&old_unit.county.to_string(), 4242);
    let new_unit = zhibao_node::registry::SurveyUnit {
        code: zhibao_node::registry::UnitCode::parse(&new_code).unwrap(),
        ..old_unit.clone()
    };
    for (period, unit) in [("2024", old_unit.clone()), ("2025", new_unit)] {
        zhibao_node::registry::flow::import_units(
            state,
            zhibao_node::registry::PeriodId::parse(period).unwrap(),
            vec![unit],
            "test",
            false,
            now,
        )
        .await
        .unwrap();
    }
    let search: String = old_unit.name.chars().skip(2).take(4).collect();
    let (status, page) = reviewer
        .get(&format!("/registry?q={search}&status=active"))
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&new_code), "{page}");
    assert!(
        !page.contains("/registry/lineage"),
        "reviewers see no confirm button"
    );
    let (status, page) = admin.get("/registry").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("confirm-{new_code}-{}", old_unit.code)),
        "{page}"
    );
    let (status, answer) = admin
        .post(
            "/registry/lineage",
            &page,
            &[
                ("current", &new_code),
                ("previous", old_unit.code.as_str()),
                ("kind", "renamed"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("id=\"no-suggestions\""), "{answer}");
    assert_eq!(
        state
            .registry
            .links_to(&zhibao_node::registry::UnitCode::parse(&new_code).unwrap())
            .unwrap()
            .len(),
        1
    );
    federation.shutdown().await;
}
