//! Account administration by a node's admin (R4, R5, R30): list, reset a
//! password, disable and enable, export for distribution.
//!
//! Scope: an admin manages the accounts **of its own node** — the bureau
//! staff (admin, reviewers), county users of a county inside the node's
//! division, and the enterprise accounts of units in its registry. Accounts
//! of other nodes are not in this node's store at all; an enterprise account
//! whose unit is not (or no longer) registered inside the division is treated
//! as someone else's: "not found", like every other record outside the
//! jurisdiction.
//!
//! A reset gives a fresh random initial password that must be changed at the
//! next login, clears the lockout and ends the account's sessions. A disabled
//! account cannot log in (ACC003) and its sessions end. An admin cannot
//! disable itself (a node must keep a way in).
//!
//! Plain functions over values; `service.rs` runs them against the store.

use super::{Account, Role};
use crate::division::DivisionCode;

/// The role words of the API, in the order lists show them.
pub const ROLE_WORDS: [&str; 4] = ["admin", "reviewer", "county", "enterprise"];

/// Why an administrative action on an account was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountAdminError {
    /// No such account at this node, or not within its jurisdiction.
    #[error("本节点没有账户 {0} / no account {0} at this node")]
    NotFound(String),
    /// An admin tried to disable its own account.
    #[error("不能停用自己的账户 / you cannot disable your own account")]
    CannotDisableSelf,
    /// The login name is in use.
    #[error("登录名 {0} 已被使用，请换一个 / the login name {0} is taken: choose another")]
    UsernameTaken(String),
    /// A new account that cannot be made as asked.
    #[error("{message}")]
    BadNewAccount {
        /// The field at fault.
        field: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
}

/// The roles an admin may create accounts for (enterprise logins come with
/// their units; the admin and the first reviewers with the node).
pub const CREATABLE_ROLES: [&str; 4] = ["county", "reviewer", "group", "supervision"];

/// What a new account is for, as an admin writes it.
#[derive(Debug, Clone, Default)]
pub struct NewAccountScope<'a> {
    /// A county user's county.
    pub county: Option<&'a str>,
    /// A group company's name, as the registry records it (R41).
    pub group: Option<&'a str>,
    /// A supervision centre's provinces (R42).
    pub provinces: Option<&'a [String]>,
}

/// Checks a new account: a login name of 3–64 letters, digits, `.`, `_`, `-`;
/// a role an admin may create; for a county user, a county inside the node's division.
pub fn new_account_role(
    username: &str,
    role: &str,
    scope: &NewAccountScope<'_>,
    node_division: DivisionCode,
) -> Result<Role, AccountAdminError> {
    let county = scope.county;
    let name_ok = (3..=64).contains(&username.chars().count())
        && username
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "._-".contains(character));
    if !name_ok {
        return Err(AccountAdminError::BadNewAccount {
            field: "username",
            message:
                "username：3–64 个字母、数字或 . _ - / username: 3–64 letters, digits or . _ -"
                    .to_string(),
        });
    }
    match (role, county) {
        ("reviewer", None) => Ok(Role::Reviewer),
        ("reviewer", Some(_)) => Err(AccountAdminError::BadNewAccount {
            field: "county",
            message: "county：只有县级用户填写区县 / county: only for a county user".to_string(),
        }),
        ("county", Some(code)) => {
            let county = DivisionCode::parse(code)
                .ok()
                .filter(|county| {
                    county.kind() == crate::division::DivisionKind::County
                        && node_division.contains(*county)
                })
                .ok_or_else(|| AccountAdminError::BadNewAccount {
                    field: "county",
                    message: format!(
                        "county：{code} 不是本辖区的区县代码 / county: {code} is not a county of this jurisdiction"
                    ),
                })?;
            Ok(Role::County { county })
        }
        ("county", None) => Err(AccountAdminError::BadNewAccount {
            field: "county",
            message:
                "county：请填写区县代码（如 320102） / county: give the county code (e.g. 320102)"
                    .to_string(),
        }),
        ("group", None) => {
            let group = scope.group.map(str::trim).unwrap_or_default();
            if group.is_empty() || group.chars().count() > 100 {
                return Err(AccountAdminError::BadNewAccount {
                    field: "group",
                    message: "group：请填写集团公司名称（与名录中所填一致） / group: the group company's name, as the registry records it".to_string(),
                });
            }
            Ok(Role::Group {
                group: group.to_string(),
            })
        }
        ("supervision", None) => {
            let provinces: Vec<DivisionCode> = scope
                .provinces
                .unwrap_or_default()
                .iter()
                .map(|code| {
                    DivisionCode::parse(code)
                        .ok()
                        .filter(|province| {
                            province.kind() == crate::division::DivisionKind::Province
                                && node_division.contains(*province)
                        })
                        .ok_or_else(|| AccountAdminError::BadNewAccount {
                            field: "provinces",
                            message: format!(
                                "provinces：{code} 不是本辖区的省级代码 / provinces: {code} is not a province of this jurisdiction"
                            ),
                        })
                })
                .collect::<Result<_, _>>()?;
            if provinces.is_empty() {
                return Err(AccountAdminError::BadNewAccount {
                    field: "provinces",
                    message: "provinces：请列出督查中心负责的省份（如 [\"320000\"]） / provinces: list the provinces the centre oversees (e.g. [\"320000\"])".to_string(),
                });
            }
            Ok(Role::Supervision { provinces })
        }
        ("group" | "supervision", Some(_)) => Err(AccountAdminError::BadNewAccount {
            field: "county",
            message: "county：只有县级用户填写区县 / county: only for a county user".to_string(),
        }),
        (other, _) => Err(AccountAdminError::BadNewAccount {
            field: "role",
            message: format!(
                "role：不能新建 {other} 账户，只能新建 county、reviewer、group 或 supervision / role: {other} accounts cannot be created here, only county, reviewer, group or supervision"
            ),
        }),
    }
}

/// Which accounts a listing or export shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFilter {
    /// Only this role (one of [`ROLE_WORDS`]).
    pub role: Option<&'static str>,
    /// Only the account of this unit (credit code).
    pub unit: Option<String>,
}

impl AccountFilter {
    /// Checks the query words: an unknown role is refused with the list of known ones.
    pub fn parse(role: Option<&str>, unit: Option<&str>) -> Result<AccountFilter, String> {
        let role = match role.map(str::trim).filter(|text| !text.is_empty()) {
            None => None,
            Some(word) => Some(
                ROLE_WORDS
                    .iter()
                    .copied()
                    .find(|known| *known == word)
                    .ok_or_else(|| {
                        format!(
                            "“{word}”不是角色 / '{word}' is not a role: admin, reviewer, county, enterprise"
                        )
                    })?,
            ),
        };
        let unit = unit
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_uppercase);
        Ok(AccountFilter { role, unit })
    }

    /// True when the account passes.
    pub fn matches(&self, account: &Account) -> bool {
        self.role.is_none_or(|role| account.role.name() == role)
            && self
                .unit
                .as_deref()
                .is_none_or(|unit| account.role.unit() == Some(unit))
    }
}

/// Whether the admin of a node of `node_division` manages `account`.
/// `unit_county` is the county of an enterprise account's unit in this node's
/// registry (`None` when the unit is not registered here).
pub fn within_jurisdiction(
    account: &Account,
    node_division: DivisionCode,
    unit_county: Option<DivisionCode>,
) -> bool {
    match &account.role {
        Role::Admin | Role::Reviewer | Role::Group { .. } | Role::Supervision { .. } => true,
        Role::County { county } => node_division.contains(*county),
        Role::Enterprise { .. } => unit_county.is_some_and(|county| node_division.contains(county)),
    }
}

/// The account after an admin reset its password to a fresh initial one
/// (`new_hash`): the next login must change it, and any lockout is lifted.
pub fn reset_password(mut account: Account, new_hash: String) -> Account {
    account.password_hash = new_hash;
    account.must_change_password = true;
    account.failed_logins = 0;
    account.locked_until_ms = None;
    account
}

/// The account disabled by admin `by`; an admin cannot disable itself.
pub fn disable(mut account: Account, by: &str) -> Result<Account, AccountAdminError> {
    if account.username == by {
        return Err(AccountAdminError::CannotDisableSelf);
    }
    account.disabled = true;
    Ok(account)
}

/// The account enabled again (the lockout counters start afresh).
pub fn enable(mut account: Account) -> Account {
    account.disabled = false;
    account.failed_logins = 0;
    account.locked_until_ms = None;
    account
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(username: &str, role: Role) -> Account {
        Account {
            username: username.into(),
            password_hash: "old".into(),
            role,
            must_change_password: false,
            disabled: false,
            failed_logins: 3,
            locked_until_ms: Some(5_000),
            created_at_ms: 0,
            last_login_ms: None,
        }
    }

    fn division(code: &str) -> DivisionCode {
        DivisionCode::parse(code).unwrap()
    }

    #[test]
    fn an_admin_manages_its_staff_its_counties_and_its_registered_units_only() {
        let nanjing = division("320100");
        let enterprise = account(
            "913201000000000001",
            Role::Enterprise {
                unit: "913201000000000001".into(),
            },
        );
        let cases = [
            (account("reviewer320100-1", Role::Reviewer), None, true),
            (account("admin320100", Role::Admin), None, true),
            (
                account(
                    "county320102",
                    Role::County {
                        county: division("320102"),
                    },
                ),
                None,
                true,
            ),
            (
                account(
                    "county320505",
                    Role::County {
                        county: division("320505"),
                    },
                ),
                None,
                false,
            ),
            (enterprise.clone(), Some(division("320102")), true),
            (enterprise.clone(), Some(division("320505")), false),
            (enterprise, None, false),
        ];
        for (account, unit_county, expected) in cases {
            assert_eq!(
                within_jurisdiction(&account, nanjing, unit_county),
                expected,
                "{}",
                account.username
            );
        }
    }

    #[test]
    fn a_reset_forces_a_change_and_lifts_the_lock() {
        let reset = reset_password(account("reviewer320100-1", Role::Reviewer), "new".into());
        assert_eq!(reset.password_hash, "new");
        assert!(reset.must_change_password);
        assert_eq!((reset.failed_logins, reset.locked_until_ms), (0, None));
    }

    #[test]
    fn an_admin_cannot_disable_itself_but_can_disable_and_enable_others() {
        let admin = account("admin320100", Role::Admin);
        assert_eq!(
            disable(admin, "admin320100"),
            Err(AccountAdminError::CannotDisableSelf)
        );
        let disabled = disable(account("reviewer320100-2", Role::Reviewer), "admin320100").unwrap();
        assert!(disabled.disabled);
        let enabled = enable(disabled);
        assert!(!enabled.disabled);
        assert_eq!((enabled.failed_logins, enabled.locked_until_ms), (0, None));
    }

    #[test]
    fn filters_check_their_words() {
        let filter =
            AccountFilter::parse(Some("enterprise"), Some(" 913201000000000001 ")).unwrap();
        assert_eq!(filter.role, Some("enterprise"));
        assert!(filter.matches(&account(
            "913201000000000001",
            Role::Enterprise {
                unit: "913201000000000001".into()
            }
        )));
        assert!(!filter.matches(&account("reviewer320100-1", Role::Reviewer)));
        assert!(AccountFilter::parse(Some("boss"), None).is_err());
        assert_eq!(
            AccountFilter::parse(Some(""), None).unwrap(),
            AccountFilter::default()
        );
    }
}
