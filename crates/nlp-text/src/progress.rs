//! Progress bars on stderr (hidden when stderr is not a terminal or when quiet).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar over bytes of input, one per pass.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar titled `label` over `total` bytes (a spinner when unknown); hidden if `quiet`.
    pub fn new(label: &str, total: Option<u64>, quiet: bool) -> Self {
        let bar = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::new_spinner(),
        };
        if quiet {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        } else {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        let template = if total.is_some() {
            "{prefix:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
        } else {
            "{prefix:>12} {spinner} {bytes} {bytes_per_sec}"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("progress template")
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        Progress { bar }
    }

    /// A bar that draws nothing.
    pub fn hidden() -> Self {
        Progress::new("", None, true)
    }

    /// Advances by `n` bytes.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Finishes and clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
