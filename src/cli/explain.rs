//! `flowc explain CODE`: describe a diagnostic code with a tiny example.

use super::common;

/// Arguments of `flowc explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A code such as `E0301` or `flowc::E0301`; without one, lists every code.
    pub code: Option<String>,
}

/// Runs `flowc explain`.
pub fn run(args: Args) -> i32 {
    let codes = flowc::diagnostics::all_codes();
    let Some(code) = args.code else {
        let list: String = codes
            .iter()
            .map(|c| format!("{}  {}\n", c.code, c.title))
            .collect();
        return common::print_stdout(&list);
    };
    let wanted = code.trim_start_matches("flowc::").to_ascii_uppercase();
    match codes.iter().find(|c| c.code == wanted) {
        Some(c) => common::print_stdout(&format!(
            "flowc::{}: {}\n\n{}\n\nExample:\n\n{}\n",
            c.code,
            c.title,
            c.explanation,
            indent(c.example)
        )),
        None => {
            common::print_stderr(&format!(
                "error: no diagnostic code `{code}`; `flowc explain` lists them all\n"
            ));
            common::EXIT_USAGE
        }
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}
