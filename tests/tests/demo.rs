//! The demo binary end to end: it runs on whatever backend comes up and its table shows the
//! mollifier beating central differences on noisy data by the margins the paper claims.

use mollify_tests::run_mollify;

#[test]
fn demo_shows_mollified_second_derivatives_beating_finite_differences() {
    let out = run_mollify(&[]);
    let text = String::from_utf8(out.stdout).unwrap();
    println!("{text}");
    assert!(text.lines().next().unwrap().starts_with("backend: "));
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("2 "))
        .expect("order-2 row");
    let v: Vec<f64> = row
        .split_whitespace()
        .skip(1)
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(v.len(), 4, "{row}");
    // Central FD, then bump kernels of 11, 31 and 61 points: error falls as the kernel widens.
    assert!(
        v[0] / v[3] > 100.0,
        "K=61 should beat central FD by > 100×: {row}"
    );
    assert!(v[1] > v[2] && v[2] > v[3], "{row}");
}
