//! `nlp-text newwords`.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use nlp_text::input::resolve_inputs;
use nlp_text::newwords::{Params, Variant, discover};

use crate::common::{Common, open_output, warn_invalid, write_ranked};

#[derive(Clone, Copy, ValueEnum)]
enum VariantArg {
    #[value(name = "2019")]
    V2019,
    #[value(name = "2017")]
    V2017,
}

#[derive(Args)]
pub(crate) struct NewwordsArgs {
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

pub(crate) fn run(a: NewwordsArgs) -> Result<()> {
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
