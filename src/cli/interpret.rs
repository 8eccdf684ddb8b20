//! `flowc interpret --asl DEF.json`: run a state machine on the embedded engine.

/// Arguments of `flowc interpret`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ASL definition (JSON) to run.
    #[arg(long)]
    pub asl: Option<std::path::PathBuf>,
}

/// Runs `flowc interpret`.
pub fn run(args: Args) -> i32 {
    let _ = args;
    eprintln!("error: flowc interpret is not available yet");
    2
}
