//! `versus run`'s parameter flags, made from the parameter table: every row
//! with a `Flag` becomes a clap argument with its help and range, and what
//! was given comes back as `key=value` overrides in the table's order. A
//! parameter gains a flag by its row alone.

use std::sync::LazyLock;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use super::{PARAMS, ParamSpec, Range, flag_help};

/// The flags given, as (key, value) pairs for `Settings::set`, applied
/// after the config and before each spec's own pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamFlags(pub Vec<(String, String)>);

/// The rows that have a flag, with the flag's name (clap keeps `&'static str`).
static FLAGGED: LazyLock<Vec<(&'static ParamSpec, String)>> =
    LazyLock::new(|| PARAMS.iter().filter_map(|p| p.flag_name().map(|name| (p, name))).collect());

impl Args for ParamFlags {
    fn augment_args(mut cmd: Command) -> Command {
        for (p, name) in FLAGGED.iter() {
            let arg = Arg::new(p.key).long(name.as_str());
            cmd = cmd.arg(match p.range {
                Range::Bool => arg.action(ArgAction::SetTrue).help(p.help),
                Range::List => arg.action(ArgAction::Append).value_name("TEXT").help(format!("{} (repeatable; \\n for a newline)", p.help)),
                _ => arg.value_name("VALUE").help(flag_help(p.key)),
            });
        }
        cmd
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for ParamFlags {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut out = Vec::new();
        for (p, _) in FLAGGED.iter() {
            match p.range {
                Range::Bool => {
                    if m.get_flag(p.key) {
                        out.push((p.key.to_string(), "true".to_string()));
                    }
                }
                Range::List => {
                    let items: Vec<String> = m.get_many::<String>(p.key).into_iter().flatten().map(|s| s.replace('|', "\\|")).collect();
                    if !items.is_empty() {
                        out.push((p.key.to_string(), items.join("|")));
                    }
                }
                _ => {
                    if let Some(v) = m.get_one::<String>(p.key) {
                        out.push((p.key.to_string(), v.clone()));
                    }
                }
            }
        }
        Ok(ParamFlags(out))
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = ParamFlags::from_arg_matches(m)?;
        Ok(())
    }
}
