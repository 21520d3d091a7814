//! The node's configuration: one TOML file per node.
//!
//! The file ([`ConfigFile`]) is read with unknown keys refused, then resolved
//! once into a [`NodeConfig`] whose fields are all checked: the division
//! exists and fits the level, the parent and children are the divisions
//! directly above and below, the certificate files exist. A wrong file fails
//! at start with one line that names the field and says what to do.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use zhibao_federation_protocol::{NodeIdentity, NodeLevel};

use crate::division::{DivisionCode, DivisionKind};

/// The only config format version this build reads.
pub const CONFIG_VERSION: u32 = 1;

/// The file as written by an operator (see `configs/*.toml` for examples).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Format version of this file; must be 1.
    pub version: u32,
    /// A name for people and logs, e.g. `city-320100`.
    pub name: String,
    /// `national`, `province` or `city`.
    pub level: String,
    /// The GB/T 2260 code of the division this bureau serves (`000000` for national).
    pub division: String,
    /// Folder of the node's database; relative paths are relative to this file.
    pub data_dir: PathBuf,
    /// The web and API listener (browsers and scripts; HTTPS, no client certificate).
    pub web: WebSection,
    /// The federation listener (other nodes only; HTTPS with client certificates required).
    pub federation: FederationSection,
    /// Certificate files; relative paths are relative to this file.
    pub tls: TlsSection,
    /// The node directly above; absent only on the national node.
    pub parent: Option<PeerSection>,
    /// The nodes directly below; none on a city node.
    #[serde(default)]
    pub children: Vec<PeerSection>,
    /// Optional: also deliver every notice to a webhook (an SMS or e-mail gateway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifySection>,
}

/// `[notify]`
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    /// Where each new notice is POSTed as JSON, e.g. `https://gateway.example/zhibao`.
    pub webhook_url: String,
    /// For an `https://` webhook: the CA certificate that signed its server
    /// certificate (only that CA is trusted, never the system's).
    pub ca_cert: Option<PathBuf>,
}

/// Checked `[notify]`.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// The webhook URL (`http://` or `https://`).
    pub webhook_url: String,
    /// The CA to trust for an `https://` webhook.
    pub ca_cert: Option<PathBuf>,
}

/// `[web]`
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebSection {
    /// Address and port to listen on, e.g. `0.0.0.0:8443`.
    pub listen: String,
    /// City nodes only: the certificate-login address for units (USB-key
    /// login, R17), e.g. `0.0.0.0:8444`. It asks for a unit certificate in
    /// the TLS handshake; the ordinary address never does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_login_listen: Option<String>,
}

/// `[federation]`
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FederationSection {
    /// Address and port to listen on for other nodes, e.g. `0.0.0.0:9443`.
    pub listen: String,
    /// Longest pause between delivery retries to a peer, in milliseconds (default 10000).
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
}

fn default_retry_max_ms() -> u64 {
    10_000
}

/// `[tls]`
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// The federation CA certificate (PEM): the only root trusted for peers.
    pub ca_cert: PathBuf,
    /// This node's certificate (PEM), issued by that CA.
    pub cert: PathBuf,
    /// This node's private key (PEM); keep it readable only by the node's user.
    pub key: PathBuf,
    /// The CA's certificate revocation list (PEM), if one has been published.
    pub crl: Option<PathBuf>,
}

/// `[parent]` and `[[children]]`
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSection {
    /// The peer's federation URL, e.g. `https://province-320000.example:9443`.
    pub url: String,
    /// The identity the peer's certificate must carry, e.g. `zhibao://node/province/320000`.
    pub identity: String,
}

/// A checked config.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Name for people and logs.
    pub name: String,
    /// Who this node is (level and division), as its certificate says.
    pub identity: NodeIdentity,
    /// The division this node serves.
    pub division: DivisionCode,
    /// The database folder.
    pub data_dir: PathBuf,
    /// Web listener address.
    pub web_listen: SocketAddr,
    /// Federation listener address.
    pub federation_listen: SocketAddr,
    /// The certificate-login address for units (city nodes only).
    pub certificate_login_listen: Option<SocketAddr>,
    /// Longest pause between delivery retries.
    pub retry_max: std::time::Duration,
    /// Certificate files.
    pub tls: TlsFiles,
    /// The parent node, if any.
    pub parent: Option<PeerConfig>,
    /// The child nodes.
    pub children: Vec<PeerConfig>,
    /// Where notices are also delivered, if anywhere.
    pub notify: Option<NotifyConfig>,
}

/// Checked certificate paths (all exist).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Federation CA certificate.
    pub ca_cert: PathBuf,
    /// This node's certificate.
    pub cert: PathBuf,
    /// This node's private key.
    pub key: PathBuf,
    /// Revocation list, if published.
    pub crl: Option<PathBuf>,
}

/// A configured peer node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// Its federation URL.
    pub url: String,
    /// The identity its certificate must carry.
    pub identity: NodeIdentity,
}

/// A config that cannot be used: which field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config {file}: {field}: {problem}")]
pub struct ConfigError {
    /// The config file.
    pub file: String,
    /// The field, as written in the file (e.g. `parent.identity`).
    pub field: String,
    /// What is wrong and what to do.
    pub problem: String,
}

impl NodeConfig {
    /// The node's level.
    pub fn level(&self) -> NodeLevel {
        self.identity.level()
    }

    /// The configured peer with this identity, if any.
    pub fn peer(&self, identity: &NodeIdentity) -> Option<&PeerConfig> {
        self.parent
            .iter()
            .chain(self.children.iter())
            .find(|peer| &peer.identity == identity)
    }

    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let file_name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
            file: file_name.clone(),
            field: "(file)".to_string(),
            problem: format!("cannot be read: {error}"),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        NodeConfig::from_toml(&text, &file_name, base)
    }

    /// Parses and checks config text; relative paths are resolved against `base`.
    pub fn from_toml(text: &str, file_name: &str, base: &Path) -> Result<NodeConfig, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|error| ConfigError {
            file: file_name.to_string(),
            field: toml_error_field(&error),
            problem: error.message().trim().to_string(),
        })?;
        resolve(file, base).map_err(|(field, problem)| ConfigError {
            file: file_name.to_string(),
            field: field.to_string(),
            problem,
        })
    }
}

/// The field a TOML error is about, from its span (best effort: the line's key).
fn toml_error_field(error: &toml::de::Error) -> String {
    let message = error.message();
    // serde names the unknown or missing field in backquotes: "unknown field `x`".
    if let Some(start) = message.find('`')
        && let Some(length) = message[start + 1..].find('`')
    {
        return message[start + 1..start + 1 + length].to_string();
    }
    "(syntax)".to_string()
}

type FieldProblem = (&'static str, String);

fn resolve(file: ConfigFile, base: &Path) -> Result<NodeConfig, FieldProblem> {
    if file.version != CONFIG_VERSION {
        return Err((
            "version",
            format!(
                "is {}, but this program reads config version {CONFIG_VERSION}",
                file.version
            ),
        ));
    }
    if file.name.trim().is_empty() {
        return Err(("name", "must not be empty".to_string()));
    }
    let level: NodeLevel = file
        .level
        .parse()
        .map_err(|error| ("level", format!("{error}")))?;
    let division =
        DivisionCode::parse(&file.division).map_err(|error| ("division", error.to_string()))?;
    check_level_fits_division(level, division)?;
    let identity = NodeIdentity::new(level, &file.division)
        .map_err(|error| ("division", error.to_string()))?;
    let parent = resolve_parent(level, division, file.parent.as_ref())?;
    let children = resolve_children(level, division, &file.children)?;
    Ok(NodeConfig {
        name: file.name,
        identity,
        division,
        data_dir: base.join(&file.data_dir),
        web_listen: parse_address("web.listen", &file.web.listen)?,
        federation_listen: parse_address("federation.listen", &file.federation.listen)?,
        certificate_login_listen: resolve_certificate_login(
            level,
            file.web.certificate_login_listen.as_deref(),
        )?,
        retry_max: resolve_retry_max(file.federation.retry_max_ms)?,
        tls: resolve_tls_files(&file.tls, base)?,
        parent,
        children,
        notify: resolve_notify(file.notify.as_ref(), base)?,
    })
}

fn resolve_certificate_login(
    level: NodeLevel,
    address: Option<&str>,
) -> Result<Option<SocketAddr>, FieldProblem> {
    match address {
        None => Ok(None),
        Some(_) if level != NodeLevel::City => Err((
            "web.certificate_login_listen",
            "only a city node has units to log in with certificates: remove this line".to_string(),
        )),
        Some(text) => parse_address("web.certificate_login_listen", text).map(Some),
    }
}

fn check_level_fits_division(level: NodeLevel, division: DivisionCode) -> Result<(), FieldProblem> {
    let expected_kind = match level {
        NodeLevel::National => DivisionKind::Nation,
        NodeLevel::Province => DivisionKind::Province,
        NodeLevel::City => DivisionKind::City,
    };
    if division.kind() == expected_kind {
        Ok(())
    } else {
        Err((
            "division",
            format!(
                "{division} ({}) is a {:?} division, but level is {level}; a {level} node serves a {:?} division",
                division.name_zh(),
                division.kind(),
                expected_kind
            ),
        ))
    }
}

fn parse_peer_identity(field: &'static str, text: &str) -> Result<NodeIdentity, FieldProblem> {
    let identity = NodeIdentity::from_uri(text).map_err(|error| (field, error.to_string()))?;
    DivisionCode::parse(identity.division()).map_err(|error| (field, error.to_string()))?;
    Ok(identity)
}

fn check_peer_url(field: &'static str, url: &str) -> Result<(), FieldProblem> {
    if url.starts_with("https://") && url.len() > "https://".len() {
        Ok(())
    } else {
        Err((
            field,
            format!("'{url}' must be an https:// URL (federation links are TLS only)"),
        ))
    }
}

fn resolve_parent(
    level: NodeLevel,
    division: DivisionCode,
    parent: Option<&PeerSection>,
) -> Result<Option<PeerConfig>, FieldProblem> {
    match (level.parent_level(), parent) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err((
            "parent",
            "a national node has no parent; remove the [parent] section".to_string(),
        )),
        (Some(parent_level), None) => Err((
            "parent",
            format!("a {level} node needs a [parent] section naming its {parent_level} node"),
        )),
        (Some(parent_level), Some(section)) => {
            check_peer_url("parent.url", &section.url)?;
            let identity = parse_peer_identity("parent.identity", &section.identity)?;
            let expected_division = division.parent().unwrap_or_else(DivisionCode::nation);
            if identity.level() != parent_level
                || identity.division() != expected_division.to_string()
            {
                return Err((
                    "parent.identity",
                    format!(
                        "is {identity}, but the parent of {division} ({}) is {} ({}): expected zhibao://node/{parent_level}/{expected_division}",
                        division.name_zh(),
                        expected_division,
                        expected_division.name_zh()
                    ),
                ));
            }
            Ok(Some(PeerConfig {
                url: section.url.clone(),
                identity,
            }))
        }
    }
}

fn child_level(level: NodeLevel) -> Option<NodeLevel> {
    match level {
        NodeLevel::National => Some(NodeLevel::Province),
        NodeLevel::Province => Some(NodeLevel::City),
        NodeLevel::City => None,
    }
}

fn resolve_children(
    level: NodeLevel,
    division: DivisionCode,
    children: &[PeerSection],
) -> Result<Vec<PeerConfig>, FieldProblem> {
    let mut resolved: Vec<PeerConfig> = Vec::new();
    for child in children {
        let Some(expected_level) = child_level(level) else {
            return Err((
                "children",
                "a city node has no child nodes (counties are users of the city node)".to_string(),
            ));
        };
        check_peer_url("children.url", &child.url)?;
        let identity = parse_peer_identity("children.identity", &child.identity)?;
        let child_division = DivisionCode::parse(identity.division())
            .map_err(|error| ("children.identity", error.to_string()))?;
        if identity.level() != expected_level || child_division.parent() != Some(division) {
            return Err((
                "children.identity",
                format!(
                    "{identity} is not a {expected_level} directly under {division} ({}); a {level} node's children are the {expected_level} nodes of its own division",
                    division.name_zh()
                ),
            ));
        }
        if resolved
            .iter()
            .any(|existing| existing.identity == identity)
        {
            return Err(("children.identity", format!("{identity} is listed twice")));
        }
        resolved.push(PeerConfig {
            url: child.url.clone(),
            identity,
        });
    }
    Ok(resolved)
}

fn resolve_retry_max(milliseconds: u64) -> Result<std::time::Duration, FieldProblem> {
    if (100..=3_600_000).contains(&milliseconds) {
        Ok(std::time::Duration::from_millis(milliseconds))
    } else {
        Err((
            "federation.retry_max_ms",
            format!("{milliseconds} is outside 100..=3600000 (0.1 s to 1 hour)"),
        ))
    }
}

fn parse_address(field: &'static str, text: &str) -> Result<SocketAddr, FieldProblem> {
    text.parse().map_err(|_| {
        (
            field,
            format!("'{text}' is not an address and port such as 0.0.0.0:8443 or 127.0.0.1:9443"),
        )
    })
}

fn existing_file(field: &'static str, base: &Path, path: &Path) -> Result<PathBuf, FieldProblem> {
    let full = base.join(path);
    if full.is_file() {
        Ok(full)
    } else {
        Err((
            field,
            format!(
                "file {} does not exist; issue it with `zhibao certs issue-node` or fix the path",
                full.display()
            ),
        ))
    }
}

fn resolve_notify(
    notify: Option<&NotifySection>,
    base: &Path,
) -> Result<Option<NotifyConfig>, FieldProblem> {
    let Some(notify) = notify else {
        return Ok(None);
    };
    let url = notify.webhook_url.trim();
    let https = url.starts_with("https://");
    if !https && !url.starts_with("http://") {
        return Err((
            "notify.webhook_url",
            format!(
                "'{url}' must start with https:// (or http:// for a gateway on the private network)"
            ),
        ));
    }
    let ca_cert = notify
        .ca_cert
        .as_ref()
        .map(|path| existing_file("notify.ca_cert", base, path))
        .transpose()?;
    if https && ca_cert.is_none() {
        return Err((
            "notify.ca_cert",
            "is required for an https:// webhook: the CA certificate that signed the webhook server's certificate".to_string(),
        ));
    }
    Ok(Some(NotifyConfig {
        webhook_url: url.to_string(),
        ca_cert,
    }))
}

fn resolve_tls_files(tls: &TlsSection, base: &Path) -> Result<TlsFiles, FieldProblem> {
    Ok(TlsFiles {
        ca_cert: existing_file("tls.ca_cert", base, &tls.ca_cert)?,
        cert: existing_file("tls.cert", base, &tls.cert)?,
        key: existing_file("tls.key", base, &tls.key)?,
        crl: tls
            .crl
            .as_ref()
            .map(|crl| existing_file("tls.crl", base, crl))
            .transpose()?,
    })
}

impl ConfigFile {
    /// The file as TOML with a comment on every field (what `init` and the demo write).
    pub fn to_commented_toml(&self) -> String {
        let quote = |text: &str| toml::Value::String(text.to_string()).to_string();
        let path = |path: &Path| quote(&path.display().to_string());
        let mut out = String::new();
        out.push_str(
            "# Zhibao node configuration. Every field is documented in docs/operations.md.\n",
        );
        out.push_str("# 格式版本 / format version of this file\n");
        out.push_str(&format!("version = {}\n", self.version));
        out.push_str("# 节点名称 / name for people and logs\n");
        out.push_str(&format!("name = {}\n", quote(&self.name)));
        out.push_str("# 级别 / level: national, province or city\n");
        out.push_str(&format!("level = {}\n", quote(&self.level)));
        out.push_str(
            "# 行政区划代码 / GB/T 2260 division this bureau serves (000000 = national)\n",
        );
        out.push_str(&format!("division = {}\n", quote(&self.division)));
        out.push_str("# 数据目录 / database folder (relative to this file)\n");
        out.push_str(&format!("data_dir = {}\n\n", path(&self.data_dir)));
        out.push_str("[web]\n# 网页与API监听地址 / HTTPS listener for browsers and scripts\n");
        out.push_str(&format!("listen = {}\n", quote(&self.web.listen)));
        if let Some(address) = &self.web.certificate_login_listen {
            out.push_str("# 单位证书登录地址（要求单位证书）/ certificate-login address for units (a unit certificate is required)\n");
            out.push_str(&format!("certificate_login_listen = {}\n", quote(address)));
        }
        out.push('\n');
        out.push_str("[federation]\n# 节点间监听地址 / HTTPS listener for other nodes (client certificates required)\n");
        out.push_str(&format!("listen = {}\n", quote(&self.federation.listen)));
        out.push_str(
            "# 重试最长间隔（毫秒）/ longest pause between delivery retries, milliseconds\n",
        );
        out.push_str(&format!(
            "retry_max_ms = {}\n\n",
            self.federation.retry_max_ms
        ));
        out.push_str("[tls]\n# 联邦根证书 / the federation CA certificate, the only root trusted for peers\n");
        out.push_str(&format!("ca_cert = {}\n", path(&self.tls.ca_cert)));
        out.push_str("# 本节点证书与私钥 / this node's certificate and private key (0600)\n");
        out.push_str(&format!(
            "cert = {}\nkey = {}\n",
            path(&self.tls.cert),
            path(&self.tls.key)
        ));
        match &self.tls.crl {
            Some(crl) => {
                out.push_str("# 证书吊销列表 / the CA's revocation list\n");
                out.push_str(&format!("crl = {}\n", path(crl)));
            }
            None => out.push_str(
                "# crl = \"crl.pem\"  # 证书吊销列表 / the CA's revocation list, once published\n",
            ),
        }
        if let Some(parent) = &self.parent {
            out.push_str("\n[parent]\n# 上级节点 / the node directly above: its federation URL and certificate identity\n");
            out.push_str(&format!(
                "url = {}\nidentity = {}\n",
                quote(&parent.url),
                quote(&parent.identity)
            ));
        }
        for child in &self.children {
            out.push_str("\n[[children]]\n# 下级节点 / a node directly below\n");
            out.push_str(&format!(
                "url = {}\nidentity = {}\n",
                quote(&child.url),
                quote(&child.identity)
            ));
        }
        if let Some(notify) = &self.notify {
            out.push_str("\n[notify]\n# 通知推送（短信、邮件网关）/ every new notice is also POSTed here as JSON\n");
            out.push_str(&format!("webhook_url = {}\n", quote(&notify.webhook_url)));
            if let Some(ca_cert) = &notify.ca_cert {
                out.push_str(&format!("ca_cert = {}\n", path(ca_cert)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
