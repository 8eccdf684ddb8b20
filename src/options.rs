//! Compile options: `--with` decorators, `--max-workers`, and the deployment values the ASL
//! needs (job queue, job definition, datastore), from flags or `flowc.toml` `[deploy]`.

use crate::diagnostics::{CodeInfo, Diagnostic};
use crate::span::Span;
use crate::syntax::ast;
use serde::Deserialize;

/// Codes raised while reading options (E06xx).
pub const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: "E0601",
        title: "malformed --with option",
        example: "flowc compile flow.flow --with 'retry:times'",
        explanation: "`--with` takes `DECORATOR` or `DECORATOR:key=value,key=value`. Values are \
JSON literals (`2`, `true`, `\"ml\"`); a value that is not valid JSON is taken as a string.",
    },
    CodeInfo {
        code: "E0602",
        title: "unreadable flowc.toml",
        example: "[deploy]\njob_queue = 3",
        explanation: "`flowc.toml` must be TOML with an optional `[aws]` and `[deploy]` table \
whose values are strings.",
    },
    CodeInfo {
        code: "E0603",
        title: "datastore is not an S3 location",
        example: "flowc compile flow.flow --datastore file:///tmp/runs",
        explanation: "The datastore (`--datastore` or `datastore` in `flowc.toml` `[deploy]`) is \
`s3://BUCKET` or `s3://BUCKET/PREFIX`, where BUCKET follows the Amazon S3 bucket naming rules: \
3 to 63 characters among lower-case letters, digits, `.` and `-`, starting and ending with a \
letter or digit.",
    },
];

/// Default `MaxConcurrency` of a foreach without `@foreach(max_concurrency=…)`.
pub const DEFAULT_MAX_WORKERS: u32 = 100;

/// Everything `flowc compile` takes besides the flow source.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// `--with` decorators, as decorators with empty spans.
    pub with: Vec<ast::Decorator>,
    /// `--max-workers`: default foreach `MaxConcurrency`.
    pub max_workers: u32,
    /// Deployment values (flags override `flowc.toml`).
    pub deploy: DeployConfig,
    /// `--explain`: record the reasons for compile choices (Map kinds, …).
    pub explain: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            with: vec![],
            max_workers: DEFAULT_MAX_WORKERS,
            deploy: DeployConfig::default(),
            explain: false,
        }
    }
}

/// The `[deploy]` table of `flowc.toml` (and the flags overriding it). Absent values are
/// emitted as readable placeholders so compiling needs no AWS access.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    /// `s3://bucket/prefix` of the datastore.
    pub datastore: Option<String>,
    /// Default AWS Batch job queue (name or ARN).
    pub job_queue: Option<String>,
    /// AWS Batch job definition (name, `name:revision` or ARN).
    pub job_definition: Option<String>,
    /// IAM role ARN of the Batch jobs.
    pub job_role: Option<String>,
    /// IAM role ARN of the state machine.
    pub state_machine_role: Option<String>,
    /// IAM role ARN used by EventBridge / Scheduler to start executions.
    pub events_role: Option<String>,
    /// Default container image.
    pub image: Option<String>,
    /// Alias name (default `live`).
    pub alias: Option<String>,
}

/// The `[aws]` table of `flowc.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// Region.
    pub region: Option<String>,
    /// Profile of the shared AWS config.
    pub profile: Option<String>,
    /// Endpoint URL (tests, emulators).
    pub endpoint_url: Option<String>,
}

/// A whole `flowc.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[aws]`.
    #[serde(default)]
    pub aws: AwsConfig,
    /// `[deploy]`.
    #[serde(default)]
    pub deploy: DeployConfig,
}

impl ConfigFile {
    /// Parses the text of a `flowc.toml`.
    ///
    /// Errors: E0602 with the TOML parser's message, labelled at the place in `text` the
    /// parser names (a byte span), when it names one.
    pub fn parse(text: &str) -> Result<ConfigFile, Diagnostic> {
        toml::from_str(text).map_err(|e| {
            let d = Diagnostic::error(
                "E0602",
                format!("flowc.toml is not valid: {}", e.message().trim()),
            )
            .with_help("see README.md, section \"Configuration\", for the keys");
            let label = if e.message().starts_with("unknown field") {
                "unknown key"
            } else {
                "here"
            };
            match e.span().filter(|r| r.end <= text.len()) {
                Some(r) => d.with_primary(Span::new(r.start, r.end), label),
                None => d,
            }
        })
    }
}

/// Parses one `--with` value: `DECORATOR` or `DECORATOR:key=value,key=value`.
///
/// Values are JSON literals; a value that does not parse as JSON is taken as a string, so
/// `--with batch:queue=ml` works without quoting. The result has empty (0..0) spans.
///
/// Errors: E0601 when the decorator name is empty or not an identifier, or an argument has no
/// `=` or an empty name.
pub fn parse_with(text: &str) -> Result<ast::Decorator, Diagnostic> {
    let bad = |why: &str| {
        Diagnostic::error("E0601", format!("malformed --with `{text}`: {why}"))
            .with_help("write `--with DECORATOR` or `--with DECORATOR:key=value,key=value`, e.g. `--with retry:times=2`")
    };
    let (name, rest) = match text.split_once(':') {
        Some((n, r)) => (n.trim().trim_start_matches('@'), Some(r)),
        None => (text.trim().trim_start_matches('@'), None),
    };
    if !is_ident(name) {
        return Err(bad("the decorator name is not an identifier"));
    }
    let mut args = vec![];
    for part in rest.into_iter().flat_map(split_args) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| bad(&format!("argument `{part}` has no `=`")))?;
        let k = k.trim();
        if !is_ident(k) {
            return Err(bad(&format!("argument name `{k}` is not an identifier")));
        }
        let value = serde_json::from_str(v.trim())
            .unwrap_or_else(|_| serde_json::Value::String(v.trim().to_string()));
        args.push(ast::Arg {
            name: ident(k),
            value: literal(&value),
            span: Span::default(),
        });
    }
    Ok(ast::Decorator {
        name: ident(name),
        args,
        span: Span::default(),
    })
}

/// Checks a datastore location `s3://BUCKET[/PREFIX]` (Amazon S3 bucket naming rules: 3 to
/// 63 characters among `a-z 0-9 . -`, starting and ending with a letter or digit).
///
/// Errors: E0603 naming the problem.
pub fn check_datastore(url: &str) -> Result<(), Diagnostic> {
    let bad = |why: &str| {
        Diagnostic::error("E0603", format!("datastore `{url}` {why}"))
            .with_help("write the datastore as `s3://bucket` or `s3://bucket/prefix`")
    };
    let Some(rest) = url.strip_prefix("s3://") else {
        return Err(bad("is not an `s3://` location"));
    };
    let bucket = rest.split('/').next().unwrap_or_default();
    let chars_ok = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let named = (3..=63).contains(&bucket.len())
        && chars_ok
        && ends_ok(bucket.chars().next())
        && ends_ok(bucket.chars().last());
    if named {
        Ok(())
    } else {
        Err(bad(&format!(
            "names bucket `{bucket}`, which breaks the S3 bucket naming rules"
        )))
    }
}

/// Splits `a=1,b=[1,2],c={"x":1}` on commas outside brackets and quotes.
fn split_args(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut in_str, mut esc, mut start) = (vec![], 0i32, false, false, 0);
    for (i, c) in s.char_indices() {
        match c {
            _ if esc => esc = false,
            '\\' if in_str => esc = true,
            '"' => in_str = !in_str,
            '[' | '{' if !in_str => depth += 1,
            ']' | '}' if !in_str => depth -= 1,
            ',' if !in_str && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn ident(name: &str) -> ast::Ident {
    ast::Ident {
        name: name.to_string(),
        span: Span::default(),
    }
}

/// A JSON value as an AST literal with empty spans.
pub fn literal(v: &serde_json::Value) -> ast::Literal {
    use ast::LiteralKind as K;
    use serde_json::Value;
    let kind = match v {
        Value::Null => K::Null,
        Value::Bool(b) => K::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => K::Int(i),
            None => K::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => K::String(s.clone()),
        Value::Array(a) => K::List(a.iter().map(literal).collect()),
        Value::Object(o) => K::Object(
            o.iter()
                .map(|(k, v)| {
                    (
                        ast::StringLit {
                            value: k.clone(),
                            span: Span::default(),
                        },
                        literal(v),
                    )
                })
                .collect(),
        ),
    };
    ast::Literal {
        kind,
        span: Span::default(),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn datastore_locations() {
        for ok in ["s3://my-bucket", "s3://my.bucket/runs/", "s3://abc/a{}b"] {
            assert!(check_datastore(ok).is_ok(), "{ok}");
        }
        for bad in [
            "file:///tmp",
            "s3://",
            "s3:///x",
            "s3://ab",
            "s3://My_Bucket/x",
            "s3://-ab/x",
            "/tmp/x",
        ] {
            let d = check_datastore(bad).expect_err(bad);
            assert_eq!(d.code, "E0603", "{bad}");
        }
    }
    use super::*;

    #[test]
    fn with_plain_name() {
        let d = parse_with("catch").unwrap();
        assert_eq!(d.name.name, "catch");
        assert!(d.args.is_empty());
    }

    #[test]
    fn with_typed_and_bare_values() {
        let d = parse_with("batch:queue=ml,cpu=2,image=\"a:1\"").unwrap();
        let vals: Vec<_> = d
            .args
            .iter()
            .map(|a| (a.name.name.clone(), a.value.to_json()))
            .collect();
        assert_eq!(vals[0], ("queue".into(), serde_json::json!("ml")));
        assert_eq!(vals[1], ("cpu".into(), serde_json::json!(2)));
        assert_eq!(vals[2], ("image".into(), serde_json::json!("a:1")));
    }

    #[test]
    fn with_nested_object_value() {
        let d = parse_with("environment:vars={\"A\":\"1\",\"B\":\"2\"}").unwrap();
        assert_eq!(d.args.len(), 1);
        assert_eq!(
            d.args[0].value.to_json(),
            serde_json::json!({"A": "1", "B": "2"})
        );
    }

    #[test]
    fn with_malformed() {
        assert_eq!(parse_with("retry:times").unwrap_err().code, "E0601");
        assert_eq!(parse_with("9x").unwrap_err().code, "E0601");
    }

    #[test]
    fn config_rejects_unknown_keys() {
        assert!(ConfigFile::parse("[deploy]\njob_queue = \"q\"").is_ok());
        let text = "[deploy]\nqueue = \"q\"";
        let d = ConfigFile::parse(text).unwrap_err();
        assert_eq!(d.code, "E0602");
        let span = d.labels[0].span;
        assert_eq!(
            &text[span.start..span.end],
            "queue",
            "the label marks the key"
        );
    }
}
