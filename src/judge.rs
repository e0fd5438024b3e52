//! A judge model's verdict on a comparison. The judge sees the question
//! and the answers, anonymised as A, B, …, once in the run's order and once
//! reversed, so that a preference for a position cancels out: a winner is
//! declared only when both readings name the same answer, otherwise it is a
//! tie. Scores per criterion (the rubric from `[judge] criteria`) are the
//! mean of the two readings. Small models seldom write the JSON asked for,
//! so the reply is read leniently (JSON anywhere in it, else a "winner: B"
//! line); a reply that names no answer counts as no reading.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::protocol::answer::{Answer, Status};

/// `[judge]` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeConfig {
    /// What the judge scores each answer on (1 to 10 each).
    pub criteria: Vec<String>,
}

impl Default for JudgeConfig {
    fn default() -> JudgeConfig {
        JudgeConfig { criteria: ["helpfulness", "correctness", "clarity"].map(String::from).to_vec() }
    }
}

/// "A", "B", … "Z", "AA"…: an answer's name when it is anonymised (for the
/// judge, and the columns of a blind run).
pub fn letter(position: usize) -> String {
    let mut n = position;
    let mut s = String::new();
    loop {
        s.insert(0, (b'A' + (n % 26) as u8) as char);
        if n < 26 {
            return s;
        }
        n = n / 26 - 1;
    }
}

/// The judge's prompt: `answers` shown in `order` (indices into `answers`).
pub fn prompt(question: &str, answers: &[&str], order: &[usize], criteria: &[String]) -> String {
    let mut p = format!(
        "You are an impartial judge. Compare the answers to the question below on {}, scoring each from 1 to 10.\n\nQuestion:\n<<<\n{}\n>>>\n",
        criteria.join(", "),
        question.trim()
    );
    for (k, &i) in order.iter().enumerate() {
        p.push_str(&format!("\nAnswer {}:\n<<<\n{}\n>>>\n", letter(k), answers.get(i).map_or("", |a| a.trim())));
    }
    let example: Vec<String> = criteria.iter().map(|c| format!("\"{c}\": 7")).collect();
    p.push_str(&format!(
        "\nReply with only a JSON object, like {{\"winner\": \"A\", \"scores\": {{\"A\": {{{}}}, \"B\": {{...}}}}, \"reason\": \"one paragraph\"}}. \"winner\" is the letter of the best answer, or \"tie\".\n",
        example.join(", ")
    ));
    p
}

/// What one reply says, in the answers' own indices.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Reading {
    /// Some(i): answer i is best; None with `tie`: a tie; None otherwise: unreadable.
    pub winner: Option<usize>,
    pub tie: bool,
    /// Per answer: (criterion, score).
    pub scores: Vec<Vec<(String, f64)>>,
    pub reason: String,
}

impl Reading {
    pub fn readable(&self) -> bool {
        self.winner.is_some() || self.tie
    }
}

/// The first balanced `{…}` in `text` that parses as JSON.
fn json_in(text: &str) -> Option<Value> {
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(off) = text[start..].find('{') {
        let open = start + off;
        let mut depth = 0i32;
        let mut in_str = false;
        let mut esc = false;
        for (k, &b) in bytes[open..].iter().enumerate() {
            match b {
                _ if esc => esc = false,
                b'\\' if in_str => esc = true,
                b'"' => in_str = !in_str,
                b'{' if !in_str => depth += 1,
                b'}' if !in_str => {
                    depth -= 1;
                    if depth == 0 {
                        if let Ok(v) = serde_json::from_str::<Value>(&text[open..=open + k]) {
                            return Some(v);
                        }
                        break;
                    }
                }
                _ => {}
            }
        }
        start = open + 1;
    }
    None
}

/// The answer a letter names ("A", "Answer B", "b"), given the order shown.
fn named(word: &str, order: &[usize]) -> Option<usize> {
    let w = word.trim().trim_start_matches("Answer").trim_start_matches("answer").trim().trim_matches(|c: char| !c.is_alphanumeric());
    let w = w.to_ascii_uppercase();
    (0..order.len()).find(|&k| letter(k) == w).map(|k| order[k])
}

/// Read one reply to a prompt that showed the answers in `order`.
pub fn read(reply: &str, order: &[usize], n: usize, criteria: &[String]) -> Reading {
    let mut r = Reading { scores: vec![Vec::new(); n], ..Reading::default() };
    if let Some(v) = json_in(reply) {
        let w = v.get("winner").and_then(Value::as_str).unwrap_or("");
        if w.trim().eq_ignore_ascii_case("tie") {
            r.tie = true;
        } else {
            r.winner = named(w, order);
        }
        if let Some(scores) = v.get("scores").and_then(Value::as_object) {
            for (k, s) in scores {
                let Some(i) = named(k, order).filter(|i| *i < n) else { continue };
                for c in criteria {
                    if let Some(x) = s.get(c).and_then(Value::as_f64) {
                        r.scores[i].push((c.clone(), x.clamp(0.0, 10.0)));
                    }
                }
            }
        }
        r.reason = v.get("reason").and_then(Value::as_str).unwrap_or("").trim().to_string();
    }
    if !r.readable() {
        // "Winner: B", "the winner is Answer A", "the best answer is B",
        // "The answer is \"A\""…: the first letter after such a phrase.
        let lower = reply.to_lowercase();
        for phrase in ["winner", "best answer", "better answer", "answer is"] {
            let Some(at) = lower.find(phrase) else { continue };
            let rest: String = reply[at + phrase.len()..].chars().take(40).collect();
            let words: Vec<&str> = rest.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
            let skip = ["is", "the", "answer", "was", "would", "be"];
            match words.into_iter().find(|w| !skip.contains(&w.to_lowercase().as_str())) {
                Some(w) if w.eq_ignore_ascii_case("tie") => r.tie = true,
                Some(w) => r.winner = named(w, order),
                None => {}
            }
            if r.readable() {
                break;
            }
        }
        if r.reason.is_empty() {
            r.reason = reply.trim().chars().take(400).collect();
        }
    }
    r.winner = r.winner.filter(|i| *i < n);
    r
}

/// The verdict of the two readings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The best answer's index; None: a tie.
    pub winner: Option<usize>,
    /// Both orders named it (else the one readable order did).
    pub agreed: bool,
    /// Mean score per answer and criterion over the readings that gave one.
    pub scores: Vec<Vec<(String, f64)>>,
    pub reason: String,
    pub readings: Vec<Reading>,
}

impl Verdict {
    /// The vote this verdict is saved as, on stored comparison `run_id`'s
    /// prompt `prompt` (0 outside a batch), with `n` answers.
    pub fn to_vote(&self, run_id: i64, prompt: usize, sample: u32, judge_label: &str, n: usize) -> crate::store::votes::Vote {
        crate::store::votes::Vote {
            id: 0,
            run_id,
            prompt,
            sample,
            created_at: String::new(),
            voter: format!("{JUDGE_PREFIX}{judge_label}"),
            tiers: self.tiers(n),
            all_bad: false,
            detail: serde_json::to_value(self).ok(),
        }
    }

    /// As a vote's tiers: the winner, then the rest tied; or all tied.
    pub fn tiers(&self, n: usize) -> Vec<Vec<usize>> {
        match self.winner {
            Some(w) => {
                let rest: Vec<usize> = (0..n).filter(|i| *i != w).collect();
                if rest.is_empty() { vec![vec![w]] } else { vec![vec![w], rest] }
            }
            None => vec![(0..n).collect()],
        }
    }
}

/// Combine the readings of both orders; None when neither is readable.
pub fn combine(readings: Vec<Reading>, n: usize, criteria: &[String]) -> Option<Verdict> {
    let ok: Vec<&Reading> = readings.iter().filter(|r| r.readable()).collect();
    if ok.is_empty() {
        return None;
    }
    let winners: Vec<Option<usize>> = ok.iter().map(|r| r.winner).collect();
    let agreed = ok.len() == readings.len() && winners.windows(2).all(|w| w[0] == w[1]);
    let winner = if winners.windows(2).all(|w| w[0] == w[1]) { winners[0] } else { None };
    let scores = (0..n)
        .map(|i| {
            criteria
                .iter()
                .filter_map(|c| {
                    let xs: Vec<f64> = ok.iter().filter_map(|r| r.scores.get(i)?.iter().find(|(k, _)| k == c).map(|(_, x)| *x)).collect();
                    (!xs.is_empty()).then(|| (c.clone(), xs.iter().sum::<f64>() / xs.len() as f64))
                })
                .collect()
        })
        .collect();
    let reason = ok.iter().map(|r| r.reason.as_str()).find(|s| !s.is_empty()).unwrap_or("").to_string();
    Some(Verdict { winner, agreed, scores, reason, readings })
}

/// How a judge's votes are told from people's: "judge:" + its label.
pub const JUDGE_PREFIX: &str = "judge:";

/// `entry` as a judge: it reads greedily unless its temperature was set
/// apart from `base` (what the model would run with from the config
/// alone), and its label says it judges. The TUI's `J` and `versus run
/// --judge` both make their judge here.
pub fn judge_entry(mut entry: crate::engine::RunEntry, base: &crate::params::Settings) -> crate::engine::RunEntry {
    if entry.settings.generation.temperature == base.generation.temperature {
        entry.settings.generation.temperature = 0.0;
    }
    entry.label = format!("{} (judge)", entry.label);
    entry
}

/// What the judge said about one compared prompt's answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub prompt: usize,
    /// Which sample of the answers (`samples = K`; 0 for one).
    pub sample: u32,
    pub verdict: Result<Verdict, String>,
}

/// The judge's run for a comparison: two prompts per compared prompt (the
/// answers in the run's order, then reversed), and which is which, so its
/// replies can be read back. `versus run --judge` and the TUI share it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Per judge prompt: the compared prompt, and the order answers were shown in.
    pub asked: Vec<(usize, Vec<usize>)>,
    /// The judge's prompts, in the same order.
    pub prompts: Vec<String>,
    /// Compared prompts that cannot be judged, and why.
    pub skipped: Vec<Judged>,
    /// Answers per compared prompt.
    pub n: usize,
}

impl Plan {
    /// `answers[p][slot]`: the finished answer of each slot to question p
    /// (None: it did not finish; an empty row: it was not asked).
    pub fn new(questions: &[String], answers: &[Vec<Option<&str>>], criteria: &[String]) -> Plan {
        let n = answers.iter().map(Vec::len).max().unwrap_or(0);
        let mut plan = Plan { n, ..Plan::default() };
        for (p, question) in questions.iter().enumerate() {
            let row = answers.get(p).map_or(&[][..], Vec::as_slice);
            let done: Vec<&str> = row.iter().flatten().copied().collect();
            if done.len() != n || n < 2 {
                if !row.is_empty() {
                    plan.skipped.push(Judged { prompt: p, sample: 0, verdict: Err("the judge needs two or more finished answers".into()) });
                }
                continue;
            }
            for order in [(0..n).collect::<Vec<_>>(), (0..n).rev().collect()] {
                plan.prompts.push(prompt(question, &done, &order, criteria));
                plan.asked.push((p, order));
            }
        }
        plan
    }

    /// The verdicts, from the judge's answers by judge prompt (`replies[k]`
    /// answers `prompts[k]`), skipped prompts included, in prompt order.
    pub fn conclude(&self, replies: &std::collections::HashMap<usize, Answer>, criteria: &[String]) -> Vec<Judged> {
        let mut out = self.skipped.clone();
        let mut judged: Vec<usize> = self.asked.iter().map(|(p, _)| *p).collect();
        judged.dedup();
        for p in judged {
            let mut readings = Vec::new();
            let mut error = None;
            for (k, (_, order)) in self.asked.iter().enumerate().filter(|(_, (q, _))| *q == p) {
                match replies.get(&k) {
                    Some(a) if a.status == Status::Finished => readings.push(read(&a.text, order, self.n, criteria)),
                    Some(a) => error = Some(a.error.clone().unwrap_or_else(|| format!("the judge's answer {}", a.status))),
                    None => error = Some("the judge gave no answer".into()),
                }
            }
            let verdict = match error {
                Some(e) => Err(e),
                None => {
                    let wrote: String =
                        readings.first().map(|r| r.reason.replace('\n', " ")).unwrap_or_default().chars().take(120).collect();
                    combine(readings, self.n, criteria)
                        .ok_or_else(|| format!("the judge's answers name no answer as best (it wrote: {wrote:?})"))
                }
            };
            out.push(Judged { prompt: p, sample: 0, verdict });
        }
        out.sort_by_key(|j| j.prompt);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crit() -> Vec<String> {
        JudgeConfig::default().criteria
    }

    #[test]
    fn letters_go_on_past_z_and_name_the_answer_shown_there() {
        assert_eq!([0, 1, 25, 26, 27].map(letter), ["A", "B", "Z", "AA", "AB"]);
        let order: Vec<usize> = (0..30).rev().collect();
        assert_eq!(named("Answer ab", &order), Some(2));
        assert_eq!(named("b", &[1, 0]), Some(0));
        assert_eq!(named("C", &[1, 0]), None);
    }

    #[test]
    fn the_prompt_shows_answers_in_the_order_given() {
        let p = prompt("Q?", &["first", "second"], &[1, 0], &crit());
        assert!(p.find("Answer A:\n<<<\nsecond").unwrap() < p.find("Answer B:\n<<<\nfirst").unwrap(), "{p}");
        assert!(p.contains("helpfulness, correctness, clarity"));
    }

    #[test]
    fn json_replies_are_read_in_the_order_shown() {
        let reply = "Sure! {\"winner\": \"B\", \"scores\": {\"A\": {\"helpfulness\": 3}, \"B\": {\"helpfulness\": 8, \"clarity\": 9}}, \"reason\": \"B {is} right\"} done";
        // Shown reversed: B is answer 0.
        let r = read(reply, &[1, 0], 2, &crit());
        assert_eq!(r.winner, Some(0));
        assert_eq!(r.scores[0], vec![("helpfulness".to_string(), 8.0), ("clarity".to_string(), 9.0)]);
        assert_eq!(r.scores[1], vec![("helpfulness".to_string(), 3.0)]);
        assert_eq!(r.reason, "B {is} right");
        assert_eq!(read("The winner is Answer A.", &[0, 1], 2, &crit()).winner, Some(0));
        assert!(read("winner: tie", &[0, 1], 2, &crit()).tie);
        assert_eq!(read("The capital is Paris. The answer is \"B\"", &[1, 0], 2, &crit()).winner, Some(0));
        assert!(!read("I like both.", &[0, 1], 2, &crit()).readable());
        assert!(!read("{\"winner\": \"Z\"}", &[0, 1], 2, &crit()).readable());
    }

    #[test]
    fn both_orders_must_agree_for_a_winner() {
        let w = |i| Reading { winner: Some(i), scores: vec![vec![("clarity".into(), i as f64 + 5.0)], vec![]], ..Reading::default() };
        let v = combine(vec![w(0), w(0)], 2, &crit()).unwrap();
        assert_eq!((v.winner, v.agreed), (Some(0), true));
        assert_eq!(v.tiers(2), vec![vec![0], vec![1]]);
        let v = combine(vec![w(0), w(1)], 2, &crit()).unwrap();
        assert_eq!(v.winner, None, "position bias: a tie");
        assert_eq!(v.tiers(2), vec![vec![0, 1]]);
        assert_eq!(v.scores[0], vec![("clarity".to_string(), 5.5)]);
        let v = combine(vec![w(1), Reading::default()], 2, &crit()).unwrap();
        assert_eq!((v.winner, v.agreed), (Some(1), false));
        assert!(combine(vec![Reading::default(), Reading::default()], 2, &crit()).is_none());
    }
}
