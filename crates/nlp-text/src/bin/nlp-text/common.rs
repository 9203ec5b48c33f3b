//! What every subcommand shares: the common flags, the output file, reading the input.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use nlp_text::input::InputStats;
use nlp_text::output::{Ranked, write_tsv};
use nlp_text::{RunConfig, parse_size};

#[derive(Args, Clone)]
pub(crate) struct Common {
    /// Input files or directories (every .txt file below); `-` or nothing reads stdin.
    #[arg(long, short, num_args = 1..)]
    pub(crate) input: Vec<PathBuf>,
    /// Output file (stdout when absent).
    #[arg(long, short)]
    pub(crate) output: Option<PathBuf>,
    /// Worker threads (0 = all cores).
    #[arg(long, short = 'j', default_value_t = 0)]
    pub(crate) threads: usize,
    /// Memory for count tables before spilling sorted runs to disk (e.g. 512M, 2G).
    #[arg(long, default_value = "2G")]
    pub(crate) mem_budget: String,
    /// Directory for spill files (system temp dir by default).
    #[arg(long)]
    pub(crate) tmp_dir: Option<PathBuf>,
    /// No progress bars or summary.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

impl Common {
    pub(crate) fn config(&self) -> Result<RunConfig> {
        Ok(RunConfig {
            threads: self.threads,
            mem_budget: parse_size(&self.mem_budget)?,
            tmp_dir: self.tmp_dir.clone(),
            quiet: self.quiet,
            ..RunConfig::default()
        })
    }
}

/// An output file written under `NAME.partial` and renamed to `NAME` by [`Output::finish`];
/// dropped unfinished (the run failed), the partial file is removed, so a failed run never
/// leaves a file that looks complete. Without a path it writes to stdout.
pub(crate) struct Output {
    writer: BufWriter<Box<dyn Write>>,
    /// `(partial, final)` paths while the file is unfinished.
    paths: Option<(PathBuf, PathBuf)>,
}

impl Output {
    pub(crate) fn finish(mut self) -> Result<()> {
        self.writer.flush()?;
        if let Some((partial, path)) = self.paths.take() {
            std::fs::rename(&partial, &path).with_context(|| {
                format!("cannot rename {} to {}", partial.display(), path.display())
            })?;
        }
        Ok(())
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some((partial, _)) = self.paths.take() {
            let _ = std::fs::remove_file(partial);
        }
    }
}

pub(crate) fn open_output(path: Option<&Path>) -> Result<Output> {
    Ok(match path {
        Some(p) => {
            let mut partial = p.to_path_buf();
            partial.as_mut_os_string().push(".partial");
            let file =
                File::create(&partial).with_context(|| format!("cannot create {}", p.display()))?;
            Output {
                writer: BufWriter::with_capacity(1 << 16, Box::new(file)),
                paths: Some((partial, p.to_path_buf())),
            }
        }
        None => Output {
            writer: BufWriter::new(Box::new(io::stdout().lock())),
            paths: None,
        },
    })
}

pub(crate) fn read_text(path: Option<&Path>) -> Result<String> {
    let bytes = match path {
        Some(p) => std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
        None => {
            let mut b = Vec::new();
            io::Read::read_to_end(&mut io::stdin(), &mut b)?;
            b
        }
    };
    let name = path
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "<stdin>".into());
    if bytes.is_empty() {
        bail!("empty input: {name} is empty");
    }
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            let bytes = e.into_bytes();
            let bad: Vec<String> = bytes
                .split(|&b| b == b'\n')
                .enumerate()
                .filter(|(_, l)| std::str::from_utf8(l).is_err())
                .map(|(i, _)| (i + 1).to_string())
                .take(20)
                .collect();
            bail!(
                "{name}: not valid UTF-8 (lines {}); line-aligned files cannot skip lines",
                bad.join(", ")
            )
        }
    }
}

pub(crate) fn warn_invalid(stats: &InputStats) {
    if let Some(w) = stats.warning() {
        eprintln!("{w}");
    }
}

pub(crate) fn write_ranked(out: &mut dyn Write, words: &[Ranked]) -> Result<()> {
    write_tsv(out, words)?;
    out.flush()?;
    Ok(())
}
