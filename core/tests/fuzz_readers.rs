//! Mutation fuzzing of every reader of user files: NPY, CSV grids, x–y–value tables and
//! `dataset.json` manifests. Valid files are mutated (bit flips, inserted and deleted spans,
//! truncation, splices of tokens that parsers trip over) and fed to the readers; every input
//! must come back as a value or an error, never a panic or a hang.
//!
//! A short run is part of the tests. The long run (the number in CONTRIBUTING.md):
//! `MOLLIFY_FUZZ_CASES=1000000 cargo test -p mollify-core --test fuzz_readers -- --nocapture`
#![cfg(not(target_arch = "wasm32"))]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use mollify_core::data::io::{self, Array, Precision};
use mollify_core::{Axis, Dataset, Grid, Role};

#[path = "support/xorshift.rs"]
mod xorshift;
use xorshift::XorShift;

/// Inputs per reader in the test command's short run.
const SHORT_RUN: usize = 5_000;

/// The slowest any single input may take before it counts as a hang (the readers parse a few
/// hundred bytes; anything near this is a loop that does not end).
const HANG: Duration = Duration::from_secs(2);

/// Fragments that sit on parsers' edges: delimiters, huge and non-finite numbers, header keys.
const TOKENS: &[&[u8]] = &[
    b"(",
    b")",
    b",",
    b" ",
    b"\n",
    b"-",
    b"0",
    b"%",
    b"#",
    b";",
    b"\t",
    b"1e308",
    b"-1e308",
    b"nan",
    b"inf",
    b"1e-320",
    b"18446744073709551616",
    b"4294967296, 4294967296",
    b"'shape': (",
    b"'descr': '<f4'",
    b"'fortran_order': True",
    b"\"n\": ",
    b"\"step\": ",
    b"\"start\": ",
    b"\"axes\": [",
    b"\"name\": \"x\"",
    b"\"file\": \"",
    b"\"role\": \"mask\"",
    b"\x93NUMPY\x02\x00",
    b"\xff\xff",
];

fn mutate(seed: &[u8], rng: &mut XorShift) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(7) {
            0 if !b.is_empty() => {
                let i = at.min(b.len() - 1);
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let i = at.min(b.len() - 1);
                b[i] = rng.next() as u8;
            }
            2 => {
                let end = (at + 1 + rng.below(16)).min(b.len());
                b.drain(at..end);
            }
            3 => b.truncate(at),
            4 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                b.splice(at..at, token.iter().copied());
            }
            5 if !b.is_empty() => {
                let start = rng.below(b.len());
                let end = (start + 1 + rng.below(32)).min(b.len());
                let span = b[start..end].to_vec();
                b.splice(at..at, span);
            }
            _ => {
                let n = rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                b.splice(at..at, bytes);
            }
        }
    }
    b
}

fn npy(shape: Vec<usize>, precision: Precision) -> Vec<u8> {
    let n = shape.iter().product::<usize>();
    let a = Array::new(shape, (0..n).map(|i| 0.5 * i as f64 - 1.0).collect()).unwrap();
    let mut bytes = Vec::new();
    io::write_npy(&mut bytes, &a, precision).unwrap();
    bytes
}

fn manifest() -> Vec<u8> {
    let grid = Grid::d2(Axis::span("y", 3, 0.0, 1.0), Axis::span("x", 4, 0.0, 3.0));
    let mut ds = Dataset::new("heat", "smooth", grid);
    ds.insert("T", Role::Observed, vec![0.25; 12]);
    ds.insert("mask", Role::Mask, vec![1.0; 12]);
    ds.set_meta("form", "divergence");
    let files = ds.to_files().unwrap();
    files.into_iter().last().unwrap().1
}

/// Feeds `cases` mutations of `seeds` to `read`, failing on the first panic or hang with its
/// input, and prints the count and the slowest input's time.
fn fuzz(name: &str, seeds: &[Vec<u8>], cases: usize, rng_seed: u64, read: impl Fn(&[u8])) {
    let mut rng = XorShift(rng_seed);
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    for case in 0..cases {
        let input = mutate(&seeds[case % seeds.len()], &mut rng);
        let t = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| read(&input)));
        let took = t.elapsed();
        slowest = slowest.max(took);
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "{name}: input {case} panicked: {message}\ninput: {:?}",
                String::from_utf8_lossy(&input)
            );
        }
        assert!(
            took < HANG,
            "{name}: input {case} took {took:?}: {:?}",
            String::from_utf8_lossy(&input)
        );
    }
    println!(
        "{name}: {cases} inputs, 0 panics, slowest {slowest:?}, {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}

fn cases() -> usize {
    std::env::var("MOLLIFY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SHORT_RUN)
}

#[test]
fn no_input_panics_or_hangs_any_reader() {
    // Panics are caught and reported with their input; the default hook would print each.
    std::panic::set_hook(Box::new(|_| {}));
    let n = cases();
    let npys = vec![
        npy(vec![5], Precision::F64),
        npy(vec![3, 4], Precision::F64),
        npy(vec![2, 3], Precision::F32),
        npy(vec![2, 2, 2], Precision::F64),
    ];
    let csvs = vec![
        b"1,2,3\n4,5,6\n".to_vec(),
        b"# comment\n1.5;2.5\n3.5;4.5\n\n".to_vec(),
        b"1e-3 2e-3 3e-3\n".to_vec(),
    ];
    let tables = vec![
        b"% X Y T\n0 0 1\n0.5 0 2\n0 0.5 3\n0.5 0.5 4\n".to_vec(),
        b"0.0 1\n0.1 2\n0.2 3\n0.30000000000000004 4\n".to_vec(),
        b"%c\n-2e-17 0 1\n1 1.1e-17 2\n0 1 3\n1 1 4\n".to_vec(),
    ];
    // The file name picks the reader, as it does for users' files.
    for (rng_seed, (name, file, seeds)) in [
        ("npy", "f.npy", npys),
        ("csv", "f.csv", csvs),
        ("table", "f.txt", tables),
    ]
    .into_iter()
    .enumerate()
    {
        fuzz(name, &seeds, n, rng_seed as u64 + 1, |b| {
            let _ = io::decode(b, file);
        });
    }
    let field = npy(vec![3, 4], Precision::F64);
    let mut mask = Vec::new();
    io::write_npy(
        &mut mask,
        &Array::new(vec![3, 4], vec![1.0; 12]).unwrap(),
        Precision::F64,
    )
    .unwrap();
    fuzz("dataset.json", &[manifest()], n, 4, |b| {
        let _ = Dataset::from_files(b, |file| {
            Ok(if file == "mask.npy" {
                mask.clone()
            } else {
                field.clone()
            })
        });
    });
}
