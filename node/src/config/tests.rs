use super::*;

struct Folder {
    dir: tempfile::TempDir,
}

impl Folder {
    fn new() -> Folder {
        let dir = tempfile::tempdir().unwrap();
        for file in ["ca.pem", "node.pem", "node.key"] {
            std::fs::write(dir.path().join(file), "x").unwrap();
        }
        Folder { dir }
    }

    fn load(&self, text: &str) -> Result<NodeConfig, ConfigError> {
        NodeConfig::from_toml(text, "test.toml", self.dir.path())
    }
}

const CITY: &str = r#"
version = 1
name = "city-320100"
level = "city"
division = "320100"
data_dir = "data"
[web]
listen = "127.0.0.1:8443"
[federation]
listen = "127.0.0.1:9443"
[tls]
ca_cert = "ca.pem"
cert = "node.pem"
key = "node.key"
[parent]
url = "https://127.0.0.1:9442"
identity = "zhibao://node/province/320000"
"#;

fn expect_field(outcome: Result<NodeConfig, ConfigError>, field: &str, words: &str) {
    let error = outcome.unwrap_err();
    assert_eq!(error.field, field, "{error}");
    assert!(
        error.to_string().contains(words),
        "'{error}' should mention '{words}'"
    );
    assert!(!error.to_string().contains('\n'), "one line: {error}");
}

#[test]
fn a_good_city_config_resolves() {
    let folder = Folder::new();
    let config = folder.load(CITY).unwrap();
    assert_eq!(config.identity.to_uri(), "zhibao://node/city/320100");
    assert_eq!(
        config.parent.unwrap().identity.to_uri(),
        "zhibao://node/province/320000"
    );
    assert_eq!(config.data_dir, folder.dir.path().join("data"));
}

#[test]
fn wrong_configs_name_the_field() {
    let folder = Folder::new();
    expect_field(
        folder.load(&CITY.replace("version = 1", "version = 2")),
        "version",
        "reads config version 1",
    );
    expect_field(
        folder.load(&format!("{CITY}\ncolour = \"red\"\n")),
        "colour",
        "unknown field",
    );
    expect_field(
        folder.load(&CITY.replace("\"320100\"", "\"329900\"")),
        "division",
        "does not exist",
    );
    expect_field(
        folder.load(&CITY.replace("\"320100\"", "\"320102\"")),
        "division",
        "level is city",
    );
    expect_field(
        folder.load(&CITY.replace("province/320000", "province/330000")),
        "parent.identity",
        "expected zhibao://node/province/320000",
    );
    expect_field(
        folder.load(&CITY.replace("node.pem", "missing.pem")),
        "tls.cert",
        "does not exist",
    );
    expect_field(
        folder.load(&CITY.replace("127.0.0.1:8443", "localhost")),
        "web.listen",
        "not an address",
    );
    expect_field(
        folder.load(&CITY.replace("https://127.0.0.1:9442", "http://x")),
        "parent.url",
        "https://",
    );
    expect_field(
        folder.load(&CITY.replace("level = \"city\"", "level = \"county\"")),
        "level",
        "unknown node level",
    );
}

#[test]
fn national_and_province_shapes() {
    let folder = Folder::new();
    let national = CITY
        .replace("level = \"city\"", "level = \"national\"")
        .replace("\"320100\"", "\"000000\"");
    expect_field(folder.load(&national), "parent", "no parent");
    let national = national.split("[parent]").next().unwrap().to_string()
        + "[[children]]\nurl = \"https://127.0.0.1:9001\"\nidentity = \"zhibao://node/province/320000\"\n";
    let config = folder.load(&national).unwrap();
    assert_eq!(config.children.len(), 1);
    let wrong_child = national.replace("province/320000", "city/320100");
    expect_field(
        folder.load(&wrong_child),
        "children.identity",
        "not a province",
    );
    let city_with_child = format!(
        "{CITY}\n[[children]]\nurl = \"https://127.0.0.1:9001\"\nidentity = \"zhibao://node/city/320500\"\n"
    );
    expect_field(folder.load(&city_with_child), "children", "no child nodes");
}

#[test]
fn the_commented_file_reads_back_as_the_same_config() {
    let folder = Folder::new();
    let file: ConfigFile = toml::from_str(CITY).unwrap();
    let written = file.to_commented_toml();
    let config = folder.load(&written).unwrap();
    assert_eq!(config.identity.to_uri(), "zhibao://node/city/320100");
    assert!(written.contains("# 上级节点"));
}
