//! A synthetic SKE-format data set (the real SKE/DuIE files are not reachable here): sentence
//! templates filled with real names harvested from People's Daily 1998 — persons (`nr`, a
//! surname and given name merged), places (`ns`) and organisations (`nt`).
//!
//! Sentences hold one to three clauses, several triples, one subject with several objects,
//! two subjects sharing an object, nested (overlapping) entities such as a university named
//! after its city, and clauses without any triple. Every name pool is split once, seeded: the
//! dev set is filled only with names never used in training. Generation is deterministic.

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

use super::data::{Sample, Schema, SchemaEntry, Triple};
use crate::error::{Error, Result};
use crate::ner::Sentence;

/// The predicates of the synthetic set: (predicate, subject type, object type).
pub const PREDICATES: [(&str, &str, &str); 9] = [
    ("出生地", "人物", "地点"),
    ("祖籍", "人物", "地点"),
    ("毕业院校", "人物", "学校"),
    ("工作单位", "人物", "机构"),
    ("妻子", "人物", "人物"),
    ("丈夫", "人物", "人物"),
    ("创始人", "机构", "人物"),
    ("总部地点", "机构", "地点"),
    ("所在城市", "学校", "地点"),
];

/// The schema of [`PREDICATES`].
pub fn schema() -> Schema {
    Schema::new(
        PREDICATES
            .iter()
            .map(|&(p, s, o)| SchemaEntry {
                predicate: p.into(),
                subject_type: s.into(),
                object_type: o.into(),
            })
            .collect(),
    )
}

/// Distinct names by type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamePools {
    /// Persons.
    pub persons: Vec<String>,
    /// Places.
    pub places: Vec<String>,
    /// Organisations.
    pub orgs: Vec<String>,
}

fn all_cjk(s: &str) -> bool {
    s.chars().all(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

impl NamePools {
    /// Collect the entity names of People's Daily sentences (only CJK names; persons of 2–4,
    /// places of 2–6, organisations of 3–10 characters), sorted.
    pub fn harvest(sentences: &[Sentence]) -> Self {
        let mut sets: [BTreeSet<String>; 3] = Default::default();
        for s in sentences {
            let chars = s.chars();
            for e in &s.entities {
                let name: String = chars[e.range()].iter().collect();
                let n = name.chars().count();
                let slot = match e.label.as_str() {
                    "PER" if (2..=4).contains(&n) => 0,
                    "LOC" if (2..=6).contains(&n) => 1,
                    "ORG" if (3..=10).contains(&n) => 2,
                    _ => continue,
                };
                if all_cjk(&name) {
                    sets[slot].insert(name);
                }
            }
        }
        let [persons, places, orgs] = sets.map(|s| s.into_iter().collect());
        Self {
            persons,
            places,
            orgs,
        }
    }

    /// Split every pool (seeded shuffle): the first part for training, the rest (a `dev_share`
    /// of each pool, at least one name) held out; no held-out string stays in any training pool.
    pub fn split(&self, dev_share: f64, seed: u64) -> (Self, Self) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut cut = |pool: &[String]| {
            let mut v = pool.to_vec();
            v.shuffle(&mut rng);
            let dev = ((v.len() as f64 * dev_share).ceil() as usize).clamp(1, v.len().max(1));
            let held = v.split_off(v.len().saturating_sub(dev));
            (v, held)
        };
        let (p_train, p_dev) = cut(&self.persons);
        let (l_train, l_dev) = cut(&self.places);
        let (o_train, o_dev) = cut(&self.orgs);
        // A string can be a name of two types (a person and a place); keep it out of training
        // when any dev pool holds it.
        let held: BTreeSet<&String> = p_dev.iter().chain(&l_dev).chain(&o_dev).collect();
        let keep = |v: Vec<String>| -> Vec<String> {
            v.into_iter().filter(|n| !held.contains(n)).collect()
        };
        let (p_train, l_train, o_train) = (keep(p_train), keep(l_train), keep(o_train));
        (
            Self {
                persons: p_train,
                places: l_train,
                orgs: o_train,
            },
            Self {
                persons: p_dev,
                places: l_dev,
                orgs: o_dev,
            },
        )
    }

    fn usable(&self) -> bool {
        self.persons.len() >= 4 && self.places.len() >= 3 && self.orgs.len() >= 2
    }
}

const TITLES: [&str; 6] = ["主任", "副主席", "秘书长", "研究员", "董事长", "总经理"];
const SCHOOL_SUFFIXES: [&str; 5] = ["大学", "师范大学", "理工学院", "医学院", "农业大学"];
const DATES: [&str; 5] = ["昨天", "日前", "近日", "上周", "今年初"];

/// Draws names for one sentence, never the same name twice and never a name that contains or is
/// contained in another one already drawn (so that first occurrences are the intended spans).
struct Filler<'a> {
    pools: &'a NamePools,
    used: Vec<String>,
}

impl Filler<'_> {
    fn draw(&mut self, rng: &mut StdRng, pool: &[String]) -> String {
        for _ in 0..100 {
            let name = pool.choose(rng).expect("pools are not empty").clone();
            if self
                .used
                .iter()
                .all(|u| !u.contains(name.as_str()) && !name.contains(u.as_str()))
            {
                self.used.push(name.clone());
                return name;
            }
        }
        // Tiny pools: accept a clash rather than loop forever (triples stay correct: a repeated
        // name is located at its first occurrence, like any other).
        let name = pool.choose(rng).expect("pools are not empty").clone();
        self.used.push(name.clone());
        name
    }
    fn person(&mut self, rng: &mut StdRng) -> String {
        self.draw(rng, &self.pools.persons.clone())
    }
    fn place(&mut self, rng: &mut StdRng) -> String {
        self.draw(rng, &self.pools.places.clone())
    }
    fn org(&mut self, rng: &mut StdRng) -> String {
        self.draw(rng, &self.pools.orgs.clone())
    }
}

fn t(s: &str, p: &str, o: &str) -> Triple {
    Triple::new(s, p, o)
}

/// One clause: its text and triples.
fn clause(rng: &mut StdRng, f: &mut Filler) -> (String, Vec<Triple>) {
    let title = *TITLES.choose(rng).expect("titles");
    match rng.random_range(0..10) {
        0 => {
            let (p, l, o) = (f.person(rng), f.place(rng), f.org(rng));
            (
                format!("{p}出生于{l}，毕业于{o}"),
                vec![t(&p, "出生地", &l), t(&p, "毕业院校", &o)],
            )
        }
        1 => {
            let (p, l, o) = (f.person(rng), f.place(rng), f.org(rng));
            (
                format!("{p}，祖籍{l}，现任{o}{title}"),
                vec![t(&p, "祖籍", &l), t(&p, "工作单位", &o)],
            )
        }
        2 => {
            let (a, b, o) = (f.person(rng), f.person(rng), f.org(rng));
            (
                format!("{a}和妻子{b}都曾在{o}工作"),
                vec![
                    t(&a, "妻子", &b),
                    t(&b, "丈夫", &a),
                    t(&a, "工作单位", &o),
                    t(&b, "工作单位", &o),
                ],
            )
        }
        3 => {
            let (o, p, l) = (f.org(rng), f.person(rng), f.place(rng));
            (
                format!("{o}由{p}创办，总部设在{l}"),
                vec![t(&o, "创始人", &p), t(&o, "总部地点", &l)],
            )
        }
        4 => {
            // Nested entities: the school's name contains its city.
            let (p, l) = (f.person(rng), f.place(rng));
            let school = format!("{l}{}", SCHOOL_SUFFIXES.choose(rng).expect("suffixes"));
            (
                format!("{p}毕业于{school}"),
                vec![t(&p, "毕业院校", &school), t(&school, "所在城市", &l)],
            )
        }
        5 => {
            // One subject, several objects of one predicate.
            let (p, o1, o2, o3) = (f.person(rng), f.org(rng), f.org(rng), f.org(rng));
            (
                format!("{p}先后在{o1}、{o2}和{o3}任职"),
                vec![
                    t(&p, "工作单位", &o1),
                    t(&p, "工作单位", &o2),
                    t(&p, "工作单位", &o3),
                ],
            )
        }
        6 => {
            let (o, l, a, b) = (f.org(rng), f.place(rng), f.person(rng), f.person(rng));
            (
                format!("据悉，{o}的总部位于{l}，创始人是{a}和{b}"),
                vec![
                    t(&o, "总部地点", &l),
                    t(&o, "创始人", &a),
                    t(&o, "创始人", &b),
                ],
            )
        }
        7 => {
            let (a, b, l) = (f.person(rng), f.person(rng), f.place(rng));
            (
                format!("{a}的丈夫是{b}，{b}出生在{l}"),
                vec![t(&a, "丈夫", &b), t(&b, "妻子", &a), t(&b, "出生地", &l)],
            )
        }
        8 => {
            // No triple: the same kinds of names in a neutral context.
            let (p, l, o) = (f.person(rng), f.place(rng), f.org(rng));
            let date = *DATES.choose(rng).expect("dates");
            (format!("{p}{date}在{l}会见了{o}代表团"), Vec::new())
        }
        _ => {
            let (p, o, l) = (f.person(rng), f.org(rng), f.place(rng));
            (
                format!("{o}{title}{p}出生于{l}"),
                vec![t(&p, "工作单位", &o), t(&p, "出生地", &l)],
            )
        }
    }
}

/// `n` samples of one to three clauses each over `pools`.
pub fn samples(pools: &NamePools, n: usize, seed: u64) -> Vec<Sample> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let mut filler = Filler {
                pools,
                used: Vec::new(),
            };
            let clauses = rng.random_range(1..=3);
            let mut text = String::new();
            let mut spo_list: Vec<Triple> = Vec::new();
            for k in 0..clauses {
                let (c, triples) = clause(&mut rng, &mut filler);
                if k > 0 {
                    text.push('；');
                }
                text.push_str(&c);
                for tr in triples {
                    if !spo_list.contains(&tr) {
                        spo_list.push(tr);
                    }
                }
            }
            text.push('。');
            Sample { text, spo_list }
        })
        .collect()
}

/// Train and dev samples from disjoint name pools (a quarter of every pool held out for dev).
pub fn generate(
    pools: &NamePools,
    n_train: usize,
    n_dev: usize,
    seed: u64,
) -> Result<(Vec<Sample>, Vec<Sample>)> {
    let (train_pools, dev_pools) = pools.split(0.25, seed);
    if !train_pools.usable() || !dev_pools.usable() {
        let count = |p: &NamePools| (p.persons.len(), p.places.len(), p.orgs.len());
        return Err(Error::TooFewNames {
            train: count(&train_pools),
            dev: count(&dev_pools),
        });
    }
    Ok((
        samples(&train_pools, n_train, seed.wrapping_add(1)),
        samples(&dev_pools, n_dev, seed.wrapping_add(2)),
    ))
}
