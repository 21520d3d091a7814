//! Audit rules (审核规则): checks over a report's values that every level runs
//! before a report moves on.
//!
//! - A rule is an [`AuditRule`]: an id (`N001`), its owner (national, a
//!   province or a city), a severity (an **error** blocks; a **warning** passes
//!   only with a written explanation), an expression that must be **true** for
//!   a report that passes, and a Chinese message with `{placeholders}`.
//! - Expressions are written in CEL (Google's Common Expression Language,
//!   the `cel` crate); `docs/rules.md` lists the names a rule can use.
//! - Rules are compiled when they are added ([`compile`], [`RuleSet::compile`]):
//!   a syntax error is refused with its line and column, an unknown indicator
//!   by name, and every rule is dry-run once on a sample report so that a type
//!   error (`x * 366` on a decimal) is refused then, not at review time.
//! - [`check`] runs a [`RuleSet`] on one [`ReportFacts`] and returns
//!   [`Finding`]s. It never fails and never panics: a rule that cannot be
//!   evaluated yields a finding that says so.
//!
//! **Decisions** (see `docs/rules.md`):
//! - *Numbers are f64 inside rules only.* Reports keep exact decimals
//!   (`rust_decimal`); CEL has no decimal type, so values are converted to
//!   doubles for evaluation. The national rules compare with tolerances (± 1 t,
//!   ± 0.5 %, ± 5 %) far above f64's relative error (~1e-16), and placeholders in
//!   messages show the exact decimals.
//! - *A missing number is 0 and a missing text is `''`* in rules; whether a
//!   value is required is a separate check on the form.
//! - *A rule that names `prev` is skipped when the unit has no report for the
//!   previous period*, and one that names `sum_quarters`/`quarters` when the
//!   four quarterly reports are not all there: no finding either way.

mod fast;
mod scope;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::metadata::{
    EffectiveMetadata, Form, FormCode, IndicatorKey, IndicatorKeysByKind, IndicatorValue, Origin,
    ReportValues,
};

/// A rule's id: `N001` (national), `JS-R1`, `SZ-R1`. Upper-case letters,
/// digits and `-`, starting with a letter, at most 24 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RuleId(String);

impl RuleId {
    /// Checks and wraps a rule id.
    pub fn parse(text: &str) -> Result<RuleId, RuleCompileError> {
        let well_formed = (2..=24).contains(&text.len())
            && text.starts_with(|first: char| first.is_ascii_uppercase())
            && text.chars().all(|character| {
                character.is_ascii_uppercase() || character.is_ascii_digit() || character == '-'
            });
        if well_formed {
            Ok(RuleId(text.to_string()))
        } else {
            Err(RuleCompileError::MalformedId(text.to_string()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RuleId {
    type Error = RuleCompileError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        RuleId::parse(&text)
    }
}

impl From<RuleId> for String {
    fn from(id: RuleId) -> String {
        id.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a failed rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 错误: blocks submission and approval.
    Error,
    /// 提示(需说明): passes only with a written explanation from the unit.
    Warning,
}

/// One audit rule as defined by its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRule {
    /// Its id, unique across all levels.
    pub id: RuleId,
    /// Who defined it (national rules are mandatory everywhere).
    pub owner: Origin,
    /// The form it checks.
    pub form: FormCode,
    /// Error or warning.
    pub severity: Severity,
    /// CEL; true when the report passes.
    pub expression: String,
    /// Chinese message; `{key}`, `{prev.key}`, `{rows.kind}` and
    /// `{quarters.key}` are replaced by the report's values.
    pub message_zh: String,
    /// English message, same placeholders (may be empty).
    pub message_en: String,
    /// The indicators the rule is about (the UI highlights them).
    pub indicators: Vec<IndicatorKey>,
}

/// Why a rule cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleCompileError {
    /// The id is not of the shape `N001` / `JS-R1`.
    #[error(
        "'{0}' is not a rule id: expected upper-case letters, digits and '-', e.g. N001 or JS-R1"
    )]
    MalformedId(String),
    /// The expression does not parse.
    #[error("rule {rule}: syntax error at line {line}, column {column}: {message}")]
    Syntax {
        /// The rule.
        rule: RuleId,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// The expression names something that is neither an indicator of the
    /// form nor a name of the rule language.
    #[error(
        "rule {rule}: '{name}' is not an indicator of form {form} nor a name of the rule language (prev, rows, quarters, unit)"
    )]
    UnknownName {
        /// The rule.
        rule: RuleId,
        /// The form.
        form: FormCode,
        /// The unknown name.
        name: String,
    },
    /// The rule is on another form than the rule set.
    #[error("rule {rule} is on form {rule_form}, not {form}")]
    WrongForm {
        /// The rule.
        rule: RuleId,
        /// Its form.
        rule_form: FormCode,
        /// The form being compiled.
        form: FormCode,
    },
    /// The form does not exist in the effective metadata.
    #[error("form {0} does not exist")]
    UnknownForm(FormCode),
    /// A dry run on a sample report failed: a type error (write `366.0`,
    /// not `366`, next to a number), a misspelt `prev.` key, or a result
    /// that is not true/false.
    #[error("rule {rule} cannot be evaluated: {reason}")]
    DoesNotEvaluate {
        /// The rule.
        rule: RuleId,
        /// What went wrong on the sample report.
        reason: String,
    },
}

/// A rule ready to run.
#[derive(Debug)]
pub struct CompiledRule {
    rule: AuditRule,
    program: cel::Program,
    /// The same expression lowered to slots, when it stays in the subset
    /// `fast.rs` handles; `None` runs it on the `cel` interpreter.
    fast: Option<fast::FastExpr>,
    uses_previous: bool,
    uses_quarters: bool,
}

impl CompiledRule {
    /// The rule as defined.
    pub fn rule(&self) -> &AuditRule {
        &self.rule
    }

    /// Whether the rule runs on the compiled fast path (else on the interpreter).
    pub fn runs_on_fast_path(&self) -> bool {
        self.fast.is_some()
    }
}

/// The rules of one form, compiled, with the form's indicator keys.
pub struct RuleSet {
    form: FormCode,
    keys: IndicatorKeysByKind,
    rules: Vec<CompiledRule>,
    /// What the rules left to the interpreter need in their scope.
    needs: scope::Needs,
    /// The same for every rule (when all run on the interpreter).
    needs_of_all_rules: scope::Needs,
    slots: fast::Slots,
    functions: scope::RootContext,
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSet")
            .field("form", &self.form)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

impl RuleSet {
    /// Compiles rules for one form. Refuses the first rule that does not
    /// compile (syntax, unknown name, dry run).
    pub fn compile<'a>(
        form: &Form,
        rules: impl IntoIterator<Item = &'a AuditRule>,
    ) -> Result<RuleSet, RuleCompileError> {
        let compiled = rules
            .into_iter()
            .map(|rule| compile(rule, form))
            .collect::<Result<Vec<_>, _>>()?;
        let keys = IndicatorKeysByKind::of_form(form);
        let interpreted: Vec<&CompiledRule> =
            compiled.iter().filter(|rule| rule.fast.is_none()).collect();
        Ok(RuleSet {
            form: form.code.clone(),
            slots: fast::Slots::of(&keys),
            keys,
            needs: needs_of(interpreted),
            needs_of_all_rules: needs_of(&compiled),
            rules: compiled,
            functions: scope::RootContext::new(),
        })
    }

    /// The effective rules of one form at a node (national + extensions).
    pub fn for_form(
        metadata: &EffectiveMetadata,
        form: &FormCode,
    ) -> Result<RuleSet, RuleCompileError> {
        let form_definition = metadata
            .form(form)
            .ok_or_else(|| RuleCompileError::UnknownForm(form.clone()))?;
        RuleSet::compile(form_definition, metadata.rules_for_form(form))
    }

    /// The form these rules check.
    pub fn form(&self) -> &FormCode {
        &self.form
    }

    /// The compiled rules, in order.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }
}

/// Compiles one rule against the form it checks: parses it (refusing a
/// syntax error with its position), checks the names it uses, and dry-runs
/// it on a sample report.
pub fn compile(rule: &AuditRule, form: &Form) -> Result<CompiledRule, RuleCompileError> {
    if rule.form != form.code {
        return Err(RuleCompileError::WrongForm {
            rule: rule.id.clone(),
            rule_form: rule.form.clone(),
            form: form.code.clone(),
        });
    }
    let program =
        cel::Program::compile(&rule.expression).map_err(|errors| syntax_error(rule, &errors))?;
    let keys = IndicatorKeysByKind::of_form(form);
    check_names(rule, form, &keys, &program)?;
    let references = program.references();
    let uses_previous = references.has_variable("prev");
    let uses_quarters =
        references.has_variable("quarters") || references.has_function("sum_quarters");
    let fast = fast::lower(program.expression(), &fast::Slots::of(&keys));
    let mut compiled = CompiledRule {
        rule: rule.clone(),
        program,
        fast,
        uses_previous,
        uses_quarters,
    };
    dry_run(&mut compiled, &keys)?;
    Ok(compiled)
}

fn syntax_error(rule: &AuditRule, errors: &cel::ParseErrors) -> RuleCompileError {
    let first = errors.errors.first();
    let (line, column) = first
        .map(|error| {
            (
                usize::try_from(error.pos.0).unwrap_or(0).max(1),
                usize::try_from(error.pos.1).unwrap_or(0).max(1),
            )
        })
        .unwrap_or((1, 1));
    RuleCompileError::Syntax {
        rule: rule.id.clone(),
        line,
        column,
        message: first
            .map(|error| error.msg.clone())
            .unwrap_or_else(|| errors.to_string()),
    }
}

/// Names the rule language provides besides the form's indicators.
const LANGUAGE_NAMES: &[&str] = &["prev", "rows", "quarters", "unit"];

fn check_names(
    rule: &AuditRule,
    form: &Form,
    keys: &IndicatorKeysByKind,
    program: &cel::Program,
) -> Result<(), RuleCompileError> {
    let references = program.references();
    for name in references.variables() {
        let known = keys.numeric.contains(name)
            || keys.textual.contains(name)
            || LANGUAGE_NAMES.contains(&name)
            || is_macro_variable(&rule.expression, name);
        if !known {
            return Err(RuleCompileError::UnknownName {
                rule: rule.id.clone(),
                form: form.code.clone(),
                name: name.to_string(),
            });
        }
    }
    Ok(())
}

/// `x` in `list.all(x, x == 0.0)` is bound by the macro, not a report value.
fn is_macro_variable(expression: &str, name: &str) -> bool {
    name.starts_with('@')
        || name.starts_with("__")
        || ["all", "exists", "exists_one", "map", "filter"]
            .iter()
            .any(|macro_name| {
                let compact: String = expression.split_whitespace().collect();
                compact.contains(&format!("{macro_name}({name},"))
            })
}

/// Runs the rule once on a report where every number is 1 and every text is
/// empty, with a previous period, four quarters and no rows: it must give
/// true or false. The fast path must agree with the interpreter there, or
/// the rule stays on the interpreter.
fn dry_run(rule: &mut CompiledRule, keys: &IndicatorKeysByKind) -> Result<(), RuleCompileError> {
    let sample = ReportFacts::sample_with_every_number_one(keys);
    let functions = scope::RootContext::new();
    let interpreted = scope::evaluate(&functions, keys, rule, &sample);
    if let Some(fast_expression) = &rule.fast {
        let slots = fast::Slots::of(keys);
        let fast_outcome = fast::run(fast_expression, &fast::FastScope::build(&slots, &sample));
        if fast_outcome.as_ref().ok() != interpreted.as_ref().ok() {
            rule.fast = None;
        }
    }
    match interpreted {
        Ok(_) => Ok(()),
        Err(reason) => Err(RuleCompileError::DoesNotEvaluate {
            rule: rule.rule.id.clone(),
            reason: with_hint_for_whole_numbers(reason),
        }),
    }
}

/// CEL does not mix doubles and integers in arithmetic; indicator values are
/// doubles, so `x * 366` fails where `x * 366.0` works. Say so.
fn with_hint_for_whole_numbers(reason: String) -> String {
    let lower = reason.to_lowercase();
    if lower.contains("overload") || lower.contains("unsupported binary operator") {
        format!(
            "{reason}（提示：与指标值运算的数字请写成小数，如 366.0 而不是 366 / hint: write numbers next to indicator values with a decimal point, 366.0 not 366）"
        )
    } else {
        reason
    }
}

/// A unit's control class (国控 / 省控 / 市控 / 其他); rules see it as
/// `'national' in unit.classes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlClass {
    /// 国控.
    National,
    /// 省控.
    Provincial,
    /// 市控.
    City,
    /// 其他.
    Other,
}

impl ControlClass {
    /// The name rules use: `national`, `provincial`, `city`, `other`.
    pub fn rule_name(self) -> &'static str {
        match self {
            ControlClass::National => "national",
            ControlClass::Provincial => "provincial",
            ControlClass::City => "city",
            ControlClass::Other => "other",
        }
    }
}

/// What rules may know about the unit (from the registry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitFacts {
    /// Its control classes (several may apply).
    pub control_classes: Vec<ControlClass>,
    /// Whether it is a key-industry unit (总量减排重点行业企业).
    pub key_industry: bool,
    /// Its industry code (GB/T 4754), e.g. `44`.
    pub industry: String,
}

/// Everything the rules of one form see about one report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFacts {
    /// The report's values (missing numbers are 0 in rules).
    pub values: ReportValues,
    /// The unit's rows of the period's row form (G103 facilities); empty when
    /// it filed none.
    pub rows: Vec<ReportValues>,
    /// The same unit's report of the previous period of the same form, if any.
    pub previous: Option<ReportValues>,
    /// For an annual report: the unit's four quarterly reports (G101Q) of the
    /// year, when all four exist.
    pub quarters: Option<Vec<ReportValues>>,
    /// Registry facts about the unit.
    pub unit: UnitFacts,
}

impl ReportFacts {
    fn sample_with_every_number_one(keys: &IndicatorKeysByKind) -> ReportFacts {
        let values: ReportValues = keys
            .numeric
            .iter()
            .map(|key| (key.clone(), IndicatorValue::Number(Decimal::ONE)))
            .collect();
        ReportFacts {
            values: values.clone(),
            rows: Vec::new(),
            previous: Some(values.clone()),
            quarters: Some(vec![values.clone(), values.clone(), values.clone(), values]),
            unit: UnitFacts {
                control_classes: vec![ControlClass::National],
                key_industry: true,
                industry: String::new(),
            },
        }
    }
}

/// How a rule came out on a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FindingOutcome {
    /// The expression was false: the report fails the rule.
    Failed,
    /// The expression could not be evaluated on this report (e.g. a division
    /// by zero made it neither true nor false). Treated like a failure of the
    /// rule's severity, so an error-rule that cannot run still blocks.
    CouldNotEvaluate {
        /// Why, for the bureau that owns the rule.
        reason: String,
    },
}

/// One rule that did not pass on one report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule.
    pub rule_id: RuleId,
    /// Who owns the rule.
    pub owner: Origin,
    /// Error or warning.
    pub severity: Severity,
    /// The Chinese message with the report's values filled in.
    pub message_zh: String,
    /// The English message with the values filled in.
    pub message_en: String,
    /// The indicators concerned.
    pub indicators: Vec<IndicatorKey>,
    /// Failed, or could not be evaluated.
    pub outcome: FindingOutcome,
}

/// Runs every rule of the set on the report. Rules that pass, and rules that
/// need a previous period or quarterly reports the unit does not have, give
/// no finding.
pub fn check(rule_set: &RuleSet, report: &ReportFacts) -> Vec<Finding> {
    let mut findings = Vec::new();
    let fast_scope = fast::FastScope::build(&rule_set.slots, report);
    let any_interpreted = rule_set.rules.iter().any(|rule| rule.fast.is_none());
    let interpreter_scope = any_interpreted
        .then(|| scope::EvaluationScope::build(&rule_set.keys, report, &rule_set.needs));
    let context = interpreter_scope
        .as_ref()
        .map(|variables| scope::child_context(&rule_set.functions, variables));
    for rule in &rule_set.rules {
        if !applies_to(rule, report) {
            continue;
        }
        let outcome = match (&rule.fast, &context) {
            (Some(fast_expression), _) => fast::run(fast_expression, &fast_scope),
            (None, Some(context)) => scope::run(context, rule),
            (None, None) => Err("internal: no interpreter scope".to_string()),
        };
        push_finding(&mut findings, rule, report, outcome);
    }
    findings
}

/// Like [`check`], but every rule runs on the `cel` interpreter. For tests
/// and benchmarks that compare the two paths.
pub fn check_with_interpreter(rule_set: &RuleSet, report: &ReportFacts) -> Vec<Finding> {
    let mut findings = Vec::new();
    let variables =
        scope::EvaluationScope::build(&rule_set.keys, report, &rule_set.needs_of_all_rules);
    let context = scope::child_context(&rule_set.functions, &variables);
    for rule in &rule_set.rules {
        if applies_to(rule, report) {
            push_finding(&mut findings, rule, report, scope::run(&context, rule));
        }
    }
    findings
}

/// A rule that names `prev` needs a previous report; one that names the
/// quarters needs all four.
fn applies_to(rule: &CompiledRule, report: &ReportFacts) -> bool {
    !(rule.uses_previous && report.previous.is_none()
        || rule.uses_quarters && report.quarters.is_none())
}

fn push_finding(
    findings: &mut Vec<Finding>,
    rule: &CompiledRule,
    report: &ReportFacts,
    outcome: Result<bool, String>,
) {
    let outcome = match outcome {
        Ok(true) => return,
        Ok(false) => FindingOutcome::Failed,
        Err(reason) => FindingOutcome::CouldNotEvaluate { reason },
    };
    findings.push(finding_for(rule, report, outcome));
}

fn needs_of<'a>(rules: impl IntoIterator<Item = &'a CompiledRule>) -> scope::Needs {
    rules
        .into_iter()
        .map(scope::Needs::of_rule)
        .fold(scope::Needs::default(), scope::Needs::merge)
}

fn finding_for(rule: &CompiledRule, report: &ReportFacts, outcome: FindingOutcome) -> Finding {
    Finding {
        rule_id: rule.rule.id.clone(),
        owner: rule.rule.owner,
        severity: rule.rule.severity,
        message_zh: fill_message(&rule.rule.message_zh, report),
        message_en: fill_message(&rule.rule.message_en, report),
        indicators: rule.rule.indicators.clone(),
        outcome,
    }
}

/// The findings that stop a report from being submitted or approved: every
/// error, and every warning the unit has not explained (`has_explanation`
/// says whether a written explanation exists for a rule id). A rule that
/// could not be evaluated counts like a failure of its severity.
pub fn findings_blocking_submission(
    findings: &[Finding],
    has_explanation: impl Fn(&RuleId) -> bool,
) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|finding| match finding.severity {
            Severity::Error => true,
            Severity::Warning => !has_explanation(&finding.rule_id),
        })
        .collect()
}

/// Replaces `{key}`, `{prev.key}`, `{rows.kind}` (number of rows of that
/// kind) and `{quarters.key}` (sum of the four quarters) by exact decimals
/// from the report. Unknown placeholders are left as written.
pub fn fill_message(template: &str, report: &ReportFacts) -> String {
    let mut filled = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        filled.push_str(&rest[..open]);
        let after_open = &rest[open + 1..];
        let Some(close) = after_open.find('}') else {
            filled.push_str(&rest[open..]);
            return filled;
        };
        let name = &after_open[..close];
        match placeholder_value(name, report) {
            Some(value) => filled.push_str(&value),
            None => {
                filled.push('{');
                filled.push_str(name);
                filled.push('}');
            }
        }
        rest = &after_open[close + 1..];
    }
    filled.push_str(rest);
    filled
}

fn placeholder_value(name: &str, report: &ReportFacts) -> Option<String> {
    if !name
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || character == '_' || character == '.')
    {
        return None;
    }
    match name.split_once('.') {
        None => Some(value_text(report.values.get(name))),
        Some(("prev", key)) => Some(match &report.previous {
            Some(previous) => value_text(previous.get(key)),
            None => "—".to_string(),
        }),
        Some(("rows", kind)) => Some(
            report
                .rows
                .iter()
                .filter(|row| row.get("kind").and_then(IndicatorValue::as_text) == Some(kind))
                .count()
                .to_string(),
        ),
        Some(("quarters", key)) => Some(match &report.quarters {
            Some(quarters) => quarters
                .iter()
                .filter_map(|quarter| quarter.get(key).and_then(IndicatorValue::as_number))
                .try_fold(Decimal::ZERO, |sum, number| sum.checked_add(number))
                .map(|sum| sum.normalize().to_string())
                .unwrap_or_else(|| "—".to_string()),
            None => "—".to_string(),
        }),
        Some(_) => None,
    }
}

fn value_text(value: Option<&IndicatorValue>) -> String {
    match value {
        None => "0".to_string(),
        Some(IndicatorValue::Number(number)) => number.normalize().to_string(),
        Some(IndicatorValue::Text(text)) => text.clone(),
    }
}

/// The double nearest to an exact decimal: how rules see numbers.
pub fn number_for_rules(number: Decimal) -> f64 {
    scope::decimal_to_f64(number)
}

/// A shared handle to a rule set (they are built once per form and metadata
/// version, and read by many requests).
pub type SharedRuleSet = Arc<RuleSet>;
