//! The judge in the TUI: `J` on a finished comparison asks the model under
//! the list's cursor, in both orders, as a run of its own; its replies
//! (scripted events here: the real judge is `tests/judge.rs`) become the
//! verdict under the columns and a `judge:` vote to save.

mod common;

use common::ui::*;
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use versus::app::{App, Effect, Event, Focus};
use versus::engine::{EngineEvent, EventKind};
use versus::store::query::{Query, Target};

fn screen(a: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| versus::ui::draw(f, a)).expect("draw");
    term.backend().to_string()
}

fn judge_says(a: &mut App, run: u64, replies: &[&str]) -> Vec<Effect> {
    let mut out = Vec::new();
    let mut ev =
        |prompt: usize, kind: EventKind| out.extend(a.handle(Event::Engine(EngineEvent { run, slot: 0, prompt, sample: 0, kind })));
    for (p, reply) in replies.iter().enumerate() {
        ev(p, EventKind::Loading);
        ev(p, EventKind::answer(*reply));
        ev(p, EventKind::Finished { stats: stats(20, 30.0) });
    }
    ev(0, EventKind::RunDone);
    out
}

/// A finished run of three models; J with the list's cursor on the first.
fn judged() -> (App, u64, u64, Vec<String>) {
    let mut a = app(models(), 140, 44);
    let id = in_progress(&mut a);
    finish(&mut a, id, false);
    a.focus = Focus::Models;
    match key(&mut a, KeyCode::Char('J')).as_slice() {
        [Effect::Judge { id: judge, prompts, entry }] => {
            assert!(entry.label.ends_with("(judge)"), "{}", entry.label);
            assert_eq!(entry.settings.generation.temperature, 0.0, "a judge reads greedily");
            (a, id, *judge, prompts.clone())
        }
        other => panic!("no judge: {other:?}"),
    }
}

#[test]
fn a_judge_reads_both_orders_and_its_verdict_shows_under_the_columns() {
    let (mut a, run, judge, prompts) = judged();
    assert_ne!(run, judge, "the judge has its own run");
    assert_eq!(prompts.len(), 2, "the answers in the run's order and reversed");
    assert!(prompts[0].contains("Answer C:") && prompts[0].contains("why the sky is blue"), "{}", prompts[0]);
    assert!(a.run_active(), "Esc stops a judge that is reading");
    assert_eq!(key(&mut a, KeyCode::Esc), vec![Effect::Cancel(judge)]);
    let reading = screen(&a, 140, 44);
    assert!(reading.contains("Judge ·") && reading.contains("order 1 of 2"), "{reading}");
    // Answer B in the run's order is slot 1; reversed, slot 1 is still B (of three).
    let effects = judge_says(
        &mut a,
        judge,
        &[
            r#"{"winner": "B", "scores": {"A": {"clarity": 4}, "B": {"clarity": 9}}, "reason": "B explains scattering."}"#,
            r#"{"winner": "B", "scores": {"B": {"clarity": 7}}, "reason": "B is right."}"#,
        ],
    );
    match effects.as_slice() {
        [Effect::Query(Query::Vote { target, vote })] => {
            assert_eq!(*target, Target::Run(run));
            assert!(vote.voter.starts_with("judge:") && vote.voter.ends_with("(judge)"), "{}", vote.voter);
            assert_eq!(vote.tiers, vec![vec![1], vec![0, 2]]);
            assert!(vote.detail.as_ref().is_some_and(|d| d["reason"] == "B explains scattering."), "{:?}", vote.detail);
        }
        other => panic!("no vote to save: {other:?}"),
    }
    assert!(!a.run_active());
    let shown = screen(&a, 140, 44);
    assert!(shown.contains("best: qwen2.5-0.5b-instruct-q8_0 [2] · both orders agree"), "{shown}");
    assert!(shown.contains("clarity 8.0") && shown.contains("B explains scattering."), "{shown}");
    insta::assert_snapshot!("judge_verdict_140x44", shown);
}

#[test]
fn orders_that_disagree_tie_and_a_failed_judge_leaves_the_answers() {
    let (mut a, _, judge, _) = judged();
    let effects = judge_says(&mut a, judge, &["The winner is Answer A.", "The winner is Answer A."]);
    match effects.as_slice() {
        [Effect::Query(Query::Vote { vote, .. })] => assert_eq!(vote.tiers, vec![vec![0, 1, 2]], "position bias: a tie"),
        other => panic!("{other:?}"),
    }
    assert!(screen(&a, 140, 44).contains("a tie: the two orders disagree"));

    let (mut a, _, judge, _) = judged();
    let before: Vec<String> = a.run.as_ref().unwrap().columns.iter().map(|c| c.answer.text.clone()).collect();
    let effects = judge_says(&mut a, judge, &["I like them all.", "Hard to say."]);
    assert!(effects.is_empty(), "nothing to save: {effects:?}");
    let shown = screen(&a, 140, 44);
    assert!(shown.contains("no verdict: the judge's answers name no answer as best"), "{shown}");
    let after: Vec<String> = a.run.as_ref().unwrap().columns.iter().map(|c| c.answer.text.clone()).collect();
    assert_eq!(before, after);
    // Another judge may try again.
    assert!(matches!(key(&mut a, KeyCode::Char('J')).as_slice(), [Effect::Judge { .. }]));
}

#[test]
fn no_judge_before_the_answers_are_in_or_before_a_blind_vote() {
    let mut a = app(models(), 140, 44);
    let id = in_progress(&mut a);
    a.focus = Focus::Models;
    assert!(key(&mut a, KeyCode::Char('J')).is_empty());
    assert_eq!(a.notice.as_deref(), Some("judge when every answer is in"));
    finish(&mut a, id, true);
    assert!(key(&mut a, KeyCode::Char('J')).is_empty(), "a failed answer");
    assert_eq!(a.notice.as_deref(), Some("the judge needs two or more answers, all finished"));

    let mut b = app(models(), 140, 44);
    key(&mut b, KeyCode::Char('b'));
    let id = in_progress(&mut b);
    finish(&mut b, id, false);
    b.focus = Focus::Models;
    assert!(key(&mut b, KeyCode::Char('J')).is_empty());
    assert_eq!(b.notice.as_deref(), Some("vote first: the judge's verdict would sway yours"));
}

#[test]
fn a_batch_matrix_opens_from_the_saved_comparisons() {
    let mut a = app(models(), 140, 44);
    a.handle(Event::HistoryList(vec![versus::store::RunSummary {
        id: 7,
        started_at: "2026-12-02T10:00:00Z".into(),
        state: versus::store::RunState::Complete,
        prompt: "hi".into(),
        models: vec!["a".into()],
    }]));
    assert_eq!(key(&mut a, KeyCode::F(3)), vec![Effect::Query(Query::Matrix(7))], "tmux keeps Ctrl-B; F3 reaches versus");
    let table = "PROMPT │ a\n#7 hi │ 12ch\nTOTAL │ 1/1 done\n";
    a.handle(Event::Table {
        title: "Batch prompts.txt · prompts × models".into(),
        table: table.into(),
        footer: "legend".into(),
        page: None,
    });
    let shown = screen(&a, 140, 44);
    assert!(shown.contains("Batch prompts.txt") && shown.contains("#7 hi │ 12ch") && shown.contains("legend"), "{shown}");
    key(&mut a, KeyCode::Char('l'));
    let moved = screen(&a, 140, 44);
    assert!(!moved.contains("#7 hi") && moved.contains("12ch"), "scrolled sideways by 8:\n{moved}");
    key(&mut a, KeyCode::Esc);
    assert!(!screen(&a, 140, 44).contains("Batch prompts.txt"));
}
