//! versus: compare local LLMs side by side in the terminal.
//!
//! The binary (`main.rs`) parses the command line and dispatches; everything
//! else lives here so that tests and benchmarks can drive it directly. See
//! `docs/architecture.md` for how the parts fit together.

pub mod app;
pub mod catalog;
pub mod cli;
pub mod clipboard;
pub mod commands;
pub mod config;
pub mod context;
pub mod conversation;
pub mod cpu;
pub mod engine;
pub mod error;
pub mod fidelity;
pub mod gpu;
pub mod judge;
pub mod keymap;
pub mod layout;
pub mod logging;
pub mod markdown;
pub mod params;
pub mod paths;
pub mod process;
pub mod rating;
pub mod samples;
pub mod selection;
pub(crate) mod session;
pub mod spec;
pub mod store;
pub mod tables;
pub mod terminal;
pub mod theme;
pub mod tui;
pub mod ui;
pub mod wordiff;
pub mod wrap;
