//! Unit login certificates (R9, R17, R30) over real TLS: a city admin issues
//! a unit a client certificate; the unit logs in on the city's
//! certificate-login address with that certificate and its password; the
//! certificate never opens another account; without a certificate, or with
//! a revoked one, the handshake is refused; closing the unit revokes its
//! certificate and the closure reaches the province. Registry changes
//! (suspend with a reason, resume) are checked on the way.

use std::path::Path;

use serde_json::{Value, json};
use testkit::{Body, DEADLINE, Federation, client_trusting, wait_until};
use zhibao_node::clock::Timestamp;

const CITY: &str = "city-320100";
const PROVINCE: &str = "province-320000";

struct Login {
    unit: String,
    username: String,
    password: String,
}

async fn units_with_passwords(federation: &Federation, count: usize) -> Vec<Login> {
    let state = &federation.node(CITY).state;
    let units = zhibao_node::registry::sample::sample_units(state.config.division, count, 23)
        .into_iter()
        .filter(|unit| matches!(unit.status, zhibao_node::registry::UnitStatus::Active))
        .collect::<Vec<_>>();
    let outcome = zhibao_node::registry::flow::import_units(
        state,
        zhibao_node::registry::PeriodId::parse("2025").unwrap(),
        units,
        "test",
        false,
        Timestamp::now_from_system_clock(),
    )
    .await
    .unwrap();
    outcome
        .new_logins
        .into_iter()
        .map(|login| Login {
            unit: login.unit,
            username: login.username,
            password: login.password,
        })
        .collect()
}

/// A client presenting the certificate in `answer` (written under `dir`).
fn client_with_certificate(federation: &Federation, dir: &Path, answer: &Value) -> reqwest::Client {
    let serial = answer["serial"].as_u64().unwrap();
    let cert = dir.join(format!("unit-{serial}.pem"));
    let key = dir.join(format!("unit-{serial}.key"));
    std::fs::write(&cert, answer["certificate_pem"].as_str().unwrap()).unwrap();
    std::fs::write(&key, answer["private_key_pem"].as_str().unwrap()).unwrap();
    client_trusting(&federation.ca_pem(), Some((&cert, &key)))
}

/// `POST /api/v1/session` on the certificate-login address; `None` when TLS refused us.
async fn log_in_with(
    client: &reqwest::Client,
    url: &str,
    username: &str,
    password: &str,
) -> Option<(u16, Value)> {
    let response = client
        .post(format!("{url}/api/v1/session"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().await.unwrap_or(Value::Null)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_logs_in_with_its_certificate_and_a_closed_unit_cannot() {
    let federation = Federation::start(&[PROVINCE, CITY]).await;
    let login_url = federation
        .node(CITY)
        .certificate_login_url()
        .expect("a demo city offers certificate login");
    assert!(federation.node(PROVINCE).certificate_login_url().is_none());
    let logins = units_with_passwords(&federation, 3).await;
    let (first, second) = (&logins[0], &logins[1]);
    let admin = federation.token_of(CITY, "admin").await;
    let dir = federation.dir();

    // Issued by the city admin; the key is in the answer only.
    let path = format!("/api/v1/units/{}/certificate", first.unit);
    let (status, issued) = federation
        .call(CITY, "POST", &path, &admin, Body::Empty)
        .await;
    assert_eq!(status, 200, "{issued}");
    assert!(
        issued["certificate_pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    let with_certificate = client_with_certificate(&federation, &dir, &issued);

    // Certificate + own password: in. Another unit's account, or a bureau account: refused.
    let (status, answer) = log_in_with(
        &with_certificate,
        &login_url,
        &first.username,
        &first.password,
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["unit"], first.unit.as_str());
    let (status, answer) = log_in_with(
        &with_certificate,
        &login_url,
        &second.username,
        &second.password,
    )
    .await
    .unwrap();
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("ACC011")),
        "{answer}"
    );
    let (admin_name, _) = testkit::initial_login(federation.node(CITY), "admin");
    let (status, _) = log_in_with(
        &with_certificate,
        &login_url,
        &admin_name,
        testkit::CHANGED_PASSWORD,
    )
    .await
    .unwrap();
    assert_eq!(status, 403);
    // Without a certificate the certificate-login address refuses the handshake;
    // the ordinary address never asks for one.
    let without = federation.web_client();
    assert!(
        log_in_with(&without, &login_url, &first.username, &first.password)
            .await
            .is_none()
    );
    let (status, _) = federation
        .log_in(CITY, &first.username, &first.password)
        .await;
    assert_eq!(status, 200);

    // Revoked (a lost key): a new connection with it is refused at once.
    let (status, answer) = federation
        .call(CITY, "DELETE", &path, &admin, Body::Empty)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["revoked"], json!([issued["serial"]]));
    let after_revocation = client_with_certificate(&federation, &dir, &issued);
    assert!(
        log_in_with(
            &after_revocation,
            &login_url,
            &first.username,
            &first.password
        )
        .await
        .is_none()
    );
    let (status, answer) = federation
        .call(CITY, "DELETE", &path, &admin, Body::Empty)
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("CRT002"))
    );

    // A new certificate, then the unit is closed: revoked with it, and the province learns the closure.
    let (status, reissued) = federation
        .call(CITY, "POST", &path, &admin, Body::Empty)
        .await;
    assert_eq!(status, 200, "{reissued}");
    assert_ne!(reissued["serial"], issued["serial"]);
    let fresh = client_with_certificate(&federation, &dir, &reissued);
    assert_eq!(
        log_in_with(&fresh, &login_url, &first.username, &first.password)
            .await
            .unwrap()
            .0,
        200
    );
    let changes = format!("/api/v1/units/{}/changes", first.unit);
    let close =
        Body::Json(json!({"period": "2025", "change": {"change": "close"}, "why": "企业注销"}));
    let (status, answer) = federation.call(CITY, "POST", &changes, &admin, close).await;
    assert_eq!(status, 200, "{answer}");
    let closed_client = client_with_certificate(&federation, &dir, &reissued);
    assert!(
        log_in_with(&closed_client, &login_url, &first.username, &first.password)
            .await
            .is_none()
    );
    let (status, listed) = federation
        .call(
            CITY,
            "GET",
            &format!("/api/v1/units/{}/certificates", first.unit),
            &admin,
            Body::Empty,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        listed["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|record| record["revoked_at_ms"].is_i64())
    );
    let (status, answer) = federation
        .call(CITY, "POST", &path, &admin, Body::Empty)
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("CRT001")),
        "{answer}"
    );
    let province_admin = federation.token_of(PROVINCE, "admin").await;
    let unit_at_province = format!("/api/v1/units/{}?period=2025", first.unit);
    wait_until(
        "the province learns the unit is closed",
        DEADLINE,
        || async {
            let (status, answer) = federation
                .call(
                    PROVINCE,
                    "GET",
                    &unit_at_province,
                    &province_admin,
                    Body::Empty,
                )
                .await;
            status == 200 && answer["status"] == "closed"
        },
    )
    .await;

    // Suspension with its reason, resumption; a change that changes nothing is refused.
    let changes = format!("/api/v1/units/{}/changes", second.unit);
    let suspend = Body::Json(
        json!({"period": "2025", "change": {"change": "suspend", "reason": "seasonal_stop"}, "why": "季节性停产"}),
    );
    let (status, answer) = federation
        .call(CITY, "POST", &changes, &admin, suspend)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"]["status"], "suspended", "{answer}");
    // The province follows the city's registry: suspended, with the reason.
    let second_at_province = format!("/api/v1/units/{}?period=2025", second.unit);
    wait_until(
        "the province learns the suspension and its reason",
        DEADLINE,
        || async {
            let (_, answer) = federation
                .call(
                    PROVINCE,
                    "GET",
                    &second_at_province,
                    &province_admin,
                    Body::Empty,
                )
                .await;
            answer["status"] == "suspended" && answer["suspension_reason"] == "季节性停产"
        },
    )
    .await;
    let resume =
        Body::Json(json!({"period": "2025", "change": {"change": "resume"}, "why": "恢复生产"}));
    assert_eq!(
        federation
            .call(CITY, "POST", &changes, &admin, resume.clone())
            .await
            .0,
        200
    );
    let (status, answer) = federation
        .call(CITY, "POST", &changes, &admin, resume)
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("REG003")),
        "{answer}"
    );
    wait_until("the province learns the resumption", DEADLINE, || async {
        let (_, answer) = federation
            .call(
                PROVINCE,
                "GET",
                &second_at_province,
                &province_admin,
                Body::Empty,
            )
            .await;
        answer["status"] == "active"
    })
    .await;
    let unknown =
        Body::Json(json!({"period": "2025", "change": {"change": "explode"}, "why": "x"}));
    assert_eq!(
        federation
            .call(CITY, "POST", &changes, &admin, unknown)
            .await
            .0,
        400
    );

    // Who may: not an enterprise, not a reviewer for changes, not a province.
    let (_, unit_session) = federation
        .log_in(CITY, &second.username, &second.password)
        .await;
    let unit_token = unit_session["token"].as_str().unwrap().to_string();
    let second_certificate = format!("/api/v1/units/{}/certificate", second.unit);
    assert_eq!(
        federation
            .call(CITY, "POST", &second_certificate, &unit_token, Body::Empty)
            .await
            .0,
        403
    );
    let reviewer = federation.token_of(CITY, "reviewer").await;
    assert_eq!(
        federation
            .call(CITY, "POST", &second_certificate, &reviewer, Body::Empty)
            .await
            .0,
        403
    );
    let at_province = format!("/api/v1/units/{}/certificate", second.unit);
    let (status, _) = federation
        .call(PROVINCE, "POST", &at_province, &province_admin, Body::Empty)
        .await;
    assert!(status == 403 || status == 404, "{status}");
    federation.shutdown().await;
}
