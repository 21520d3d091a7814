//! Node identities: the level and division a node certificate carries.
//!
//! A node certificate carries exactly one SAN URI of the form
//! `zhibao://node/{level}/{division}`, e.g. `zhibao://node/city/320100`. That
//! URI, not the common name, is what peers authorise by.

use std::fmt;
use std::str::FromStr;

const URI_PREFIX: &str = "zhibao://node/";

/// The level of a bureau node.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum NodeLevel {
    /// 国家: the ministry.
    National,
    /// 省级: a province bureau.
    Province,
    /// 市级: a city bureau.
    City,
}

impl NodeLevel {
    /// The lowercase word used in URIs, configs and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeLevel::National => "national",
            NodeLevel::Province => "province",
            NodeLevel::City => "city",
        }
    }

    /// The level directly above, if any.
    pub fn parent_level(self) -> Option<NodeLevel> {
        match self {
            NodeLevel::National => None,
            NodeLevel::Province => Some(NodeLevel::National),
            NodeLevel::City => Some(NodeLevel::Province),
        }
    }
}

impl fmt::Display for NodeLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NodeLevel {
    type Err = IdentityError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "national" => Ok(NodeLevel::National),
            "province" => Ok(NodeLevel::Province),
            "city" => Ok(NodeLevel::City),
            other => Err(IdentityError::UnknownLevel(other.to_string())),
        }
    }
}

/// Who a node is: its level and its six-digit GB/T 2260 division code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeIdentity {
    level: NodeLevel,
    division: String,
}

/// A node identity that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Not of the form `zhibao://node/{level}/{division}`.
    #[error(
        "'{0}' is not a node identity; expected zhibao://node/{{national|province|city}}/{{six-digit division code}}"
    )]
    NotANodeUri(String),
    /// The level word is not one of national, province, city.
    #[error("unknown node level '{0}'; expected national, province or city")]
    UnknownLevel(String),
    /// The division is not six ASCII digits.
    #[error("'{0}' is not a six-digit division code")]
    BadDivision(String),
}

impl NodeIdentity {
    /// Builds an identity; the division must be six ASCII digits.
    pub fn new(level: NodeLevel, division: &str) -> Result<Self, IdentityError> {
        if division.len() != 6 || !division.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(IdentityError::BadDivision(division.to_string()));
        }
        Ok(NodeIdentity {
            level,
            division: division.to_string(),
        })
    }

    /// The node's level.
    pub fn level(&self) -> NodeLevel {
        self.level
    }

    /// The node's six-digit division code.
    pub fn division(&self) -> &str {
        &self.division
    }

    /// The SAN URI form carried in the node certificate.
    pub fn to_uri(&self) -> String {
        format!("{URI_PREFIX}{}/{}", self.level, self.division)
    }

    /// Reads the SAN URI form.
    pub fn from_uri(uri: &str) -> Result<Self, IdentityError> {
        let rest = uri
            .strip_prefix(URI_PREFIX)
            .ok_or_else(|| IdentityError::NotANodeUri(uri.to_string()))?;
        let (level, division) = rest
            .split_once('/')
            .ok_or_else(|| IdentityError::NotANodeUri(uri.to_string()))?;
        NodeIdentity::new(level.parse()?, division)
    }

    /// The conventional node name, e.g. `city-320100`, `national`.
    pub fn conventional_name(&self) -> String {
        match self.level {
            NodeLevel::National => "national".to_string(),
            level => format!("{level}-{}", self.division),
        }
    }
}

impl fmt::Display for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_uri())
    }
}

impl serde::Serialize for NodeIdentity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_uri())
    }
}

impl<'de> serde::Deserialize<'de> for NodeIdentity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let uri = String::deserialize(deserializer)?;
        NodeIdentity::from_uri(&uri).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(uri: &str, expected: Result<(NodeLevel, &str), ()>) {
        let parsed = NodeIdentity::from_uri(uri);
        match expected {
            Ok((level, division)) => {
                let identity = parsed.unwrap();
                assert_eq!(identity.level(), level);
                assert_eq!(identity.division(), division);
                assert_eq!(identity.to_uri(), uri);
            }
            Err(()) => assert!(parsed.is_err(), "{uri} should be refused"),
        }
    }

    #[test]
    fn node_uris() {
        check("zhibao://node/city/320100", Ok((NodeLevel::City, "320100")));
        check(
            "zhibao://node/province/320000",
            Ok((NodeLevel::Province, "320000")),
        );
        check(
            "zhibao://node/national/000000",
            Ok((NodeLevel::National, "000000")),
        );
        check("zhibao://node/county/320102", Err(()));
        check("zhibao://node/city/32010", Err(()));
        check("zhibao://node/city/32010x", Err(()));
        check("zhibao://node/city", Err(()));
        check("https://node/city/320100", Err(()));
        check("", Err(()));
    }
}
