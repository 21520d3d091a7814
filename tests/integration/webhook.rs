//! Notices delivered to a webhook (`[notify] webhook_url`): a small gateway
//! started here on port 0 fails its first requests, then accepts; every
//! notice made after the webhook was configured arrives (retried, never
//! lost), notices made before it do not.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use testkit::{Body, DEADLINE, Federation, wait_until};

use crate::reporting::units_with_logins;

const CITY: &str = "city-320100";

#[derive(Clone, Default)]
struct Gateway {
    accepted: Arc<Mutex<Vec<Value>>>,
    refusals_left: Arc<Mutex<u32>>,
}

async fn receive(State(gateway): State<Gateway>, Json(body): Json<Value>) -> StatusCode {
    let mut refusals = gateway.refusals_left.lock().unwrap();
    if *refusals > 0 {
        *refusals -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    gateway.accepted.lock().unwrap().push(body);
    StatusCode::OK
}

async fn start_gateway(gateway: Gateway) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(gateway);
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{address}/hook")
}

fn urged_units(gateway: &Gateway) -> BTreeSet<String> {
    gateway
        .accepted
        .lock()
        .unwrap()
        .iter()
        .filter(|body| body["notice"]["kind"] == "urged")
        .map(|body| {
            body["notice"]["audience"]["unit"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_new_notice_reaches_the_webhook_even_after_it_failed() {
    let mut federation = Federation::start(&[CITY]).await;
    let units = units_with_logins(&federation, CITY, 3).await;
    let reviewer = federation.token_of(CITY, "reviewer").await;
    let urge =
        |message: &str| Body::Json(json!({"form": "G101", "period": "2025", "message": message}));
    // Before the webhook: shown in the notice area only.
    let (status, _) = federation
        .call(CITY, "POST", "/api/v1/urge", &reviewer, urge("第一次催报"))
        .await;
    assert_eq!(status, 200);

    let gateway = Gateway {
        refusals_left: Arc::new(Mutex::new(2)),
        ..Gateway::default()
    };
    let url = start_gateway(gateway.clone()).await;
    federation.stop(CITY).await;
    federation
        .start_again_with(CITY, |config| {
            config.notify = Some(zhibao_node::config::NotifyConfig {
                webhook_url: url.clone(),
                ca_cert: None,
            });
        })
        .await;
    let (status, answer) = federation
        .call(CITY, "POST", "/api/v1/urge", &reviewer, urge("第二次催报"))
        .await;
    assert_eq!(status, 200, "{answer}");
    let expected: BTreeSet<String> = units.iter().map(|unit| unit.code.clone()).collect();
    wait_until(
        "every unit's urging reached the gateway",
        DEADLINE,
        || async { urged_units(&gateway) == expected },
    )
    .await;
    let accepted = gateway.accepted.lock().unwrap().clone();
    assert!(accepted.iter().all(|body| body["node"] == CITY));
    assert!(
        accepted
            .iter()
            .all(|body| body["notice"]["text_zh"] != "催报：第一次催报"),
        "notices older than the webhook are not sent"
    );
    let ids: Vec<&str> = accepted
        .iter()
        .map(|body| body["delivery_id"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "each notice accepted once");
    assert_eq!(
        *gateway.refusals_left.lock().unwrap(),
        0,
        "the refused deliveries were retried"
    );
    federation.shutdown().await;
}
