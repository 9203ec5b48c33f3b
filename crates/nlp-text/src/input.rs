//! Streaming line input: files, directories of `.txt` files, or stdin, read in batches.
//!
//! Lines are split at `\n` (a trailing `\r` is removed) and may be of any length. A line that is
//! not valid UTF-8 is skipped, counted, and its location kept so that callers can warn about it;
//! nothing is dropped silently.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::Error;

/// Where lines come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Standard input.
    Stdin,
    /// A regular file.
    File(PathBuf),
}

impl Source {
    /// A short name for messages (`<stdin>` or the path).
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "<stdin>".to_string(),
            Source::File(p) => p.display().to_string(),
        }
    }

    fn open(&self) -> Result<Box<dyn Read + Send>, Error> {
        match self {
            Source::Stdin => Ok(Box::new(io::stdin())),
            Source::File(p) => File::open(p)
                .map(|f| Box::new(f) as Box<dyn Read + Send>)
                .map_err(|e| Error::Io(p.clone(), e)),
        }
    }
}

/// Resolves command-line inputs into sources.
///
/// No input or `-` means stdin. A directory contributes every `.txt` file below it, in sorted
/// order. A missing path or a named empty file is an error naming it; so is a directory without
/// any `.txt` file.
pub fn resolve_inputs(inputs: &[PathBuf]) -> Result<Vec<Source>, Error> {
    if inputs.is_empty() {
        return Ok(vec![Source::Stdin]);
    }
    let mut out = Vec::new();
    for p in inputs {
        if p.as_os_str() == "-" {
            out.push(Source::Stdin);
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|e| Error::Io(p.clone(), e))?;
        if meta.is_dir() {
            let mut files = Vec::new();
            collect_txt(p, &mut files)?;
            if files.is_empty() {
                return Err(Error::EmptyInput(format!(
                    "directory {} has no .txt files",
                    p.display()
                )));
            }
            files.sort();
            out.extend(files.into_iter().map(Source::File));
        } else {
            if meta.len() == 0 {
                return Err(Error::EmptyInput(format!(
                    "input file {} is empty",
                    p.display()
                )));
            }
            out.push(Source::File(p.clone()));
        }
    }
    Ok(out)
}

fn collect_txt(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), Error> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::Io(dir.to_path_buf(), e))?;
    for entry in rd {
        let entry = entry.map_err(|e| Error::Io(dir.to_path_buf(), e))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(|e| Error::Io(path.clone(), e))?;
        if ft.is_dir() {
            collect_txt(&path, files)?;
        } else if path.extension().is_some_and(|x| x == "txt") {
            files.push(path);
        }
    }
    Ok(())
}

/// Total size in bytes of the file sources, or `None` when stdin is among them.
pub fn total_bytes(sources: &[Source]) -> Option<u64> {
    let mut total = 0;
    for s in sources {
        match s {
            Source::Stdin => return None,
            Source::File(p) => total += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
        }
    }
    Some(total)
}

/// A batch of consecutive valid lines, stored in one buffer.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// Sequence number of the batch (0, 1, ...), for callers that must keep input order.
    pub seq: u64,
    text: String,
    ends: Vec<usize>,
    /// Bytes of input consumed by this batch (including skipped lines and newlines).
    pub bytes: u64,
}

impl Batch {
    /// Iterates over the lines of the batch (without line terminators).
    pub fn lines(&self) -> impl Iterator<Item = &str> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let line = &self.text[start..end];
            start = end;
            line
        })
    }

    /// Number of lines in the batch.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the batch holds no lines.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Builds a batch from lines (mostly for tests and benches).
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Batch {
        let mut b = Batch::default();
        for l in lines {
            b.bytes += l.len() as u64 + 1;
            b.text.push_str(l);
            b.ends.push(b.text.len());
        }
        b
    }
}

/// One input line that was not valid UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidLine {
    /// Source name.
    pub source: String,
    /// 1-based line number within the source.
    pub line: u64,
}

/// What a reader saw.
#[derive(Debug, Default, Clone)]
pub struct InputStats {
    /// Valid lines delivered.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Number of invalid UTF-8 lines (skipped).
    pub invalid_count: u64,
    /// The first invalid lines (at most [`MAX_INVALID_KEPT`]).
    pub invalid: Vec<InvalidLine>,
}

/// How many invalid-line locations are kept for the warning.
pub const MAX_INVALID_KEPT: usize = 20;

impl InputStats {
    /// A warning line listing invalid UTF-8 lines, or `None` when there were none.
    pub fn warning(&self) -> Option<String> {
        if self.invalid_count == 0 {
            return None;
        }
        let shown: Vec<String> = self
            .invalid
            .iter()
            .map(|l| format!("{}:{}", l.source, l.line))
            .collect();
        let more = if self.invalid_count as usize > self.invalid.len() {
            ", ..."
        } else {
            ""
        };
        Some(format!(
            "warning: skipped {} line(s) that are not valid UTF-8: {}{}",
            self.invalid_count,
            shown.join(", "),
            more
        ))
    }
}

/// Reads all sources line by line and hands out batches of about `batch_bytes` bytes.
///
/// A reader can also keep a copy of its batches (up to a byte cap) so that a later pass replays
/// them from memory instead of reading and checking the input again.
pub struct BatchReader {
    sources: Vec<Source>,
    current: Option<(String, Box<dyn BufRead + Send>, u64)>,
    next_source: usize,
    batch_bytes: usize,
    seq: u64,
    buf: Vec<u8>,
    /// Statistics so far.
    pub stats: InputStats,
    record: Option<Recording>,
    replay: Option<(Arc<Vec<Batch>>, usize)>,
}

/// Batches kept by a recording reader.
struct Recording {
    cap: usize,
    used: usize,
    batches: Vec<Batch>,
    overflow: bool,
}

impl BatchReader {
    /// Creates a reader over `sources` producing batches of roughly `batch_bytes` bytes.
    pub fn new(sources: Vec<Source>, batch_bytes: usize) -> Self {
        BatchReader {
            sources,
            current: None,
            next_source: 0,
            batch_bytes: batch_bytes.max(1),
            seq: 0,
            buf: Vec::new(),
            stats: InputStats::default(),
            record: None,
            replay: None,
        }
    }

    /// Keeps a copy of every batch while their text stays within `cap` bytes in all.
    pub fn recording(mut self, cap: usize) -> Self {
        self.record = Some(Recording {
            cap,
            used: 0,
            batches: Vec::new(),
            overflow: false,
        });
        self
    }

    /// The recorded batches, when the whole input was read and fitted in the cap.
    pub fn take_recording(&mut self) -> Option<Arc<Vec<Batch>>> {
        let r = self.record.take()?;
        (!r.overflow && self.current.is_none() && self.next_source >= self.sources.len())
            .then(|| Arc::new(r.batches))
    }

    /// A reader that hands out copies of `batches` (with the statistics of `stats`).
    pub fn replay(batches: Arc<Vec<Batch>>, stats: InputStats) -> Self {
        let mut r = BatchReader::new(Vec::new(), 1);
        r.stats = stats;
        r.replay = Some((batches, 0));
        r
    }

    /// Returns the next batch, or `None` at the end of all sources.
    pub fn next_batch(&mut self) -> Result<Option<Batch>, Error> {
        if let Some((batches, next)) = &mut self.replay {
            let b = batches.get(*next).cloned();
            *next += 1;
            return Ok(b);
        }
        let b = self.read_batch()?;
        if let (Some(r), Some(b)) = (&mut self.record, &b)
            && !r.overflow
        {
            r.used += b.text.len() + b.ends.len() * std::mem::size_of::<usize>();
            if r.used > r.cap {
                r.overflow = true;
                r.batches = Vec::new();
            } else {
                r.batches.push(b.clone());
            }
        }
        Ok(b)
    }

    fn read_batch(&mut self) -> Result<Option<Batch>, Error> {
        let mut batch = Batch {
            seq: self.seq,
            ..Batch::default()
        };
        while batch.text.len() < self.batch_bytes {
            if self.current.is_none() {
                if self.next_source >= self.sources.len() {
                    break;
                }
                let src = &self.sources[self.next_source];
                self.next_source += 1;
                let reader = BufReader::with_capacity(1 << 16, src.open()?);
                self.current = Some((src.name(), Box::new(reader), 0));
            }
            let (name, reader, line_no) = self.current.as_mut().expect("current source");
            self.buf.clear();
            let n = reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| Error::Io(PathBuf::from(name.as_str()), e))?;
            if n == 0 {
                self.current = None;
                continue;
            }
            *line_no += 1;
            self.stats.bytes += n as u64;
            batch.bytes += n as u64;
            let mut line: &[u8] = &self.buf;
            if line.last() == Some(&b'\n') {
                line = &line[..line.len() - 1];
            }
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            match std::str::from_utf8(line) {
                Ok(s) => {
                    batch.text.push_str(s);
                    batch.ends.push(batch.text.len());
                    self.stats.lines += 1;
                }
                Err(_) => {
                    self.stats.invalid_count += 1;
                    if self.stats.invalid.len() < MAX_INVALID_KEPT {
                        self.stats.invalid.push(InvalidLine {
                            source: name.clone(),
                            line: *line_no,
                        });
                    }
                }
            }
        }
        if batch.ends.is_empty() && batch.bytes == 0 {
            return Ok(None);
        }
        self.seq += 1;
        Ok(Some(batch))
    }
}
