//! Every user intent (`Action`), where it applies (`Scope`), its help line
//! and its default keys: the one table the keymap, the help overlay and
//! docs/keys.md are built from.

use serde::{Deserialize, Serialize};

macro_rules! scopes {
    ($($(#[$doc:meta])* $variant:ident => $title:literal $(, takes text $text:tt)?;)*) => {
        /// Where an action applies: a pane, or an overlay while it is open.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Scope { $($(#[$doc])* $variant,)* }

        impl Scope {
            /// Every scope, in the help's order.
            pub const ALL: &'static [Scope] = &[$(Scope::$variant,)*];

            pub fn title(self) -> &'static str { match self { $(Scope::$variant => $title,)* } }

            /// Plain characters type text here, so they cannot be bound.
            pub fn takes_text(self) -> bool { match self { $(Scope::$variant => scopes!(@text $($text)?),)* } }
        }
    };
    (@text) => { false };
    (@text $t:tt) => { true };
}

scopes! {
    /// Every pane, the prompt editor included: only keys that never type text.
    Global => "Anywhere", takes text (yes);
    /// Every pane but the prompt editor (plain letters are free there).
    Browse => "Outside the editor";
    /// The model list.
    Models => "Model list";
    /// The model list's name filter, while typing it.
    Filter => "Model filter (while typing it)", takes text (yes);
    /// The answer columns.
    Columns => "Answer columns";
    /// The search in the answers, while typing it.
    Search => "Search in the answers (while typing it)", takes text (yes);
    /// The prompt editor.
    Editor => "Prompt editor";
    /// The key list (`?`).
    Help => "Key list";
    /// "Quit while a run is active?"
    Confirm => "Quit confirmation";
    /// The parameters popup.
    Params => "Parameters popup";
    /// The parameters popup while a value is being typed.
    ParamInput => "Parameters popup, typing a value", takes text (yes);
    /// The saved-comparisons overlay.
    Saved => "Saved comparisons", takes text (yes);
    /// The leaderboard overlay.
    Board => "Tables (leaderboard, batch matrix)";
}

macro_rules! actions {
    ($($variant:ident => $name:literal, $scope:ident, [$($key:literal),*], $help:literal;)*) => {
        /// A user intent. Names are the keys of `[ui.keys]`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Action { $($variant,)* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];
            pub fn name(self) -> &'static str { match self { $(Action::$variant => $name,)* } }
            pub fn scope(self) -> Scope { match self { $(Action::$variant => Scope::$scope,)* } }
            pub fn help(self) -> &'static str { match self { $(Action::$variant => $help,)* } }
            /// The keys bound when `[ui.keys]` does not say otherwise.
            pub fn default_keys(self) -> &'static [&'static str] { match self { $(Action::$variant => &[$($key),*],)* } }
            pub fn from_name(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)* _ => None }
            }
        }
    };
}

actions! {
    Run => "run", Global, ["f5", "ctrl-r", "alt-enter", "ctrl-enter"], "run the prompt on the selected models";
    FollowUp => "follow_up", Global, ["ctrl-f", "alt-f"], "send the prompt as a follow-up: each model gets its own earlier turns";
    Retry => "retry", Global, ["f6", "alt-r"], "ask the models that failed this turn again (the others keep their answers)";
    Cancel => "cancel", Global, ["esc"], "skip the model answering (the run goes on); again: stop the run";
    StopRun => "stop_run", Global, ["alt-x"], "stop the run at once (answers so far are kept)";
    FocusNext => "focus_next", Global, ["tab"], "next pane";
    FocusPrev => "focus_prev", Global, ["shift-tab"], "previous pane";
    QuitNow => "quit_now", Global, ["ctrl-c"], "quit at once, cancelling any run";
    Export => "export", Global, ["ctrl-e"], "export the comparison to Markdown and JSON";
    History => "history", Global, ["ctrl-o"], "browse saved comparisons";
    Quit => "quit", Browse, ["q"], "quit (asks first while a run is active)";
    Leaderboard => "leaderboard", Browse, ["L"], "the leaderboard of blind votes";
    Judge => "judge", Browse, ["J"], "judge the answers with the highlighted model";
    Blind => "blind", Browse, ["b"], "blind mode for the next runs (shuffled, unnamed until the vote)";
    BlindPair => "blind_pair", Browse, ["B"], "select the pair blind mode suggests voting on next";
    Help => "help", Browse, ["?", "f1"], "show or hide this help";
    Up => "up", Browse, ["k", "up"], "move or scroll up";
    Down => "down", Browse, ["j", "down"], "move or scroll down";
    PageUp => "page_up", Browse, ["pgup", "ctrl-u"], "page up";
    PageDown => "page_down", Browse, ["pgdn", "ctrl-d"], "page down";
    Top => "top", Browse, ["g", "home"], "go to the top";
    Bottom => "bottom", Browse, ["G", "end"], "go to the bottom (and follow the answer)";
    Select => "select", Models, ["space"], "select or unselect the model";
    Filter => "filter", Models, ["/"], "filter models by name";
    Duplicate => "duplicate", Models, ["d"], "add the model again, to compare settings";
    Params => "params", Models, ["p", "enter"], "edit the model's parameters";
    Engine => "engine", Models, ["e"], "switch the engine (llama.cpp / candle)";
    Remove => "remove", Models, ["x", "delete"], "remove a duplicated entry";
    FilterDone => "filter_done", Filter, ["enter", "down", "tab"], "keep the filter and go back to the list";
    FilterClear => "filter_clear", Filter, ["esc"], "clear the filter";
    NextColumn => "next_column", Columns, ["l", "right"], "focus the next column";
    PrevColumn => "prev_column", Columns, ["h", "left"], "focus the previous column";
    Zoom => "zoom", Columns, ["z"], "zoom the column to full width and back";
    SyncScroll => "sync_scroll", Columns, ["s"], "scroll all columns together";
    Copy => "copy", Columns, ["y"], "copy the answer as produced (OSC 52)";
    CopyCode => "copy_code", Columns, ["Y"], "copy the code block in view";
    Raw => "raw", Columns, ["r"], "show raw (as produced) or rendered";
    RawAll => "raw_all", Columns, ["R"], "raw or rendered, all columns";
    Thinking => "thinking", Columns, ["t"], "expand or collapse the thinking";
    Fold => "fold", Columns, ["f"], "fold the answer to its first lines";
    Search => "search", Columns, ["/"], "search all columns";
    SearchNext => "search_next", Columns, ["n"], "next match";
    SearchPrev => "search_prev", Columns, ["N"], "previous match";
    Diff => "diff", Columns, ["d"], "diff two columns word by word: d here, d on another (d ends it); or two samples of one";
    PrevSample => "prev_sample", Columns, ["["], "show the column's previous sample (samples = K)";
    NextSample => "next_sample", Columns, ["]"], "show the column's next sample";
    Rank => "rank", Columns, ["1", "2", "3", "4", "5", "6", "7", "8", "9"], "blind vote: the columns' numbers, best first";
    VoteTie => "vote_tie", Columns, ["="], "blind vote: a tie";
    VoteBad => "vote_bad", Columns, ["0"], "blind vote: every answer is bad";
    VoteDone => "vote_done", Columns, ["enter"], "blind vote: end the ranking (the rest tie last)";
    SearchDone => "search_done", Search, ["enter"], "keep the search (n, N jump)";
    SearchClear => "search_clear", Search, ["esc"], "clear the search";
    HistoryPrev => "history_prev", Editor, ["ctrl-p", "alt-up"], "previous prompt";
    HistoryNext => "history_next", Editor, ["ctrl-n", "alt-down"], "next prompt";
    SystemPrompt => "system_prompt", Editor, ["ctrl-t", "f2"], "switch between prompt and system prompt";
    ClearPrompt => "clear_prompt", Editor, ["ctrl-l"], "clear the prompt";
    HelpUp => "help_up", Help, ["k", "up"], "scroll up";
    HelpDown => "help_down", Help, ["j", "down"], "scroll down";
    HelpPageUp => "help_page_up", Help, ["pgup"], "page up";
    HelpPageDown => "help_page_down", Help, ["pgdn", "space"], "page down";
    HelpClose => "help_close", Help, ["esc", "q", "?", "f1"], "close (so does any key not bound here)";
    ConfirmQuit => "confirm_quit", Confirm, ["y", "Y", "enter"], "quit, cancelling the run (any other key stays)";
    ParamsUp => "params_up", Params, ["k", "up"], "previous parameter";
    ParamsDown => "params_down", Params, ["j", "down"], "next parameter";
    ParamsEdit => "params_edit", Params, ["enter"], "edit the value";
    ParamsClose => "params_close", Params, ["esc", "q", "p"], "close (the values apply to the next run)";
    ParamCommit => "param_commit", ParamInput, ["enter"], "keep the typed value (it is checked)";
    ParamAbort => "param_abort", ParamInput, ["esc"], "undo the typing";
    SavedUp => "saved_up", Saved, ["up"], "previous comparison";
    SavedDown => "saved_down", Saved, ["down"], "next comparison";
    SavedPageUp => "saved_page_up", Saved, ["pgup"], "page up";
    SavedPageDown => "saved_page_down", Saved, ["pgdn"], "page down";
    SavedOpen => "saved_open", Saved, ["enter"], "show the comparison as it was";
    SavedRerun => "saved_rerun", Saved, ["ctrl-r"], "run its prompt again on the models selected now";
    SavedRerunOriginal => "saved_rerun_original", Saved, ["ctrl-o"], "run its prompt again on its own models";
    SavedMatrix => "saved_matrix", Saved, ["alt-m", "f3"], "prompts × models of its batch (as versus report shows)";
    SavedClose => "saved_close", Saved, ["esc"], "close (typing filters the list)";
    BoardUp => "board_up", Board, ["k", "up"], "scroll up";
    BoardDown => "board_down", Board, ["j", "down"], "scroll down";
    BoardLeft => "board_left", Board, ["h", "left"], "scroll left";
    BoardRight => "board_right", Board, ["l", "right"], "scroll right";
    BoardPage => "board_page", Board, ["m", "tab"], "the leaderboard's win matrix, and back";
    BoardClose => "board_close", Board, ["esc", "q", "L"], "close (so does any key not bound here)";
}
