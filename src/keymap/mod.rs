//! Keybindings as data. Each `Action` has a scope (a pane, or an overlay
//! while it is open), a line of help and default keys (`action.rs`); the
//! user's `[ui.keys]` replaces an action's keys. The help overlay and
//! `docs/keys.md` are generated from the same table.
//!
//! Keys are written like `ctrl-r`, `alt-enter`, `f5`, `shift-tab`, `space`,
//! `?` or `G`. Ctrl-Enter is bound but never alone: tmux and most terminals
//! cannot send it.

use std::collections::BTreeMap;

mod action;
mod key;

pub use action::{Action, Scope};
pub use key::{Key, KeyCodeOrd};

/// A binding problem, located at the action's entry in `[ui.keys]`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeymapError {
    pub action: String,
    pub message: String,
}

impl std::fmt::Display for KeymapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ui.keys.{}: {}", self.action, self.message)
    }
}

/// The resolved bindings: for each action its keys, in the configured order.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    bindings: BTreeMap<Action, Vec<Key>>,
}

impl Keymap {
    /// The defaults with the user's `[ui.keys]` over them: an action named
    /// there gets exactly the keys given.
    pub fn from_config(table: &BTreeMap<String, Vec<String>>) -> Result<Keymap, KeymapError> {
        let mut bindings = BTreeMap::new();
        for action in Action::ALL {
            let keys = action
                .default_keys()
                .iter()
                .map(|k| Key::parse(k).map_err(|message| KeymapError { action: action.name().into(), message }));
            bindings.insert(*action, keys.collect::<Result<Vec<_>, _>>()?);
        }
        for (name, keys) in table {
            let action = Action::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
                KeymapError {
                    action: name.clone(),
                    message: format!("unknown action `{name}`{}", crate::params::did_you_mean(name, &known)),
                }
            })?;
            let mut parsed = Vec::new();
            for k in keys {
                let key = Key::parse(k).map_err(|message| KeymapError { action: name.clone(), message })?;
                if action.scope().takes_text() && key.types_text() {
                    return Err(KeymapError {
                        action: name.clone(),
                        message: format!(
                            "`{k}` would type text in {}; use a key with ctrl or alt, or a function key",
                            if action.scope() == Scope::Global {
                                "the prompt editor".to_string()
                            } else {
                                format!("the {}", action.scope().title().to_lowercase())
                            }
                        ),
                    });
                }
                parsed.push(key);
            }
            bindings.insert(action, parsed);
        }
        Ok(Keymap { bindings })
    }

    /// The default bindings alone.
    pub fn defaults() -> Keymap {
        match Keymap::from_config(&BTreeMap::new()) {
            Ok(k) => k,
            Err(e) => panic!("the default key table is invalid: {e}"),
        }
    }

    /// The help overlay's content: each scope with its actions, in order.
    pub fn help_sections() -> Vec<(Scope, Vec<Action>)> {
        Scope::ALL.iter().map(|&scope| (scope, Action::ALL.iter().copied().filter(|a| a.scope() == scope).collect())).collect()
    }

    /// Lines of the help overlay: a title per scope and a line per action.
    pub fn help_len() -> usize {
        Keymap::help_sections().iter().map(|(_, actions)| 1 + actions.len()).sum()
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        self.bindings.get(&action).map_or(&[], Vec::as_slice)
    }

    /// The action bound to `key` in the given scopes, searched in order.
    pub fn lookup(&self, key: &Key, scopes: &[Scope]) -> Option<Action> {
        scopes.iter().find_map(|scope| {
            self.bindings.iter().find(|(action, keys)| action.scope() == *scope && keys.contains(key)).map(|(action, _)| *action)
        })
    }

    /// "F5/Ctrl-r" style label of an action's first keys, for hints.
    pub fn label(&self, action: Action) -> String {
        self.keys(action).iter().take(2).map(|k| k.to_string()).collect::<Vec<_>>().join("/")
    }

    /// Markdown table of every binding by scope: `docs/keys.md` and the help overlay.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from(
            "# Keys\n\nGenerated from versus's key table (`versus keys` prints it). Override any action in\n\
             your config's `[ui.keys]`, e.g. `run = [\"f5\", \"ctrl-g\"]`; the keys you give replace that\n\
             action's defaults. Overlays have their own keys while they are open.\n",
        );
        for &scope in Scope::ALL {
            out.push_str(&format!("\n## {}\n\n| action | keys | what it does |\n|---|---|---|\n", scope.title()));
            for action in Action::ALL.iter().filter(|a| a.scope() == scope) {
                let keys: Vec<String> = self.keys(*action).iter().map(|k| format!("`{k}`")).collect();
                out.push_str(&format!("| `{}` | {} | {} |\n", action.name(), keys.join(" "), action.help()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn ev(code: KeyCode, m: KeyModifiers) -> Key {
        Key::from_event(&KeyEvent::new(code, m)).unwrap()
    }

    #[test]
    fn parses_and_matches_terminal_events() {
        assert_eq!(Key::parse("ctrl-r").unwrap(), ev(KeyCode::Char('r'), KeyModifiers::CONTROL));
        assert_eq!(Key::parse("ctrl-R").unwrap(), ev(KeyCode::Char('R'), KeyModifiers::CONTROL));
        assert_eq!(Key::parse("alt-enter").unwrap(), ev(KeyCode::Enter, KeyModifiers::ALT));
        assert_eq!(Key::parse("f5").unwrap(), ev(KeyCode::F(5), KeyModifiers::NONE));
        assert_eq!(Key::parse("shift-tab").unwrap(), ev(KeyCode::BackTab, KeyModifiers::SHIFT));
        assert_eq!(Key::parse("G").unwrap(), ev(KeyCode::Char('G'), KeyModifiers::SHIFT));
        assert_eq!(Key::parse("space").unwrap(), ev(KeyCode::Char(' '), KeyModifiers::NONE));
        assert!(Key::parse("ctrl-").is_err());
        assert!(Key::parse("f99").is_err());
        assert!(Key::parse("hyper-x").is_err());
    }

    #[test]
    fn defaults_cover_every_action_and_run_has_tmux_safe_keys() {
        let km = Keymap::defaults();
        for a in Action::ALL {
            assert!(!km.keys(*a).is_empty(), "{a:?} has no default key");
        }
        // tmux's prefix (Ctrl-B) and screen's (Ctrl-A) never reach versus.
        let prefixes = [Key::parse("ctrl-b").unwrap(), Key::parse("ctrl-a").unwrap()];
        for a in Action::ALL {
            assert!(km.keys(*a).iter().any(|k| !prefixes.contains(k)), "{a:?} has only a multiplexer's prefix key");
            assert!(!km.keys(*a).iter().any(|k| prefixes.contains(k)), "{a:?} is bound to a tmux or screen prefix");
        }
        let run = km.keys(Action::Run);
        assert!(run.contains(&Key::parse("f5").unwrap()));
        assert!(run.contains(&Key::parse("ctrl-r").unwrap()));
        assert!(run.contains(&Key::parse("alt-enter").unwrap()));
    }

    #[test]
    fn lookup_respects_scope_order() {
        let km = Keymap::defaults();
        let j = Key::parse("j").unwrap();
        assert_eq!(km.lookup(&j, &[Scope::Global, Scope::Browse]), Some(Action::Down));
        assert_eq!(km.lookup(&j, &[Scope::Global, Scope::Editor]), None);
        let f5 = Key::parse("f5").unwrap();
        assert_eq!(km.lookup(&f5, &[Scope::Global, Scope::Editor]), Some(Action::Run));
    }

    #[test]
    fn user_tables_are_validated() {
        let mut t = BTreeMap::new();
        t.insert("rnu".to_string(), vec!["f6".to_string()]);
        let e = Keymap::from_config(&t).unwrap_err();
        assert_eq!(e.to_string(), "ui.keys.rnu: unknown action `rnu`, did you mean `run`?");
        let mut t = BTreeMap::new();
        t.insert("run".to_string(), vec!["x".to_string()]);
        assert!(Keymap::from_config(&t).unwrap_err().message.contains("would type text"));
    }

    #[test]
    fn docs_keys_md_is_generated_from_the_table() {
        let expected = Keymap::defaults().to_markdown();
        let on_disk = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/keys.md")).unwrap_or_default();
        assert_eq!(on_disk, expected, "docs/keys.md is stale: run `versus keys > docs/keys.md`");
    }
}
