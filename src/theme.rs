//! Every colour the UI uses, in one place: a dark and a light theme
//! (`[ui] theme`), and a plain one for `NO_COLOR` (no-color.org) in which
//! what colour says is said by bold, underline and reverse video instead.
//! Drawing code asks the theme for a role, never for a colour.

use ratatui::style::{Color, Modifier, Style};

use crate::engine::protocol::answer::Status;

/// `[ui] theme`: the terminal's background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
}

/// Which syntect theme colours code blocks, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    Off,
    Dark,
    Light,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    /// Titles, the focused pane's border, a column's name.
    pub accent: Style,
    /// Secondary text: hints, unfocused borders, placeholders.
    pub dim: Style,
    /// Numbers under a column and in the status line: readable on the
    /// theme's background (never grey on white).
    pub stats: Style,
    /// Key names in the help, commands to type.
    pub key: Style,
    /// The row under the cursor in a list.
    pub selected: Style,
    /// Secondary text on that row (its settings, a parameter's range):
    /// `dim` would vanish into the row's background.
    pub selected_dim: Style,
    /// A selected model's mark.
    pub chosen: Style,
    pub error: Style,
    pub warning: Style,
    /// The editor's cursor.
    pub cursor: Style,
    /// The colour of each status, for column headers and lists.
    pub queued: Style,
    pub loading: Style,
    pub generating: Style,
    pub finished: Style,
    pub failed: Style,
    pub cancelled: Style,
    /// Markdown: headings, inline code, link text, quote bars.
    pub heading: Style,
    pub code: Style,
    pub link: Style,
    pub quote: Style,
    /// A reasoning model's thinking (dimmed, apart from the answer).
    pub thinking: Style,
    /// Search matches, and the one jumped to.
    pub found: Style,
    pub found_now: Style,
    /// A diff: words only in this column (deleted) or only in the other
    /// (inserted, shown in the second column).
    pub deleted: Style,
    pub inserted: Style,
    /// Colours for code blocks (none without colour).
    pub syntax: Palette,
    /// The terminal shows 24-bit colour (`COLORTERM`); else code colours
    /// are the nearest of 256.
    pub truecolor: bool,
}

impl Theme {
    /// For terminals with a dark background (the default).
    pub fn dark() -> Theme {
        let fg = |c| Style::new().fg(c);
        Theme {
            accent: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            dim: fg(Color::DarkGray),
            stats: fg(Color::Gray),
            key: fg(Color::Yellow),
            selected: Style::new().bg(Color::Indexed(238)).add_modifier(Modifier::BOLD),
            selected_dim: fg(Color::Gray),
            chosen: fg(Color::Green),
            error: fg(Color::Red).add_modifier(Modifier::BOLD),
            warning: fg(Color::Yellow),
            cursor: Style::new().add_modifier(Modifier::REVERSED),
            queued: fg(Color::DarkGray),
            loading: fg(Color::Yellow),
            generating: fg(Color::Green),
            finished: fg(Color::Cyan),
            failed: fg(Color::Red),
            cancelled: fg(Color::Magenta),
            heading: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            code: fg(Color::Yellow),
            link: fg(Color::Blue).add_modifier(Modifier::UNDERLINED),
            quote: fg(Color::DarkGray),
            thinking: fg(Color::DarkGray).add_modifier(Modifier::ITALIC),
            found: Style::new().bg(Color::Yellow).fg(Color::Black),
            found_now: Style::new().bg(Color::LightRed).fg(Color::Black).add_modifier(Modifier::BOLD),
            deleted: Style::new().bg(Color::Red).fg(Color::White),
            inserted: Style::new().bg(Color::Green).fg(Color::Black),
            syntax: Palette::Dark,
            truecolor: false,
        }
    }

    /// For terminals with a light background.
    pub fn light() -> Theme {
        let fg = |c| Style::new().fg(c);
        Theme {
            accent: fg(Color::Blue).add_modifier(Modifier::BOLD),
            dim: fg(Color::DarkGray),
            stats: fg(Color::Black),
            key: fg(Color::Magenta),
            selected: Style::new().bg(Color::Gray).fg(Color::Black).add_modifier(Modifier::BOLD),
            selected_dim: fg(Color::Indexed(236)),
            chosen: fg(Color::Green),
            error: fg(Color::Red).add_modifier(Modifier::BOLD),
            warning: fg(Color::Rgb(150, 90, 0)),
            cursor: Style::new().add_modifier(Modifier::REVERSED),
            queued: fg(Color::DarkGray),
            loading: fg(Color::Rgb(150, 90, 0)),
            generating: fg(Color::Green),
            finished: fg(Color::Blue),
            failed: fg(Color::Red),
            cancelled: fg(Color::Magenta),
            heading: fg(Color::Blue).add_modifier(Modifier::BOLD),
            code: fg(Color::Rgb(150, 40, 40)),
            link: fg(Color::Blue).add_modifier(Modifier::UNDERLINED),
            quote: fg(Color::DarkGray),
            thinking: fg(Color::DarkGray).add_modifier(Modifier::ITALIC),
            found: Style::new().bg(Color::Yellow).fg(Color::Black),
            found_now: Style::new().bg(Color::LightRed).fg(Color::Black).add_modifier(Modifier::BOLD),
            deleted: Style::new().bg(Color::Rgb(255, 200, 200)).fg(Color::Black),
            inserted: Style::new().bg(Color::Rgb(200, 255, 200)).fg(Color::Black),
            syntax: Palette::Light,
            truecolor: false,
        }
    }

    /// Secondary text, on the highlighted row or not.
    pub fn dim_on(&self, highlighted: bool) -> Style {
        if highlighted { self.selected_dim } else { self.dim }
    }

    /// No colour at all (`NO_COLOR`): emphasis by modifiers only.
    pub fn plain() -> Theme {
        let none = Style::new();
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Theme {
            accent: bold,
            dim: none,
            stats: none,
            key: bold,
            selected: Style::new().add_modifier(Modifier::REVERSED),
            selected_dim: none,
            chosen: bold,
            error: bold.add_modifier(Modifier::UNDERLINED),
            warning: bold,
            cursor: Style::new().add_modifier(Modifier::REVERSED),
            queued: none,
            loading: none,
            generating: bold,
            finished: bold,
            failed: bold.add_modifier(Modifier::UNDERLINED),
            cancelled: none,
            heading: bold,
            code: none,
            link: Style::new().add_modifier(Modifier::UNDERLINED),
            quote: none,
            thinking: Style::new().add_modifier(Modifier::ITALIC),
            found: Style::new().add_modifier(Modifier::UNDERLINED),
            found_now: Style::new().add_modifier(Modifier::REVERSED),
            deleted: Style::new().add_modifier(Modifier::CROSSED_OUT),
            inserted: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            syntax: Palette::Off,
            truecolor: false,
        }
    }

    /// The configured theme, or the plain one when `no_color`.
    pub fn pick(name: ThemeName, no_color: bool) -> Theme {
        match (no_color, name) {
            (true, _) => Theme::plain(),
            (false, ThemeName::Light) => Theme::light(),
            (false, ThemeName::Dark) => Theme::dark(),
        }
    }

    /// The configured theme, unless `NO_COLOR` is set (to anything).
    pub fn from_env(name: ThemeName) -> Theme {
        let mut t = Theme::pick(name, std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()));
        t.truecolor = std::env::var("COLORTERM").is_ok_and(|v| v == "truecolor" || v == "24bit");
        t
    }

    pub fn status(&self, s: Status) -> Style {
        match s {
            Status::Queued => self.queued,
            Status::Loading => self.loading,
            Status::Generating => self.generating,
            Status::Finished => self.finished,
            Status::Failed => self.failed,
            Status::Cancelled => self.cancelled,
        }
    }

    /// A pane's border: the accent when it has the focus.
    pub fn border(&self, focused: bool) -> Style {
        if focused { self.accent } else { self.dim }
    }
}

impl Default for Theme {
    fn default() -> Theme {
        Theme::dark()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_has_no_colours_but_still_marks_the_cursor() {
        let t = Theme::pick(ThemeName::Light, true);
        for s in [t.accent, t.dim, t.stats, t.key, t.selected, t.error, t.cursor, t.status(Status::Failed), t.code, t.found, t.found_now] {
            assert_eq!((s.fg, s.bg), (None, None), "{s:?}");
        }
        assert!(t.selected.add_modifier.contains(Modifier::REVERSED));
        assert!(t.cursor.add_modifier.contains(Modifier::REVERSED));
        assert!(t.border(true).add_modifier.contains(Modifier::BOLD), "the focused pane stands out without colour");
    }

    #[test]
    fn the_light_theme_keeps_stats_dark() {
        let t = Theme::pick(ThemeName::Light, false);
        assert_ne!(t.stats.fg, Some(Color::Gray));
        assert_eq!(Theme::pick(ThemeName::Dark, false), Theme::dark());
    }
}
