//! Parallel batch processing: one reader, `threads` workers each folding batches into its own
//! state (batch-and-merge). Memory is bounded by the channel depth plus the workers' states.

use std::sync::Mutex;
use std::sync::mpsc::sync_channel;

use crate::Error;
use crate::input::{Batch, BatchReader, InputStats};
use crate::progress::Progress;

/// Default batch size in bytes.
pub const DEFAULT_BATCH_BYTES: usize = 256 * 1024;

/// Number of worker threads to use: `requested`, or all available cores when 0.
pub fn effective_threads(requested: usize) -> usize {
    if requested > 0 {
        requested
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    }
}

/// Reads every batch and folds it into one of `threads` worker states.
///
/// `init(worker_index)` makes each state; `fold(state, batch)` processes one batch. Returns the
/// final states (one per worker) and the input statistics.
pub fn fold_batches<S, I, F>(
    reader: &mut BatchReader,
    threads: usize,
    progress: &Progress,
    init: I,
    fold: F,
) -> Result<(Vec<S>, InputStats), Error>
where
    S: Send,
    I: Fn(usize) -> S + Sync,
    F: Fn(&mut S, &Batch) -> Result<(), Error> + Sync,
{
    let threads = threads.max(1);
    let (tx, rx) = sync_channel::<Batch>(threads * 2);
    let rx = Mutex::new(rx);
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(threads);
        for w in 0..threads {
            let rx = &rx;
            let init = &init;
            let fold = &fold;
            handles.push(scope.spawn(move || -> Result<S, Error> {
                let mut state = init(w);
                loop {
                    let next = rx.lock().expect("batch channel").recv();
                    let Ok(batch) = next else { break };
                    fold(&mut state, &batch)?;
                    progress.inc(batch.bytes);
                }
                Ok(state)
            }));
        }
        let mut read_err = None;
        loop {
            match reader.next_batch() {
                Ok(Some(b)) => {
                    if tx.send(b).is_err() {
                        break; // a worker failed; its error is reported below
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    read_err = Some(e);
                    break;
                }
            }
        }
        drop(tx);
        let mut states = Vec::with_capacity(threads);
        let mut first_err = read_err;
        for h in handles {
            match h.join().expect("worker thread panicked") {
                Ok(s) => states.push(s),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok((states, reader.stats.clone())),
        }
    })
}
