//! Helpers shared by the commands: paths, options, running programs and measuring them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The repository root (parent of the xtask crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent")
        .to_path_buf()
}

/// The data cache: `--dir DIR`, else `$BERT4BURN_DATA`, else `<repo>/data-cache`.
pub fn cache_dir(dir_flag: Option<&str>) -> PathBuf {
    if let Some(d) = dir_flag {
        return PathBuf::from(d);
    }
    match std::env::var_os("BERT4BURN_DATA") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => repo_root().join("data-cache"),
    }
}

/// Removes `--name VALUE` from `args` and returns VALUE.
pub fn take_opt(args: &mut Vec<String>, name: &str) -> Result<Option<String>> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => {
            if i + 1 >= args.len() {
                bail!("{name} needs a value");
            }
            let v = args.remove(i + 1);
            args.remove(i);
            Ok(Some(v))
        }
    }
}

/// Removes `--flag` from `args` and says whether it was there.
pub fn take_flag(args: &mut Vec<String>, name: &str) -> bool {
    match args.iter().position(|a| a == name) {
        Some(i) => {
            args.remove(i);
            true
        }
        None => false,
    }
}

/// Whether `program --version` runs.
pub fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a command, failing with its name and status when it does not succeed.
pub fn run_checked(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

/// Wall time, peak resident memory and captured stderr of one child process.
#[derive(Debug, Clone)]
pub struct Measured {
    pub wall: Duration,
    /// Peak RSS in bytes (from `wait4`), if the platform reports it.
    pub peak_rss: Option<u64>,
    /// User plus system CPU time of the child, if the platform reports it.
    pub cpu: Option<Duration>,
    pub stderr: String,
}

/// Runs `cmd` (stdout discarded), measuring wall time and the child's own peak RSS.
pub fn measure(cmd: &mut Command) -> Result<Measured> {
    let shown = format!("{cmd:?}");
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {shown}"))?;
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut stderr).ok();
    }
    let (ok, peak_rss, cpu) = wait_rusage(&mut child)?;
    let wall = start.elapsed();
    if !ok {
        bail!("{shown} failed:\n{stderr}");
    }
    Ok(Measured {
        wall,
        peak_rss,
        cpu,
        stderr,
    })
}

#[cfg(unix)]
fn wait_rusage(child: &mut std::process::Child) -> Result<(bool, Option<u64>, Option<Duration>)> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data, zero-initialised; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    // ru_maxrss is in KiB on Linux.
    Ok((ok, Some(usage.ru_maxrss as u64 * 1024), Some(cpu)))
}

#[cfg(not(unix))]
fn wait_rusage(child: &mut std::process::Child) -> Result<(bool, Option<u64>, Option<Duration>)> {
    Ok((child.wait()?.success(), None, None))
}

/// `12.3 MiB`.
pub fn mib(bytes: Option<u64>) -> String {
    match bytes {
        Some(b) => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        None => "n/a".into(),
    }
}

/// The `key=value` words of the first output line starting with `tag`.
pub fn parse_line(output: &str, tag: &str) -> Option<std::collections::BTreeMap<String, String>> {
    parse_lines(output, tag).into_iter().next()
}

/// The `key=value` words of every output line starting with `tag`.
pub fn parse_lines(output: &str, tag: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    output
        .lines()
        .filter(|l| l.starts_with(tag))
        .map(|line| {
            line.split_whitespace()
                .skip(1)
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// A Python with `torch` and `transformers`: `explicit` (`--python`), `$NLP_PYTHON`,
/// `<repo>/.venv/bin/python`, then `python3`.
pub fn find_python(explicit: Option<String>, root: &Path) -> Option<String> {
    let mut candidates = Vec::new();
    candidates.extend(explicit);
    candidates.extend(std::env::var("NLP_PYTHON").ok());
    candidates.push(root.join(".venv/bin/python").display().to_string());
    candidates.push("python3".into());
    candidates.into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import torch, transformers"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Run `cargo bench -p bert4burn --bench NAME` (release build, or the cargo `profile` named)
/// with `envs` and return its standard output; a failed run is an error carrying both outputs.
pub fn cargo_bench(
    name: &str,
    features: Option<&str>,
    profile: Option<&str>,
    envs: &[(&str, &std::ffi::OsStr)],
) -> Result<String> {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(repo_root())
        .args(["bench", "-q", "-p", "bert4burn", "--bench", name]);
    if let Some(f) = features {
        cmd.args(["--features", f]);
    }
    if let Some(p) = profile {
        cmd.args(["--profile", p]);
    }
    cmd.envs(envs.iter().copied());
    let out = cmd.output().context("cannot run cargo bench")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "cargo bench failed:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(stdout)
}
