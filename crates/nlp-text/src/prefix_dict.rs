//! jieba's prefix dictionary (Python's `FREQ`: every word and every prefix of a word), split by
//! first character into sub-tries that are built on first use.
//!
//! Loading only files each `word freq` line under its first character; the sub-trie of a first
//! character is built when a text first needs it, by whichever worker thread gets there first.
//! So loading the 349,046 words of jieba's `dict.txt` is a short serial step and the trie
//! building runs in parallel with the counting (and is skipped for first characters that never
//! occur). Node ids are global and stable: bucket `b` owns ids `offsets[b]..offsets[b] + bound`.

use std::sync::OnceLock;

use hashbrown::HashMap;

use crate::Error;

/// "No node".
pub const NONE: u32 = u32::MAX;

/// A word's characters after the first one (a range of the arena) and its frequency.
struct Entry {
    start: u32,
    len: u32,
    freq: u64,
}

/// The trie of the words sharing one first character; local node 0 is that character.
struct SubTrie {
    /// `(local node << 21 | char) -> (child, the child's word ln freq or -inf)`.
    edges: HashMap<u64, (u32, f64)>,
    /// The first character's own word ln freq (-inf for a mere prefix).
    first_logf: f64,
    /// Frequency per local node (0 for a mere prefix).
    freq: Vec<u64>,
    /// Parent and last character per local node (node 0 has none).
    parent: Vec<(u32, char)>,
}

fn word_logf(freq: u64) -> f64 {
    if freq > 0 {
        (freq as f64).ln()
    } else {
        f64::NEG_INFINITY
    }
}

impl SubTrie {
    fn new(words: usize) -> Self {
        let mut t = SubTrie {
            edges: HashMap::with_capacity(words * 2),
            first_logf: f64::NEG_INFINITY,
            freq: Vec::with_capacity(words * 2),
            parent: Vec::with_capacity(words * 2),
        };
        t.freq.push(0);
        t.parent.push((NONE, '\0'));
        t
    }

    /// Sets the frequency of the word `first + rest` (later calls overwrite, as Python).
    fn insert(&mut self, rest: &str, freq: u64) {
        let logf = word_logf(freq);
        let mut node = 0u32;
        if rest.is_empty() {
            self.first_logf = logf;
        }
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            let fresh = self.freq.len() as u32;
            let e = self
                .edges
                .entry(((node as u64) << 21) | c as u64)
                .or_insert((fresh, f64::NEG_INFINITY));
            if chars.peek().is_none() {
                e.1 = logf;
            }
            let next = e.0;
            if next == fresh {
                self.freq.push(0);
                self.parent.push((node, c));
            }
            node = next;
        }
        self.freq[node as usize] = freq;
    }
}

struct Bucket {
    first: char,
    entries: Vec<Entry>,
    /// Most nodes the sub-trie can have: 1 + the characters of the entries after the first.
    bound: u32,
    trie: OnceLock<SubTrie>,
}

/// A walk down one sub-trie.
#[derive(Clone, Copy)]
pub struct Cursor<'a> {
    trie: &'a SubTrie,
    base: u32,
    node: u32,
}

impl Cursor<'_> {
    /// Moves to the child by `c`; returns its word `ln freq` (-inf for a mere prefix), or
    /// `None` (staying put) when no dictionary entry continues with `c`.
    #[inline]
    pub fn step(&mut self, c: char) -> Option<f64> {
        let &(child, logf) = self
            .trie
            .edges
            .get(&(((self.node as u64) << 21) | c as u64))?;
        self.node = child;
        Some(logf)
    }

    /// The global id of the current node.
    #[inline]
    pub fn id(&self) -> u32 {
        self.base + self.node
    }

    /// Frequency of the current node (0 for a mere prefix).
    pub fn freq(&self) -> u64 {
        self.trie.freq[self.node as usize]
    }
}

/// Every word and every prefix of a word, with frequencies, as Python jieba's `FREQ`.
pub struct PrefixDict {
    /// Bucket per BMP first character (`NONE` when no word starts with it).
    root: Vec<u32>,
    /// Buckets of first characters beyond the BMP.
    astral: HashMap<char, u32>,
    buckets: Vec<Bucket>,
    /// Global id of each bucket's node 0 (ids start at 1; 0 stands for the empty root).
    offsets: Vec<u32>,
    len: u32,
    arena: String,
    total: u64,
}

impl Default for PrefixDict {
    fn default() -> Self {
        PrefixDict {
            root: vec![NONE; 1 << 16],
            astral: HashMap::new(),
            buckets: Vec::new(),
            offsets: Vec::new(),
            len: 1,
            arena: String::new(),
            total: 0,
        }
    }
}

impl PrefixDict {
    #[inline]
    fn bucket_of(&self, c: char) -> Option<usize> {
        let b = if (c as u32) < (1 << 16) {
            self.root[c as usize]
        } else {
            *self.astral.get(&c)?
        };
        (b != NONE).then_some(b as usize)
    }

    fn trie(&self, b: usize) -> &SubTrie {
        let bucket = &self.buckets[b];
        bucket.trie.get_or_init(|| {
            let mut t = SubTrie::new(bucket.entries.len());
            for e in &bucket.entries {
                let (s, n) = (e.start as usize, e.len as usize);
                t.insert(&self.arena[s..s + n], e.freq);
            }
            t
        })
    }

    /// Starts a walk at the first character `c`: the cursor and `c`'s own word `ln freq`
    /// (-inf for a mere prefix), or `None` when no word starts with `c`.
    #[inline]
    pub fn start(&self, c: char) -> Option<(Cursor<'_>, f64)> {
        let b = self.bucket_of(c)?;
        let trie = self.trie(b);
        Some((
            Cursor {
                trie,
                base: self.offsets[b],
                node: 0,
            },
            trie.first_logf,
        ))
    }

    /// The id of the single character `c` (a word or a mere prefix), or [`NONE`].
    #[inline]
    pub fn char_node(&self, c: char) -> u32 {
        self.bucket_of(c).map_or(NONE, |b| self.offsets[b])
    }

    /// Files an entry without fixing the offsets (see [`fix_offsets`](Self::fix_offsets)).
    fn push_entry(&mut self, word: &str, freq: u64) {
        let mut it = word.chars();
        let Some(first) = it.next() else { return };
        let rest = it.as_str();
        let b = match self.bucket_of(first) {
            Some(b) => b,
            None => {
                let b = self.buckets.len() as u32;
                if (first as u32) < (1 << 16) {
                    self.root[first as usize] = b;
                } else {
                    self.astral.insert(first, b);
                }
                self.buckets.push(Bucket {
                    first,
                    entries: Vec::new(),
                    bound: 1,
                    trie: OnceLock::new(),
                });
                b as usize
            }
        };
        let start = self.arena.len() as u32;
        self.arena.push_str(rest);
        let bucket = &mut self.buckets[b];
        bucket.entries.push(Entry {
            start,
            len: rest.len() as u32,
            freq,
        });
        bucket.bound += rest.chars().count() as u32;
        if let Some(t) = bucket.trie.get_mut() {
            t.insert(rest, freq);
        }
        self.total += freq;
    }

    fn fix_offsets(&mut self) {
        self.offsets.clear();
        let mut next = 1u32;
        for b in &self.buckets {
            self.offsets.push(next);
            next += b.bound;
        }
        self.len = next;
    }

    /// Sets the frequency of `word` (adding it and its prefixes), adding `freq` to the total.
    pub fn add(&mut self, word: &str, freq: u64) {
        self.push_entry(word, freq);
        self.fix_offsets();
    }

    /// [`add`](Self::add) for many words.
    pub fn extend<'a>(&mut self, words: impl IntoIterator<Item = (&'a str, u64)>) {
        for (w, f) in words {
            self.push_entry(w, f);
        }
        self.fix_offsets();
    }

    /// Frequency of `word` (0 when absent or a mere prefix).
    pub fn freq(&self, word: &str) -> u64 {
        let mut it = word.chars();
        let Some((mut cur, _)) = it.next().and_then(|c| self.start(c)) else {
            return 0;
        };
        for c in it {
            if cur.step(c).is_none() {
                return 0;
            }
        }
        cur.freq()
    }

    /// Number of node ids (ids are `1..len()`; 0 stands for the empty root).
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the dictionary is empty.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// The string spelled by node `id` (empty for an unknown id).
    pub fn spell(&self, id: u32) -> String {
        let b = self.offsets.partition_point(|&o| o <= id);
        if b == 0 || id >= self.len {
            return String::new();
        }
        let b = b - 1;
        let trie = self.trie(b);
        let mut node = id - self.offsets[b];
        let mut cs = Vec::new();
        while node != 0 && (node as usize) < trie.parent.len() {
            let (p, c) = trie.parent[node as usize];
            cs.push(c);
            node = p;
        }
        cs.push(self.buckets[b].first);
        cs.iter().rev().collect()
    }

    /// Sum of all frequencies.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Loads `word freq [tag]` lines (Python's `gen_pfdict`: later duplicates overwrite the
    /// frequency but every line adds to the total).
    pub fn load_str(&mut self, text: &str, name: &str) -> Result<(), Error> {
        self.arena.reserve(text.len() / 2);
        for (i, line) in text.split('\n').enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let mut it = line.split(' ');
            let word = it.next().unwrap_or("");
            let freq: u64 = it.next().and_then(|f| f.parse().ok()).ok_or_else(|| {
                Error::Invalid(format!("{name}:{}: expected `word freq [tag]`", i + 1))
            })?;
            self.push_entry(word, freq);
        }
        self.fix_offsets();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_prefixes_ids_and_overwrites() {
        let mut d = PrefixDict::default();
        d.load_str("中国 10 ns\n中 5\n人民 3\n中国人 2\n中国 7\n", "t")
            .unwrap();
        assert_eq!(d.total(), 27);
        assert_eq!(d.freq("中国"), 7); // the later line wins
        assert_eq!(d.freq("中"), 5);
        assert_eq!(d.freq("人"), 0); // a mere prefix
        assert_eq!(d.freq("国"), 0);
        let (mut cur, lf) = d.start('中').unwrap();
        assert_eq!(lf, 5f64.ln());
        assert_eq!(cur.step('国'), Some(7f64.ln()));
        let id = cur.id();
        assert_eq!(d.spell(id), "中国");
        assert_eq!(d.spell(d.char_node('人')), "人");
        assert!(cur.step('家').is_none());
        // Adding after the sub-trie was built updates it in place; ids stay distinct.
        d.add("中国队", 4);
        assert_eq!(d.freq("中国队"), 4);
        let ids: std::collections::HashSet<u32> = ["中", "中国", "中国人", "中国队", "人", "人民"]
            .iter()
            .map(|w| {
                let mut it = w.chars();
                let (mut c, _) = d.start(it.next().unwrap()).unwrap();
                for ch in it {
                    c.step(ch).unwrap();
                }
                assert_eq!(d.spell(c.id()), *w);
                c.id()
            })
            .collect();
        assert_eq!(ids.len(), 6);
        assert!(ids.iter().all(|&i| (i as usize) < d.len()));
    }
}
