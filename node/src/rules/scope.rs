//! What a rule sees while it runs: the report's values as CEL variables, and
//! the helper functions (`abs`, `count_rows`, `sum_rows`, `sum_quarters`).
//!
//! The only module that knows CEL's value types; `mod.rs` sees bools and
//! reasons.

use std::collections::HashMap;
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

/// Which of the costlier variables some rule of the set uses.
#[derive(Debug, Clone, Copy)]
pub(super) struct Needs {
    pub(super) previous: bool,
    pub(super) quarters: bool,
    pub(super) rows: bool,
}

/// The variables of one report, built once and shared by every rule.
pub(super) struct EvaluationScope<'a> {
    variables: HashMap<&'a str, Box<dyn Val>>,
}

impl VariableResolver for EvaluationScope<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        self.variables
            .get(variable)
            .map(|value| CowVal::Borrowed(value.as_ref()))
    }
}

impl<'a> EvaluationScope<'a> {
    pub(super) fn build(
        keys: &'a IndicatorKeysByKind,
        report: &ReportFacts,
        needs: Needs,
    ) -> EvaluationScope<'a> {
        let mut variables: HashMap<&'a str, Box<dyn Val>> =
            HashMap::with_capacity(keys.numeric.len() + keys.textual.len() + 4);
        for key in &keys.numeric {
            insert_value(
                &mut variables,
                key,
                Value::Float(number_of(&report.values, key)),
            );
        }
        for key in &keys.textual {
            insert_value(
                &mut variables,
                key,
                Value::String(Arc::new(text_of(&report.values, key))),
            );
        }
        if needs.previous
            && let Some(previous) = &report.previous
        {
            insert_value(&mut variables, "prev", values_map(keys, previous));
        }
        if needs.quarters
            && let Some(quarters) = &report.quarters
        {
            let quarter_maps = quarters.iter().map(numbers_map).collect::<Vec<_>>();
            insert_value(
                &mut variables,
                "quarters",
                Value::List(Arc::new(quarter_maps)),
            );
        }
        if needs.rows {
            let row_maps = report
                .rows
                .iter()
                .map(|row| row_map(keys, row))
                .collect::<Vec<_>>();
            insert_value(&mut variables, "rows", Value::List(Arc::new(row_maps)));
        }
        insert_value(&mut variables, "unit", unit_map(report));
        EvaluationScope { variables }
    }
}

fn insert_value<'a>(variables: &mut HashMap<&'a str, Box<dyn Val>>, name: &'a str, value: Value) {
    // A value CEL cannot hold is left out; a rule naming it then reports
    // "undeclared reference" as a finding that could not be evaluated.
    if let Ok(boxed) = Box::<dyn Val>::try_from(value) {
        variables.insert(name, boxed);
    }
}

fn decimal_to_f64(number: Decimal) -> f64 {
    number.to_f64().unwrap_or(f64::NAN)
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

/// Every indicator of the form: numbers (missing = 0) and texts (missing = '').
fn values_map(keys: &IndicatorKeysByKind, values: &ReportValues) -> Value {
    let mut map = HashMap::with_capacity(keys.numeric.len() + keys.textual.len());
    for key in &keys.numeric {
        map.insert(string_key(key), Value::Float(number_of(values, key)));
    }
    for key in &keys.textual {
        map.insert(
            string_key(key),
            Value::String(Arc::new(text_of(values, key))),
        );
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
    let needs = Needs {
        previous: true,
        quarters: true,
        rows: true,
    };
    let scope = EvaluationScope::build(keys, report, needs);
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

/// `count_rows('desulf')`: how many rows of the row form have this `kind`.
fn count_rows(ftx: &FunctionContext, kind: Arc<String>) -> Result<f64, ExecutionError> {
    let rows = list_variable(ftx, "rows")?;
    let count = rows
        .iter()
        .filter(|row| field_is_text(row, "kind", &kind))
        .count();
    Ok(count as f64)
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

/// `sum_quarters('cod_emit')`: the sum over the four quarterly reports.
fn sum_quarters(ftx: &FunctionContext, key: Arc<String>) -> Result<f64, ExecutionError> {
    let quarters = list_variable(ftx, "quarters")?;
    Ok(quarters
        .iter()
        .map(|quarter| field_number(quarter, &key))
        .sum())
}
