//! Entry point: set up the process, parse the command line, load the config,
//! start logging, then run the TUI or a headless command.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use versus::cli::{Cli, Command};
use versus::commands;
use versus::context::{Context, exit};
use versus::keymap::Keymap;
use versus::paths::Dirs;
use versus::{config, logging, terminal};

fn main() -> ExitCode {
    if let Err(e) = versus::cpu::check_build() {
        eprintln!("versus: {e}");
        return ExitCode::from(1);
    }
    let cli = Cli::parse();
    if let Some(Command::Worker) = &cli.command {
        // Started by versus itself: its parent has the config and the log.
        return ExitCode::from(versus::engine::runtime::worker::child::serve());
    }
    if let Some(Command::Completions { shell }) = &cli.command {
        clap_complete::generate(*shell, &mut Cli::command(), "versus", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    if let Some(Command::Man { dir }) = &cli.command {
        // clap_mangen renders the same help the subcommands print, so the
        // pages cannot drift from the flags.
        let written = match dir {
            Some(d) => std::fs::create_dir_all(d).and_then(|()| clap_mangen::generate_to(Cli::command(), d)),
            None => clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()),
        };
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("versus: {e}");
                ExitCode::from(1)
            }
        };
    }
    let _ = color_eyre::install();

    let dirs = Dirs::from_env();
    let loaded = match config::load(cli.config.as_deref(), &dirs) {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                eprintln!("versus: {e}");
            }
            return ExitCode::from(exit::USAGE);
        }
    };
    // Before any thread starts: it may re-execute the process.
    if let Err(e) = versus::process::prepare(loaded.config.cpu.omp_wait_policy) {
        eprintln!("versus: could not re-execute to set cpu.omp_wait_policy ({e}); continuing with OpenMP's default");
    }
    let filter = logging::filter(cli.log_level.as_deref(), &loaded.config.log.level);
    let log_filter = filter.to_string();
    let log = logging::init(&dirs.state_dir, filter);
    terminal::install_panic_hook(versus::engine::runtime::scheduler::CAUGHT_THREADS);
    versus::engine::set_fatal_hook(|message| {
        terminal::emergency_restore();
        terminal::report_fatal(message);
    });
    tracing::info!(version = env!("CARGO_PKG_VERSION"), args = ?std::env::args().map(|a| versus::engine::remote::redact(&a)).collect::<Vec<_>>(), "start");

    let ctx = Context { dirs, config: loaded, log, log_filter };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("versus: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match &cli.command {
        None => match versus::cli::check_paths(&cli.paths) {
            Err(e) => e.exit(),
            Ok(()) => versus::tui::run(&ctx, &cli.paths, &cli.models, cli.blind, &runtime),
        },
        Some(Command::List { json, paths, scan }) => commands::list::run(&ctx.discover(&[paths.as_slice(), scan].concat()), *json),
        Some(Command::Doctor { paths, scan }) => commands::doctor::run(&ctx, &ctx.discover(&[paths.as_slice(), scan].concat())),
        Some(Command::Run(args)) => commands::run::run(&ctx, args, &runtime),
        Some(Command::Tokenize(args)) => commands::tokenize::run(&ctx, args),
        Some(Command::Replay(args)) => commands::replay::run(&ctx, args, &runtime),
        Some(Command::History { cmd }) => commands::history::run(&ctx, cmd),
        Some(Command::Report { ids, json }) => commands::report::run(&ctx, ids, *json),
        Some(Command::Leaderboard(args)) => commands::leaderboard::run(&ctx, args),
        Some(Command::Votes { cmd }) => commands::votes::run(&ctx, cmd),
        Some(Command::Fidelity(args)) => commands::fidelity::run(&ctx, args, &runtime),
        Some(Command::Keys) => match Keymap::from_config(&ctx.config.config.ui.keys) {
            Ok(k) => {
                print!("{}", k.to_markdown());
                exit::OK
            }
            Err(e) => {
                eprintln!("versus: {e}");
                exit::USAGE
            }
        },
        Some(Command::Completions { .. } | Command::Man { .. } | Command::Worker) => exit::OK,
    };
    tracing::info!(code, "exit");
    if versus::engine::runtime::scheduler::LEFT_BEHIND.load(std::sync::atomic::Ordering::SeqCst) {
        versus::process::exit_now(code);
    }
    ExitCode::from(code)
}
