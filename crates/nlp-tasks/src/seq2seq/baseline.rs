//! Baselines for title generation that learn nothing: the first verse of the poem, and the
//! title of the most similar training poem by character TF-IDF cosine.

use std::collections::HashMap;

use super::pairs::Pair;

/// Punctuation that ends a verse (full- and half-width).
const VERSE_END: &[char] = &[
    '，', '。', '！', '？', '；', '：', '、', ',', '.', '!', '?', ';', ':',
];

/// The first verse of `src`: its characters up to the first punctuation mark (all of it when
/// there is none).
pub fn first_line(src: &str) -> &str {
    src.split(VERSE_END)
        .find(|s| !s.trim().is_empty())
        .unwrap_or(src)
        .trim()
}

/// Training sources as L2-normalised character TF-IDF vectors (raw counts times the smoothed
/// inverse document frequency ln((1+N)/(1+df)) + 1), in an inverted index for cosine search.
pub struct TfidfIndex {
    idf: HashMap<char, f32>,
    /// Per character: (document, weight) of every training source holding it.
    postings: HashMap<char, Vec<(u32, f32)>>,
    targets: Vec<String>,
}

fn char_counts(text: &str) -> HashMap<char, f32> {
    let mut counts = HashMap::new();
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        *counts.entry(c).or_insert(0.0) += 1.0;
    }
    counts
}

fn normalised(mut v: HashMap<char, f32>) -> HashMap<char, f32> {
    let norm = v.values().map(|w| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.values_mut().for_each(|w| *w /= norm);
    }
    v
}

impl TfidfIndex {
    /// Index the sources of `train` (their targets are what [`Self::nearest`] returns).
    pub fn new(train: &[Pair]) -> Self {
        let counts: Vec<HashMap<char, f32>> = train.iter().map(|p| char_counts(&p.src)).collect();
        let mut df: HashMap<char, usize> = HashMap::new();
        for c in counts.iter().flat_map(|m| m.keys()) {
            *df.entry(*c).or_default() += 1;
        }
        let n = train.len() as f32;
        let idf: HashMap<char, f32> = df
            .into_iter()
            .map(|(c, d)| (c, ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0))
            .collect();
        let mut postings: HashMap<char, Vec<(u32, f32)>> = HashMap::new();
        for (doc, m) in counts.into_iter().enumerate() {
            let weighted = m.into_iter().map(|(c, tf)| (c, tf * idf[&c])).collect();
            for (c, w) in normalised(weighted) {
                postings.entry(c).or_default().push((doc as u32, w));
            }
        }
        Self {
            idf,
            postings,
            targets: train.iter().map(|p| p.tgt.clone()).collect(),
        }
    }

    /// The target of the training source with the highest cosine to `src` (the first of equal
    /// ones); `None` when `src` shares no character with any of them.
    pub fn nearest(&self, src: &str) -> Option<&str> {
        let query: HashMap<char, f32> = char_counts(src)
            .into_iter()
            .filter_map(|(c, tf)| self.idf.get(&c).map(|idf| (c, tf * idf)))
            .collect();
        let mut scores = vec![0f32; self.targets.len()];
        for (c, q) in normalised(query) {
            for &(doc, w) in &self.postings[&c] {
                scores[doc as usize] += q * w;
            }
        }
        let (best, score) =
            scores.iter().enumerate().fold(
                (0, 0f32),
                |acc, (i, &s)| if s > acc.1 { (i, s) } else { acc },
            );
        (score > 0.0).then(|| self.targets[best].as_str())
    }

    /// [`Self::nearest`] for many sources, split across the available cores, in input order.
    pub fn nearest_all(&self, sources: &[&str]) -> Vec<Option<String>> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = sources.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = sources
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|s| self.nearest(s).map(str::to_string))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a TF-IDF search thread panicked"))
                .collect()
        })
    }
}
