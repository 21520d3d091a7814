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
