//! `cargo xtask data glyphs`: the glyph images of the VQ-VAE example. Installs the Debian CJK
//! font packages with apt-get when none of their files is present (as root), then runs the
//! example's `data` subcommand, which rasterises the characters in Rust.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

use crate::util::{have, repo_root, run_checked};

/// The font packages and one file each installs.
const PACKAGES: [(&str, &str); 5] = [
    (
        "fonts-noto-cjk",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    ),
    (
        "fonts-wqy-zenhei",
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    ),
    (
        "fonts-wqy-microhei",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    ),
    (
        "fonts-arphic-ukai",
        "/usr/share/fonts/truetype/arphic/ukai.ttc",
    ),
    (
        "fonts-arphic-uming",
        "/usr/share/fonts/truetype/arphic/uming.ttc",
    ),
];

/// Make sure the fonts are there, then write the glyph sets into `dir/glyphs`.
pub fn fetch(cache: &Path, extra: &[String]) -> Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(_, file)| !Path::new(file).is_file())
        .map(|(package, _)| *package)
        .collect();
    if !missing.is_empty() && extra.iter().all(|a| a != "--font") {
        if !have("apt-get") {
            bail!(
                "missing fonts ({}) and no apt-get; pass --font FILE for any CJK TTF/OTF/TTC",
                missing.join(", ")
            );
        }
        eprintln!("installing {} …", missing.join(" "));
        let mut apt = Command::new("apt-get");
        apt.args(["install", "-y", "-q"]).args(&missing);
        if run_checked(&mut apt).is_err() {
            run_checked(Command::new("apt-get").args(["update", "-q"]))?;
            run_checked(&mut apt)?;
        }
    }
    let out = cache.join("glyphs");
    let mut example = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    example
        .current_dir(repo_root())
        .args(["run", "-q", "--example", "vqvae", "--", "data", "--out"])
        .arg(&out)
        .args(extra);
    run_checked(&mut example)
}
