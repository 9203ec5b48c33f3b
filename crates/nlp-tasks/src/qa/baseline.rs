//! The baselines of the cloze set: a random noun of the passages and the noun the passages use
//! most often (as in CMRC 2017), and ours, the noun whose context in a passage best matches the
//! blank's. All read the nouns the cloze builder stores per item.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

use super::context::{MATCH_FEATURES, match_features};
use super::items::QaItem;

/// A noun of the item's passages drawn uniformly (over distinct nouns) by a generator seeded
/// with `seed`, one draw per item in order; `None` for an item without nouns.
pub fn random_nouns(items: &[QaItem], seed: u64) -> Vec<Option<String>> {
    let mut rng = StdRng::seed_from_u64(seed);
    items
        .iter()
        .map(|item| item.nouns.choose(&mut rng).map(|(w, _)| w.clone()))
        .collect()
}

/// The most frequent noun of each item's passages (the first seen among equals).
pub fn most_frequent_nouns(items: &[QaItem]) -> Vec<Option<String>> {
    items
        .iter()
        .map(|item| {
            let mut best: Option<&(String, usize)> = None;
            for noun in &item.nouns {
                if best.is_none_or(|b| noun.1 > b.1) {
                    best = Some(noun);
                }
            }
            best.map(|(w, _)| w.clone())
        })
        .collect()
}

/// The noun of each item's passages with the most characters of context in common with the
/// blank ([`match_features`]: shared characters before an occurrence plus after it, the best
/// occurrence counting), ties going to the more frequent, then to the first seen.
pub fn context_nouns(items: &[QaItem]) -> Vec<Option<String>> {
    items
        .iter()
        .map(|item| {
            let passages: Vec<(Vec<char>, Vec<u8>)> = item
                .passages
                .iter()
                .map(|p| {
                    let chars: Vec<char> = p.passage.chars().collect();
                    let features = match_features(&item.question, &chars);
                    (chars, features)
                })
                .collect();
            let mut best: Option<((u32, usize), &String)> = None;
            for (noun, count) in &item.nouns {
                let word: Vec<char> = noun.chars().collect();
                let context = passages
                    .iter()
                    .flat_map(|(chars, f)| {
                        chars
                            .windows(word.len().max(1))
                            .enumerate()
                            .filter(|(_, w)| *w == word.as_slice())
                            .map(|(s, _)| {
                                let e = s + word.len() - 1;
                                // Context shared before a start and after an end.
                                u32::from(f[MATCH_FEATURES * s + 1])
                                    + u32::from(f[MATCH_FEATURES * e + 2])
                            })
                    })
                    .max()
                    .unwrap_or(0);
                let key = (context, *count);
                if best.is_none_or(|(b, _)| key > b) {
                    best = Some((key, noun));
                }
            }
            best.map(|(_, w)| w.clone())
        })
        .collect()
}
