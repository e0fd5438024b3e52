//! The command line (clap derive): the TUI by default, and headless
//! subcommands for listing models, checking the machine and running prompts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The examples under `versus --help`, naming the engines this build has.
fn examples() -> String {
    format!(
        "{EXAMPLES}\n\nModels are named by `versus list` names (a unique prefix is enough) or paths.\n\
         A model spec is MODEL[@ENGINE][,key=value...]; ENGINE is {}.",
        crate::engine::registry::local_labels()
    )
}

const EXAMPLES: &str = "\
Examples:
  versus                                   open the TUI with every discovered model
  versus ~/models /data/gguf               also scan these folders
  versus -m gemma-3-270m -m SmolLM2        open the TUI with these two selected
  versus list                              show discovered models
  versus run -m gemma-3-270m -p \"The capital of France is\" --temperature 0
  versus run -m gemma-3-270m,temperature=0 -m gemma-3-270m,temperature=1.2,seed=7 -p \"Once\"
  versus run -m model.gguf@llama -m model.gguf@candle --json -p \"Hi\" > events.jsonl
  versus doctor                            what versus sees on this machine
  versus tokenize SmolLM2 --template -p \"Hi\"  the tokens a model is fed";

#[derive(Debug, Parser)]
#[command(name = "versus", version, about = "Compare local LLMs side by side in the terminal", after_help = examples())]
pub struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/versus/config.toml)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log level for the log file: error, warn, info, debug, trace (or a RUST_LOG filter)
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,

    /// Extra model folders or files to scan
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    /// Open the TUI with this model selected, MODEL[@ENGINE][,key=value...]
    /// (repeat for several; the prompt editor then has the focus)
    #[arg(short = 'm', long = "model", value_name = "SPEC")]
    pub models: Vec<String>,

    /// Blind mode: each run's columns shuffled and unnamed until you vote
    /// (see `versus leaderboard`)
    #[arg(long)]
    pub blind: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every discovered model
    List {
        /// One JSON array instead of a table
        #[arg(long)]
        json: bool,
        /// Extra model folders or files to scan
        paths: Vec<PathBuf>,
        /// Extra model folders or files to scan (as `versus run --scan`)
        #[arg(long = "scan", value_name = "PATH")]
        scan: Vec<PathBuf>,
    },
    /// Show versions, engines, devices, config, log file and model folders
    Doctor {
        /// Extra model folders or files to scan
        paths: Vec<PathBuf>,
        /// Extra model folders or files to scan (as `versus run --scan`)
        #[arg(long = "scan", value_name = "PATH")]
        scan: Vec<PathBuf>,
    },
    /// Run a prompt on one or more models, one after another, without the TUI
    Run(RunArgs),
    /// Show the token ids and pieces a model is fed for a text
    Tokenize(TokenizeArgs),
    /// Saved comparisons: list, show, export, remove
    History {
        #[command(subcommand)]
        cmd: HistoryCmd,
    },
    /// The models voted on (blind mode, judges, imported files), rated as LMArena rates them
    Leaderboard(LeaderboardArgs),
    /// How far CAND's next-token distributions are from REF's on a text (KL divergence, as llama-perplexity)
    Fidelity(FidelityArgs),
    /// Votes as files in FastChat's battle format (JSON Lines): export, import
    Votes {
        #[command(subcommand)]
        cmd: VotesCmd,
    },
    /// Prompts × models for a batch or comparisons: length, speed, judge's score, votes
    Report {
        /// Comparison ids, or a batch (its --prompts file)
        #[arg(required = true, value_name = "BATCH_OR_RUN_IDS")]
        ids: Vec<String>,
        /// The report as one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Run a saved comparison's answers again from their receipts: identical, or where they differ
    Replay(ReplayArgs),
    /// Print the key bindings (Markdown)
    Keys,
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one per subcommand into DIR
    Man {
        /// A folder for versus.1 and versus-SUBCOMMAND.1 (`versus-run.1`, …)
        dir: Option<PathBuf>,
    },
    /// The process local models run in, started by versus itself
    #[command(hide = true)]
    Worker,
}

/// The TUI's folders must exist: a word that is none (a mistyped
/// subcommand, or one put after a folder) is clap's "unrecognized
/// subcommand" with the closest one, not a folder that is not there.
pub fn check_paths(paths: &[PathBuf]) -> Result<(), clap::Error> {
    use clap::CommandFactory;
    let Some(word) = paths.iter().find(|p| !p.exists()).map(|p| p.to_string_lossy().into_owned()) else { return Ok(()) };
    let mut cmd = Cli::command();
    let names: Vec<String> = cmd.get_subcommands().filter(|c| !c.is_hide_set()).map(|c| c.get_name().to_string()).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let message = if refs.contains(&word.as_str()) {
        format!("'{word}' is a subcommand: put it first, then the folders (versus {word} [PATHS]...)")
    } else if word.contains('/') {
        format!("no folder or file at '{word}'")
    } else {
        let tip = names
            .iter()
            .map(|n| (strsim::damerau_levenshtein(&word, n), n))
            .filter(|(d, n)| *d <= (n.len() / 3).max(2))
            .min_by_key(|(d, _)| *d)
            .map(|(_, n)| format!("\n\n  tip: a similar subcommand exists: '{n}'"))
            .unwrap_or_default();
        format!("unrecognized subcommand '{word}' (and no folder of that name){tip}")
    };
    Err(cmd.error(clap::error::ErrorKind::InvalidSubcommand, message))
}

#[derive(Debug, Args)]
pub struct FidelityArgs {
    /// The reference model spec, MODEL[@ENGINE][,key=value...] (e.g. the Q8_0 file)
    #[arg(value_name = "REF")]
    pub reference: String,
    /// The candidate model spec (e.g. the Q4_K_M file, or REF@candle)
    #[arg(value_name = "CAND")]
    pub candidate: String,
    /// The text to score (default: standard input)
    #[arg(long, value_name = "TEXT", conflicts_with = "prompt")]
    pub file: Option<PathBuf>,
    /// The text itself
    #[arg(short = 'p', long = "prompt", value_name = "TEXT")]
    pub prompt: Option<String>,
    /// Tokens per chunk; the second half of each is scored
    #[arg(long, default_value_t = 512, value_name = "N")]
    pub ctx: usize,
    /// One JSON object instead of the text report
    #[arg(long)]
    pub json: bool,
    /// Keep the reference's log-probabilities in FILE (and read them from it
    /// next time, to compare several candidates against one reference)
    #[arg(long, value_name = "FILE")]
    pub keep_base: Option<PathBuf>,
    /// Extra model folders or files to scan
    #[arg(long = "scan", value_name = "PATH")]
    pub scan: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LeaderboardArgs {
    /// One JSON object {"models": [...], "matrix": ..., "style": ...}
    #[arg(long)]
    pub json: bool,
    /// Only votes on prompts containing TEXT (any case)
    #[arg(long, value_name = "TEXT")]
    pub prompt_filter: Option<String>,
    /// Only votes cast since DATE (2026-12-01, or an RFC 3339 time)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// The pairwise win-rate matrix, with the battles behind each cell
    #[arg(long)]
    pub matrix: bool,
    /// Hold style equal: answer length, headers, lists and bold as covariates
    #[arg(long)]
    pub style_control: bool,
    /// How a "both bad" vote counts
    #[arg(long, value_enum, default_value = "tie", value_name = "HOW")]
    pub both_bad: crate::store::leaderboard::BothBad,
    /// Count blind votes whose answers named their own model or maker
    #[arg(long)]
    pub include_flagged: bool,
}

#[derive(Debug, Subcommand)]
pub enum VotesCmd {
    /// Write every vote as battles, one JSON object per line
    Export {
        /// Write to FILE instead of standard output
        #[arg(short = 'o', long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Only votes cast since DATE (2026-12-01, or an RFC 3339 time)
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Only votes on prompts containing TEXT (any case)
        #[arg(long, value_name = "TEXT")]
        prompt_filter: Option<String>,
    },
    /// Add the battles of FILE (a teammate's export, an arena's public file; - reads stdin)
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Count the battles of model NAME as those of the local model SPEC
        #[arg(long = "map", value_name = "NAME=SPEC")]
        map: Vec<String>,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum HistoryCmd {
    /// List saved comparisons, newest first
    List {
        /// One JSON array instead of a table
        #[arg(long)]
        json: bool,
        /// How many to list
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Print a comparison as text (or JSON: every turn, answer, setting and figure)
    Show {
        id: i64,
        /// The comparison as one JSON object (as `history export --format json`)
        #[arg(long)]
        json: bool,
    },
    /// Export a comparison, several, or a batch (its --prompts file) as one file
    Export {
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
        #[arg(long, value_enum, default_value = "md")]
        format: crate::store::export::Format,
        /// Write to FILE instead of standard output
        #[arg(short = 'o', long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace FILE when it exists
        #[arg(long, requires = "out")]
        force: bool,
    },
    /// Delete a comparison
    Rm { id: i64 },
}

#[derive(Debug, Args, Clone, Default)]
pub struct ReplayArgs {
    /// The comparison's id (`versus history list`)
    pub id: i64,
    /// Only this model: its index in the comparison (0 for the first, as
    /// "model.index" in JSON) or its label
    #[arg(long, value_name = "N")]
    pub model: Option<String>,
    /// One JSON line per answer ({"event":"replay","result":"identical"|"differs"|"not_replayable",…}), then a total
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct TokenizeArgs {
    /// Model spec MODEL[@ENGINE][,key=value...]
    #[arg(value_name = "SPEC")]
    pub spec: String,

    /// The text (else standard input)
    #[arg(short = 'p', long, value_name = "TEXT")]
    pub prompt: Option<String>,

    /// Render the model's chat template with the text as the user message first
    #[arg(long)]
    pub template: bool,

    /// System prompt for --template
    #[arg(long, value_name = "TEXT", requires = "template")]
    pub system: Option<String>,

    /// One JSON object: {"model", "engine", "tokens", "pieces", "text"}
    #[arg(long)]
    pub json: bool,

    /// Extra model folders or files to scan
    #[arg(long = "scan", value_name = "PATH")]
    pub scan: Vec<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Model spec MODEL[@ENGINE][,key=value...]; repeat for several models
    #[arg(short = 'm', long = "model", value_name = "SPEC", required_unless_present = "continue_id")]
    pub models: Vec<String>,
    /// Continue saved comparison ID with the prompt as its next turn: each
    /// model gets its own earlier answers; the same models and settings
    /// unless -m or parameter flags say otherwise (-m gives slot by slot)
    #[arg(long = "continue", value_name = "ID", conflicts_with = "prompts")]
    pub continue_id: Option<i64>,

    /// The prompt (else --prompt-file, else standard input)
    #[arg(short = 'p', long, value_name = "TEXT", conflicts_with_all = ["prompt_file", "prompts"])]
    pub prompt: Option<String>,

    /// Read the prompt from a file
    #[arg(long, value_name = "FILE", conflicts_with = "prompts")]
    pub prompt_file: Option<PathBuf>,

    /// Batch: every prompt of FILE (JSON lines with "prompt", or one per line)
    /// on every model, each model loaded once; results as JSON lines
    #[arg(long, value_name = "FILE")]
    pub prompts: Option<PathBuf>,

    /// Batch: write the result lines to FILE instead of standard output
    #[arg(long, value_name = "FILE", requires = "prompts")]
    pub out: Option<PathBuf>,

    /// Batch: skip (prompt, model) pairs already finished in --out
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Batch: replace an existing --out file (without it, versus refuses)
    #[arg(long, requires = "out", conflicts_with = "resume")]
    pub force: bool,

    /// Do not save this run in the history
    #[arg(long)]
    pub no_history: bool,

    /// After the answers, a judge model MODEL[@ENGINE][,key=value...] compares
    /// them (anonymised, in both orders) on [judge] criteria; its verdict is
    /// saved as a vote
    #[arg(long, value_name = "SPEC")]
    pub judge: Option<String>,

    /// Parameters for every model (one flag per parameter that has one in
    /// the parameter table).
    #[command(flatten)]
    pub params: crate::params::flags::ParamFlags,

    /// One JSON object per line for every event, then a summary per model
    #[arg(long)]
    pub json: bool,

    /// Extra model folders or files to scan
    #[arg(long = "scan", value_name = "PATH")]
    pub scan: Vec<PathBuf>,
}

impl RunArgs {
    /// The flags that set parameters for every model, as key=value pairs
    /// applied after the config and before each spec's own pairs.
    pub fn overrides(&self) -> Vec<(String, String)> {
        self.params.0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_flags_become_overrides() {
        let cli = Cli::parse_from(["versus", "run", "-m", "a", "-m", "b,seed=1", "-p", "hi", "--temperature", "0", "--stop", "x|y"]);
        let Some(Command::Run(args)) = cli.command else { panic!("not run") };
        assert_eq!(args.models, vec!["a", "b,seed=1"]);
        assert_eq!(args.overrides(), vec![("temperature".to_string(), "0".to_string()), ("stop".to_string(), "x\\|y".to_string())]);
        let cli = Cli::parse_from(["versus", "run", "-m", "a", "-p", "hi", "--raw", "--system", "be brief", "--stop", "a", "--stop", "b"]);
        let Some(Command::Run(args)) = cli.command else { panic!("not run") };
        let keys: Vec<String> = args.overrides().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(keys, vec!["stop=a|b", "system_prompt=be brief", "raw=true"]);
    }

    #[test]
    fn parameter_flags_are_described_from_the_parameter_table() {
        let mut cmd = Cli::command();
        let run = cmd.find_subcommand_mut("run").expect("run");
        let help = run.render_long_help().to_string();
        let flagged: Vec<_> = crate::params::PARAMS.iter().filter(|p| p.flag_name().is_some()).collect();
        assert!(flagged.len() >= 10, "the common parameters have flags");
        for spec in flagged {
            let flag = format!("--{}", spec.flag_name().unwrap_or_default());
            assert!(help.contains(&flag), "{flag} missing");
            let numeric = matches!(spec.range, crate::params::Range::Float(..) | crate::params::Range::Int(..));
            if numeric {
                assert!(help.contains(&spec.range.to_string()), "{flag}'s help lacks its range {}", spec.range);
            }
        }
    }

    #[test]
    fn bare_paths_open_the_tui() {
        let cli = Cli::parse_from(["versus", "/models", "/more"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.paths.len(), 2);
    }
}
