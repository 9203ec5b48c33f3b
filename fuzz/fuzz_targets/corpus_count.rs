//! `nlp-text`'s counting commands on small corpora with invalid UTF-8: character or n-gram
//! frequencies (`wordfreq`) and new-word discovery (`newwords`), one thread, spill files in the
//! scratch directory. The first byte picks the batch size, the n-gram length and the minimum
//! count. Slower than the other targets (a spill directory and several passes per input).
#![no_main]

use bert4burn_fuzz::{check, scratch_dir, write_file};
use libfuzzer_sys::fuzz_target;
use nlp_text::RunConfig;
use nlp_text::input::resolve_inputs;
use nlp_text::newwords::{Params, discover};
use nlp_text::wordfreq::{Mode, count_words};

fuzz_target!(|data: &[u8]| {
    let Some((&knob, text)) = data.split_first() else {
        return;
    };
    let path = write_file("corpus.txt", text);
    check(data.len(), || {
        let Ok(sources) = resolve_inputs(std::slice::from_ref(&path)) else {
            return;
        };
        let cfg = RunConfig {
            threads: 1,
            mem_budget: 1 << 20,
            tmp_dir: Some(scratch_dir()),
            quiet: true,
            batch_bytes: 1 + usize::from(knob & 0x3f),
        };
        let mode = match knob >> 6 {
            0 => Mode::Chars,
            n => Mode::Ngrams(usize::from(n)),
        };
        let _ = count_words(sources.clone(), mode, None, 1, &cfg);
        let mut params = Params::v2019();
        params.min_count = 1 + u64::from(knob >> 6);
        let _ = discover(sources, &params, &cfg);
    });
});
