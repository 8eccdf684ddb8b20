//! The abstract syntax tree of a `.flow` file. Every node carries the [`Span`] it was parsed
//! from. The AST is untyped: decorator names and arguments are kept as written and checked
//! by `passes::resolve`.

use crate::span::Span;

/// A whole `.flow` file: `{ decorator } "flow" IDENT "{" { member } "}"`.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// Flow decorators written before `flow` (`@schedule`, `@trigger`, `@project`, or
    /// misplaced step decorators, which validate reports).
    pub decorators: Vec<Decorator>,
    /// The flow's name.
    pub name: Ident,
    /// Parameters, `with` decorators and steps, in source order.
    pub members: Vec<Member>,
    /// The whole file.
    pub span: Span,
}

/// An identifier with its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The text, `[A-Za-z_][A-Za-z0-9_]*`.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A member of a flow body.
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    /// `param NAME: TYPE [= DEFAULT] ["help"]`.
    Param(Param),
    /// `with @decorator(...)`: applies to every step that does not set it.
    With(With),
    /// `{ decorator } step NAME { ... }`.
    Step(Step),
}

/// `param NAME: TYPE [= DEFAULT] ["help"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Parameter name.
    pub name: Ident,
    /// Declared type.
    pub ty: TypeAnnotation,
    /// Default value; `None` makes the parameter required.
    pub default: Option<Literal>,
    /// Help string.
    pub help: Option<StringLit>,
    /// From `param` to the end of the declaration.
    pub span: Span,
}

/// The five parameter types of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeName {
    /// `str`: a JSON string.
    Str,
    /// `int`: a JSON number without fraction or exponent.
    Int,
    /// `float`: any JSON number.
    Float,
    /// `bool`: `true` or `false`.
    Bool,
    /// `json`: any JSON value.
    Json,
}

impl TypeName {
    /// The five types in the spec's order.
    pub const ALL: [TypeName; 5] = [
        TypeName::Str,
        TypeName::Int,
        TypeName::Float,
        TypeName::Bool,
        TypeName::Json,
    ];

    /// The type as written in source: `str`, `int`, `float`, `bool` or `json`.
    pub fn as_str(self) -> &'static str {
        match self {
            TypeName::Str => "str",
            TypeName::Int => "int",
            TypeName::Float => "float",
            TypeName::Bool => "bool",
            TypeName::Json => "json",
        }
    }
}

/// A type written in a `param` declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeAnnotation {
    /// Which type.
    pub name: TypeName,
    /// Where it was written.
    pub span: Span,
}

/// `with @decorator(...)` at flow level.
#[derive(Debug, Clone, PartialEq)]
pub struct With {
    /// The decorator.
    pub decorator: Decorator,
    /// From `with` to the end of the decorator.
    pub span: Span,
}

/// `{ decorator } "step" IDENT "{" { statement } "}"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Decorators written before `step`.
    pub decorators: Vec<Decorator>,
    /// Step name.
    pub name: Ident,
    /// `run` and `next` statements in source order (the grammar allows any number; resolve
    /// reports a missing or repeated one).
    pub statements: Vec<Statement>,
    /// From the first decorator (or `step`) to the closing brace.
    pub span: Span,
}

/// A statement inside a step body.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// What it is.
    pub kind: StatementKind,
    /// The whole statement.
    pub span: Span,
}

/// The kinds of statement.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementKind {
    /// `run "cmd"` or `run ["prog", "arg", ...]`.
    Run(Command),
    /// `next ...`.
    Next(Next),
}

/// The command of a `run` statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `run "…"`: executed by `/bin/sh -c`.
    Shell(StringLit),
    /// `run ["prog", "arg", …]`: executed directly. Span of the whole list.
    Exec(Vec<StringLit>, Span),
}

/// The transition of a `next` statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// `next a` (one target) or `next a, b, …` (static split).
    Targets(Vec<Ident>),
    /// `next body foreach NAME`.
    Foreach {
        /// First step of the foreach body.
        body: Ident,
        /// The parameter or artifact holding the JSON array.
        over: Ident,
    },
    /// `next switch NAME { "v" => step, … }`.
    Switch {
        /// The parameter or artifact whose string value chooses the case.
        on: Ident,
        /// The cases in source order.
        cases: Vec<Case>,
    },
}

/// `STRING "=>" IDENT` in a switch.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The value matched.
    pub value: StringLit,
    /// The step run for it.
    pub target: Ident,
    /// The whole case.
    pub span: Span,
}

/// `"@" IDENT [ "(" [ arg { "," arg } [ "," ] ] ")" ]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decorator {
    /// Name without the `@`; its span excludes the `@`.
    pub name: Ident,
    /// Keyword arguments in source order.
    pub args: Vec<Arg>,
    /// From `@` to the closing parenthesis (or the name when there are none).
    pub span: Span,
}

/// `IDENT "=" literal`.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// Argument name.
    pub name: Ident,
    /// Its value.
    pub value: Literal,
    /// The whole argument.
    pub span: Span,
}

/// A string literal: the decoded value and the span including the quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringLit {
    /// The value after JSON unescaping.
    pub value: String,
    /// The span including both quotes.
    pub span: Span,
}

/// A JSON literal.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    /// What it is.
    pub kind: LiteralKind,
    /// The whole literal.
    pub span: Span,
}

/// The kinds of literal (JSON values; integers and floats are told apart by their spelling).
#[derive(Debug, Clone, PartialEq)]
pub enum LiteralKind {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number without `.` or exponent that fits in an `i64`.
    Int(i64),
    /// Any other JSON number.
    Float(f64),
    /// A string literal (value after unescaping).
    String(String),
    /// `[a, b, …]`.
    List(Vec<Literal>),
    /// `{"key": value, …}`: keys in source order, duplicates kept (resolve reports them).
    Object(Vec<(StringLit, Literal)>),
}

impl Literal {
    /// The literal as a JSON value (object keys in source order; a later duplicate key wins).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            LiteralKind::Null => Value::Null,
            LiteralKind::Bool(b) => Value::Bool(*b),
            LiteralKind::Int(i) => Value::from(*i),
            LiteralKind::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            LiteralKind::String(s) => Value::String(s.clone()),
            LiteralKind::List(items) => Value::Array(items.iter().map(Literal::to_json).collect()),
            LiteralKind::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.value.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// A short description of the literal's kind for messages: "a string", "an integer", ….
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            LiteralKind::Null => "null",
            LiteralKind::Bool(_) => "a boolean",
            LiteralKind::Int(_) => "an integer",
            LiteralKind::Float(_) => "a number",
            LiteralKind::String(_) => "a string",
            LiteralKind::List(_) => "a list",
            LiteralKind::Object(_) => "an object",
        }
    }
}
