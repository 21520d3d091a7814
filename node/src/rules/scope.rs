//! What a rule sees while it runs: the report's values as CEL variables, and
//! the helper functions (`abs`, `count_rows`, `sum_rows`, `sum_quarters`).
//!
//! The only module that knows CEL's value types; `mod.rs` sees bools and
//! reasons.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::objects::{Key, Map};
use cel::{Context, Env, ExecutionError, FunctionContext, Value};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{CompiledRule, ReportFacts};
use crate::metadata::{IndicatorKeysByKind, IndicatorValue, ReportValues};

/// The root CEL context: the standard library plus our helper functions.
/// Built once per rule set; each report gets a child scope.
pub(super) struct RootContext {
    context: Context<'static, 'static>,
}

impl RootContext {
    pub(super) fn new() -> RootContext {
        let mut context = Context::with_env(Arc::new(Env::stdlib()));
        // why: a clash with a standard function would only mean the standard one is used
        let _ = context.add_function("abs", absolute_value);
        let _ = context.add_function("count_rows", count_rows);
        let _ = context.add_function("sum_rows", sum_rows);
        let _ = context.add_function("sum_quarters", sum_quarters);
        RootContext { context }
    }
}

/// What the rules of a set use, so that a report's scope holds only that:
/// building variables is most of the cost of a check.
#[derive(Debug, Clone, Default)]
pub(super) struct Needs {
    /// Indicator keys named directly.
    pub(super) indicator_keys: BTreeSet<String>,
    /// `prev.key` fields named; `None` when no rule uses `prev`.
    pub(super) previous_fields: Option<BTreeSet<String>>,
    /// Some rule uses `prev` other than as `prev.key` (e.g. `prev[k]`): give it every key.
    pub(super) previous_whole: bool,
    /// Some rule uses the `quarters` list.
    pub(super) quarters_list: bool,
    /// Some rule uses `sum_quarters(..)`.
    pub(super) quarter_sums: bool,
    /// Some rule uses the `rows` list or `sum_rows(..)`.
    pub(super) rows_list: bool,
    /// Some rule uses `count_rows(..)`.
    pub(super) row_counts: bool,
    /// Some rule uses `unit`.
    pub(super) unit: bool,
}

impl Needs {
    /// Everything (for the dry run at compile time).
    pub(super) fn everything(keys: &IndicatorKeysByKind) -> Needs {
        Needs {
            indicator_keys: keys.numeric.iter().chain(&keys.textual).cloned().collect(),
            previous_fields: Some(BTreeSet::new()),
            previous_whole: true,
            quarters_list: true,
            quarter_sums: true,
            rows_list: true,
            row_counts: true,
            unit: true,
        }
    }

    /// What one compiled rule uses.
    pub(super) fn of_rule(rule: &CompiledRule) -> Needs {
        let references = rule.program.references();
        let mut needs = Needs {
            indicator_keys: references
                .variables()
                .into_iter()
                .map(str::to_string)
                .collect(),
            quarters_list: references.has_variable("quarters"),
            quarter_sums: references.has_function("sum_quarters"),
            rows_list: references.has_variable("rows") || references.has_function("sum_rows"),
            row_counts: references.has_function("count_rows"),
            unit: references.has_variable("unit"),
            ..Needs::default()
        };
        if references.has_variable("prev") {
            let (fields, whole) = previous_fields_named(&rule.rule.expression);
            needs.previous_fields = Some(fields);
            needs.previous_whole = whole;
        }
        needs
    }

    /// What any of several rules uses.
    pub(super) fn merge(mut self, other: Needs) -> Needs {
        self.indicator_keys.extend(other.indicator_keys);
        self.previous_fields = match (self.previous_fields, other.previous_fields) {
            (None, None) => None,
            (Some(fields), None) | (None, Some(fields)) => Some(fields),
            (Some(mut fields), Some(more)) => {
                fields.extend(more);
                Some(fields)
            }
        };
        self.previous_whole |= other.previous_whole;
        self.quarters_list |= other.quarters_list;
        self.quarter_sums |= other.quarter_sums;
        self.rows_list |= other.rows_list;
        self.row_counts |= other.row_counts;
        self.unit |= other.unit;
        self
    }
}

/// The `key`s of `prev.key` in an expression, and whether `prev` is also
/// used some other way.
fn previous_fields_named(expression: &str) -> (BTreeSet<String>, bool) {
    let mut fields = BTreeSet::new();
    let mut used_otherwise = false;
    let is_name_character = |character: char| character.is_ascii_alphanumeric() || character == '_';
    for (position, _) in expression.match_indices("prev") {
        let before = expression[..position].chars().next_back();
        if before.is_some_and(|character| is_name_character(character) || character == '.') {
            continue;
        }
        let after = &expression[position + "prev".len()..];
        if after.starts_with(is_name_character) {
            continue;
        }
        match after.strip_prefix('.') {
            Some(rest) => {
                let field: String = rest.chars().take_while(|c| is_name_character(*c)).collect();
                fields.insert(field);
            }
            None => used_otherwise = true,
        }
    }
    (fields, used_otherwise)
}

/// The variables of one report, built once and shared by every rule.
pub(super) struct EvaluationScope<'a> {
    variables: HashMap<Cow<'a, str>, Box<dyn Val>>,
}

impl VariableResolver for EvaluationScope<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        self.variables
            .get(variable)
            .map(|value| CowVal::Borrowed(value.as_ref()))
    }
}

/// Hidden variable holding the number of rows of a kind (read by `count_rows`).
fn row_count_variable(kind: &str) -> String {
    format!("@row_count:{kind}")
}

/// Hidden variable holding the four quarters' sum of a key (read by `sum_quarters`).
fn quarter_sum_variable(key: &str) -> String {
    format!("@quarter_sum:{key}")
}

impl<'a> EvaluationScope<'a> {
    pub(super) fn build(
        keys: &'a IndicatorKeysByKind,
        report: &ReportFacts,
        needs: &'a Needs,
    ) -> EvaluationScope<'a> {
        let mut variables: HashMap<Cow<'a, str>, Box<dyn Val>> =
            HashMap::with_capacity(needs.indicator_keys.len() + 8);
        for key in &needs.indicator_keys {
            if keys.numeric.contains(key) {
                let number = number_of(&report.values, key);
                insert_value(&mut variables, Cow::Borrowed(key), Value::Float(number));
            } else if keys.textual.contains(key) {
                let text = text_of(&report.values, key);
                insert_value(
                    &mut variables,
                    Cow::Borrowed(key),
                    Value::String(Arc::new(text)),
                );
            }
        }
        if let (Some(fields), Some(previous)) = (&needs.previous_fields, &report.previous) {
            let previous_map = if needs.previous_whole {
                values_map(keys, keys.numeric.iter().chain(&keys.textual), previous)
            } else {
                values_map(keys, fields.iter(), previous)
            };
            insert_value(&mut variables, Cow::Borrowed("prev"), previous_map);
        }
        if let Some(quarters) = &report.quarters {
            if needs.quarters_list {
                let quarter_maps = quarters.iter().map(numbers_map).collect::<Vec<_>>();
                insert_value(
                    &mut variables,
                    Cow::Borrowed("quarters"),
                    Value::List(Arc::new(quarter_maps)),
                );
            }
            if needs.quarter_sums {
                insert_quarter_sums(&mut variables, quarters);
            }
        }
        if needs.rows_list {
            let row_maps = report
                .rows
                .iter()
                .map(|row| row_map(keys, row))
                .collect::<Vec<_>>();
            insert_value(
                &mut variables,
                Cow::Borrowed("rows"),
                Value::List(Arc::new(row_maps)),
            );
        }
        if needs.row_counts {
            insert_row_counts(&mut variables, &report.rows);
        }
        if needs.unit {
            insert_value(&mut variables, Cow::Borrowed("unit"), unit_map(report));
        }
        EvaluationScope { variables }
    }
}

fn insert_quarter_sums(
    variables: &mut HashMap<Cow<'_, str>, Box<dyn Val>>,
    quarters: &[ReportValues],
) {
    let mut sums: HashMap<&str, f64> = HashMap::new();
    for quarter in quarters {
        for (key, value) in quarter {
            if let IndicatorValue::Number(number) = value {
                *sums.entry(key.as_str()).or_insert(0.0) += decimal_to_f64(*number);
            }
        }
    }
    for (key, sum) in sums {
        insert_value(
            variables,
            Cow::Owned(quarter_sum_variable(key)),
            Value::Float(sum),
        );
    }
}

fn insert_row_counts(variables: &mut HashMap<Cow<'_, str>, Box<dyn Val>>, rows: &[ReportValues]) {
    let mut counts: HashMap<&str, f64> = HashMap::new();
    for row in rows {
        if let Some(IndicatorValue::Text(kind)) = row.get("kind") {
            *counts.entry(kind.as_str()).or_insert(0.0) += 1.0;
        }
    }
    for (kind, count) in counts {
        insert_value(
            variables,
            Cow::Owned(row_count_variable(kind)),
            Value::Float(count),
        );
    }
}

fn insert_value<'a>(
    variables: &mut HashMap<Cow<'a, str>, Box<dyn Val>>,
    name: Cow<'a, str>,
    value: Value,
) {
    // A value CEL cannot hold is left out; a rule naming it then reports
    // "undeclared reference" as a finding that could not be evaluated.
    if let Ok(boxed) = Box::<dyn Val>::try_from(value) {
        variables.insert(name, boxed);
    }
}

/// Powers of ten that are exact in f64.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The double nearest to a decimal. Fast path: mantissa and 10^scale are both
/// exact in f64, so one correctly rounded division gives the nearest double.
pub fn decimal_to_f64(number: Decimal) -> f64 {
    const EXACT_INTEGER_LIMIT: i128 = 1 << 53;
    let mantissa = number.mantissa();
    let scale = number.scale() as usize;
    match EXACT_POWERS_OF_TEN.get(scale) {
        Some(power) if mantissa.abs() < EXACT_INTEGER_LIMIT => mantissa as f64 / power,
        _ => number.to_f64().unwrap_or(f64::NAN),
    }
}

fn number_of(values: &ReportValues, key: &str) -> f64 {
    match values.get(key) {
        Some(IndicatorValue::Number(number)) => decimal_to_f64(*number),
        _ => 0.0,
    }
}

fn text_of(values: &ReportValues, key: &str) -> String {
    match values.get(key) {
        Some(IndicatorValue::Text(text)) => text.clone(),
        Some(IndicatorValue::Number(number)) => number.to_string(),
        None => String::new(),
    }
}

fn string_key(name: &str) -> Key {
    Key::String(Arc::new(name.to_string()))
}

/// The named indicators of a report: numbers (missing = 0) and texts
/// (missing = ''); names that are not indicators of the form are left out.
fn values_map<'k>(
    keys: &IndicatorKeysByKind,
    names: impl Iterator<Item = &'k String>,
    values: &ReportValues,
) -> Value {
    let mut map = HashMap::new();
    for name in names {
        if keys.numeric.contains(name) {
            map.insert(string_key(name), Value::Float(number_of(values, name)));
        } else if keys.textual.contains(name) {
            map.insert(
                string_key(name),
                Value::String(Arc::new(text_of(values, name))),
            );
        }
    }
    Value::Map(Map { map: Arc::new(map) })
}

/// The values a report has, numbers as doubles and texts as strings.
fn numbers_map(values: &ReportValues) -> Value {
    let map = values
        .iter()
        .map(|(key, value)| {
            let value = match value {
                IndicatorValue::Number(number) => Value::Float(decimal_to_f64(*number)),
                IndicatorValue::Text(text) => Value::String(Arc::new(text.clone())),
            };
            (string_key(key), value)
        })
        .collect::<HashMap<_, _>>();
    Value::Map(Map { map: Arc::new(map) })
}

/// One row: its values, with the numeric row columns it left empty as 0.
fn row_map(keys: &IndicatorKeysByKind, row: &ReportValues) -> Value {
    let Value::Map(mut map) = numbers_map(row) else {
        return Value::Null;
    };
    let entries = Arc::make_mut(&mut map.map);
    for column in &keys.numeric_row_columns {
        entries
            .entry(string_key(column))
            .or_insert(Value::Float(0.0));
    }
    entries
        .entry(string_key("kind"))
        .or_insert_with(|| Value::String(Arc::new(String::new())));
    Value::Map(map)
}

fn unit_map(report: &ReportFacts) -> Value {
    let classes = report
        .unit
        .control_classes
        .iter()
        .map(|class| Value::String(Arc::new(class.rule_name().to_string())))
        .collect::<Vec<_>>();
    let mut map = HashMap::with_capacity(3);
    map.insert(string_key("classes"), Value::List(Arc::new(classes)));
    map.insert(
        string_key("key_industry"),
        Value::Bool(report.unit.key_industry),
    );
    map.insert(
        string_key("industry"),
        Value::String(Arc::new(report.unit.industry.clone())),
    );
    Value::Map(Map { map: Arc::new(map) })
}

/// A child context reading the report's variables.
pub(super) fn child_context<'b>(
    root: &'b RootContext,
    scope: &'b EvaluationScope<'_>,
) -> Context<'b, 'b> {
    let mut context = root.context.new_inner_scope();
    context.set_variable_resolver(scope);
    context
}

/// Runs one rule: `Ok(passed)`, or why it could not be evaluated.
pub(super) fn run(context: &Context<'_, '_>, rule: &CompiledRule) -> Result<bool, String> {
    match rule.program.execute(context) {
        Ok(Value::Bool(passed)) => Ok(passed),
        Ok(other) => Err(format!(
            "规则结果不是真/假（得到 {other:?}） / the rule gave {other:?}, not true or false"
        )),
        Err(error) => Err(format!("规则无法计算 / cannot evaluate: {error}")),
    }
}

/// Builds a scope for one report and runs one rule (the dry run at compile time).
pub(super) fn evaluate(
    root: &RootContext,
    keys: &IndicatorKeysByKind,
    rule: &CompiledRule,
    report: &ReportFacts,
) -> Result<bool, String> {
    let needs = Needs::everything(keys);
    let scope = EvaluationScope::build(keys, report, &needs);
    let context = child_context(root, &scope);
    run(&context, rule)
}

fn absolute_value(number: f64) -> f64 {
    number.abs()
}

fn list_variable(ftx: &FunctionContext, name: &str) -> Result<Arc<Vec<Value>>, ExecutionError> {
    let variable = ftx
        .ptx
        .get_variable(name)
        .ok_or_else(|| ExecutionError::undeclared_reference(name))?;
    match Value::try_from(variable.as_ref())? {
        Value::List(list) => Ok(list),
        _ => Err(ftx.error(format!("{name} is not a list"))),
    }
}

fn field<'v>(item: &'v Value, name: &str) -> Option<&'v Value> {
    match item {
        Value::Map(map) => map.map.get(&string_key(name)),
        _ => None,
    }
}

fn field_is_text(item: &Value, name: &str, expected: &str) -> bool {
    matches!(field(item, name), Some(Value::String(text)) if text.as_str() == expected)
}

fn field_number(item: &Value, name: &str) -> f64 {
    match field(item, name) {
        Some(Value::Float(number)) => *number,
        Some(Value::Int(number)) => *number as f64,
        _ => 0.0,
    }
}

fn number_variable(ftx: &FunctionContext, name: &str) -> Result<Option<f64>, ExecutionError> {
    let Some(variable) = ftx.ptx.get_variable(name) else {
        return Ok(None);
    };
    match Value::try_from(variable.as_ref())? {
        Value::Float(number) => Ok(Some(number)),
        _ => Err(ftx.error(format!("{name} is not a number"))),
    }
}

/// `count_rows('desulf')`: how many rows of the row form have this `kind`.
fn count_rows(ftx: &FunctionContext, kind: Arc<String>) -> Result<f64, ExecutionError> {
    Ok(number_variable(ftx, &row_count_variable(&kind))?.unwrap_or(0.0))
}

/// `sum_rows('capacity', 'desulf')`: the sum of a column over the rows of a kind
/// (`''` for every row).
fn sum_rows(
    ftx: &FunctionContext,
    column: Arc<String>,
    kind: Arc<String>,
) -> Result<f64, ExecutionError> {
    let rows = list_variable(ftx, "rows")?;
    Ok(rows
        .iter()
        .filter(|row| kind.is_empty() || field_is_text(row, "kind", &kind))
        .map(|row| field_number(row, &column))
        .sum())
}

/// `sum_quarters('cod_emit')`: the sum over the four quarterly reports (0
/// when no quarter has the key).
fn sum_quarters(ftx: &FunctionContext, key: Arc<String>) -> Result<f64, ExecutionError> {
    Ok(number_variable(ftx, &quarter_sum_variable(&key))?.unwrap_or(0.0))
}
