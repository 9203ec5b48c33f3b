//! Shared pieces of the fuzz targets: a memory bound and per-process scratch files.
//!
//! Every reader under test takes a path, so a target writes its input to a file under
//! `/dev/shm` (tmpfs: no disk I/O) and calls the reader on it. [`check`] runs the reader under
//! an allocation bound derived from the input's size: the Rust allocator of the fuzz binary
//! aborts (a crash libFuzzer records) when the bytes live above what they were at the start of
//! the call exceed [`bound_for`]`(input length)`. A header that claims 100 GB must be an error,
//! not an allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Fixed allowance for what a reader may allocate regardless of its input (tables, buffers).
pub const BASE_BOUND: usize = 64 << 20;
/// Bytes a reader may allocate per byte of input.
pub const PER_INPUT_BYTE: usize = 64;

/// The most bytes a reader may hold at once while reading `len` bytes of input.
pub fn bound_for(len: usize) -> usize {
    BASE_BOUND.saturating_add(len.saturating_mul(PER_INPUT_BYTE))
}

struct Bounded;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
static ARMED: AtomicBool = AtomicBool::new(false);

fn over_bound(size: usize) -> ! {
    // No allocation here: write a fixed message straight to stderr, then abort.
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(b"\n==fuzz== allocation beyond the bound derived from the input size\n");
    let _ = write_usize(&mut err, size);
    let _ = err.write_all(b" bytes requested\n");
    std::process::abort();
}

fn write_usize(out: &mut impl Write, mut n: usize) -> std::io::Result<()> {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.write_all(&digits[i..])
}

fn account(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    if ARMED.load(Ordering::Relaxed) && live > LIMIT.load(Ordering::Relaxed) {
        ARMED.store(false, Ordering::Relaxed);
        over_bound(size);
    }
}

unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        account(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        account(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            account(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Bounded = Bounded;

/// Run `f` (one reader call on `input_len` bytes of input) under [`bound_for`]`(input_len)`.
pub fn check<T>(input_len: usize, f: impl FnOnce() -> T) -> T {
    let limit = LIVE
        .load(Ordering::Relaxed)
        .saturating_add(bound_for(input_len));
    LIMIT.store(limit, Ordering::Relaxed);
    ARMED.store(true, Ordering::Relaxed);
    let out = f();
    ARMED.store(false, Ordering::Relaxed);
    out
}

/// This process's scratch directory (`/dev/shm/bert4burn-fuzz-PID`, or the system temporary
/// directory where there is no `/dev/shm`); `cargo xtask fuzz` removes it afterwards.
pub fn scratch_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("bert4burn-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the fuzz scratch directory");
        dir
    })
    .clone()
}

/// Write `bytes` to `name` in the scratch directory and return its path.
pub fn write_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch_dir().join(name);
    std::fs::write(&path, bytes).expect("write a fuzz scratch file");
    path
}

/// Split `data` into two parts: a little-endian `u16` length of the first, the first, the rest.
/// Inputs too short for the length give an empty first part.
pub fn split2(data: &[u8]) -> (&[u8], &[u8]) {
    if data.len() < 2 {
        return (&[], data);
    }
    let n = (u16::from_le_bytes([data[0], data[1]]) as usize).min(data.len() - 2);
    (&data[2..2 + n], &data[2 + n..])
}
