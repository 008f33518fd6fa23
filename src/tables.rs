//! Tables in a message: the shape rules of their flat form.
//!
//! A message is one flat run of values; a table is a [`Value::Table`]
//! followed by its entries: `array` values (those of keys 1, 2, …, a nil
//! one absent), then `pairs` keys each followed by its value. An entry
//! that is a table is followed by its own entries before the next entry of
//! its parent (depth first). A table met again in the same message (a
//! shared subtable, a cycle) is a [`Value::TableRef`] to its number: the
//! message's tables are numbered from 0 in the order they appear. So the
//! Lua table `{10, 20, x = {}}` is `Table{array: 2, pairs: 1}, 10, 20, "x",
//! Table{0, 0}`, and `t = {}; t.self = t` is `Table{0, 1}, "self",
//! TableRef(0)`.
//!
//! Every run that reaches a buffer was checked here first: each table's
//! entries end before the values do, each reference is to a table seen
//! before it, nesting stays within [`MAX_DEPTH`], and every key is one Lua
//! can hold (neither nil nor NaN). Readers and the Lua glue rely on it: they
//! never meet a malformed run, and need no deeper stack than `MAX_DEPTH`.

use crate::error::{Error, ErrorKind};
use crate::value::{too_large, value_size, AsValue, BodySize, Measured, Value};

/// The deepest a table may be nested: a table among a message's values is
/// at depth 1, a table in it at depth 2, and so on.
pub(crate) const MAX_DEPTH: usize = 200;

/// How many entries follow a table header: `None` when that overflows.
#[inline]
pub(crate) fn entries(array: usize, pairs: usize) -> Option<usize> {
    pairs.checked_mul(2)?.checked_add(array)
}

/// What an open table still expects.
#[derive(Clone, Copy, Default)]
struct Open {
    array: usize,
    /// Keys and values still to come; even when the next one is a key.
    pair_entries: usize,
}

fn invalid(at: usize, what: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("values[{at}]: {what}"))
}

fn check_key(key: &Value<'_>, at: usize) -> Result<(), Error> {
    match key {
        Value::Nil => Err(invalid(at, "a table key is nil")),
        Value::Number(n) if n.is_nan() => Err(invalid(at, "a table key is NaN")),
        _ => Ok(()),
    }
}

/// Measures `values` and checks the shape rules above; references count
/// on from `tables_before`.
#[cold]
pub(crate) fn measure<T: AsValue>(values: &[T], tables_before: usize) -> Result<Measured, Error> {
    let mut open = [Open::default(); MAX_DEPTH];
    let mut depth = 0;
    let mut count = 0;
    let mut bytes = 0usize;
    let mut tables = 0usize;
    for (at, value) in values.iter().enumerate() {
        let value = value.as_value()?;
        if depth == 0 {
            count += 1;
        } else {
            let parent = &mut open[depth - 1];
            if parent.array > 0 {
                parent.array -= 1;
            } else {
                if parent.pair_entries % 2 == 0 {
                    check_key(&value, at)?;
                }
                parent.pair_entries -= 1;
            }
        }
        match value {
            Value::Table { array, pairs } => {
                if depth == MAX_DEPTH {
                    return Err(invalid(at, format_args!("tables nested deeper than {MAX_DEPTH} levels")));
                }
                let following = values.len() - at - 1;
                match entries(array, pairs) {
                    Some(n) if n <= following => {
                        if n > 0 {
                            open[depth] = Open { array, pair_entries: n - array };
                            depth += 1;
                        }
                    }
                    _ => return Err(invalid(at, format_args!("a table of {array} array values and {pairs} pairs runs past the {} values", values.len()))),
                }
                tables += 1;
            }
            Value::TableRef(number) if number >= tables_before + tables => {
                return Err(invalid(at, format_args!("a reference to table {number}, which is not before it")));
            }
            _ => {}
        }
        while depth > 0 && open[depth - 1].array == 0 && open[depth - 1].pair_entries == 0 {
            depth -= 1;
        }
        bytes = bytes.checked_add(value_size(&value)).ok_or_else(too_large)?;
    }
    if depth > 0 {
        return Err(invalid(values.len(), "the values end inside a table"));
    }
    Ok(Measured { size: BodySize { bytes, count }, tables })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(array: usize, pairs: usize) -> Value<'static> {
        Value::Table { array, pairs }
    }

    fn refused(values: &[Value<'_>]) -> String {
        let err = measure(values, 0).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
        err.detail
    }

    #[test]
    fn a_table_with_its_entries_counts_as_one_value() {
        let values = [Value::Integer(1), table(2, 1), Value::Integer(10), Value::Integer(20), Value::String(b"x"), table(0, 0), Value::Nil];
        let measured = measure(&values, 0).unwrap();
        assert_eq!(measured.size.count, 3);
        assert_eq!(measured.tables, 2);
        // 9 + 3 + 9 + 9 + 3 + 3 + 1
        assert_eq!(measured.size.bytes, 37);
    }

    #[test]
    fn a_reference_may_point_to_an_open_table() {
        let values = [table(0, 1), Value::String(b"self"), Value::TableRef(0)];
        assert_eq!(measure(&values, 0).unwrap().size.count, 1);
    }

    #[test]
    fn references_count_on_from_the_tables_before() {
        assert!(measure(&[Value::TableRef(2)], 3).is_ok());
        assert!(refused(&[Value::TableRef(0)]).contains("not before it"));
        assert!(refused(&[table(0, 1), Value::TableRef(1), Value::Nil]).contains("values[1]"));
    }

    #[test]
    fn entries_running_past_the_values_are_refused() {
        assert!(refused(&[table(3, 0), Value::Nil]).contains("runs past"));
        assert!(refused(&[table(0, usize::MAX)]).contains("runs past"));
        assert!(refused(&[table(usize::MAX, 1)]).contains("runs past"));
        // each table fits on its own, together they do not
        assert!(refused(&[table(2, 0), table(2, 0), Value::Nil, Value::Nil]).contains("end inside a table"));
    }

    #[test]
    fn nil_and_nan_keys_are_refused() {
        assert!(refused(&[table(0, 1), Value::Nil, Value::Integer(1)]).contains("nil"));
        assert!(refused(&[table(0, 1), Value::Number(f64::NAN), Value::Integer(1)]).contains("NaN"));
        // nil as an array value or a pair's value is only absent
        assert!(measure(&[table(1, 1), Value::Nil, Value::Integer(1), Value::Nil], 0).is_ok());
    }

    #[test]
    fn nesting_stops_at_max_depth() {
        let mut values = vec![table(1, 0); MAX_DEPTH - 1];
        values.push(table(0, 0));
        assert!(measure(&values, 0).is_ok());
        values.pop();
        values.push(table(1, 0));
        values.push(table(0, 0));
        assert!(refused(&values).contains("deeper than 200"));
    }

    #[test]
    fn tables_may_be_keys() {
        let values = [table(0, 1), table(1, 0), Value::Integer(1), Value::Boolean(true)];
        assert_eq!(measure(&values, 0).unwrap().tables, 2);
    }
}
