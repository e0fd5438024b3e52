//! Word diffs of two answers, for the TUI's diff view and the HTML report:
//! `similar` with the Patience algorithm and a deadline, so two long
//! unrelated answers stay fast.

use std::time::Duration;

use similar::{Algorithm, ChangeTag, TextDiff};

/// Each side as (only on this side, text) pieces, and the share of words
/// the two have in common (2 · common / (words of a + words of b)).
pub type Sides<'t> = (Vec<(bool, &'t str)>, Vec<(bool, &'t str)>, f64);

pub fn word_diff<'t>(a: &'t str, b: &'t str) -> Sides<'t> {
    let diff = TextDiff::configure().algorithm(Algorithm::Patience).timeout(Duration::from_millis(200)).diff_words(a, b);
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let (mut same, mut na, mut nb) = (0usize, 0usize, 0usize);
    for change in diff.iter_all_changes() {
        let word = change.value();
        let counts = usize::from(!word.trim().is_empty());
        match change.tag() {
            ChangeTag::Equal => {
                left.push((false, word));
                right.push((false, word));
                same += counts;
                na += counts;
                nb += counts;
            }
            ChangeTag::Delete => {
                left.push((true, word));
                na += counts;
            }
            ChangeTag::Insert => {
                right.push((true, word));
                nb += counts;
            }
        }
    }
    let similarity = if na + nb == 0 { 1.0 } else { 2.0 * same as f64 / (na + nb) as f64 };
    (left, right, similarity)
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_only_on_one_side_are_marked_there() {
        let (l, r, sim) = super::word_diff("the quick brown fox", "the slow brown fox jumps");
        fn only<'a>(side: &[(bool, &'a str)]) -> Vec<&'a str> {
            side.iter().filter(|p| p.0).map(|p| p.1.trim()).filter(|w| !w.is_empty()).collect()
        }
        assert_eq!(only(&l), ["quick"]);
        assert_eq!(only(&r), ["slow", "jumps"]);
        // 3 words in common out of 4 and 5: 6/9.
        assert!((sim - 6.0 / 9.0).abs() < 1e-9, "{sim}");
        assert_eq!(super::word_diff("a b c", "a b c").2, 1.0);
    }
}
