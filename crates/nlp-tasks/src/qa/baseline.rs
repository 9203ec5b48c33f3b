//! The two baselines of the cloze set (as in CMRC 2017): a random noun of the passages, and the
//! noun the passages use most often. Both read the nouns the cloze builder stores per item.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

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
