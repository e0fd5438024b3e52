//! Keybindings as data. Each `Action` has a scope (where it applies) and a
//! line of help; the default keys are the `[ui.keys]` table of the embedded
//! `config.example.toml`, and the user's `[ui.keys]` replaces an action's keys.
//! The help overlay and `docs/keys.md` are generated from the same table.
//!
//! Keys are written like `ctrl-r`, `alt-enter`, `f5`, `shift-tab`, `space`,
//! `?` or `G`. Ctrl-Enter is bound but never alone: tmux and most terminals
//! cannot send it.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};

/// Where an action applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Every pane, the prompt editor included: only keys that never type text.
    Global,
    /// Every pane but the prompt editor (plain letters are free there).
    Browse,
    /// The model list.
    Models,
    /// The answer columns.
    Columns,
    /// The prompt editor.
    Editor,
}

impl Scope {
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Anywhere",
            Scope::Browse => "Outside the editor",
            Scope::Models => "Model list",
            Scope::Columns => "Answer columns",
            Scope::Editor => "Prompt editor",
        }
    }
}

macro_rules! actions {
    ($($variant:ident => $name:literal, $scope:ident, $help:literal;)*) => {
        /// A user intent. Names are the keys of `[ui.keys]`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Action { $($variant,)* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];
            pub fn name(self) -> &'static str { match self { $(Action::$variant => $name,)* } }
            pub fn scope(self) -> Scope { match self { $(Action::$variant => Scope::$scope,)* } }
            pub fn help(self) -> &'static str { match self { $(Action::$variant => $help,)* } }
            pub fn from_name(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)* _ => None }
            }
        }
    };
}

actions! {
    Run => "run", Global, "run the prompt on the selected models";
    Cancel => "cancel", Global, "cancel the run (answers so far are kept)";
    FocusNext => "focus_next", Global, "next pane";
    FocusPrev => "focus_prev", Global, "previous pane";
    QuitNow => "quit_now", Global, "quit at once, cancelling any run";
    Export => "export", Global, "export the comparison to Markdown and JSON";
    History => "history", Global, "browse saved comparisons";
    Quit => "quit", Browse, "quit (asks first while a run is active)";
    Help => "help", Browse, "show or hide this help";
    Up => "up", Browse, "move or scroll up";
    Down => "down", Browse, "move or scroll down";
    PageUp => "page_up", Browse, "page up";
    PageDown => "page_down", Browse, "page down";
    Top => "top", Browse, "go to the top";
    Bottom => "bottom", Browse, "go to the bottom (and follow the answer)";
    Select => "select", Models, "select or unselect the model";
    Filter => "filter", Models, "filter models by name";
    Duplicate => "duplicate", Models, "add the model again, to compare settings";
    Params => "params", Models, "edit the model's parameters";
    Engine => "engine", Models, "switch the engine (llama.cpp / candle)";
    Remove => "remove", Models, "remove a duplicated entry";
    NextColumn => "next_column", Columns, "focus the next column";
    PrevColumn => "prev_column", Columns, "focus the previous column";
    Zoom => "zoom", Columns, "zoom the column to full width and back";
    SyncScroll => "sync_scroll", Columns, "scroll all columns together";
    Copy => "copy", Columns, "copy the column's text (OSC 52)";
    HistoryPrev => "history_prev", Editor, "previous prompt";
    HistoryNext => "history_next", Editor, "next prompt";
    SystemPrompt => "system_prompt", Editor, "switch between prompt and system prompt";
    ClearPrompt => "clear_prompt", Editor, "clear the prompt";
}

/// A key with modifiers, normalised so that `shift` is folded into the character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

/// `KeyCode` subset that can be bound, ordered for stable tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    F(u8),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Delete,
    Insert,
}

impl Key {
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        let code = match ev.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Tab => KeyCodeOrd::Tab,
            KeyCode::BackTab => KeyCodeOrd::BackTab,
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            KeyCode::Delete => KeyCodeOrd::Delete,
            KeyCode::Insert => KeyCodeOrd::Insert,
            _ => return None,
        };
        let m = ev.modifiers;
        let folds_shift = matches!(code, KeyCodeOrd::Char(_) | KeyCodeOrd::BackTab);
        let mut key = Key {
            code,
            ctrl: m.contains(KeyModifiers::CONTROL),
            alt: m.contains(KeyModifiers::ALT),
            shift: m.contains(KeyModifiers::SHIFT) && !folds_shift,
        };
        // Terminals report Ctrl-<letter> with either case; bind the lower one.
        if key.ctrl {
            if let KeyCodeOrd::Char(c) = key.code {
                key.code = KeyCodeOrd::Char(c.to_ascii_lowercase());
            }
        }
        Some(key)
    }

    pub fn parse(text: &str) -> Result<Key, String> {
        let bad = || format!("`{text}` is not a key (try e.g. \"ctrl-r\", \"f5\", \"alt-enter\", \"q\")");
        let mut key = Key { code: KeyCodeOrd::Esc, ctrl: false, alt: false, shift: false };
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = ["ctrl-", "c-", "control-"].iter().find_map(|p| lower.strip_prefix(p)) {
                key.ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = ["alt-", "a-", "meta-", "m-"].iter().find_map(|p| lower.strip_prefix(p)) {
                key.alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = ["shift-", "s-"].iter().find_map(|p| lower.strip_prefix(p)) {
                if r.is_empty() {
                    break;
                }
                key.shift = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        key.code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCodeOrd::Char(if key.ctrl { c.to_ascii_lowercase() } else { c }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCodeOrd::Enter,
                "esc" | "escape" => KeyCodeOrd::Esc,
                "tab" if key.shift => {
                    key.shift = false;
                    KeyCodeOrd::BackTab
                }
                "tab" => KeyCodeOrd::Tab,
                "backtab" => KeyCodeOrd::BackTab,
                "space" => KeyCodeOrd::Char(' '),
                "backspace" => KeyCodeOrd::Backspace,
                "up" => KeyCodeOrd::Up,
                "down" => KeyCodeOrd::Down,
                "left" => KeyCodeOrd::Left,
                "right" => KeyCodeOrd::Right,
                "pgup" | "pageup" => KeyCodeOrd::PageUp,
                "pgdn" | "pgdown" | "pagedown" => KeyCodeOrd::PageDown,
                "home" => KeyCodeOrd::Home,
                "end" => KeyCodeOrd::End,
                "del" | "delete" => KeyCodeOrd::Delete,
                "ins" | "insert" => KeyCodeOrd::Insert,
                f if f.starts_with('f') => {
                    let n: u8 = f[1..].parse().map_err(|_| bad())?;
                    if !(1..=24).contains(&n) {
                        return Err(bad());
                    }
                    KeyCodeOrd::F(n)
                }
                _ => return Err(bad()),
            },
        };
        if key.shift {
            if let KeyCodeOrd::Char(c) = key.code {
                key.code = KeyCodeOrd::Char(c.to_ascii_uppercase());
                key.shift = false;
            }
        }
        Ok(key)
    }

    /// Whether pressing this key in the editor would type text.
    pub fn types_text(&self) -> bool {
        matches!(self.code, KeyCodeOrd::Char(_)) && !self.ctrl && !self.alt
            || matches!(self.code, KeyCodeOrd::Enter | KeyCodeOrd::Backspace | KeyCodeOrd::Delete) && !self.ctrl && !self.alt
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        if self.shift {
            f.write_str("Shift-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("Space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "F{n}"),
            KeyCodeOrd::BackTab => f.write_str("Shift-Tab"),
            KeyCodeOrd::PageUp => f.write_str("PgUp"),
            KeyCodeOrd::PageDown => f.write_str("PgDn"),
            other => write!(f, "{other:?}"),
        }
    }
}

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
    /// Build from a merged `[ui.keys]` table (the defaults plus the user's).
    pub fn from_config(table: &BTreeMap<String, Vec<String>>) -> Result<Keymap, KeymapError> {
        let mut bindings = BTreeMap::new();
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
                if action.scope() == Scope::Global && key.types_text() {
                    return Err(KeymapError {
                        action: name.clone(),
                        message: format!("`{k}` would type text in the prompt editor; use a key with ctrl or alt, or a function key"),
                    });
                }
                parsed.push(key);
            }
            bindings.insert(action, parsed);
        }
        Ok(Keymap { bindings })
    }

    /// The help overlay's content: each scope with its actions, in order.
    pub fn help_sections() -> Vec<(Scope, Vec<Action>)> {
        [Scope::Global, Scope::Browse, Scope::Models, Scope::Columns, Scope::Editor]
            .into_iter()
            .map(|scope| (scope, Action::ALL.iter().copied().filter(|a| a.scope() == scope).collect()))
            .collect()
    }

    /// Lines of the help overlay: a title per scope and a line per action.
    pub fn help_len() -> usize {
        Keymap::help_sections().iter().map(|(_, actions)| 1 + actions.len()).sum()
    }

    /// The map from the embedded defaults alone (`[ui.keys]` of
    /// config.example.toml, which a test keeps valid).
    pub fn defaults() -> Keymap {
        let table: Option<BTreeMap<String, Vec<String>>> = toml::from_str::<toml::Table>(include_str!("../config.example.toml"))
            .ok()
            .and_then(|t| t.get("ui")?.get("keys")?.clone().try_into().ok());
        match Keymap::from_config(&table.unwrap_or_default()) {
            Ok(k) => k,
            Err(e) => panic!("embedded key table is invalid: {e}"),
        }
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
            "# Keys\n\nGenerated from the `[ui.keys]` table of `config.example.toml` \
             (`versus keys` prints it). Override any action in your config's `[ui.keys]`;\n\
             the keys you give replace that action's defaults.\n",
        );
        let scopes = [Scope::Global, Scope::Browse, Scope::Models, Scope::Columns, Scope::Editor];
        for scope in scopes {
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
