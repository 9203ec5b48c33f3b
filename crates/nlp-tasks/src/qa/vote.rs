//! Merging the answers of several passages into one, as the reading-comprehension posts do.

/// The answer with the highest Σs² / (1 + Σs) over the scores `s` of the passages that gave
/// it (an answer several passages agree on beats one a single passage is unsure of); the
/// first seen wins a tie, and `None` comes back when no passage answered.
pub fn vote(answers: impl IntoIterator<Item = (String, f64)>) -> Option<String> {
    let mut tally: Vec<(String, f64, f64)> = Vec::new();
    for (answer, score) in answers {
        match tally.iter_mut().find(|(a, _, _)| *a == answer) {
            Some(entry) => {
                entry.1 += score;
                entry.2 += score * score;
            }
            None => tally.push((answer, score, score * score)),
        }
    }
    let mut best: Option<(String, f64)> = None;
    for (answer, sum, squares) in tally {
        let merged = squares / (1.0 + sum);
        if best.as_ref().is_none_or(|(_, b)| merged > *b) {
            best = Some((answer, merged));
        }
    }
    best.map(|(a, _)| a)
}
