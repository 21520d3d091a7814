//! A compiled form of the common subset of CEL, for speed.
//!
//! The `cel` interpreter resolves every name by string through nested scopes
//! and boxes every intermediate value; on the national rule set that is about
//! 50 µs per report. Rules are parsed by `cel` (one language, one parser, the
//! same error positions), and then, when a rule only uses the subset below,
//! its syntax tree is turned into a [`FastExpr`] whose names are slot
//! numbers, evaluated over plain `f64`s. Anything else (maps, `rows`,
//! `quarters`, other functions and macros) stays with the interpreter.
//!
//! Subset: number, string and bool literals; indicator keys; `prev.key`;
//! `unit.classes`, `unit.key_industry`, `unit.industry`; `count_rows('k')`,
//! `sum_quarters('k')`, `abs(x)`; `! - + * / == != < <= > >= && || ?: in`;
//! list literals with `all(x, ..)` / `exists(x, ..)`.
//!
//! The semantics follow the interpreter's (checked by a dry run of both at
//! compile time, a test over every national rule case, and the benchmark's
//! comparison on 100,000 reports): doubles and integers compare with each
//! other but do not mix in arithmetic; `&&`/`||` absorb an error on one side
//! when the other side decides.

use std::collections::HashMap;

use cel::common::ast::{ComprehensionExpr, Expr, IdedExpr, LiteralValue, operators};

use super::{ControlClass, ReportFacts};
use crate::metadata::{IndicatorKeysByKind, IndicatorValue, ReportValues};

/// Where each indicator key lives in a [`FastScope`].
#[derive(Debug, Clone, Default)]
pub(super) struct Slots {
    numeric: HashMap<String, usize>,
    textual: HashMap<String, usize>,
    numeric_keys: Vec<String>,
    textual_keys: Vec<String>,
}

impl Slots {
    pub(super) fn of(keys: &IndicatorKeysByKind) -> Slots {
        let numeric_keys: Vec<String> = keys.numeric.iter().cloned().collect();
        let textual_keys: Vec<String> = keys.textual.iter().cloned().collect();
        Slots {
            numeric: numeric_keys
                .iter()
                .enumerate()
                .map(|(slot, key)| (key.clone(), slot))
                .collect(),
            textual: textual_keys
                .iter()
                .enumerate()
                .map(|(slot, key)| (key.clone(), slot))
                .collect(),
            numeric_keys,
            textual_keys,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arithmetic {
    Add,
    Subtract,
    Multiply,
    Divide,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// A rule's expression with names turned into slots.
#[derive(Debug, Clone)]
pub(super) enum FastExpr {
    Number(f64),
    Integer(i64),
    Boolean(bool),
    Text(String),
    Indicator(usize),
    IndicatorText(usize),
    Previous(usize),
    PreviousText(usize),
    Local(usize),
    UnitKeyIndustry,
    UnitIndustry,
    UnitClasses,
    RowCount(String),
    QuarterSum(String),
    List(Vec<FastExpr>),
    Not(Box<FastExpr>),
    Negate(Box<FastExpr>),
    Absolute(Box<FastExpr>),
    Arithmetic(Arithmetic, Box<FastExpr>, Box<FastExpr>),
    Compare(Comparison, Box<FastExpr>, Box<FastExpr>),
    And(Box<FastExpr>, Box<FastExpr>),
    Or(Box<FastExpr>, Box<FastExpr>),
    Conditional(Box<FastExpr>, Box<FastExpr>, Box<FastExpr>),
    In(Box<FastExpr>, Box<FastExpr>),
    All(Box<FastExpr>, Box<FastExpr>),
    Exists(Box<FastExpr>, Box<FastExpr>),
}

/// Turns a parsed CEL expression into a [`FastExpr`], or `None` when it uses
/// something outside the subset.
pub(super) fn lower(expression: &IdedExpr, slots: &Slots) -> Option<FastExpr> {
    Lowering {
        slots,
        locals: Vec::new(),
    }
    .lower(expression)
}

struct Lowering<'a> {
    slots: &'a Slots,
    locals: Vec<String>,
}

impl Lowering<'_> {
    fn lower(&mut self, expression: &IdedExpr) -> Option<FastExpr> {
        match &expression.expr {
            Expr::Literal(literal) => lower_literal(literal),
            Expr::Ident(name) => self.lower_name(name),
            Expr::Select(select) if !select.test => match &select.operand.expr {
                Expr::Ident(operand) if operand == "prev" => {
                    if let Some(slot) = self.slots.numeric.get(&select.field) {
                        Some(FastExpr::Previous(*slot))
                    } else {
                        self.slots
                            .textual
                            .get(&select.field)
                            .map(|slot| FastExpr::PreviousText(*slot))
                    }
                }
                Expr::Ident(operand) if operand == "unit" => match select.field.as_str() {
                    "key_industry" => Some(FastExpr::UnitKeyIndustry),
                    "industry" => Some(FastExpr::UnitIndustry),
                    "classes" => Some(FastExpr::UnitClasses),
                    _ => None,
                },
                _ => None,
            },
            Expr::List(list) if list.optional_indices.is_empty() => list
                .elements
                .iter()
                .map(|element| self.lower(element))
                .collect::<Option<Vec<_>>>()
                .map(FastExpr::List),
            Expr::Call(call) if call.target.is_none() => {
                self.lower_call(&call.func_name, &call.args)
            }
            Expr::Comprehension(comprehension) => self.lower_all_or_exists(comprehension),
            _ => None,
        }
    }

    fn lower_name(&self, name: &str) -> Option<FastExpr> {
        if let Some(depth) = self.locals.iter().rposition(|local| local == name) {
            return Some(FastExpr::Local(depth));
        }
        if let Some(slot) = self.slots.numeric.get(name) {
            return Some(FastExpr::Indicator(*slot));
        }
        self.slots
            .textual
            .get(name)
            .map(|slot| FastExpr::IndicatorText(*slot))
    }

    fn lower_call(&mut self, function: &str, arguments: &[IdedExpr]) -> Option<FastExpr> {
        let boxed = |lowering: &mut Self, index: usize| -> Option<Box<FastExpr>> {
            arguments
                .get(index)
                .and_then(|argument| lowering.lower(argument))
                .map(Box::new)
        };
        let literal_text = |index: usize| match arguments.get(index).map(|argument| &argument.expr)
        {
            Some(Expr::Literal(LiteralValue::String(text))) => Some(text.inner().to_string()),
            _ => None,
        };
        let comparison = match function {
            operators::EQUALS => Some(Comparison::Equal),
            operators::NOT_EQUALS => Some(Comparison::NotEqual),
            operators::LESS => Some(Comparison::Less),
            operators::LESS_EQUALS => Some(Comparison::LessOrEqual),
            operators::GREATER => Some(Comparison::Greater),
            operators::GREATER_EQUALS => Some(Comparison::GreaterOrEqual),
            _ => None,
        };
        let arithmetic = match function {
            operators::ADD => Some(Arithmetic::Add),
            operators::SUBSTRACT => Some(Arithmetic::Subtract),
            operators::MULTIPLY => Some(Arithmetic::Multiply),
            operators::DIVIDE => Some(Arithmetic::Divide),
            _ => None,
        };
        match (function, arguments.len()) {
            (_, 2) if comparison.is_some() => Some(FastExpr::Compare(
                comparison?,
                boxed(self, 0)?,
                boxed(self, 1)?,
            )),
            (_, 2) if arithmetic.is_some() => Some(FastExpr::Arithmetic(
                arithmetic?,
                boxed(self, 0)?,
                boxed(self, 1)?,
            )),
            (operators::LOGICAL_AND, 2) => Some(FastExpr::And(boxed(self, 0)?, boxed(self, 1)?)),
            (operators::LOGICAL_OR, 2) => Some(FastExpr::Or(boxed(self, 0)?, boxed(self, 1)?)),
            (operators::LOGICAL_NOT, 1) => Some(FastExpr::Not(boxed(self, 0)?)),
            (operators::NEGATE, 1) => Some(FastExpr::Negate(boxed(self, 0)?)),
            (operators::CONDITIONAL, 3) => Some(FastExpr::Conditional(
                boxed(self, 0)?,
                boxed(self, 1)?,
                boxed(self, 2)?,
            )),
            (operators::IN, 2) => Some(FastExpr::In(boxed(self, 0)?, boxed(self, 1)?)),
            ("abs", 1) => Some(FastExpr::Absolute(boxed(self, 0)?)),
            ("count_rows", 1) => Some(FastExpr::RowCount(literal_text(0)?)),
            ("sum_quarters", 1) => Some(FastExpr::QuarterSum(literal_text(0)?)),
            _ => None,
        }
    }

    /// `list.all(x, p)` expands to a comprehension with an accumulator that
    /// starts `true` and steps `accu && p`; `exists` starts `false` and steps
    /// `accu || p`. Other comprehensions stay with the interpreter.
    fn lower_all_or_exists(&mut self, comprehension: &ComprehensionExpr) -> Option<FastExpr> {
        if comprehension.iter_var2.is_some() {
            return None;
        }
        let Expr::Ident(result) = &comprehension.result.expr else {
            return None;
        };
        let Expr::Call(step) = &comprehension.loop_step.expr else {
            return None;
        };
        let [accumulator, predicate] = step.args.as_slice() else {
            return None;
        };
        let accumulates =
            matches!(&accumulator.expr, Expr::Ident(name) if name == &comprehension.accu_var);
        if !accumulates || result != &comprehension.accu_var {
            return None;
        }
        let is_all = match (&comprehension.accu_init.expr, step.func_name.as_str()) {
            (Expr::Literal(LiteralValue::Boolean(start)), operators::LOGICAL_AND)
                if *start.inner() =>
            {
                true
            }
            (Expr::Literal(LiteralValue::Boolean(start)), operators::LOGICAL_OR)
                if !*start.inner() =>
            {
                false
            }
            _ => return None,
        };
        let items = self.lower(&comprehension.iter_range)?;
        self.locals.push(comprehension.iter_var.clone());
        let body = self.lower(predicate);
        self.locals.pop();
        let (items, body) = (Box::new(items), Box::new(body?));
        Some(if is_all {
            FastExpr::All(items, body)
        } else {
            FastExpr::Exists(items, body)
        })
    }
}

fn lower_literal(literal: &LiteralValue) -> Option<FastExpr> {
    match literal {
        LiteralValue::Double(number) => Some(FastExpr::Number(*number.inner())),
        LiteralValue::Int(number) => Some(FastExpr::Integer(*number.inner())),
        LiteralValue::Boolean(value) => Some(FastExpr::Boolean(*value.inner())),
        LiteralValue::String(text) => Some(FastExpr::Text(text.inner().to_string())),
        _ => None,
    }
}

/// One report's values in slots.
pub(super) struct FastScope<'r> {
    numbers: Vec<f64>,
    texts: Vec<&'r str>,
    previous_numbers: Vec<f64>,
    previous_texts: Vec<&'r str>,
    report: &'r ReportFacts,
}

impl<'r> FastScope<'r> {
    pub(super) fn build(slots: &Slots, report: &'r ReportFacts) -> FastScope<'r> {
        let (numbers, texts) = values_in_slots(slots, &report.values);
        let (previous_numbers, previous_texts) = match &report.previous {
            Some(previous) => values_in_slots(slots, previous),
            None => (Vec::new(), Vec::new()),
        };
        FastScope {
            numbers,
            texts,
            previous_numbers,
            previous_texts,
            report,
        }
    }
}

/// Reads the report's values into the slots: a merge of two sorted key lists.
fn values_in_slots<'r>(slots: &Slots, values: &'r ReportValues) -> (Vec<f64>, Vec<&'r str>) {
    let mut numbers = vec![0.0; slots.numeric_keys.len()];
    let mut texts = vec![""; slots.textual_keys.len()];
    let mut numeric_keys = slots.numeric_keys.iter().enumerate().peekable();
    let mut textual_keys = slots.textual_keys.iter().enumerate().peekable();
    for (key, value) in values {
        while numeric_keys
            .next_if(|(_, slot_key)| *slot_key < key)
            .is_some()
        {}
        while textual_keys
            .next_if(|(_, slot_key)| *slot_key < key)
            .is_some()
        {}
        match value {
            IndicatorValue::Number(number) => {
                if let Some((slot, _)) = numeric_keys.next_if(|(_, slot_key)| *slot_key == key) {
                    numbers[slot] = super::scope::decimal_to_f64(*number);
                }
            }
            IndicatorValue::Text(text) => {
                if let Some((slot, _)) = textual_keys.next_if(|(_, slot_key)| *slot_key == key) {
                    texts[slot] = text;
                }
            }
        }
    }
    (numbers, texts)
}

/// A value during fast evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum FastValue<'s> {
    Number(f64),
    Integer(i64),
    Boolean(bool),
    Text(&'s str),
    List(Vec<FastValue<'s>>),
}

/// Evaluates a lowered rule: `Ok(passed)` or why it could not be evaluated.
pub(super) fn run(expression: &FastExpr, scope: &FastScope<'_>) -> Result<bool, String> {
    let mut locals = Vec::new();
    match evaluate(expression, scope, &mut locals)? {
        FastValue::Boolean(passed) => Ok(passed),
        other => Err(format!(
            "规则结果不是真/假（得到 {other:?}） / the rule gave {other:?}, not true or false"
        )),
    }
}

fn evaluate<'s>(
    expression: &'s FastExpr,
    scope: &FastScope<'s>,
    locals: &mut Vec<FastValue<'s>>,
) -> Result<FastValue<'s>, String> {
    Ok(match expression {
        FastExpr::Number(number) => FastValue::Number(*number),
        FastExpr::Integer(number) => FastValue::Integer(*number),
        FastExpr::Boolean(value) => FastValue::Boolean(*value),
        FastExpr::Text(text) => FastValue::Text(text),
        FastExpr::Indicator(slot) => FastValue::Number(scope.numbers.get(*slot).copied().unwrap_or(0.0)),
        FastExpr::IndicatorText(slot) => FastValue::Text(scope.texts.get(*slot).copied().unwrap_or("")),
        FastExpr::Previous(slot) => FastValue::Number(
            *scope
                .previous_numbers
                .get(*slot)
                .ok_or("no previous report / 无上期报表")?,
        ),
        FastExpr::PreviousText(slot) => FastValue::Text(
            scope
                .previous_texts
                .get(*slot)
                .copied()
                .ok_or("no previous report / 无上期报表")?,
        ),
        FastExpr::Local(depth) => locals.get(*depth).cloned().ok_or("unbound name")?,
        FastExpr::UnitKeyIndustry => FastValue::Boolean(scope.report.unit.key_industry),
        FastExpr::UnitIndustry => FastValue::Text(&scope.report.unit.industry),
        FastExpr::UnitClasses => FastValue::List(
            scope
                .report
                .unit
                .control_classes
                .iter()
                .map(|class: &ControlClass| FastValue::Text(class.rule_name()))
                .collect(),
        ),
        FastExpr::RowCount(kind) => FastValue::Number(
            scope
                .report
                .rows
                .iter()
                .filter(|row| matches!(row.get("kind"), Some(IndicatorValue::Text(text)) if text == kind))
                .count() as f64,
        ),
        FastExpr::QuarterSum(key) => FastValue::Number(
            scope
                .report
                .quarters
                .as_ref()
                .ok_or("no quarterly reports / 无季报")?
                .iter()
                .map(|quarter| match quarter.get(key) {
                    Some(IndicatorValue::Number(number)) => super::scope::decimal_to_f64(*number),
                    _ => 0.0,
                })
                .sum(),
        ),
        FastExpr::List(items) => FastValue::List(
            items
                .iter()
                .map(|item| evaluate(item, scope, locals))
                .collect::<Result<_, _>>()?,
        ),
        FastExpr::Not(operand) => FastValue::Boolean(!boolean(evaluate(operand, scope, locals)?)?),
        FastExpr::Negate(operand) => match evaluate(operand, scope, locals)? {
            FastValue::Number(number) => FastValue::Number(-number),
            FastValue::Integer(number) => {
                FastValue::Integer(number.checked_neg().ok_or("integer overflow")?)
            }
            other => return Err(format!("cannot negate {other:?}")),
        },
        FastExpr::Absolute(operand) => match evaluate(operand, scope, locals)? {
            FastValue::Number(number) => FastValue::Number(number.abs()),
            other => return Err(format!("abs expects a number, got {other:?}")),
        },
        FastExpr::Arithmetic(operator, left, right) => {
            arithmetic(*operator, evaluate(left, scope, locals)?, evaluate(right, scope, locals)?)?
        }
        FastExpr::Compare(operator, left, right) => FastValue::Boolean(compare(
            *operator,
            &evaluate(left, scope, locals)?,
            &evaluate(right, scope, locals)?,
        )?),
        FastExpr::And(left, right) => logical(false, left, right, scope, locals)?,
        FastExpr::Or(left, right) => logical(true, left, right, scope, locals)?,
        FastExpr::Conditional(condition, then, otherwise) => {
            if boolean(evaluate(condition, scope, locals)?)? {
                evaluate(then, scope, locals)?
            } else {
                evaluate(otherwise, scope, locals)?
            }
        }
        FastExpr::In(item, list) => {
            let item = evaluate(item, scope, locals)?;
            match evaluate(list, scope, locals)? {
                FastValue::List(items) => FastValue::Boolean(
                    items
                        .iter()
                        .any(|candidate| compare(Comparison::Equal, &item, candidate) == Ok(true)),
                ),
                other => return Err(format!("'in' expects a list, got {other:?}")),
            }
        }
        FastExpr::All(items, body) => quantify(true, items, body, scope, locals)?,
        FastExpr::Exists(items, body) => quantify(false, items, body, scope, locals)?,
    })
}

fn boolean(value: FastValue<'_>) -> Result<bool, String> {
    match value {
        FastValue::Boolean(value) => Ok(value),
        other => Err(format!("expected true or false, got {other:?}")),
    }
}

/// `&&` (`decisive` = false) and `||` (`decisive` = true): the decisive value
/// on either side wins even if the other side is an error.
fn logical<'s>(
    decisive: bool,
    left: &'s FastExpr,
    right: &'s FastExpr,
    scope: &FastScope<'s>,
    locals: &mut Vec<FastValue<'s>>,
) -> Result<FastValue<'s>, String> {
    let left = evaluate(left, scope, locals).and_then(boolean);
    if left == Ok(decisive) {
        return Ok(FastValue::Boolean(decisive));
    }
    let right = evaluate(right, scope, locals).and_then(boolean);
    match (left, right) {
        (_, Ok(value)) if value == decisive => Ok(FastValue::Boolean(decisive)),
        (Ok(_), Ok(value)) => Ok(FastValue::Boolean(value)),
        (Err(error), _) | (_, Err(error)) => Err(error),
    }
}

/// `all` (`is_all`) and `exists` over a list: a deciding element wins over
/// errors on other elements.
fn quantify<'s>(
    is_all: bool,
    items: &'s FastExpr,
    body: &'s FastExpr,
    scope: &FastScope<'s>,
    locals: &mut Vec<FastValue<'s>>,
) -> Result<FastValue<'s>, String> {
    let FastValue::List(items) = evaluate(items, scope, locals)? else {
        return Err("all/exists expects a list".to_string());
    };
    let mut first_error = None;
    for item in items {
        locals.push(item);
        let outcome = evaluate(body, scope, locals).and_then(boolean);
        locals.pop();
        match outcome {
            Ok(value) if value != is_all => return Ok(FastValue::Boolean(value)),
            Ok(_) => {}
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(FastValue::Boolean(is_all)),
    }
}

fn arithmetic<'s>(
    operator: Arithmetic,
    left: FastValue<'s>,
    right: FastValue<'s>,
) -> Result<FastValue<'s>, String> {
    match (left, right) {
        (FastValue::Number(left), FastValue::Number(right)) => {
            Ok(FastValue::Number(match operator {
                Arithmetic::Add => left + right,
                Arithmetic::Subtract => left - right,
                Arithmetic::Multiply => left * right,
                Arithmetic::Divide => left / right,
            }))
        }
        (FastValue::Integer(left), FastValue::Integer(right)) => {
            let result = match operator {
                Arithmetic::Add => left.checked_add(right),
                Arithmetic::Subtract => left.checked_sub(right),
                Arithmetic::Multiply => left.checked_mul(right),
                Arithmetic::Divide => left.checked_div(right),
            };
            result
                .map(FastValue::Integer)
                .ok_or_else(|| "integer overflow or division by zero".to_string())
        }
        (left, right) => Err(format!(
            "Unsupported binary operator {operator:?}: {left:?}, {right:?}（提示：数字请写成小数，如 366.0 / hint: write 366.0 not 366）"
        )),
    }
}

fn compare(
    operator: Comparison,
    left: &FastValue<'_>,
    right: &FastValue<'_>,
) -> Result<bool, String> {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (left, right) {
        (FastValue::Number(left), FastValue::Number(right)) => left.partial_cmp(right),
        (FastValue::Integer(left), FastValue::Integer(right)) => Some(left.cmp(right)),
        (FastValue::Number(left), FastValue::Integer(right)) => left.partial_cmp(&(*right as f64)),
        (FastValue::Integer(left), FastValue::Number(right)) => (*left as f64).partial_cmp(right),
        (FastValue::Text(left), FastValue::Text(right)) => Some(left.cmp(right)),
        (FastValue::Boolean(left), FastValue::Boolean(right)) => Some(left.cmp(right)),
        _ => None,
    };
    match (operator, ordering) {
        (Comparison::Equal, ordering) => Ok(ordering == Some(Ordering::Equal)),
        (Comparison::NotEqual, ordering) => Ok(ordering != Some(Ordering::Equal)),
        (_, None) => Err(format!("cannot compare {left:?} with {right:?}")),
        (Comparison::Less, Some(ordering)) => Ok(ordering == Ordering::Less),
        (Comparison::LessOrEqual, Some(ordering)) => Ok(ordering != Ordering::Greater),
        (Comparison::Greater, Some(ordering)) => Ok(ordering == Ordering::Greater),
        (Comparison::GreaterOrEqual, Some(ordering)) => Ok(ordering != Ordering::Less),
    }
}
