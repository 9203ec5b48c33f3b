//! A memory budget for the pickle inside a PyTorch checkpoint, checked before `pytorch-reader`
//! runs it.
//!
//! `pytorch-reader`'s pickle machine deep-copies a value at every `DUP` and memo fetch and
//! stops only after a fixed million copied nodes, so a pickle of a hundred bytes
//! (`EMPTY_LIST`, then `DUP APPEND` over and over, which doubles the list every two bytes)
//! costs a hundred megabytes before it is refused. This module walks the opcodes first
//! tracking only the size each stack and memo value would have, and refuses a pickle whose
//! copies would grow past a budget derived from the file's size. Where the walk and the
//! real machine could disagree (an opcode it does not know, a stack underflow, a missing memo
//! slot) it stops and lets the reader report the fault in its own words.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};

/// Copied nodes a pickle may cost at most: this plus one per byte of the file. A state dict
/// copies little (each memoized value once), so real checkpoints stay far below it.
const NODE_BASE: u64 = 1 << 18;
/// Copied string and bytes payload at most: this plus one byte per byte of the file.
const PAYLOAD_BASE: u64 = 16 << 20;
/// The largest `data.pkl` read from a ZIP checkpoint (the limit `pytorch-reader` applies too).
const MAX_ZIP_PICKLE: u64 = pytorch_reader::MAX_PICKLE_SIZE;
/// A legacy checkpoint is five pickles (magic, protocol, system info, the state dict, the
/// storage keys) followed by raw storage bytes, which are not walked.
const LEGACY_PICKLES: usize = 5;
/// The longest text argument (protocol 0 `GET`/`PUT` indices, `GLOBAL` names) walked.
const MAX_LINE: u64 = 1 << 20;

/// Refuse `file` (at `path`, `file_len` bytes) when its pickle would copy more than the
/// budget, or when it is a TAR checkpoint (PyTorch before 0.1.10), which is not walked.
pub(super) fn check(path: &Path, file: &File, file_len: u64) -> Result<()> {
    let mut head = Vec::new();
    let mut reader = BufReader::new(file);
    (&mut reader)
        .take(262)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    let budget = Budget::for_size(file_len);
    let outcome = if head.starts_with(b"PK") {
        match zip_pickle(file) {
            // The budget is the file's, even for a deflated `data.pkl` larger than the file.
            Some(pickle) => Walk::new(budget).run(&mut Cursor::new(pickle), 1),
            // Not a readable ZIP: the reader says why.
            None => Outcome::Stopped,
        }
    } else if head.get(257..262) == Some(b"ustar") {
        return Err(Error::corrupt(
            path,
            "a TAR checkpoint (PyTorch before 0.1.10) is not supported: save it again with torch.save",
        ));
    } else {
        Walk::new(budget).run(&mut reader, LEGACY_PICKLES)
    };
    match outcome {
        Outcome::OverBudget(copied) => Err(Error::corrupt(
            path,
            format!(
                "its pickle would copy {} values and {} bytes, more than a file of {file_len} bytes may \
                 (at most {} values and {} bytes): refused as a memory bomb",
                copied.nodes, copied.bytes, budget.nodes, budget.bytes
            ),
        )),
        Outcome::Done(_) | Outcome::Stopped => Ok(()),
    }
}

/// The `data.pkl` of a ZIP checkpoint (the one nearest the root, as `pytorch-reader` picks),
/// or `None` when the archive cannot be read.
fn zip_pickle(file: &File) -> Option<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(BufReader::new(file.try_clone().ok()?)).ok()?;
    let name = archive
        .file_names()
        .filter_map(|name| name.ok())
        .filter(|name| {
            name.strip_suffix("data.pkl")
                .is_some_and(|root| root.is_empty() || root.ends_with('/'))
        })
        .min_by_key(|name| name.len())?
        .into_owned();
    let entry = archive.by_name(&name).ok()?;
    let mut pickle = Vec::new();
    entry
        .take(MAX_ZIP_PICKLE + 1)
        .read_to_end(&mut pickle)
        .ok()?;
    Some(pickle)
}

/// The size of a value: its nodes (containers and scalars) and its string/bytes payload.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Size {
    nodes: u64,
    bytes: u64,
}

impl Size {
    const SCALAR: Size = Size { nodes: 1, bytes: 0 };

    fn payload(bytes: u64) -> Size {
        Size { nodes: 1, bytes }
    }

    fn plus(self, other: Size) -> Size {
        Size {
            nodes: self.nodes.saturating_add(other.nodes),
            bytes: self.bytes.saturating_add(other.bytes),
        }
    }
}

/// How much copying a file of a given size may cost.
#[derive(Clone, Copy, Debug)]
struct Budget {
    nodes: u64,
    bytes: u64,
}

impl Budget {
    fn for_size(len: u64) -> Budget {
        Budget {
            nodes: NODE_BASE.saturating_add(len),
            bytes: PAYLOAD_BASE.saturating_add(len),
        }
    }
}

#[derive(Debug, PartialEq)]
enum Outcome {
    /// Every pickle asked for was walked within the budget, copying this much.
    Done(Size),
    /// The walk met something it does not follow; the reader judges the file.
    Stopped,
    /// Copies would exceed the budget: these many so far.
    OverBudget(Size),
}

/// The size-only pickle machine.
struct Walk {
    stack: Vec<Size>,
    /// Stack heights at each open `MARK`.
    marks: Vec<usize>,
    memo: HashMap<u64, Size>,
    copied: Size,
    budget: Budget,
}

/// `None` ends the walk early: [`Outcome::OverBudget`] when the copies are over budget,
/// [`Outcome::Stopped`] otherwise.
type Step<T> = Option<T>;

impl Walk {
    fn new(budget: Budget) -> Walk {
        Walk {
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            copied: Size::default(),
            budget,
        }
    }

    /// Walk up to `pickles` consecutive pickles from `r`.
    fn run(mut self, r: &mut impl BufRead, pickles: usize) -> Outcome {
        for _ in 0..pickles {
            if self.pickle(r).is_none() {
                return if self.over_budget() {
                    Outcome::OverBudget(self.copied)
                } else {
                    Outcome::Stopped
                };
            }
            // Each pickle is run by a fresh machine.
            self.stack.clear();
            self.marks.clear();
            self.memo.clear();
        }
        Outcome::Done(self.copied)
    }

    /// One pickle up to its `STOP`; `None` when the walk stops early or the copies go over
    /// budget.
    fn pickle(&mut self, r: &mut impl BufRead) -> Step<()> {
        loop {
            let op = byte(r)?;
            match op {
                b'.' => return Some(()),
                // MARK
                b'(' => self.marks.push(self.stack.len()),
                // POP, POP_MARK
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                // DUP
                b'2' => {
                    let top = self.top()?;
                    self.stack.push(top);
                    self.charge(top)?;
                }
                // Scalars with fixed-width arguments.
                b'N' | 0x88 | 0x89 | b')' | b']' | b'}' | 0x8f => self.stack.push(Size::SCALAR),
                b'K' | 0x82 => self.scalar(r, 1)?,
                b'M' | 0x83 => self.scalar(r, 2)?,
                b'J' | 0x84 => self.scalar(r, 4)?,
                b'G' => self.scalar(r, 8)?,
                // Scalars with a text argument.
                b'F' | b'I' | b'L' | b'P' | b'S' | b'V' => {
                    let len = skip_line(r)?;
                    self.stack.push(Size::payload(len));
                }
                b'c' => {
                    let len = skip_line(r)?.saturating_add(skip_line(r)?);
                    self.stack.push(Size::payload(len));
                }
                // Length-prefixed strings, bytes and longs.
                b'U' | b'C' | 0x8c | 0x8a => self.sized(r, 1)?,
                b'T' | b'X' | b'B' | 0x8b => self.sized(r, 4)?,
                0x8d | 0x8e | 0x96 => self.sized(r, 8)?,
                // PROTO, FRAME: no value.
                0x80 => skip(r, 1)?,
                0x95 => skip(r, 8)?,
                // Values built from the ones below them: BINPERSID, TUPLE1; REDUCE, NEWOBJ,
                // STACK_GLOBAL, TUPLE2; NEWOBJ_EX, TUPLE3.
                b'Q' | 0x85 => self.combine(1)?,
                b'R' | 0x81 | 0x93 | 0x86 => self.combine(2)?,
                0x92 | 0x87 => self.combine(3)?,
                b't' | b'l' | b'd' | 0x91 | b'o' => {
                    let items = self.pop_mark()?;
                    self.stack.push(items.plus(Size::SCALAR));
                }
                b'i' => {
                    let len = skip_line(r)?.saturating_add(skip_line(r)?);
                    let items = self.pop_mark()?;
                    self.stack.push(items.plus(Size::payload(len)));
                }
                // Values added into the one below them.
                b'a' | b'b' => {
                    let item = self.pop()?;
                    self.grow_top(item)?;
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    self.grow_top(key.plus(value))?;
                }
                b'e' | b'u' | 0x90 => {
                    let items = self.pop_mark()?;
                    self.grow_top(items)?;
                }
                // Memo stores (PUT, BINPUT, LONG_BINPUT, MEMOIZE) and fetches (GET, BINGET,
                // LONG_BINGET), each a deep copy in `pytorch-reader`.
                b'p' => self.put(index_line(r)?)?,
                b'q' => self.put(le(r, 1)?)?,
                b'r' => self.put(le(r, 4)?)?,
                0x94 => self.put(self.memo.len() as u64)?,
                b'g' => self.get(index_line(r)?)?,
                b'h' => self.get(le(r, 1)?)?,
                b'j' => self.get(le(r, 4)?)?,
                // Out-of-band buffers and anything unknown: not followed.
                _ => return None,
            }
        }
    }

    fn top(&self) -> Step<Size> {
        if self.marks.last() == Some(&self.stack.len()) {
            return None;
        }
        self.stack.last().copied()
    }

    fn pop(&mut self) -> Step<Size> {
        self.top()?;
        self.stack.pop()
    }

    /// Pop everything above the innermost mark and the mark; their total size.
    fn pop_mark(&mut self) -> Step<Size> {
        let mark = self.marks.pop()?;
        let items = self.stack.split_off(mark.min(self.stack.len()));
        Some(items.into_iter().fold(Size::default(), Size::plus))
    }

    /// Replace the top `n` values by one holding them all.
    fn combine(&mut self, n: usize) -> Step<()> {
        let mut total = Size::SCALAR;
        for _ in 0..n {
            total = total.plus(self.pop()?);
        }
        self.stack.push(total);
        Some(())
    }

    fn grow_top(&mut self, by: Size) -> Step<()> {
        self.top()?;
        let top = self.stack.last_mut()?;
        *top = top.plus(by);
        Some(())
    }

    fn scalar(&mut self, r: &mut impl BufRead, width: u64) -> Step<()> {
        skip(r, width)?;
        self.stack.push(Size::SCALAR);
        Some(())
    }

    /// A value whose length comes first in `width` little-endian bytes.
    fn sized(&mut self, r: &mut impl BufRead, width: u64) -> Step<()> {
        let len = le(r, width)?;
        skip(r, len)?;
        self.stack.push(Size::payload(len));
        Some(())
    }

    fn put(&mut self, index: u64) -> Step<()> {
        let top = self.top()?;
        self.memo.insert(index, top);
        self.charge(top)
    }

    fn get(&mut self, index: u64) -> Step<()> {
        let value = *self.memo.get(&index)?;
        self.stack.push(value);
        self.charge(value)
    }

    /// Count a deep copy of `copy`; `None` once the copies are over budget.
    fn charge(&mut self, copy: Size) -> Step<()> {
        self.copied = self.copied.plus(copy);
        (!self.over_budget()).then_some(())
    }

    fn over_budget(&self) -> bool {
        self.copied.nodes > self.budget.nodes || self.copied.bytes > self.budget.bytes
    }
}

fn byte(r: &mut impl BufRead) -> Step<u8> {
    let mut b = [0u8];
    r.read_exact(&mut b).ok()?;
    Some(b[0])
}

/// Skip `n` bytes; `None` when the input ends first.
fn skip(r: &mut impl BufRead, n: u64) -> Step<()> {
    let skipped = std::io::copy(&mut r.take(n), &mut std::io::sink()).ok()?;
    (skipped == n).then_some(())
}

/// A little-endian unsigned integer of `width` bytes.
fn le(r: &mut impl BufRead, width: u64) -> Step<u64> {
    let mut bytes = [0u8; 8];
    r.read_exact(&mut bytes[..width as usize]).ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// Skip a text argument up to its newline; its length.
fn skip_line(r: &mut impl BufRead) -> Step<u64> {
    Some(read_line(r)?.len() as u64)
}

fn read_line(r: &mut impl BufRead) -> Step<Vec<u8>> {
    let mut line = Vec::new();
    r.take(MAX_LINE).read_until(b'\n', &mut line).ok()?;
    (line.last() == Some(&b'\n')).then_some(line)
}

/// A protocol 0 memo index (`GET`/`PUT` take a decimal line).
fn index_line(r: &mut impl BufRead) -> Step<u64> {
    let line = read_line(r)?;
    std::str::from_utf8(&line).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(pickle: &[u8], pickles: usize) -> Outcome {
        Walk::new(Budget::for_size(pickle.len() as u64)).run(&mut Cursor::new(pickle), pickles)
    }

    #[test]
    fn dup_append_doubling_is_over_budget() {
        // EMPTY_LIST, then DUP APPEND forty times: 2^40 nodes in a hundred bytes.
        let mut pickle = vec![b']'];
        pickle.extend(b"2a".repeat(40));
        pickle.push(b'.');
        assert!(matches!(walk(&pickle, 1), Outcome::OverBudget(_)));
    }

    #[test]
    fn memo_fetch_doubling_is_over_budget() {
        // A value memoized, fetched and paired with itself (BINPUT BINGET TUPLE2), forty
        // times: each round doubles it.
        let mut pickle = vec![0x80, 2, b']'];
        for _ in 0..40 {
            pickle.extend([b'q', 0, b'h', 0, 0x86]);
        }
        pickle.push(b'.');
        assert!(matches!(walk(&pickle, 1), Outcome::OverBudget(_)));
    }

    #[test]
    fn a_small_dict_of_lists_is_walked_to_its_end() {
        // {'a': [1, 2], 'b': 'xyz'} at protocol 2, memoizing every value.
        let pickle = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01K\x02eX\x01\x00\x00\x00bq\x03X\x03\x00\x00\x00xyzq\x04u.";
        // Five memo stores: the dict (empty), 'a', the list (empty), 'b', 'xyz'.
        let copied = Size { nodes: 5, bytes: 5 };
        assert_eq!(walk(pickle, 1), Outcome::Done(copied));
    }

    /// The `torch.save` files of the test fixtures (written by transformers and torch) copy a
    /// tenth of their budget at most (the 42-tensor BERT: 2,735 nodes from a 7,930-byte pickle).
    #[test]
    fn real_checkpoints_stay_far_below_the_budget() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for (name, pickles) in [
            ("random_mlm_pt/pytorch_model.bin", 1),
            ("pytorch_dtypes.bin", 1),
            ("pytorch_dtypes_legacy.bin", LEGACY_PICKLES),
        ] {
            let path = fixtures.join(name);
            let file = File::open(&path).unwrap();
            let len = file.metadata().unwrap().len();
            let outcome = if pickles == 1 {
                let pickle = zip_pickle(&file).unwrap();
                walk(&pickle, 1)
            } else {
                Walk::new(Budget::for_size(len)).run(&mut BufReader::new(&file), pickles)
            };
            let Outcome::Done(copied) = outcome else {
                panic!("{name}: {outcome:?}");
            };
            assert!(
                copied.nodes * 10 < NODE_BASE && copied.bytes * 10 < PAYLOAD_BASE,
                "{name}: {copied:?}"
            );
            check(&path, &file, len).unwrap();
        }
    }

    #[test]
    fn unknown_opcodes_and_underflow_stop_the_walk() {
        assert_eq!(walk(b"\xff", 1), Outcome::Stopped);
        assert_eq!(walk(b"a.", 1), Outcome::Stopped);
        assert_eq!(walk(b"(2.", 1), Outcome::Stopped);
        assert_eq!(walk(b"", 1), Outcome::Stopped);
    }
}
