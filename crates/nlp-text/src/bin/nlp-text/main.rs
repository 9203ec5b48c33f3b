//! `nlp-text`: word frequencies, new-word discovery, lexicon segmentation and evaluation.
//!
//! Run `nlp-text --help` or `nlp-text <command> --help`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use nlp_text::input::{InputStats, resolve_inputs};
use nlp_text::newwords::{Params, Variant, discover};
use nlp_text::output::{Ranked, write_tsv};
use nlp_text::segeval::{GoldFormat, evaluate, raw_line};
use nlp_text::segment::{LexiconSegmenter, segment_all};
use nlp_text::wordfreq::{Mode, count_words, load_jieba};
use nlp_text::{RunConfig, parse_size};

#[derive(Parser)]
#[command(
    name = "nlp-text",
    version,
    about = "Corpus-scale Chinese text tools: word frequencies, new-word discovery, lexicon segmentation, evaluation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Count words (jieba), characters or character n-grams; writes `word<TAB>count`.
    Wordfreq(WordfreqArgs),
    /// Discover new words by n-gram cohesion; writes `word<TAB>count`.
    Newwords(NewwordsArgs),
    /// Segment text with a lexicon only (jieba max-probability path, no HMM).
    Segment(SegmentArgs),
    /// Score a segmentation against a gold one (word precision / recall / F1).
    Segeval(SegevalArgs),
    /// Strip a gold segmentation (People's Daily `word/POS` or spaced words) to raw text.
    Rawtext(RawtextArgs),
}

#[derive(Args, Clone)]
struct Common {
    /// Input files or directories (every .txt file below); `-` or nothing reads stdin.
    #[arg(long, short, num_args = 1..)]
    input: Vec<PathBuf>,
    /// Output file (stdout when absent).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Worker threads (0 = all cores).
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
    /// Memory for count tables before spilling sorted runs to disk (e.g. 512M, 2G).
    #[arg(long, default_value = "2G")]
    mem_budget: String,
    /// Directory for spill files (system temp dir by default).
    #[arg(long)]
    tmp_dir: Option<PathBuf>,
    /// No progress bars or summary.
    #[arg(long, short)]
    quiet: bool,
}

impl Common {
    fn config(&self) -> Result<RunConfig> {
        Ok(RunConfig {
            threads: self.threads,
            mem_budget: parse_size(&self.mem_budget)?,
            tmp_dir: self.tmp_dir.clone(),
            quiet: self.quiet,
            ..RunConfig::default()
        })
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Jieba,
    Chars,
    Ngrams,
}

#[derive(Args)]
struct WordfreqArgs {
    #[command(flatten)]
    common: Common,
    /// What to count.
    #[arg(long, value_enum, default_value = "jieba")]
    mode: ModeArg,
    /// n for `--mode ngrams`.
    #[arg(long, default_value_t = 2)]
    order: usize,
    /// Use jieba's HMM for unknown words (default, as `jieba.lcut`).
    #[arg(long, overrides_with = "no_hmm")]
    hmm: bool,
    /// Dictionary words only.
    #[arg(long)]
    no_hmm: bool,
    /// Main jieba dictionary (`word freq [tag]` lines) instead of the embedded one.
    #[arg(long)]
    dict: Option<PathBuf>,
    /// Extra user dictionaries (same format), loaded after the main one.
    #[arg(long, num_args = 1..)]
    user_dict: Vec<PathBuf>,
    /// Only words counted at least this often.
    #[arg(long, default_value_t = 1)]
    min_count: u64,
    /// Only the first N words.
    #[arg(long)]
    top: Option<usize>,
}

#[derive(Clone, Copy, ValueEnum)]
enum VariantArg {
    #[value(name = "2019")]
    V2019,
    #[value(name = "2017")]
    V2017,
}

#[derive(Args)]
struct NewwordsArgs {
    #[command(flatten)]
    common: Common,
    /// Algorithm: the 2019 rewrite (log cohesion) or the 2017 post (ratio cohesion).
    #[arg(long, value_enum, default_value = "2019")]
    variant: VariantArg,
    /// Longest n-gram counted (1..=8).
    #[arg(long, default_value_t = 4)]
    order: usize,
    /// Minimum count of grams and words (default 32 for 2019, 128 for 2017, the posts' values
    /// for THUCNews, ~7.3e8 characters). `auto` scales the default by the characters counted
    /// over 7.3e8, at least 2: for corpora much smaller than THUCNews (People's Daily 1998-01,
    /// 1.6 M characters, gets 2), where the default keeps too few words.
    #[arg(long)]
    min_count: Option<String>,
    /// Cohesion thresholds per gram length 1..=order, `0,2,4,6` or `2:5,3:25,4:125`
    /// (defaults: 2019 `0,2,4,6` as ln; 2017 `2:5,3:25,4:125` as ratios).
    #[arg(long)]
    thresholds: Option<String>,
    /// Only the first N words.
    #[arg(long)]
    top: Option<usize>,
    /// Keep full-width digits and letters (`１９９８`, `ＣＤ`) as separators, exactly the posts'
    /// pattern on the raw text. By default they are folded to ASCII first (U+FF01..U+FF5E to
    /// ASCII, U+3000 to a space), so `１９９８年` is counted as `1998年`; words are written folded.
    #[arg(long)]
    no_fold_width: bool,
    /// Count every 1..n-gram in one pass, as the post's KenLM step. By default a first pass
    /// counts all 1- and 2-grams and a second only the longer grams whose 2-gram windows all
    /// reach min_count (no other gram can): the same words, faster.
    #[arg(long)]
    all_grams: bool,
}

#[derive(Args)]
struct SegmentArgs {
    #[command(flatten)]
    common: Common,
    /// The lexicon: `word<TAB>count` (e.g. newwords output) or a jieba dictionary.
    #[arg(long, required = true)]
    dict: PathBuf,
    /// Use only the first N lexicon entries.
    #[arg(long)]
    top: Option<usize>,
    /// Exactly Python jieba's `lcut(HMM=False)` with the lexicon as dictionary: no width
    /// folding, numbers and Latin words cut wherever the lexicon says, every punctuation mark
    /// alone. By default full-width forms are folded (`１９９８` matches `1998`), numbers
    /// (`１２．３％`) and Latin runs stay whole, a repeated punctuation mark (`——`, `……`) is one
    /// token, and the original text is written.
    #[arg(long)]
    plain: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum GoldFormatArg {
    Auto,
    Pd,
    Plain,
}

impl From<GoldFormatArg> for GoldFormat {
    fn from(g: GoldFormatArg) -> Self {
        match g {
            GoldFormatArg::Auto => GoldFormat::Auto,
            GoldFormatArg::Pd => GoldFormat::PeoplesDaily,
            GoldFormatArg::Plain => GoldFormat::Plain,
        }
    }
}

#[derive(Args)]
struct SegevalArgs {
    /// Segmentation to score (space-separated words, one line per gold line); stdin if absent.
    #[arg(long, short)]
    input: Option<PathBuf>,
    /// Gold segmentation.
    #[arg(long, required = true)]
    gold: PathBuf,
    /// Gold format.
    #[arg(long, value_enum, default_value = "auto")]
    gold_format: GoldFormatArg,
    /// Write the report here (stdout when absent).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Accepted for uniformity with the other commands (scoring is single-threaded).
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
}

#[derive(Args)]
struct RawtextArgs {
    /// Gold file (stdin if absent).
    #[arg(long, short)]
    input: Option<PathBuf>,
    /// Output file (stdout when absent).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Gold format.
    #[arg(long, value_enum, default_value = "auto")]
    gold_format: GoldFormatArg,
}

/// An output file written under `NAME.partial` and renamed to `NAME` by [`Output::finish`];
/// dropped unfinished (the run failed), the partial file is removed, so a failed run never
/// leaves a file that looks complete. Without a path it writes to stdout.
struct Output {
    writer: BufWriter<Box<dyn Write>>,
    /// `(partial, final)` paths while the file is unfinished.
    paths: Option<(PathBuf, PathBuf)>,
}

impl Output {
    fn finish(mut self) -> Result<()> {
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

fn open_output(path: Option<&Path>) -> Result<Output> {
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

fn read_text(path: Option<&Path>) -> Result<String> {
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

fn warn_invalid(stats: &InputStats) {
    if let Some(w) = stats.warning() {
        eprintln!("{w}");
    }
}

fn write_ranked(out: &mut dyn Write, words: &[Ranked]) -> Result<()> {
    write_tsv(out, words)?;
    out.flush()?;
    Ok(())
}

fn parse_thresholds(s: &str, order: usize) -> Result<Vec<f64>> {
    if s.contains(':') {
        let mut v = vec![0.0; order];
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (len, val) = part.split_once(':').context("expected LEN:VALUE")?;
            let len: usize = len
                .trim()
                .parse()
                .with_context(|| format!("bad length in {part:?}"))?;
            if len == 0 || len > order {
                bail!("threshold length {len} outside 1..={order}");
            }
            v[len - 1] = val
                .trim()
                .parse()
                .with_context(|| format!("bad value in {part:?}"))?;
        }
        Ok(v)
    } else {
        let v: Vec<f64> = s
            .split(',')
            .map(|x| {
                x.trim()
                    .parse::<f64>()
                    .with_context(|| format!("bad threshold {x:?}"))
            })
            .collect::<Result<_>>()?;
        if v.len() != order {
            bail!(
                "--thresholds needs {order} values (lengths 1..={order}), got {}",
                v.len()
            );
        }
        Ok(v)
    }
}

fn run_wordfreq(a: WordfreqArgs) -> Result<()> {
    let cfg = a.common.config()?;
    let sources = resolve_inputs(&a.common.input)?;
    let mode = match a.mode {
        ModeArg::Jieba => Mode::Jieba { hmm: !a.no_hmm },
        ModeArg::Chars => Mode::Chars,
        ModeArg::Ngrams => {
            if a.order == 0 {
                bail!("--order must be at least 1");
            }
            Mode::Ngrams(a.order)
        }
    };
    let jieba = match mode {
        Mode::Jieba { .. } => Some(load_jieba(a.dict.as_deref(), &a.user_dict)?),
        _ => None,
    };
    let mut out = open_output(a.common.output.as_deref())?;
    let (collector, report) = count_words(sources, mode, jieba.as_ref(), a.min_count, &cfg)?;
    warn_invalid(&report.stats);
    let mut written = 0u64;
    collector.for_each(a.top, |r| {
        written += 1;
        writeln!(out, "{}\t{}", r.word, r.count)
    })?;
    out.finish()?;
    if !a.common.quiet {
        eprintln!(
            "wordfreq: {} lines, {} tokens, {} distinct, {} written, {} spill runs",
            report.stats.lines, report.tokens, report.distinct, written, report.spilled_runs
        );
    }
    Ok(())
}

fn run_newwords(a: NewwordsArgs) -> Result<()> {
    let cfg = a.common.config()?;
    let sources = resolve_inputs(&a.common.input)?;
    let mut params = match a.variant {
        VariantArg::V2019 => Params::v2019(),
        VariantArg::V2017 => Params::v2017(),
    };
    params.order = a.order;
    params.thresholds = match &a.thresholds {
        Some(t) => parse_thresholds(t, a.order)?,
        None => Params::default_thresholds(params.variant, a.order),
    };
    match a.min_count.as_deref() {
        None => {}
        Some("auto") => params.auto_min_count = true,
        Some(m) => {
            params.min_count = m
                .parse()
                .with_context(|| format!("--min-count: expected a number or `auto`, got {m:?}"))?
        }
    }
    params.fold_width = !a.no_fold_width;
    params.all_grams = a.all_grams;
    let mut out = open_output(a.common.output.as_deref())?;
    let (mut words, report) = discover(sources, &params, &cfg)?;
    warn_invalid(&report.stats);
    if let Some(t) = a.top {
        words.truncate(t);
    }
    write_ranked(&mut out, &words)?;
    out.finish()?;
    if !a.common.quiet {
        eprintln!(
            "newwords ({}, min_count {}): {} lines, total {} chars, {} distinct grams, {} frequent, {} kept; \
             {} distinct pieces, {} candidates, {} words ({} written), {} spill runs; \
             seconds: count {:.2}, filter {:.2}, pre-segment {:.2}",
            if params.variant == Variant::V2019 {
                "2019"
            } else {
                "2017"
            },
            report.min_count,
            report.stats.lines,
            report.total,
            report.distinct_grams,
            report.frequent_grams,
            report.kept_grams,
            report.distinct_pieces,
            report.candidates,
            report.words,
            words.len(),
            report.spilled_runs,
            report.seconds[0],
            report.seconds[1],
            report.seconds[2]
        );
    }
    Ok(())
}

fn run_segment(a: SegmentArgs) -> Result<()> {
    let cfg = a.common.config()?;
    let seg = LexiconSegmenter::from_file(&a.dict, a.top, a.plain)?;
    let sources = resolve_inputs(&a.common.input)?;
    let mut out = open_output(a.common.output.as_deref())?;
    let stats = segment_all(&seg, sources, &mut out, &cfg)?;
    out.finish()?;
    warn_invalid(&stats);
    if !a.common.quiet {
        eprintln!(
            "segment: {} lexicon words, {} lines",
            seg.len(),
            stats.lines
        );
    }
    Ok(())
}

fn run_segeval(a: SegevalArgs) -> Result<()> {
    let gold = read_text(Some(&a.gold))?;
    let pred = read_text(a.input.as_deref())?;
    let s = evaluate(&gold, &pred, a.gold_format.into())?;
    let mut out = open_output(a.output.as_deref())?;
    writeln!(out, "lines\t{}", s.lines)?;
    writeln!(out, "gold_words\t{}", s.gold)?;
    writeln!(out, "pred_words\t{}", s.pred)?;
    writeln!(out, "correct\t{}", s.correct)?;
    writeln!(out, "precision\t{:.4}", s.precision())?;
    writeln!(out, "recall\t{:.4}", s.recall())?;
    writeln!(out, "f1\t{:.4}", s.f1())?;
    writeln!(out, "mismatched_lines\t{}", s.mismatched)?;
    out.finish()?;
    if let Some(l) = s.first_mismatch {
        eprintln!(
            "warning: {} line(s) whose text differs from the gold were not scored (first: line {l})",
            s.mismatched
        );
    }
    Ok(())
}

fn run_rawtext(a: RawtextArgs) -> Result<()> {
    let text = read_text(a.input.as_deref())?;
    let format = match GoldFormat::from(a.gold_format) {
        GoldFormat::Auto => nlp_text::segeval::detect_format(text.lines().take(50)),
        f => f,
    };
    let mut out = open_output(a.output.as_deref())?;
    for line in text.lines() {
        writeln!(out, "{}", raw_line(line, format))?;
    }
    out.finish()
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Wordfreq(a) => run_wordfreq(a),
        Command::Newwords(a) => run_newwords(a),
        Command::Segment(a) => run_segment(a),
        Command::Segeval(a) => run_segeval(a),
        Command::Rawtext(a) => run_rawtext(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, leaving out a cause the message already holds.
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
