//! The OpenAPI document at `GET /api/v1/openapi.json`: served without a login,
//! OpenAPI 3.1, and listing exactly the routes the router serves. The list
//! below is copied from the route definitions in `node/src/web/*.rs`; a route
//! removed from the code, or missing from the document, fails this test.

use serde_json::Value;
use testkit::Federation;

/// Every (method, path) of `web::app`, as written in the `.route(..)` calls.
const ROUTES: [(&str, &str); 56] = [
    ("GET", "/healthz"),
    ("GET", "/api/v1/node"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/federation/links"),
    ("POST", "/api/v1/session"),
    ("DELETE", "/api/v1/session"),
    ("POST", "/api/v1/session/password"),
    ("GET", "/api/v1/units"),
    ("POST", "/api/v1/units/import"),
    ("GET", "/api/v1/units/export"),
    ("GET", "/api/v1/units/{code}"),
    ("GET", "/api/v1/forms"),
    ("GET", "/api/v1/forms/{form}"),
    ("GET", "/api/v1/periods"),
    ("GET", "/api/v1/rules"),
    ("GET", "/api/v1/reports/{unit}/{form}/{period}"),
    ("PUT", "/api/v1/reports/{unit}/{form}/{period}/draft"),
    ("POST", "/api/v1/reports/{unit}/{form}/{period}/check"),
    ("POST", "/api/v1/reports/{unit}/{form}/{period}/submit"),
    ("GET", "/api/v1/reports/{unit}/{form}/{period}/versions"),
    (
        "GET",
        "/api/v1/reports/{unit}/{form}/{period}/versions/{version}/record.xlsx",
    ),
    (
        "GET",
        "/api/v1/reports/{unit}/{form}/{period}/template.xlsx",
    ),
    ("PUT", "/api/v1/reports/{unit}/{form}/{period}/draft.xlsx"),
    ("GET", "/api/v1/review/queue"),
    ("POST", "/api/v1/review/{unit}/{form}/{period}/approve"),
    ("POST", "/api/v1/review/{unit}/{form}/{period}/return"),
    ("POST", "/api/v1/review/{unit}/{form}/{period}/feedback"),
    ("POST", "/api/v1/review/{unit}/{form}/{period}/annotate"),
    ("GET", "/api/v1/aggregates"),
    ("GET", "/api/v1/aggregates/export"),
    ("GET", "/api/v1/data-report"),
    ("GET", "/api/v1/progress"),
    ("GET", "/api/v1/publications"),
    ("POST", "/api/v1/publications"),
    ("POST", "/api/v1/metadata/releases"),
    ("PUT", "/api/v1/periods/calendar"),
    ("POST", "/api/v1/periods/exceptions"),
    ("POST", "/api/v1/admin/backup"),
    ("GET", "/api/v1/notices"),
    ("POST", "/api/v1/accounts"),
    ("GET", "/api/v1/registry/proposals"),
    ("POST", "/api/v1/registry/proposals"),
    ("POST", "/api/v1/registry/proposals/{id}/confirm"),
    ("POST", "/api/v1/registry/proposals/{id}/reject"),
    ("POST", "/api/v1/units/{code}/changes"),
    ("POST", "/api/v1/units/{code}/certificate"),
    ("DELETE", "/api/v1/units/{code}/certificate"),
    ("GET", "/api/v1/units/{code}/certificates"),
    ("POST", "/api/v1/urge"),
    ("GET", "/api/v1/accounts"),
    ("GET", "/api/v1/accounts/export.xlsx"),
    ("POST", "/api/v1/accounts/{username}/reset-password"),
    ("POST", "/api/v1/accounts/{username}/disable"),
    ("POST", "/api/v1/accounts/{username}/enable"),
    ("GET", "/api/v1/registry/lineage/suggestions"),
    ("POST", "/api/v1/registry/lineage"),
];

/// A concrete URL path for a templated one.
fn concrete(path: &str) -> String {
    path.replace("{code}", "913201000000000001")
        .replace("{unit}", "913201000000000001")
        .replace("{form}", "G101")
        .replace("{period}", "2025")
        .replace("{version}", "1")
        .replace("{id}", "320102-2025-913201000000000001-1")
        .replace("{username}", "reviewer320100-1")
}

/// The router's fallback answer: 404 with code `GEN404`.
async fn is_fallback(response: reqwest::Response) -> bool {
    if response.status() != 404 {
        return false;
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    body["error"]["code"] == "GEN404"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_the_router_serves() {
    let federation = Federation::start(&["city-320100"]).await;
    let base = federation.node("city-320100").web_url();
    let client = federation.web_client();

    let response = client
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "served without a login");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let document: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        document["openapi"]
    );
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearerToken"]["scheme"], "bearer");
    assert_eq!(schemes["sessionCookie"]["name"], "zhibao_session");

    // The document lists exactly these routes, each with responses and a tag.
    let mut documented = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            assert!(
                operation["responses"]["200"].is_object(),
                "{method} {path}: no 200"
            );
            assert!(
                operation["tags"]
                    .as_array()
                    .is_some_and(|tags| !tags.is_empty()),
                "{method} {path}: no tag"
            );
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    let mut listed: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    listed.sort();
    documented.sort();
    assert_eq!(documented, listed, "the document lists exactly the routes");

    // Each listed route exists: its method on its path is not the router's fallback.
    for (method, path) in ROUTES {
        let url = format!("{base}{}", concrete(path));
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = client.request(method.clone(), &url).send().await.unwrap();
        assert!(
            !is_fallback(response).await,
            "{method} {path} answered the router's 404 fallback: no such route"
        );
    }
    // And the check can fail: a path that is no route gets the fallback.
    let missing = client
        .get(format!("{base}/api/v1/no-such-route"))
        .send()
        .await
        .unwrap();
    assert!(is_fallback(missing).await);
    federation.shutdown().await;
}
