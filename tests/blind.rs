//! Blind mode in the TUI: shuffled, unnamed columns until the vote; the
//! vote as tiers of slots; names shown after it.

mod common;

use common::ui::*;
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use versus::app::{App, Effect, Event, Focus};
use versus::store::battles::{Battle, Winner};
use versus::store::leaderboard::{Board, Options, rate};
use versus::store::query::{Query, Reply, Target};
use versus::store::votes::Vote;

fn screen(a: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| versus::ui::draw(f, a)).expect("draw");
    term.backend().to_string()
}

/// Everything that would tell the three models apart.
const IDENTIFYING: &[&str] =
    &["gemma", "qwen", "llama", "Q4_K_M", "Q8_0", "268M", "494M", "1.2B", ".gguf", "MiB", "GiB ·", "load ", "tok/s", "t/s", "candle"];

fn blind_run(w: u16, h: u16) -> (App, u64) {
    let mut a = app(models(), w, h);
    key(&mut a, KeyCode::Char('b'));
    assert!(a.blind);
    a.blind_seed = 42; // the same shuffle every time, for the snapshots
    let id = in_progress(&mut a);
    (a, id)
}

#[test]
fn a_blind_run_never_shows_what_the_models_are() {
    for (w, h) in [(120, 40), (80, 24)] {
        let (mut a, id) = blind_run(w, h);
        let running = screen(&a, w, h);
        finish(&mut a, id, true);
        a.focus = Focus::Columns;
        let done = screen(&a, w, h);
        for text in [&running, &done] {
            for word in IDENTIFYING {
                // The status line's RAM figure is the machine's, not a model's.
                let body: String = text.lines().take(h as usize - 1).collect::<Vec<_>>().join("\n");
                assert!(!body.contains(word), "{word:?} shown in blind mode:\n{text}");
            }
        }
        assert!(done.contains("Model A [1]") || w < 100, "{done}");
        assert!(done.contains("failed (the reason"), "{done}");
        insta::assert_snapshot!(format!("blind_done_{w}x{h}"), done);
    }
}

#[test]
fn ranking_by_numbers_votes_and_reveals() {
    let (mut a, id) = blind_run(120, 40);
    finish(&mut a, id, false);
    a.focus = Focus::Columns;
    let slots: Vec<usize> = a.run.as_ref().unwrap().columns.iter().map(|c| c.slot).collect();
    let mut sorted = slots.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![0, 1, 2]);
    assert!(key(&mut a, KeyCode::Char('2')).is_empty(), "one more to rank");
    let effects = key(&mut a, KeyCode::Char('3'));
    assert_eq!(
        effects[0],
        Effect::Query(Query::Vote {
            target: Target::Run(id),
            vote: Vote::human(vec![vec![slots[1]], vec![slots[2]], vec![slots[0]]], false)
        })
    );
    assert!(matches!(effects[1], Effect::Query(Query::Leaderboard { show: false, .. })), "then the board, for the next pair");
    let shown = screen(&a, 120, 40);
    assert!(shown.contains("gemma-3-270m-q4_k_m") && shown.contains("qwen2.5"), "{shown}");
    assert!(a.notice.as_deref().unwrap_or("").starts_with("vote saved · A = "), "{:?}", a.notice);
    // Once revealed there is nothing more to vote on.
    assert!(key(&mut a, KeyCode::Char('1')).is_empty());
}

#[test]
fn tie_all_bad_and_a_ranking_ended_early() {
    for (keys, all_bad) in [(vec![KeyCode::Char('=')], false), (vec![KeyCode::Char('0')], true)] {
        let (mut a, id) = blind_run(120, 40);
        finish(&mut a, id, false);
        a.focus = Focus::Columns;
        let effects: Vec<Effect> = keys.into_iter().flat_map(|k| key(&mut a, k)).collect();
        match effects.as_slice() {
            [Effect::Query(Query::Vote { vote, .. }), _] => {
                assert_eq!(vote.tiers.len(), 1, "one tier: everyone tied");
                assert_eq!(vote.tiers[0].len(), 3);
                assert_eq!(vote.all_bad, all_bad);
            }
            other => panic!("{other:?}"),
        }
    }
    let (mut a, id) = blind_run(120, 40);
    finish(&mut a, id, false);
    a.focus = Focus::Columns;
    key(&mut a, KeyCode::Char('3'));
    match key(&mut a, KeyCode::Enter).as_slice() {
        [Effect::Query(Query::Vote { vote, .. }), _] => {
            assert_eq!(vote.tiers.iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 2], "the rest tie last")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_vote_while_answers_are_still_coming() {
    let (mut a, _) = blind_run(120, 40);
    a.focus = Focus::Columns;
    assert!(key(&mut a, KeyCode::Char('1')).is_empty());
    assert_eq!(a.notice.as_deref(), Some("vote when every answer is in"));
    // A run that is not blind has no vote.
    let mut b = app(models(), 120, 40);
    let id = in_progress(&mut b);
    finish(&mut b, id, false);
    b.focus = Focus::Columns;
    b.handle(Event::Frame);
    assert!(key(&mut b, KeyCode::Char('1')).is_empty());
}

/// Battles between list entries `a` and `b` (by the leaderboard's names):
/// `wins` for a, `losses` for b.
fn battles(app: &App, a: usize, b: usize, wins: usize, losses: usize) -> Vec<Battle> {
    let (na, nb) = (app.board_name(a), app.board_name(b));
    (0..wins + losses)
        .map(|i| Battle::between((&na, &na), (&nb, &nb), if i < wins { Winner::A } else { Winner::B }, &format!("{a}-{b}-{i}")))
        .collect()
}

#[test]
fn the_leaderboard_overlay_shows_ranks_intervals_and_the_matrix() {
    let mut a = app(models(), 120, 40);
    let asked = key(&mut a, KeyCode::Char('L'));
    assert!(matches!(asked.as_slice(), [Effect::Query(Query::Leaderboard { show: true, options })] if options.matrix), "{asked:?}");
    let empty = Board::default();
    a.handle(Event::Store(Reply::Leaderboard { show: true, board: Ok(empty) }));
    let shown = screen(&a, 120, 40);
    assert!(shown.contains("Leaderboard · blind votes") && shown.contains("No votes yet"), "{shown}");
    key(&mut a, KeyCode::Esc);
    assert!(!screen(&a, 120, 40).contains("Leaderboard · blind votes"));

    let mut all = battles(&a, 0, 1, 30, 10);
    all.extend(battles(&a, 1, 2, 2, 2));
    let board = rate(all, &Options { matrix: true, ..Default::default() });
    a.handle(Event::Store(Reply::Leaderboard { show: true, board: Ok(board) }));
    let shown = screen(&a, 120, 40);
    for text in ["RANK", "95% CI", "●", "?", "provisional", "win matrix"] {
        assert!(shown.contains(text), "{text:?} missing:\n{shown}");
    }
    key(&mut a, KeyCode::Char('m'));
    let matrix = screen(&a, 120, 40);
    assert!(matrix.contains("win matrix") && matrix.contains("ROW beats COLUMN") && matrix.contains("0.75 (40)"), "{matrix}");
    key(&mut a, KeyCode::Char('m'));
    assert!(screen(&a, 120, 40).contains("95% CI"), "back to the ratings");
}

/// Blind mode suggests the pair that has met least and whose intervals
/// overlap most; one key selects it, and the next suggestion still comes
/// from every model selected before.
#[test]
fn blind_mode_suggests_the_next_pair() {
    let mut a = app(models(), 120, 40);
    for i in 0..3 {
        a.list.entries[i].selected = true;
    }
    // gemma and qwen met forty times; llama met qwen four times only.
    let mut all = battles(&a, 0, 1, 30, 10);
    all.extend(battles(&a, 1, 2, 2, 2));
    let asked = key(&mut a, KeyCode::Char('b'));
    assert!(matches!(asked.as_slice(), [Effect::Query(Query::Leaderboard { show: false, .. })]), "{asked:?}");
    a.handle(Event::Store(Reply::Leaderboard { show: false, board: Ok(rate(all, &Options { matrix: true, ..Default::default() })) }));
    assert!(a.overlay.is_none(), "a quiet read opens nothing");
    let pair = a.next_pair().expect("a pair");
    a.notice = None;
    assert!(pair.0 == 2 || pair.1 == 2, "llama has met least: {pair:?}");
    let status = screen(&a, 120, 40);
    let last = status.lines().last().unwrap_or("").to_string();
    assert!(last.contains("next: ") && last.contains("llama") && last.contains("(B)"), "{status}");
    key(&mut a, KeyCode::Char('B'));
    assert_eq!(a.list.selected(), vec![pair.0, pair.1]);
    assert_eq!(a.pair_pool, Some(vec![0, 1, 2]), "the pool stays");
}
