//! JSONata parser: a Pratt (top-down operator precedence) parser over [`lexer`] tokens, with
//! the binding powers of the reference implementation (jsonata-js `parser.js`), producing
//! [`Node`] trees in which location paths are already flattened into [`Node::Path`] steps.

use super::error::JError;
use super::lexer::{tokenize, Tok, Token};
use std::rc::Rc;

/// A binary operator with both operands evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Concat,
    In,
    Range,
}

/// One step of a location path and the predicates (`[…]`) applied to each of its results.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub node: Node,
    pub stages: Vec<Node>,
}

/// A user-defined function `function($a, $b) { body }`.
#[derive(Debug)]
pub(crate) struct Lambda {
    pub params: Vec<String>,
    pub body: Node,
}

/// A parsed JSONata expression.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Num(f64),
    Str(Rc<str>),
    Bool(bool),
    Null,
    Regex(Rc<regex::Regex>),
    /// A field name (only as a path step).
    Name(String),
    /// `$name`; `""` is the context `$`, `"$"` is the root `$$`.
    Var(String),
    /// `*`: every field value of the context.
    Wildcard,
    /// `**`: the context and all its descendants.
    Descendants,
    /// `a.b.c`; `keep` when written with a trailing `[]` (keep singleton arrays).
    Path(Vec<Step>, bool),
    Neg(Box<Node>),
    Bin(BinOp, Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    /// `c ? a : b`.
    Cond(Box<Node>, Box<Node>, Option<Box<Node>>),
    /// `a ?: b` (Elvis: `a` when truthy).
    Elvis(Box<Node>, Box<Node>),
    /// `a ?? b` (`a` when defined).
    Coalesce(Box<Node>, Box<Node>),
    /// `[a, b, 1..3]`.
    Array(Vec<Node>),
    /// `{k: v}`.
    Object(Vec<(Node, Node)>),
    /// `expr{k: v}`: group the results of `expr` by key.
    Group(Box<Node>, Vec<(Node, Node)>),
    /// `(a; b; c)`.
    Block(Vec<Node>),
    /// `$name := value`.
    Bind(String, Box<Node>),
    /// `f(args)`; a `?` argument makes a partial application.
    Call(Box<Node>, Vec<Node>),
    /// `?` as a call argument.
    Placeholder,
    Lambda(Rc<Lambda>),
    /// `a ~> f`.
    Chain(Box<Node>, Box<Node>),
    /// `expr[pred]` on a non-path expression.
    Filter(Box<Node>, Box<Node>),
    /// `expr^(<a, >b)`: true means descending.
    Sort(Box<Node>, Vec<(Node, bool)>),
}

/// Parses a whole expression.
///
/// Errors: JSONata syntax errors (`S0201` unexpected token, `S0202` expected token, `S0203`
/// missing end of expression, `S0211` unsupported operator, `S0302` bad regex, …).
pub(crate) fn parse(src: &str) -> Result<Node, JError> {
    let tokens = tokenize(src)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        end: src.chars().count(),
        depth: 0,
    };
    let node = p.expression(0)?;
    match p.tokens.get(p.pos) {
        None => Ok(node),
        Some(t) => Err(JError::new(
            "S0201",
            format!("Syntax error: {}", describe(&t.tok)),
            t.pos,
        )),
    }
}

/// Deepest nesting the parser accepts: above AWS's evaluation ceiling (100), so every
/// expression AWS can run parses, while absurd nesting is an error, not a stack overflow.
const MAX_PARSE_DEPTH: usize = 300;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
    depth: usize,
}

/// A token's value as jsonata-js quotes it in messages (`JSON.stringify` of the value).
fn describe(t: &Tok) -> String {
    let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    match t {
        Tok::Num(n) => super::value::js_number(*n),
        Tok::Str(s) | Tok::Name(s) | Tok::Var(s) => quote(s),
        Tok::Regex(p, _) => quote(p),
        Tok::Op(o) => quote(o),
    }
}

/// Left binding power of an infix token (jsonata-js `parser.js` operator table).
fn lbp(t: &Tok) -> u8 {
    match t {
        Tok::Op(op) => match *op {
            "." => 75,
            "[" | "(" | "^" => 80,
            "{" => 70,
            "*" | "/" | "%" => 60,
            "+" | "-" | "&" => 50,
            "=" | "!=" | "<" | "<=" | ">" | ">=" | "~>" | "?:" | "??" => 40,
            "?" => 20,
            ":=" => 10,
            _ => 0,
        },
        Tok::Name(n) => match n.as_str() {
            "and" => 30,
            "or" => 25,
            "in" => 40,
            _ => 0,
        },
        _ => 0,
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn next(&mut self) -> Result<Token, JError> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t.ok_or_else(|| JError::new("S0207", "Unexpected end of expression", self.end))
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }

    fn expect(&mut self, op: &'static str) -> Result<(), JError> {
        if self.is_op(op) {
            self.pos += 1;
            return Ok(());
        }
        match self.tokens.get(self.pos) {
            None => Err(JError::new(
                "S0203",
                format!("Expected \"{op}\" before end of expression"),
                self.end,
            )),
            Some(t) => Err(JError::new(
                "S0202",
                format!("Expected \"{op}\", got {}", describe(&t.tok)),
                t.pos,
            )),
        }
    }

    fn expression(&mut self, rbp: u8) -> Result<Node, JError> {
        if self.depth >= MAX_PARSE_DEPTH {
            let msg = "Syntax error: expression nested too deeply";
            return Err(JError::new("S0201", msg, self.end));
        }
        self.depth += 1;
        let r = self.expression_inner(rbp);
        self.depth -= 1;
        r
    }

    fn expression_inner(&mut self, rbp: u8) -> Result<Node, JError> {
        let t = self.next()?;
        let mut left = self.nud(t)?;
        while let Some(tok) = self.peek() {
            if rbp >= lbp(tok) {
                break;
            }
            let t = self.next()?;
            left = self.led(t, left)?;
        }
        Ok(left)
    }

    fn nud(&mut self, t: Token) -> Result<Node, JError> {
        match t.tok {
            Tok::Num(n) => Ok(Node::Num(n)),
            Tok::Str(s) => Ok(Node::Str(s.into())),
            Tok::Regex(p, f) => regex_node(&p, &f, t.pos),
            Tok::Var(v) => Ok(Node::Var(v)),
            Tok::Name(n) => self.name_nud(n),
            Tok::Op(op) => self.op_nud(op, t.pos),
        }
    }

    fn name_nud(&mut self, n: String) -> Result<Node, JError> {
        match n.as_str() {
            "true" => Ok(Node::Bool(true)),
            "false" => Ok(Node::Bool(false)),
            "null" => Ok(Node::Null),
            "function" | "λ" if self.is_op("(") => self.lambda(),
            _ => Ok(path_of(Node::Name(n))),
        }
    }

    fn op_nud(&mut self, op: &'static str, pos: usize) -> Result<Node, JError> {
        match op {
            "-" => Ok(Node::Neg(Box::new(self.expression(70)?))),
            "*" => Ok(path_of(Node::Wildcard)),
            "**" => Ok(path_of(Node::Descendants)),
            "?" => Ok(Node::Placeholder),
            "(" => self.block(),
            "[" => Ok(Node::Array(self.list("]", true)?)),
            "{" => Ok(Node::Object(self.pairs()?)),
            _ => Err(JError::new(
                "S0211",
                format!("The symbol {op} cannot be used as a unary operator"),
                pos,
            )),
        }
    }

    fn block(&mut self) -> Result<Node, JError> {
        let mut items = Vec::new();
        while !self.is_op(")") {
            items.push(self.expression(0)?);
            if !self.is_op(";") {
                break;
            }
            self.pos += 1;
        }
        self.expect(")")?;
        Ok(Node::Block(items))
    }

    /// Comma-separated expressions up to `close`; in array constructors `a..b` is a range.
    fn list(&mut self, close: &'static str, ranges: bool) -> Result<Vec<Node>, JError> {
        let mut items = Vec::new();
        if !self.is_op(close) {
            loop {
                let mut item = self.expression(0)?;
                if ranges && self.is_op("..") {
                    self.pos += 1;
                    let hi = self.expression(0)?;
                    item = Node::Bin(BinOp::Range, Box::new(item), Box::new(hi));
                }
                items.push(item);
                if !self.is_op(",") {
                    break;
                }
                self.pos += 1;
            }
        }
        self.expect(close)?;
        Ok(items)
    }

    fn pairs(&mut self) -> Result<Vec<(Node, Node)>, JError> {
        let mut pairs = Vec::new();
        if !self.is_op("}") {
            loop {
                let k = self.expression(0)?;
                self.expect(":")?;
                let v = self.expression(0)?;
                pairs.push((k, v));
                if !self.is_op(",") {
                    break;
                }
                self.pos += 1;
            }
        }
        self.expect("}")?;
        Ok(pairs)
    }

    fn lambda(&mut self) -> Result<Node, JError> {
        self.expect("(")?;
        let mut params = Vec::new();
        while !self.is_op(")") {
            let t = self.next()?;
            match t.tok {
                Tok::Var(v) => params.push(v),
                other => return Err(JError::new("S0208", format!("Parameter {} of function definition must be a variable name (start with $)", describe(&other)), t.pos)),
            }
            if !self.is_op(",") {
                break;
            }
            self.pos += 1;
        }
        self.expect(")")?;
        self.skip_signature()?;
        self.expect("{")?;
        let body = if self.is_op("}") {
            Node::Block(Vec::new())
        } else {
            self.expression(0)?
        };
        self.expect("}")?;
        Ok(Node::Lambda(Rc::new(Lambda { params, body })))
    }

    /// Skips an optional function signature `<n-n:n>` (not enforced).
    fn skip_signature(&mut self) -> Result<(), JError> {
        if !self.is_op("<") {
            return Ok(());
        }
        let mut depth = 0usize;
        loop {
            let t = self.next()?;
            match t.tok {
                Tok::Op("<") => depth += 1,
                Tok::Op(">") => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                return Ok(());
            }
        }
    }

    fn led(&mut self, t: Token, left: Node) -> Result<Node, JError> {
        let bp = lbp(&t.tok);
        match t.tok {
            Tok::Name(n) => {
                let right = Box::new(self.expression(bp)?);
                let left = Box::new(left);
                Ok(match n.as_str() {
                    "and" => Node::And(left, right),
                    "or" => Node::Or(left, right),
                    _ => Node::Bin(BinOp::In, left, right),
                })
            }
            Tok::Op(op) => self.op_led(op, bp, left, t.pos),
            other => Err(JError::new(
                "S0201",
                format!("Syntax error: {}", describe(&other)),
                t.pos,
            )),
        }
    }

    fn op_led(&mut self, op: &'static str, bp: u8, left: Node, pos: usize) -> Result<Node, JError> {
        match op {
            "." => Ok(join_path(left, self.expression(bp)?)),
            "[" => self.predicate(left),
            "(" => Ok(Node::Call(Box::new(left), self.list(")", false)?)),
            "{" => Ok(Node::Group(Box::new(left), self.pairs()?)),
            "^" => self.sort(left),
            "?" => {
                let then = self.expression(0)?;
                let otherwise = if self.is_op(":") {
                    self.pos += 1;
                    Some(Box::new(self.expression(0)?))
                } else {
                    None
                };
                Ok(Node::Cond(Box::new(left), Box::new(then), otherwise))
            }
            ":=" => match left {
                Node::Var(name) => Ok(Node::Bind(name, Box::new(self.expression(bp - 1)?))),
                _ => Err(JError::new(
                    "S0212",
                    "The left side of := must be a variable name (start with $)",
                    pos,
                )),
            },
            _ => {
                let right = Box::new(self.expression(bp)?);
                let left = Box::new(left);
                Ok(match op {
                    "~>" => Node::Chain(left, right),
                    "?:" => Node::Elvis(left, right),
                    "??" => Node::Coalesce(left, right),
                    _ => Node::Bin(binop(op, pos)?, left, right),
                })
            }
        }
    }

    fn predicate(&mut self, left: Node) -> Result<Node, JError> {
        if self.is_op("]") {
            self.pos += 1;
            return Ok(match left {
                Node::Path(steps, _) => Node::Path(steps, true),
                other => Node::Path(
                    vec![Step {
                        node: other,
                        stages: Vec::new(),
                    }],
                    true,
                ),
            });
        }
        let pred = self.expression(0)?;
        self.expect("]")?;
        Ok(match left {
            Node::Path(mut steps, keep) => {
                if let Some(last) = steps.last_mut() {
                    last.stages.push(pred);
                }
                Node::Path(steps, keep)
            }
            other => Node::Filter(Box::new(other), Box::new(pred)),
        })
    }

    fn sort(&mut self, left: Node) -> Result<Node, JError> {
        self.expect("(")?;
        let mut terms = Vec::new();
        loop {
            let desc = if self.is_op("<") {
                self.pos += 1;
                false
            } else if matches!(self.peek(), Some(Tok::Op(">"))) {
                self.pos += 1;
                true
            } else {
                false
            };
            terms.push((self.expression(0)?, desc));
            if !self.is_op(",") {
                break;
            }
            self.pos += 1;
        }
        self.expect(")")?;
        Ok(Node::Sort(Box::new(left), terms))
    }
}

fn binop(op: &str, pos: usize) -> Result<BinOp, JError> {
    Ok(match op {
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "%" => BinOp::Mod,
        "=" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "<" => BinOp::Lt,
        "<=" => BinOp::Le,
        ">" => BinOp::Gt,
        ">=" => BinOp::Ge,
        "&" => BinOp::Concat,
        _ => return Err(JError::new("S0201", format!("Syntax error: {op}"), pos)),
    })
}

fn regex_node(pattern: &str, flags: &str, pos: usize) -> Result<Node, JError> {
    let mut b = regex::RegexBuilder::new(pattern);
    b.case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'));
    b.build()
        .map(|r| Node::Regex(Rc::new(r)))
        .map_err(|e| JError::new("S0302", format!("Invalid regular expression: {e}"), pos))
}

/// The first reference to the top-level context in `node`: a path starting with a field name
/// (`"phone"`, `"*"`, `"**"`) or `$$` (`"$$"`). AWS evaluates expressions without a context
/// item, so such references are refused when a definition is created.
pub(crate) fn top_level_reference(node: &Node) -> Option<String> {
    let top = |n: &Node| top_level_reference(n);
    let any = |ns: &mut dyn Iterator<Item = &Node>| {
        ns.map(top_level_reference).find(Option::is_some).flatten()
    };
    match node {
        Node::Var(v) if v == "$" => Some("$$".into()),
        Node::Path(steps, _) => {
            let first = steps.first()?;
            match &first.node {
                Node::Name(n) => Some(n.clone()),
                Node::Wildcard => Some("*".into()),
                Node::Descendants => Some("**".into()),
                other => top(other),
            }
        }
        Node::Neg(a) | Node::Bind(_, a) => top(a),
        Node::Bin(_, a, b)
        | Node::And(a, b)
        | Node::Or(a, b)
        | Node::Elvis(a, b)
        | Node::Coalesce(a, b)
        | Node::Chain(a, b) => top(a).or_else(|| top(b)),
        Node::Cond(c, t, e) => top(c)
            .or_else(|| top(t))
            .or_else(|| e.as_deref().and_then(top)),
        Node::Array(items) | Node::Block(items) => any(&mut items.iter()),
        Node::Object(pairs) => any(&mut pairs.iter().flat_map(|(k, v)| [k, v])),
        Node::Call(f, args) => top(f).or_else(|| any(&mut args.iter())),
        Node::Lambda(l) => top(&l.body),
        Node::Filter(e, _) | Node::Group(e, _) | Node::Sort(e, _) => top(e),
        _ => None,
    }
}

fn path_of(node: Node) -> Node {
    Node::Path(
        vec![Step {
            node,
            stages: Vec::new(),
        }],
        false,
    )
}

/// `left.right`: appends the steps of `right` to those of `left`; a `[]` on either keeps
/// singleton arrays for the whole path (as jsonata-js does).
fn join_path(left: Node, right: Node) -> Node {
    let (mut steps, mut keep) = match left {
        Node::Path(steps, keep) => (steps, keep),
        other => (
            vec![Step {
                node: other,
                stages: Vec::new(),
            }],
            false,
        ),
    };
    match right {
        Node::Path(more, k) => {
            steps.extend(more);
            keep |= k;
        }
        other => steps.push(Step {
            node: other,
            stages: Vec::new(),
        }),
    }
    Node::Path(steps, keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(src: &str) -> usize {
        match parse(src) {
            Ok(Node::Path(s, _)) => s.len(),
            _ => 0,
        }
    }

    #[test]
    fn paths_are_flattened() {
        assert_eq!(steps("$states.input.a.b"), 4);
        assert_eq!(steps("a.b[0].c"), 3);
    }

    #[test]
    fn precedence_follows_jsonata() {
        assert!(matches!(
            parse("1 + 2 * 3"),
            Ok(Node::Bin(BinOp::Add, _, _))
        ));
        assert!(matches!(parse("a = 1 and b = 2 or c"), Ok(Node::Or(_, _))));
        assert!(matches!(parse("$x := 1 + 2"), Ok(Node::Bind(_, _))));
        assert!(matches!(
            parse("a > 1 ? 'x' : 'y'"),
            Ok(Node::Cond(_, _, Some(_)))
        ));
    }

    #[test]
    fn functions_and_blocks() {
        assert!(matches!(parse("function($x){$x}"), Ok(Node::Lambda(_))));
        assert!(matches!(parse("($a := 1; $a + 1)"), Ok(Node::Block(v)) if v.len() == 2));
        assert!(
            matches!(parse("$f(1, ?)"), Ok(Node::Call(_, a)) if matches!(a[1], Node::Placeholder))
        );
    }

    #[test]
    fn syntax_errors_have_codes() {
        assert_eq!(parse("1 +").map(|_| ()).map_err(|e| e.code), Err("S0207"));
        assert_eq!(parse("(1").map(|_| ()).map_err(|e| e.code), Err("S0203"));
        assert_eq!(parse("1 2").map(|_| ()).map_err(|e| e.code), Err("S0201"));
    }
}
