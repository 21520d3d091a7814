//! The reviewer's pages: the queue (counts by state, filters) and one report
//! (values, findings, the unit's explanations, feedback, annotation and, at
//! upper levels, what changed since the previous version), with the actions
//! of this level as form POSTs calling [`crate::report::service`].

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use zhibao_federation_protocol::NodeLevel;

use super::i18n::{Lang, Language, catalogue, format_number, format_time};
use super::reporting::{FindingView, finding_view};
use super::{Chrome, Crumb, OrPage, Page, PageError, check_csrf, field, render};
use crate::clock::Timestamp;
use crate::node::NodeState;
use crate::report::service::{self, ReportServiceError};
use crate::report::{Comment, ReportContent, ReportKey};
use crate::rules::Finding;
use crate::web::auth::Reviewer;
use crate::web::error::ApiError;

/// The review pages.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new().route("/review", get(queue)).route(
        "/review/{unit}/{form}/{period}",
        get(report_page).post(act_on_report),
    )
}

/// A report as this level holds it, whatever the level.
#[derive(Debug)]
struct Held {
    unit_name: String,
    state: &'static str,
    version: u32,
    rules_run: bool,
    content: ReportContent,
    feedback: Vec<crate::report::FeedbackRecord>,
    annotation: Option<String>,
}

/// Every report this level holds, keyed by report key: a city's own reports,
/// or the reports an upper level received.
fn held_reports(state: &NodeState) -> Result<Vec<(ReportKey, Held)>, ApiError> {
    let mut held = Vec::new();
    if state.config.level() != NodeLevel::City {
        for entry in state.review.received.scan_prefix(&[]) {
            let (_, received) = entry?;
            let key = ReportKey {
                unit: received.report.unit.clone(),
                form: received.report.form.clone(),
                period: received.report.period.clone(),
            };
            held.push((key, held_upper(received)));
        }
        return Ok(held);
    }
    for entry in state.reports.status.scan_prefix(&[]) {
        let (key_bytes, _) = entry?;
        let Some(key) = crate::report::ReportKey::from_bytes(&key_bytes) else {
            continue;
        };
        if let Some(report) = held_at_city(state, &key)? {
            held.push((key, report));
        }
    }
    Ok(held)
}

fn held_at_city(state: &NodeState, key: &ReportKey) -> Result<Option<Held>, ApiError> {
    let Some(status) = state.reports.status.get(&key.to_bytes())? else {
        return Ok(None);
    };
    let Some(number) = status.latest_version else {
        return Ok(None);
    };
    let Some(version) = state.reports.version(key, number)? else {
        return Ok(None);
    };
    let unit_name =
        service::unit_facts(state, &key.unit).map_or_else(|_| key.unit.clone(), |(_, on)| on.name);
    Ok(Some(Held {
        unit_name,
        state: status.state.as_str(),
        version: number,
        rules_run: status
            .rule_run
            .as_ref()
            .is_some_and(|run| run.version == number),
        content: version.content,
        feedback: status.feedback,
        annotation: status.annotation,
    }))
}

fn held_upper(received: crate::review::ReceivedReport) -> Held {
    let version = received.report.version;
    Held {
        unit_name: received.report.unit_name,
        state: received.state.as_str(),
        version,
        rules_run: received
            .rule_run
            .as_ref()
            .is_some_and(|run| run.version == version),
        content: ReportContent {
            values: received.report.values,
            rows: received.report.rows,
            explanations: received.report.explanations,
        },
        feedback: received.feedback,
        annotation: received.report.annotation,
    }
}

/// The report at this level, or "not found".
fn held_report(state: &NodeState, key: &ReportKey) -> Result<Held, ApiError> {
    let held = if state.config.level() == NodeLevel::City {
        held_at_city(state, key)?
    } else {
        state.review.received.get(&key.to_bytes())?.map(held_upper)
    };
    held.ok_or_else(|| {
        ApiError::Report(ReportServiceError::NotFound(format!(
            "本级没有报表 {} {} {} / no such report at this level",
            key.unit, key.form, key.period
        )))
    })
}

/// The queue's filters.
#[derive(Debug, Default, serde::Deserialize)]
struct QueueQuery {
    form: Option<String>,
    period: Option<String>,
    state: Option<String>,
}

/// One row of the queue.
#[derive(Debug)]
struct QueueRow {
    href: String,
    unit: String,
    unit_name: String,
    form: String,
    period: String,
    state: String,
    version: u32,
    rules_run: bool,
}

/// A choice of a filter.
#[derive(Debug)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// The queue page.
#[derive(Debug, Template)]
#[template(path = "queue.html")]
struct QueueTemplate {
    chrome: Chrome,
    counts: Vec<(String, usize)>,
    forms: Vec<Choice>,
    periods: Vec<Choice>,
    states: Vec<Choice>,
    rows: Vec<QueueRow>,
    count_text: String,
}

/// The state a reviewer waits for, at every level (the API's word for it).
fn waiting_state(_state: &NodeState) -> &'static str {
    crate::review::UpperState::AwaitingReview.as_str()
}

fn choices(
    values: impl Iterator<Item = String>,
    selected: &str,
    label: impl Fn(&str) -> String,
) -> Vec<Choice> {
    let unique: std::collections::BTreeSet<String> = values.collect();
    unique
        .into_iter()
        .map(|value| Choice {
            label: label(&value),
            selected: value == selected,
            value,
        })
        .collect()
}

/// # `GET /review?form=&period=&state=`
/// Reports at this level, with counts by state; by default those waiting for review.
async fn queue(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Reviewer>,
    Query(query): Query<QueueQuery>,
) -> Result<Response, PageError> {
    let catalogue = catalogue(lang.language);
    let chrome = Chrome::signed_in(&state, lang, &who.0, "review.queue", "nav.review");
    let held = held_reports(&state).or_page(lang)?;
    let wanted_state = query
        .state
        .clone()
        .unwrap_or_else(|| waiting_state(&state).to_string());
    let wanted_form = query.form.clone().unwrap_or_default();
    let wanted_period = query.period.clone().unwrap_or_default();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, report) in &held {
        *counts.entry(report.state).or_default() += 1;
    }
    let state_name = |word: &str| catalogue.t(&format!("state.{word}")).to_string();
    let rows: Vec<QueueRow> = held
        .iter()
        .filter(|(key, report)| {
            (wanted_state.is_empty() || report.state == wanted_state)
                && (wanted_form.is_empty() || key.form == wanted_form)
                && (wanted_period.is_empty() || key.period == wanted_period)
        })
        .map(|(key, report)| QueueRow {
            href: format!("/review/{}/{}/{}", key.unit, key.form, key.period),
            unit: key.unit.clone(),
            unit_name: report.unit_name.clone(),
            form: key.form.clone(),
            period: key.period.clone(),
            state: state_name(report.state),
            version: report.version,
            rules_run: report.rules_run,
        })
        .collect();
    let page = QueueTemplate {
        count_text: catalogue.count("review.count", rows.len()),
        counts: counts
            .iter()
            .map(|(word, count)| (state_name(word), *count))
            .collect(),
        forms: choices(
            held.iter().map(|(key, _)| key.form.clone()),
            &wanted_form,
            str::to_string,
        ),
        periods: choices(
            held.iter().map(|(key, _)| key.period.clone()),
            &wanted_period,
            str::to_string,
        ),
        states: choices(
            counts
                .keys()
                .map(|word| (*word).to_string())
                .chain(std::iter::once(waiting_state(&state).to_string())),
            &wanted_state,
            state_name,
        ),
        rows,
        chrome,
    };
    render(lang, &page)
}

/// A value row of the review page.
#[derive(Debug)]
struct ValueRow {
    code: String,
    name: String,
    value: String,
    measure: String,
    flagged: bool,
}

/// A changed value.
#[derive(Debug)]
struct ChangeRow {
    code: String,
    name: String,
    before: String,
    after: String,
}

/// The review page.
#[derive(Debug, Template)]
#[template(path = "review.html")]
struct ReviewTemplate {
    chrome: Chrome,
    action_url: String,
    print_url: String,
    unit: String,
    unit_name: String,
    state: String,
    version: u32,
    rules_run: bool,
    is_city: bool,
    values: Vec<ValueRow>,
    findings: Option<Vec<FindingView>>,
    explanations: Vec<(String, String)>,
    feedback: Vec<String>,
    annotation: Option<String>,
    changes: Vec<ChangeRow>,
    /// (key, "code name") of every indicator of the form, for comments.
    indicator_choices: Vec<(String, String)>,
    /// 0..COMMENT_ROWS: the indicator comment rows of a form.
    comment_slots: Vec<usize>,
}

/// What changed since the version seen before: at the city the unit's
/// previous submission, above the previous version received (the API's
/// `changes_since_previous_version`).
fn changes_since_previous(
    state: &NodeState,
    key: &ReportKey,
    version: u32,
) -> Result<crate::web::reports::Changes, ApiError> {
    let changes = if state.config.level() == NodeLevel::City {
        crate::web::reports::changes_since_previous_submission(state, key, version)?
            .map(|(_, changes)| changes)
    } else {
        match state.review.received.get(&key.to_bytes())? {
            Some(received) => {
                crate::web::reports::changes_since_previous_version(state, key, &received)?
            }
            None => None,
        }
    };
    Ok(changes.unwrap_or_default())
}

/// How many indicator comment rows the return and feedback forms offer.
const COMMENT_ROWS: usize = 3;

fn review_template(
    state: &NodeState,
    lang: Lang,
    who: &Reviewer,
    key: &ReportKey,
    held: Held,
    findings: Option<&[Finding]>,
) -> ReviewTemplate {
    let mut chrome = Chrome::signed_in(state, lang, &who.0, "review.title", "nav.review");
    chrome.title = format!("{} {} {}", held.unit_name, key.form, key.period);
    chrome.crumbs.push(Crumb {
        href: Some("/review".to_string()),
        label: held.unit_name.clone(),
    });
    chrome.crumbs.push(Crumb {
        href: None,
        label: format!("{} {}", key.form, key.period),
    });
    let definition = crate::metadata::FormCode::parse(&key.form)
        .ok()
        .and_then(|code| state.standards().metadata.form(&code).cloned());
    let name_of = |indicator_key: &str| -> (String, String, String) {
        definition
            .as_ref()
            .and_then(|form| form.indicator(indicator_key))
            .map_or_else(
                || {
                    (
                        indicator_key.to_string(),
                        indicator_key.to_string(),
                        String::new(),
                    )
                },
                |indicator| {
                    let name = match lang.language {
                        Language::Zh => indicator.name_zh.clone(),
                        Language::En => indicator.name_en.clone(),
                    };
                    (
                        indicator.code.as_str().to_string(),
                        name,
                        indicator.unit.clone(),
                    )
                },
            )
    };
    let flagged: Vec<&str> = findings
        .unwrap_or_default()
        .iter()
        .flat_map(|finding| finding.indicators.iter().map(|key| key.as_str()))
        .collect();
    let mut values: Vec<ValueRow> = held
        .content
        .values
        .iter()
        .map(|(indicator_key, value)| {
            let (code, name, measure) = name_of(indicator_key);
            ValueRow {
                code,
                name,
                value: format_number(value),
                measure,
                flagged: flagged.contains(&indicator_key.as_str()),
            }
        })
        .collect();
    values.sort_by(|a, b| a.code.cmp(&b.code));
    let changes = changes_since_previous(state, key, held.version).unwrap_or_else(|error| {
        tracing::warn!(%error, "changes since the previous version not shown");
        BTreeMap::new()
    });
    let indicator_choices = definition
        .as_ref()
        .map(|form| {
            form.indicators
                .iter()
                .map(|indicator| {
                    let (code, name, _) = name_of(indicator.key.as_str());
                    (indicator.key.as_str().to_string(), format!("{code} {name}"))
                })
                .collect()
        })
        .unwrap_or_default();
    let feedback = held
        .feedback
        .iter()
        .flat_map(|record| {
            record.comments.iter().map(move |comment| {
                format!(
                    "{} {} ({}): {}{}",
                    format_time(record.at_ms),
                    record.from_level,
                    record.by,
                    comment
                        .indicator
                        .as_ref()
                        .map(|indicator| {
                            let (code, name, _) = name_of(indicator);
                            format!("[{code} {name}] ")
                        })
                        .unwrap_or_default(),
                    comment.text
                )
            })
        })
        .collect();
    ReviewTemplate {
        chrome,
        action_url: format!("/review/{}/{}/{}", key.unit, key.form, key.period),
        print_url: super::print::print_href(key, Some(held.version)),
        unit: key.unit.clone(),
        unit_name: held.unit_name.clone(),
        state: catalogue(lang.language)
            .t(&format!("state.{}", held.state))
            .to_string(),
        version: held.version,
        rules_run: held.rules_run,
        is_city: state.config.level() == NodeLevel::City,
        values,
        findings: findings.map(|findings| {
            findings
                .iter()
                .map(|finding| finding_view(lang, finding, &held.content))
                .collect()
        }),
        explanations: held.content.explanations.clone().into_iter().collect(),
        feedback,
        annotation: held.annotation.clone(),
        changes: changes
            .into_iter()
            .map(|(indicator_key, (before, after))| ChangeRow {
                code: name_of(&indicator_key).0,
                name: name_of(&indicator_key).1,
                before: before
                    .map(|value| format_number(&value))
                    .unwrap_or_default(),
                after: after.map(|value| format_number(&value)).unwrap_or_default(),
            })
            .collect(),
        indicator_choices,
        comment_slots: (0..COMMENT_ROWS).collect(),
    }
}

/// Notices a redirect may name.
#[derive(Debug, serde::Deserialize)]
struct ReviewQuery {
    notice: Option<String>,
}

/// # `GET /review/{unit}/{form}/{period}`
/// One report as this level holds it.
async fn report_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Reviewer>,
    Path((unit, form, period)): Path<(String, String, String)>,
    Query(query): Query<ReviewQuery>,
) -> Result<Response, PageError> {
    let (key, _, _) = service::checked_key(&state, &unit, &form, &period).or_page(lang)?;
    let held = held_report(&state, &key).or_page(lang)?;
    let mut page = review_template(&state, lang, &who, &key, held, None);
    let catalogue = catalogue(lang.language);
    page.chrome.notice = match query.notice.as_deref() {
        Some("approved") => Some(catalogue.t("review.approved")),
        Some("returned") => Some(catalogue.t("review.returned")),
        Some("feedback") => Some(catalogue.t("review.feedback_sent")),
        Some("annotated") => Some(catalogue.t("review.annotated")),
        _ => None,
    }
    .map(str::to_string);
    render(lang, &page)
}

/// The comments of a posted return or feedback form: the general `comment`,
/// then each indicator row (`ci.{n}` the indicator, `ct.{n}` the text) whose
/// text is not blank. An indicator the form does not have is dropped (the
/// comment stays, as a general one).
fn comments_of(
    definition: Option<&crate::metadata::Form>,
    form: &[(String, String)],
) -> Vec<Comment> {
    let general = field(form, "comment")
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| Comment {
            indicator: None,
            text: text.to_string(),
        });
    let per_indicator = (0..COMMENT_ROWS).filter_map(|row| {
        let text = field(form, &format!("ct.{row}"))
            .map(str::trim)
            .filter(|text| !text.is_empty())?;
        let indicator = field(form, &format!("ci.{row}"))
            .filter(|key| definition.is_some_and(|form| form.indicator(key).is_some()))
            .map(str::to_string);
        Some(Comment {
            indicator,
            text: text.to_string(),
        })
    });
    general.into_iter().chain(per_indicator).collect()
}

/// # `POST /review/{unit}/{form}/{period}` (`action` = `rules` | `approve` | `return` | `feedback` | `annotate`)
/// The decisions of this level; refusals re-render the page with the message.
async fn act_on_report(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Reviewer>,
    Path((unit, form_code, period)): Path<(String, String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    check_csrf(&who.0, field(&form, "csrf")).or_page(lang)?;
    let (key, form_id, period_id) =
        service::checked_key(&state, &unit, &form_code, &period).or_page(lang)?;
    held_report(&state, &key).or_page(lang)?;
    let definition = state.standards().metadata.form(&form_id).cloned();
    let comments = comments_of(definition.as_ref(), &form);
    let by = who.0.account.username.clone();
    let now = Timestamp::now_from_system_clock();
    let page_url = format!("/review/{}/{}/{}", key.unit, key.form, key.period);
    let outcome: Result<&str, ApiError> = match field(&form, "action").unwrap_or_default() {
        "rules" => match service::reviewer_check(&state, &key, &form_id, period_id, &by, now).await
        {
            Ok(findings) => {
                let held = held_report(&state, &key).or_page(lang)?;
                let mut page = review_template(&state, lang, &who, &key, held, Some(&findings));
                page.chrome.notice =
                    Some(catalogue(lang.language).t("review.rules_done").to_string());
                return render(lang, &page);
            }
            Err(error) => Err(error.into()),
        },
        "approve" => {
            let comment = field(&form, "comment")
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(str::to_string);
            service::approve(&state, &key, comment, &by, now)
                .await
                .map(|_| "approved")
                .map_err(ApiError::from)
        }
        "return" => {
            match crate::web::reports::parse_due(&serde_json::Value::String(
                field(&form, "due").unwrap_or_default().to_string(),
            )) {
                Ok(due) => service::return_to_unit(&state, &key, comments, due, &by, now)
                    .await
                    .map(|_| "returned")
                    .map_err(ApiError::from),
                Err(error) => Err(error),
            }
        }
        "feedback" => service::feedback(&state, &key, comments, &by, now)
            .await
            .map(|_| "feedback")
            .map_err(ApiError::from),
        "annotate" => {
            let text = field(&form, "comment").unwrap_or_default();
            service::annotate(&state, &key, text, &by, now)
                .await
                .map(|_| "annotated")
                .map_err(ApiError::from)
        }
        other => Err(ApiError::BadRequest {
            field: Some("action".to_string()),
            message: format!("未知操作 {other} / unknown action {other}"),
        }),
    };
    match outcome {
        Ok(notice) => Ok(super::see_other(&format!("{page_url}?notice={notice}"))),
        Err(error) if error.status_and_code().0.is_server_error() => {
            Err(PageError::new(lang, error))
        }
        Err(error) => {
            let held = held_report(&state, &key).or_page(lang)?;
            let mut page = review_template(&state, lang, &who, &key, held, None);
            page.chrome.error = Some(super::message_of(&error, lang));
            super::render_with_status(lang, error.status_and_code().0, &page)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::NationalStandard;

    fn check(fields: &[(&str, &str)], expected: &[(Option<&str>, &str)]) {
        let standard = NationalStandard::default_standard().unwrap();
        let g101 = standard
            .release
            .forms
            .iter()
            .find(|form| form.code.as_str() == "G101");
        let posted: Vec<(String, String)> = fields
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let expected: Vec<Comment> = expected
            .iter()
            .map(|(indicator, text)| Comment {
                indicator: indicator.map(str::to_string),
                text: text.to_string(),
            })
            .collect();
        assert_eq!(comments_of(g101, &posted), expected, "{fields:?}");
    }

    #[test]
    fn return_comments_are_general_or_about_one_indicator() {
        check(&[], &[]);
        check(&[("comment", "  ")], &[]);
        check(&[("comment", " 请补充说明 ")], &[(None, "请补充说明")]);
        check(
            &[
                ("comment", "总体意见"),
                ("ci.0", "cod_emit"),
                ("ct.0", "请核实"),
                ("ci.1", "so2_emit"),
                ("ct.1", " "),
                ("ci.2", ""),
                ("ct.2", "无指标的意见"),
            ],
            &[
                (None, "总体意见"),
                (Some("cod_emit"), "请核实"),
                (None, "无指标的意见"),
            ],
        );
        // An indicator the form does not have keeps the text as a general comment.
        check(
            &[("ci.0", "<b>nope</b>"), ("ct.0", "文字")],
            &[(None, "文字")],
        );
        // Rows past the offered ones are not read.
        check(&[("ci.3", "cod_emit"), ("ct.3", "多余")], &[]);
    }
}
