//! The `zhibao` command line as an operator meets it: certificates, init,
//! and one-line errors for bad configs (no panic, no backtrace).

use std::process::Command;

fn zhibao() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zhibao-cli"))
}

fn run(command: &mut Command) -> (bool, String, String) {
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The last non-log line of stderr: what the operator reads.
fn error_line(stderr: &str) -> String {
    stderr
        .lines()
        .rfind(|line| line.starts_with("zhibao: "))
        .unwrap_or_default()
        .to_string()
}

fn assert_one_line_error(stderr: &str, words: &[&str]) {
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    assert!(!stderr.contains("backtrace"), "no backtrace: {stderr}");
    let line = error_line(stderr);
    for word in words {
        assert!(line.contains(word), "'{line}' should mention '{word}'");
    }
}

#[test]
fn init_ca_issue_and_init_make_a_node_that_passes_its_own_checks() {
    let folder = tempfile::tempdir().unwrap();
    let pki = folder.path().join("pki");
    let (ok, _, stderr) = run(zhibao().args(["certs", "init-ca", "--dir"]).arg(&pki));
    assert!(ok, "{stderr}");
    use std::os::unix::fs::PermissionsExt;
    let key_mode = std::fs::metadata(pki.join("ca.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(key_mode, 0o600, "the CA key is readable only by its owner");

    // A second init-ca on the same folder must not overwrite the CA.
    let (ok, _, stderr) = run(zhibao().args(["certs", "init-ca", "--dir"]).arg(&pki));
    assert!(!ok);
    assert_one_line_error(&stderr, &["already holds a CA"]);

    let out = folder.path().join("issued");
    let (ok, stdout, stderr) = run(zhibao()
        .args([
            "certs",
            "issue-node",
            "--level",
            "city",
            "--division",
            "320100",
            "--host",
            "127.0.0.1",
            "--ca-dir",
        ])
        .arg(&pki)
        .arg("--out")
        .arg(&out));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("zhibao://node/city/320100"), "{stdout}");
    let key_mode = std::fs::metadata(out.join("city-320100.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(key_mode, 0o600);
    let details = zhibao_certs::certificate_details_from_pem(
        &std::fs::read_to_string(out.join("city-320100.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(details.san_uris, ["zhibao://node/city/320100"]);

    let node_dir = folder.path().join("city");
    let (ok, _, stderr) = run(zhibao()
        .args([
            "init",
            "--level",
            "city",
            "--division",
            "320100",
            "--parent-url",
            "https://province.example:9443",
        ])
        .args([
            "--web-listen",
            "127.0.0.1:0",
            "--federation-listen",
            "127.0.0.1:0",
            "--ca-dir",
        ])
        .arg(&pki)
        .arg("--dir")
        .arg(&node_dir));
    assert!(ok, "{stderr}");
    let config = zhibao_node::config::NodeConfig::load(&node_dir.join("node.toml")).unwrap();
    assert_eq!(
        config.parent.unwrap().identity.to_uri(),
        "zhibao://node/province/320000"
    );
}

#[test]
fn unknown_division_for_a_certificate_is_one_clear_line() {
    let folder = tempfile::tempdir().unwrap();
    let pki = folder.path().join("pki");
    assert!(run(zhibao().args(["certs", "init-ca", "--dir"]).arg(&pki)).0);
    let (ok, _, stderr) = run(zhibao()
        .args([
            "certs",
            "issue-node",
            "--level",
            "city",
            "--division",
            "329900",
            "--host",
            "x",
            "--ca-dir",
        ])
        .arg(&pki)
        .arg("--out")
        .arg(folder.path()));
    assert!(!ok);
    assert_one_line_error(&stderr, &["329900", "does not exist"]);
}

fn write_config(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    for file in ["ca.pem", "node.pem", "node.key"] {
        std::fs::write(dir.join(file), "x").unwrap();
    }
    let path = dir.join("node.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const CITY: &str = r#"version = 1
name = "city-320100"
level = "city"
division = "320100"
data_dir = "data"
[web]
listen = "127.0.0.1:0"
[federation]
listen = "127.0.0.1:0"
[tls]
ca_cert = "ca.pem"
cert = "node.pem"
key = "node.key"
[parent]
url = "https://127.0.0.1:9442"
identity = "zhibao://node/province/320000"
"#;

#[test]
fn a_bad_config_is_one_line_naming_the_field() {
    let cases: [(String, &[&str]); 4] = [
        (
            CITY.replace("\"320100\"", "\"329900\""),
            &["division", "329900", "does not exist"],
        ),
        (
            CITY.replace("province/320000", "province/330000"),
            &["parent.identity", "320000"],
        ),
        (
            CITY.replace("node.pem", "gone.pem"),
            &["tls.cert", "does not exist"],
        ),
        (
            format!("{CITY}surprise = 1\n"),
            &["surprise", "unknown field"],
        ),
    ];
    for (text, words) in cases {
        let folder = tempfile::tempdir().unwrap();
        let path = write_config(folder.path(), &text);
        let (ok, _, stderr) = run(zhibao().args(["serve", "--config"]).arg(&path));
        assert!(!ok, "{text}");
        assert_one_line_error(&stderr, words);
    }
}

#[test]
fn an_address_in_use_names_the_listen_field() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let folder = tempfile::tempdir().unwrap();
    // A real certificate is needed to get past the TLS checks to the bind.
    let pki = folder.path().join("pki");
    assert!(run(zhibao().args(["certs", "init-ca", "--dir"]).arg(&pki)).0);
    let node_dir = folder.path().join("city");
    let (ok, _, stderr) = run(zhibao()
        .args([
            "init",
            "--level",
            "city",
            "--division",
            "320100",
            "--parent-url",
            "https://127.0.0.1:1",
        ])
        .args([
            "--web-listen",
            &address,
            "--federation-listen",
            "127.0.0.1:0",
            "--ca-dir",
        ])
        .arg(&pki)
        .arg("--dir")
        .arg(&node_dir));
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = run(zhibao()
        .args(["serve", "--config"])
        .arg(node_dir.join("node.toml")));
    assert!(!ok);
    assert_one_line_error(&stderr, &["web.listen", &address]);
}
