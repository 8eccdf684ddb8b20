//! `--param NAME=VALUE`: typed by the flow's declaration, checked before any task runs.

use crate::ir::{Flow, ParamType};
use serde_json::{Map, Value};

/// Parses the `--param` values against the flow's declarations and merges the defaults.
///
/// Typing (the spec's parameter types): `str` takes the text as is; `int` an integer
/// (`i64`); `float` a number; `bool` `true` or `false`; `json` any JSON text. Errors: one
/// line naming the parameter: a text without `=`, an undeclared name (with "did you mean"),
/// a value of the wrong type, a parameter given twice, a required parameter missing.
pub fn resolve(flow: &Flow, given: &[String]) -> Result<Map<String, Value>, String> {
    let mut values = Map::new();
    for text in given {
        let (name, raw) = text.split_once('=').ok_or_else(|| {
            format!("--param `{text}`: expected NAME=VALUE (e.g. --param alpha=0.5)")
        })?;
        let name = name.trim();
        let decl = flow.param(name).ok_or_else(|| unknown(flow, name))?;
        let value = typed(decl.ty, raw)
            .map_err(|why| format!("parameter `{name}` ({}): {why}", decl.ty.as_str()))?;
        if values.insert(name.to_string(), value).is_some() {
            return Err(format!("parameter `{name}` is given twice"));
        }
    }
    complete(flow, values)
}

/// Fills the defaults of `values` (given values win) and checks that every required parameter
/// has a value of its declared type. Errors name the parameter.
pub fn complete(flow: &Flow, mut values: Map<String, Value>) -> Result<Map<String, Value>, String> {
    for p in &flow.params {
        if values.contains_key(&p.name) {
            continue;
        }
        match &p.default {
            Some(d) => {
                values.insert(p.name.clone(), d.value.clone());
            }
            None => {
                return Err(format!(
                    "required parameter `{}` ({}) has no value: add --param {}=VALUE",
                    p.name,
                    p.ty.as_str(),
                    p.name
                ))
            }
        }
    }
    crate::runtime::task::check_parameters(flow, &values).map_err(|e| e.to_string())
}

fn unknown(flow: &Flow, name: &str) -> String {
    let names = flow.params.iter().map(|p| p.name.as_str());
    let hint = crate::diagnostics::suggest(name, names)
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    let declared: Vec<&str> = flow.params.iter().map(|p| p.name.as_str()).collect();
    let list = if declared.is_empty() {
        "it declares none".to_string()
    } else {
        format!("it declares {}", declared.join(", "))
    };
    format!(
        "flow `{}` has no parameter `{name}`{hint}; {list}",
        flow.name
    )
}

/// The JSON value of `raw` for a parameter of type `ty`. Errors: why it does not fit.
fn typed(ty: ParamType, raw: &str) -> Result<Value, String> {
    let t = raw.trim();
    match ty {
        ParamType::Str => Ok(Value::String(raw.to_string())),
        ParamType::Int => t
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("`{raw}` is not an integer")),
        ParamType::Float => t
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("`{raw}` is not a finite number")),
        ParamType::Bool => match t {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("`{raw}` is not `true` or `false`")),
        },
        ParamType::Json => {
            serde_json::from_str(raw).map_err(|e| format!("`{raw}` is not valid JSON: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(src: &str) -> Flow {
        let (f, d) = crate::check(src, &Default::default());
        f.unwrap_or_else(|| panic!("{d:?}"))
    }

    const SRC: &str = r#"flow P {
        param n: int
        param alpha: float = 0.5
        param on: bool = false
        param cfg: json = {}
        param name: str = "x"
        step start { run "true" next end }
        step end { run "true" }
    }"#;

    #[test]
    fn values_are_typed_by_their_declaration() {
        let f = flow(SRC);
        let given = ["n=3", "alpha=2", "on=true", "cfg={\"a\":[1]}", "name=7"].map(String::from);
        let v = resolve(&f, &given).unwrap();
        assert_eq!(v["n"], 3);
        assert_eq!(v["alpha"], 2.0);
        assert_eq!(v["on"], true);
        assert_eq!(v["cfg"]["a"][0], 1);
        assert_eq!(v["name"], "7");
    }

    #[test]
    fn a_missing_required_parameter_is_named() {
        let e = resolve(&flow(SRC), &[]).unwrap_err();
        assert!(e.contains("required parameter `n`"), "{e}");
    }

    #[test]
    fn a_wrong_type_or_unknown_name_is_named() {
        let f = flow(SRC);
        let e = resolve(&f, &["n=three".into()]).unwrap_err();
        assert!(e.contains("parameter `n` (int)"), "{e}");
        let e = resolve(&f, &["n=1".into(), "alpah=1".into()]).unwrap_err();
        assert!(e.contains("did you mean `alpha`"), "{e}");
        let e = resolve(&f, &["n=1".into(), "on=yes".into()]).unwrap_err();
        assert!(e.contains("`on` (bool)"), "{e}");
        let e = resolve(&f, &["n".into()]).unwrap_err();
        assert!(e.contains("NAME=VALUE"), "{e}");
    }
}
