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
        for c in &codes {
            println!("{}  {}", c.code, c.title);
        }
        return common::EXIT_OK;
    };
    let wanted = code.trim_start_matches("flowc::").to_ascii_uppercase();
    match codes.iter().find(|c| c.code == wanted) {
        Some(c) => {
            println!(
                "flowc::{}: {}\n\n{}\n\nExample:\n\n{}",
                c.code,
                c.title,
                c.explanation,
                indent(c.example)
            );
            common::EXIT_OK
        }
        None => {
            eprintln!("error: no diagnostic code `{code}`; `flowc explain` lists them all");
            common::EXIT_USAGE
        }
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}
