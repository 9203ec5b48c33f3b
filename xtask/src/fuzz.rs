//! `cargo xtask fuzz [TARGET ...] [--time S]`: replay the committed crash reproducers, then run
//! the coverage-guided fuzz targets of `fuzz/` (cargo-fuzz, libFuzzer, nightly toolchain) for
//! `S` seconds each (or until `--runs N` executions), and print the executions per target.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::util::{repo_root, run_checked, take_opt};

/// Every target in `fuzz/fuzz_targets/`, one per reader of outside data.
pub const TARGETS: &[&str] = &[
    "safetensors",
    "pytorch",
    "tf_checkpoint",
    "bert_config",
    "vocab",
    "tokenizer_json",
    "train_checkpoint",
    "peoples_daily",
    "ske_json",
    "corpus",
    "corpus_count",
];

/// What one target's run did.
struct Run {
    executions: u64,
    per_second: u64,
    seconds: f64,
}

/// libFuzzer's bounds: 2 GiB resident in all, 10 s per input (a hang), and no single
/// allocation over 256 MiB (libFuzzer enforces that one only under a sanitizer; without one the
/// fuzz binaries' own allocator holds every reader call to 64 MiB + 64 bytes per input byte, see
/// `fuzz/src/lib.rs`).
const LIBFUZZER_BOUNDS: &[&str] = &[
    "-malloc_limit_mb=256",
    "-rss_limit_mb=2048",
    "-timeout=10",
    "-print_final_stats=1",
];

/// Build flags: release, debug assertions (overflow checks) on, no sanitizer (Rust is memory
/// safe; the bounds above catch allocations and hangs).
const BUILD_FLAGS: &[&str] = &["-O", "-a", "-s", "none"];

pub fn run(args: &[String]) -> Result<()> {
    let mut args = args.to_vec();
    let seconds: u64 = take_opt(&mut args, "--time")?
        .map(|s| {
            s.parse()
                .with_context(|| format!("--time: not a number: {s:?}"))
        })
        .transpose()?
        .unwrap_or(60);
    let runs: Option<u64> = take_opt(&mut args, "--runs")?
        .map(|s| {
            s.parse()
                .with_context(|| format!("--runs: not a number: {s:?}"))
        })
        .transpose()?;
    if let Some(bad) = args.iter().find(|a| a.starts_with('-')) {
        bail!("unknown option {bad}; usage: cargo xtask fuzz [TARGET ...] [--time S] [--runs N]");
    }
    let targets: Vec<&str> = if args.is_empty() {
        TARGETS.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    if let Some(t) = targets.iter().find(|t| !TARGETS.contains(t)) {
        bail!("unknown fuzz target {t:?}; known: {}", TARGETS.join(", "));
    }
    ensure_cargo_fuzz()?;
    let fuzz_dir = repo_root().join("fuzz");
    let mut summary = Vec::new();
    for target in targets {
        replay_regressions(&fuzz_dir, target)?;
        let run = fuzz(&fuzz_dir, target, seconds, runs);
        remove_scratch_dirs();
        summary.push((target, run?));
    }
    println!(
        "\nfuzz summary (at most {seconds} s{} per target; no panic, abort, hang or allocation \
         beyond the bound):",
        runs.map_or(String::new(), |n| format!(" or {n} executions"))
    );
    for (target, run) in summary {
        println!(
            "  {target:<18} {:>10} executions  {:>7}/s  {:>6.0} s",
            run.executions, run.per_second, run.seconds
        );
    }
    Ok(())
}

/// The fuzz binaries write their inputs to `/dev/shm/bert4burn-fuzz-PID` (see
/// `fuzz/src/lib.rs`); remove those of finished runs.
fn remove_scratch_dirs() {
    let Ok(entries) = std::fs::read_dir("/dev/shm") else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("bert4burn-fuzz-")
        {
            std::fs::remove_dir_all(entry.path()).ok();
        }
    }
}

fn ensure_cargo_fuzz() -> Result<()> {
    let ok = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Ok(());
    }
    eprintln!("cargo-fuzz is missing: installing it with `cargo install cargo-fuzz`");
    run_checked(Command::new("cargo").args(["install", "cargo-fuzz"]))
        .context("cargo fuzz needs a nightly toolchain (`rustup toolchain install nightly`)")
}

fn fuzz_command(fuzz_dir: &Path, target: &str) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(fuzz_dir)
        .args(["+nightly", "fuzz", "run"])
        .args(BUILD_FLAGS)
        .arg(target);
    cmd
}

/// Run every committed reproducer of `target` once; each must now pass.
fn replay_regressions(fuzz_dir: &Path, target: &str) -> Result<()> {
    let dir = fuzz_dir.join("regressions").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    if files.is_empty() {
        return Ok(());
    }
    files.sort();
    eprintln!("{target}: replaying {} reproducer(s)", files.len());
    run_checked(
        fuzz_command(fuzz_dir, target)
            .args(&files)
            .arg("--")
            .args(LIBFUZZER_BOUNDS),
    )
    .with_context(|| format!("a reproducer in {} fails again", dir.display()))
}

/// Fuzz `target` for `seconds` (or `runs` executions), growing `fuzz/corpus-work/TARGET` from
/// the committed seeds in `fuzz/corpus/TARGET`.
fn fuzz(fuzz_dir: &Path, target: &str, seconds: u64, runs: Option<u64>) -> Result<Run> {
    let work = fuzz_dir.join("corpus-work").join(target);
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let seeds = fuzz_dir.join("corpus").join(target);
    eprintln!("{target}: fuzzing for {seconds} s");
    let started = Instant::now();
    let mut cmd = fuzz_command(fuzz_dir, target);
    cmd.arg(&work)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .args(LIBFUZZER_BOUNDS);
    if let Some(n) = runs {
        cmd.arg(format!("-runs={n}"));
    }
    let output = cmd
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("running cargo fuzz for {target}"))?;
    let log = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        // The failure's own lines (panic message, bound exceeded, reproduce command), not the
        // backtrace frames that would push them out of view.
        let is_frame = |l: &str| {
            let t = l.trim_start();
            t.starts_with("at ")
                || t.split_once(": ")
                    .is_some_and(|(n, _)| n.parse::<u32>().is_ok())
        };
        let tail: Vec<&str> = log
            .lines()
            .filter(|l| !is_frame(l))
            .rev()
            .take(30)
            .collect();
        for line in tail.into_iter().rev() {
            eprintln!("{line}");
        }
        bail!(
            "{target}: the fuzzer found a failure (reproducer under fuzz/artifacts/{target}/); \
             fix it and copy the file to fuzz/regressions/{target}/"
        );
    }
    let stat = |name: &str| {
        log.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|n| n.trim().parse().ok())
            .with_context(|| format!("{target}: libFuzzer printed no {name}"))
    };
    Ok(Run {
        executions: stat("stat::number_of_executed_units:")?,
        per_second: stat("stat::average_exec_per_sec:")?,
        seconds: started.elapsed().as_secs_f64(),
    })
}
