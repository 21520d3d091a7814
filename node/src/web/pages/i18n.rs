//! Page text from message catalogues: `node/i18n/zh.toml` (the default) and
//! `node/i18n/en.toml`, compiled into the binary with `include_str!` and
//! flattened to `section.key → text` once.
//!
//! Why not Fluent: the pages need plain lookups and one `{n}` placeholder;
//! a TOML table per language needs no new dependency (`toml` is already
//! here) and a translator edits it without learning a syntax.
//!
//! The language comes from `?lang=zh|en`, else the `zhibao_lang` cookie,
//! else Chinese; a `?lang=` choice is remembered in that cookie.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};

/// The language cookie's name.
pub const LANG_COOKIE: &str = "zhibao_lang";

/// A language the pages speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// 中文 (default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Language {
    /// `zh` / `en`.
    pub fn code(self) -> &'static str {
        match self {
            Language::Zh => "zh",
            Language::En => "en",
        }
    }

    /// The HTML `lang` attribute.
    pub fn html_lang(self) -> &'static str {
        match self {
            Language::Zh => "zh-CN",
            Language::En => "en",
        }
    }

    fn parse(text: &str) -> Option<Language> {
        match text {
            "zh" => Some(Language::Zh),
            "en" => Some(Language::En),
            _ => None,
        }
    }

    /// The half of a bilingual `中文 / English` message in this language.
    pub fn pick(self, bilingual: &str) -> &str {
        match (self, bilingual.split_once(" / ")) {
            (Language::Zh, Some((zh, _))) => zh,
            (Language::En, Some((_, en))) => en,
            (_, None) => bilingual,
        }
    }
}

/// One language's messages.
#[derive(Debug)]
pub struct Catalogue {
    messages: HashMap<String, String>,
}

impl Catalogue {
    fn load(text: &str) -> Catalogue {
        let mut messages = HashMap::new();
        match toml::from_str::<toml::Table>(text) {
            Ok(table) => flatten("", &table, &mut messages),
            Err(error) => tracing::error!(%error, "a page catalogue does not parse"),
        }
        Catalogue { messages }
    }

    /// The text of `key`; the key itself when missing (visible, never a crash).
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.messages.get(key).map_or(key, String::as_str)
    }

    /// The text of `key` with `{n}` replaced by `n`.
    pub fn count(&self, key: &str, n: usize) -> String {
        self.t(key).replace("{n}", &n.to_string())
    }

    /// Every key (for the catalogue test).
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.messages.keys()
    }
}

fn flatten(prefix: &str, table: &toml::Table, into: &mut HashMap<String, String>) {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&key, inner, into),
            toml::Value::String(text) => {
                into.insert(key, text.clone());
            }
            other => {
                into.insert(key, other.to_string());
            }
        }
    }
}

static ZH: LazyLock<Catalogue> =
    LazyLock::new(|| Catalogue::load(include_str!("../../../i18n/zh.toml")));
static EN: LazyLock<Catalogue> =
    LazyLock::new(|| Catalogue::load(include_str!("../../../i18n/en.toml")));

/// The catalogue of a language.
pub fn catalogue(language: Language) -> &'static Catalogue {
    match language {
        Language::Zh => &ZH,
        Language::En => &EN,
    }
}

/// The request's language, and whether the choice is new (to remember it).
#[derive(Debug, Clone, Copy)]
pub struct Lang {
    /// The language of the page.
    pub language: Language,
    /// Chosen by `?lang=` on this request.
    pub chosen_now: bool,
}

impl Lang {
    /// The `Set-Cookie` remembering a choice made by `?lang=` (a year).
    pub fn cookie(self) -> Option<HeaderValue> {
        if !self.chosen_now {
            return None;
        }
        HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
            self.language.code()
        ))
        .ok()
    }

    /// Reads the language of a request.
    pub fn of(parts: &Parts) -> Lang {
        let from_query = parts.uri.query().and_then(|query| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("lang="))
                .and_then(Language::parse)
        });
        if let Some(language) = from_query {
            return Lang {
                language,
                chosen_now: true,
            };
        }
        let from_cookie = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|cookies| cookies.split(';'))
            .find_map(|cookie| {
                cookie
                    .trim()
                    .strip_prefix(LANG_COOKIE)?
                    .strip_prefix('=')
                    .and_then(Language::parse)
            });
        Lang {
            language: from_cookie.unwrap_or_default(),
            chosen_now: false,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::of(parts))
    }
}

/// `2026-12-04 16:42` in Beijing time.
pub fn format_time(ms: i64) -> String {
    let seconds = ms.div_euclid(1000) + 8 * 3600;
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        of_day / 3600,
        (of_day % 3600) / 60
    )
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A decimal string with its whole part grouped by thousands (`12345.6` → `12,345.6`).
pub fn format_number(text: &str) -> String {
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    if whole.is_empty() || !whole.bytes().all(|byte| byte.is_ascii_digit()) {
        return text.to_string();
    }
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_the_same_keys() {
        let mut zh: Vec<_> = catalogue(Language::Zh).keys().collect();
        let mut en: Vec<_> = catalogue(Language::En).keys().collect();
        zh.sort();
        en.sort();
        assert!(zh.len() > 50, "the zh catalogue did not load");
        assert_eq!(zh, en);
    }

    #[test]
    fn numbers_and_times_are_formatted() {
        assert_eq!(format_number("1234567.25"), "1,234,567.25");
        assert_eq!(format_number("-1200"), "-1,200");
        assert_eq!(format_number("12"), "12");
        assert_eq!(format_number("abc"), "abc");
        // 2026-12-04 08:42 UTC is 16:42 in Beijing.
        assert_eq!(format_time(1_796_373_720_000), "2026-12-04 16:42");
    }

    #[test]
    fn bilingual_messages_split_by_language() {
        assert_eq!(Language::Zh.pick("请先登录 / please log in"), "请先登录");
        assert_eq!(
            Language::En.pick("请先登录 / please log in"),
            "please log in"
        );
    }
}
