//! The `mollify` CLI end to end on tiny sizes: every subcommand, every bad-input case (one
//! clear line, exit code 2), and a run stopped by an injected NaN then resumed.

use std::path::Path;
use std::process::{Command, Output};

use mollify_core::data::io::{self, Array, Precision};

/// The `mollify` binary cargo built for this test run (never a stale one from earlier).
const MOLLIFY: &str = env!("CARGO_BIN_EXE_mollify");

fn mollify(args: &[&str]) -> Output {
    Command::new(MOLLIFY)
        .args(args)
        .output()
        .expect("spawn mollify")
}

/// Runs `mollify` with `args`, failing with its stderr if it exits non-zero.
fn run_mollify(args: &[&str]) -> Output {
    let out = mollify(args);
    assert!(
        out.status.success(),
        "mollify {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Small, fast network settings for every training test.
const TINY: [&str; 6] = ["--width", "8", "--depth", "2", "--backend", "cpu"];

#[test]
fn simulate_writes_loadable_datasets() {
    let dir = tempfile::tempdir().unwrap();
    for problem in ["langevin", "heat", "chromatin", "ode"] {
        let out = dir.path().join(problem);
        let o = run_mollify(&[
            "-q",
            "simulate",
            problem,
            "--noise",
            "0.01",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(String::from_utf8_lossy(&o.stdout).contains(problem));
        let ds = mollify_core::Dataset::load(&out).unwrap();
        assert_eq!(ds.problem, problem);
    }
}

#[test]
fn train_writes_every_output_and_the_metrics_improve() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut args = vec![
        "-q",
        "train",
        "--data",
        "heat",
        "--steps",
        "30",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(TINY);
    run_mollify(&args);
    for f in [
        "config.toml",
        "metrics.csv",
        "summary.json",
        "parameter.npy",
        "separable.npy",
        "solution.npy",
        "intermediate.npy",
        "parameter.svg",
        "intermediate.svg",
        "loss.svg",
        "checkpoint/state.json",
        "data/dataset.json",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let s = json(&out.join("summary.json"));
    assert_eq!(s["steps"], 30);
    assert_eq!(s["status"], "finished");
    let m = &s["metrics"];
    assert_eq!(m["intermediate"], "∇²T");
    // The same points for every engine: the kernel's half-width (default 11 points), and in
    // 2D 20 % of 64 points.
    assert_eq!(m["whole"]["margin"], serde_json::json!([5, 5]));
    assert_eq!(m["interior"]["margin"], serde_json::json!([13, 13]));
    for est in ["parameter", "separable", "intermediate"] {
        let corr = m["interior"][est]["correlation"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&corr), "{est}: {corr}");
    }
    let rows = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(rows.lines().count(), 31, "header + one row per step");
    let loss = |line: &str| -> f64 { line.split(',').nth(1).unwrap().parse().unwrap() };
    let lines: Vec<&str> = rows.lines().skip(1).collect();
    let (first, last) = (loss(lines[0]), loss(lines[29]));
    assert!(
        last < first,
        "loss should fall over 30 steps: {first} → {last}"
    );
    let (_, p) = io::read_path(&out.join("parameter.npy")).unwrap();
    assert_eq!(p.shape, vec![64, 64]);
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config.contains("width = 8"), "{config}");
}

#[test]
fn config_file_is_read_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("run.toml");
    std::fs::write(
        &cfg,
        "engine = \"fd\"\n[schedule]\nsteps = 7\n[model]\nwidth = 8\ndepth = 2\n[mollifier]\nsize = 9\n",
    )
    .unwrap();
    let out = dir.path().join("run");
    run_mollify(&[
        "-q",
        "train",
        "--data",
        "langevin",
        "--config",
        cfg.to_str().unwrap(),
        "--steps",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    let s = json(&out.join("summary.json"));
    assert_eq!(s["engine"], "fd");
    assert_eq!(s["steps"], 4, "the flag overrides the file");
    assert_eq!(s["kernel_size"], 9);
}

/// What a run saves is what `--config` loads: the saved file alone (its `[data]` section
/// names the simulation) reproduces the run, file and results alike.
#[test]
fn a_runs_saved_config_loads_with_config_and_reproduces_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let mut args = vec![
        "-q",
        "train",
        "--data",
        "heat",
        "--noise",
        "0.02",
        "--kernel-size",
        "auto",
        "--steps",
        "5",
        "--out",
        a.to_str().unwrap(),
    ];
    args.extend(TINY);
    run_mollify(&args);
    let saved = a.join("config.toml");
    run_mollify(&[
        "-q",
        "train",
        "--config",
        saved.to_str().unwrap(),
        "--out",
        b.to_str().unwrap(),
    ]);
    let text = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(text(&saved), text(&b.join("config.toml")));
    assert!(
        !text(&saved).contains("\"auto\""),
        "the saved file holds the size auto chose: {}",
        text(&saved)
    );
    let bytes = |p: &Path| std::fs::read(p.join("parameter.npy")).unwrap();
    assert_eq!(bytes(&a), bytes(&b), "the same run, bit for bit");
}

#[test]
fn an_injected_nan_stops_the_run_and_resume_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut args = vec![
        "-q",
        "train",
        "--data",
        "langevin",
        "--steps",
        "60",
        "--inject-nan-at",
        "40",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(TINY);
    let o = mollify(&args);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("at step 40") && e.contains("--resume"), "{e}");
    assert!(e.lines().count() == 1, "one line: {e}");
    let state = json(&out.join("checkpoint/state.json"));
    assert_eq!(state["step"], 25, "last good checkpoint (every 25 steps)");
    assert!(
        json(&out.join("summary.json"))["status"]
            .as_str()
            .unwrap()
            .contains("step 40")
    );

    run_mollify(&["-q", "train", "--resume", out.to_str().unwrap()]);
    let s = json(&out.join("summary.json"));
    assert_eq!(s["steps"], 60);
    assert_eq!(s["status"], "finished");
    let steps: Vec<usize> = std::fs::read_to_string(out.join("metrics.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        steps,
        (1..=60).collect::<Vec<_>>(),
        "one row per step after the resume"
    );
}

#[test]
fn bad_input_gets_one_clear_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let garbage = d.join("garbage.npy");
    std::fs::write(&garbage, b"not an npy file").unwrap();
    let cfg = d.join("bad.toml");
    std::fs::write(&cfg, "stepz = 3\n").unwrap();
    let run_dir = d.join("not-a-run");
    std::fs::create_dir_all(&run_dir).unwrap();
    let out = d.join("o").to_str().unwrap().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["train", "--data", "/nonexistent/folder", "--out", &out],
            "neither a dataset folder",
        ),
        (
            vec![
                "train",
                "--data",
                "heat",
                "--kernel-size",
                "4",
                "--out",
                &out,
            ],
            "odd",
        ),
        (
            vec![
                "train",
                "--data",
                "heat",
                "--kernel-size",
                "big",
                "--out",
                &out,
            ],
            "kernel size",
        ),
        (
            vec![
                "train", "--data", "heat", "--engine", "magic", "--out", &out,
            ],
            "unknown engine",
        ),
        (
            vec!["train", "--data", "heat", "--arch", "resnet", "--out", &out],
            "unknown architecture",
        ),
        (
            vec![
                "train", "--data", "heat", "--kernel", "gauss", "--out", &out,
            ],
            "gauss",
        ),
        (
            vec![
                "train",
                "--data",
                "heat",
                "--backend",
                "cuda",
                "--out",
                &out,
            ],
            "CUDA",
        ),
        (
            vec!["train", "--data", "heat", "--steps", "0", "--out", &out],
            "at least 1",
        ),
        (
            vec!["train", "--data", "heat", "--noise=-1", "--out", &out],
            "noise",
        ),
        (
            vec!["train", "--data", "heat", "--case", "wavy", "--out", &out],
            "wavy",
        ),
        (
            vec![
                "train",
                "--data",
                "heat",
                "--config",
                cfg.to_str().unwrap(),
                "--out",
                &out,
            ],
            "stepz",
        ),
        (
            vec!["train", "--resume", run_dir.to_str().unwrap()],
            "run folder",
        ),
        (
            vec!["simulate", "heat", "--size", "huge", "--out", &out],
            "huge",
        ),
        (vec!["simulate", "plasma", "--out", &out], "plasma"),
        (
            vec![
                "derive",
                "--input",
                garbage.to_str().unwrap(),
                "--out",
                &out,
            ],
            "garbage.npy",
        ),
        (
            vec!["derive", "--input", "/nonexistent.csv", "--out", &out],
            "nonexistent",
        ),
        (vec!["bench", "--preset", "huge"], "preset"),
        (
            vec!["bench", "--noise", "0.1,-1", "--out", &out],
            "noise levels",
        ),
        (vec!["bench", "--seeds", "0", "--out", &out], "--seeds"),
    ];
    for (args, expect) in cases {
        let o = mollify(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(expect), "{args:?}: expected '{expect}' in: {e}");
        assert!(!e.contains("panicked"), "{args:?}: {e}");
    }
    assert!(
        !Path::new(&out).join("summary.json").exists(),
        "nothing written on bad input"
    );
}

/// sin 2πx with Gaussian-like noise (deterministic), n points on [0, 1].
fn noisy_sine(n: usize, sigma: f64) -> Vec<f64> {
    // Sum of 12 uniforms − 6: a standard normal to within the tests' needs.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|i| {
            let x = i as f64 / (n - 1) as f64;
            let z: f64 = (0..12).map(|_| uniform()).sum::<f64>() - 6.0;
            (std::f64::consts::TAU * x).sin() + sigma * z
        })
        .collect()
}

#[test]
fn derive_with_auto_kernel_size_beats_central_differences_tenfold() {
    let dir = tempfile::tempdir().unwrap();
    let n = 1000;
    let h = 1.0 / (n - 1) as f64;
    let y = noisy_sine(n, 0.01);
    let input = dir.path().join("noisy.npy");
    std::fs::write(
        &input,
        io::encode(
            &Array::new(vec![n], y.clone()).unwrap(),
            "noisy.npy",
            Precision::F64,
        )
        .unwrap(),
    )
    .unwrap();
    let out = dir.path().join("d2.csv");
    // NPY carries no coordinates: without --dx the derivative's scale is unknown.
    let o = mollify(&[
        "derive",
        "--input",
        input.to_str().unwrap(),
        "--order",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--dx"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing written on bad input");
    let o = run_mollify(&[
        "derive",
        "--input",
        input.to_str().unwrap(),
        "--order",
        "2",
        "--kernel-size",
        "auto",
        "--dx",
        &h.to_string(),
        "--out",
        out.to_str().unwrap(),
    ]);
    println!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    let (_, d2) = io::read_path(&out).unwrap();
    assert_eq!(d2.data.len(), n, "extrapolate keeps the grid");
    let tau2 = std::f64::consts::TAU.powi(2);
    let exact = |i: usize| -tau2 * (std::f64::consts::TAU * i as f64 * h).sin();
    // Both judged on the same interior (10% from each end).
    let range = n / 10..n - n / 10;
    let rms = |f: &dyn Fn(usize) -> f64| {
        (range
            .clone()
            .map(|i| (f(i) - exact(i)).powi(2))
            .sum::<f64>()
            / range.len() as f64)
            .sqrt()
    };
    let mollified = rms(&|i| d2.data[i]);
    let central = rms(&|i| (y[i + 1] - 2.0 * y[i] + y[i - 1]) / (h * h));
    println!(
        "second derivative RMS error: mollified (auto) {mollified:.3e}, central differences {central:.3e}, ratio {:.0}",
        central / mollified
    );
    assert!(central / mollified >= 10.0, "{central} vs {mollified}");
}

#[test]
fn derive_handles_2d_operators() {
    let dir = tempfile::tempdir().unwrap();
    let n = 48;
    let h = 1.0 / (n - 1) as f64;
    // u = x² + y²: ∇²u = 4 everywhere.
    let v: Vec<f64> = (0..n * n)
        .map(|k| ((k % n) as f64 * h).powi(2) + ((k / n) as f64 * h).powi(2))
        .collect();
    let input = dir.path().join("u.csv");
    std::fs::write(
        &input,
        io::encode(&Array::new(vec![n, n], v).unwrap(), "u.csv", Precision::F64).unwrap(),
    )
    .unwrap();
    let out = dir.path().join("lap.npy");
    let hs = h.to_string();
    run_mollify(&[
        "derive",
        "--input",
        input.to_str().unwrap(),
        "--axis",
        "laplacian",
        "--kernel-size",
        "7",
        "--dx",
        &hs,
        "--dy",
        &hs,
        "--boundary",
        "valid",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (_, lap) = io::read_path(&out).unwrap();
    assert!(
        lap.data.iter().all(|v| (v - 4.0).abs() < 1e-3),
        "{:?}",
        &lap.data[..4]
    );
}

#[test]
fn compare_runs_engines_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    let mut args = vec![
        "-q",
        "compare",
        "--data",
        "heat",
        "--steps",
        "5",
        "--fd",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(TINY);
    let o = run_mollify(&args);
    let text = String::from_utf8_lossy(&o.stdout);
    println!("{text}");
    for engine in ["mollifier", "autodiff", "fd"] {
        assert!(text.contains(engine), "{engine} row");
        assert!(out.join(engine).join("summary.json").exists());
    }
    for f in [
        "compare.md",
        "compare.json",
        "loss.svg",
        "parameter.svg",
        "intermediate.svg",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    for column in ["sep corr", "∇²T corr"] {
        assert!(text.contains(column), "{column}");
    }
    // Without --noise or a configuration, compare runs at the noise where engines differ.
    let config = std::fs::read_to_string(out.join("mollifier").join("config.toml")).unwrap();
    assert!(config.contains("noise = 0.05"), "{config}");
}

#[test]
fn bench_writes_every_cell_as_a_row_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let report = dir.path().join("docs");
    let o = run_mollify(&[
        "-q",
        "bench",
        "--problems",
        "langevin",
        "--engines",
        "mollifier,fd",
        "--seeds",
        "2",
        "--steps",
        "3",
        "--jobs",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    println!("{text}");
    for f in [
        "results.csv",
        "results.json",
        "results.md",
        "sigma-langevin.svg",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    assert!(report.join("results.md").exists());
    assert!(report.join("results/sigma-langevin.svg").exists());
    let rows = json(&out.join("results.json"));
    let rows = rows.as_array().unwrap();
    let count = |part: &str| rows.iter().filter(|r| r["part"] == part).count();
    // Table: 2 seeds × PINN × 2 engines; σ sweep: 2 seeds × 4 σ × 2 engines; depth: 2 × 3.
    assert_eq!(count("table"), 4);
    assert_eq!(count("sigma"), 16);
    assert_eq!(count("depth"), 6);
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        rows.len() + 1,
        "header + a row per cell"
    );
    // Seeds vary the data, not only the network: two seeds' σ = 1 forcings differ.
    let forcing = |seed: u64| {
        let dir = out.join(format!("data/langevin-noisy-1-quick-n0.05-s{seed}"));
        std::fs::read(dir.join("F.npy")).unwrap()
    };
    assert_ne!(forcing(0), forcing(1));
    for r in rows {
        assert_eq!(r["status"], "finished", "{r}");
        assert!(r["ms_per_step"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["peak_memory_mib"].as_f64().unwrap() > 0.0, "{r}");
        assert_eq!(r["memory_counter"], "process peak RSS");
    }
    for words in [
        "## Table 2",
        "paper PINN+M",
        "v′ corr",
        "fd / mollifier time",
    ] {
        assert!(text.contains(words), "{words}");
    }
}

#[test]
fn a_bench_cell_over_its_budget_is_a_row_with_its_status_and_the_bench_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    run_mollify(&[
        "-q",
        "bench",
        "--problems",
        "langevin",
        "--engines",
        "mollifier",
        "--seeds",
        "1",
        "--steps",
        "50",
        "--budget",
        "0.000001",
        "--no-noise",
        "--no-sweeps",
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows = json(&out.join("results.json"));
    let row = &rows.as_array().unwrap()[0];
    assert_eq!(row["steps"], 1, "{row}");
    assert!(
        row["status"]
            .as_str()
            .unwrap()
            .contains("time budget reached after 1 of 50 steps"),
        "{row}"
    );
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains("## Runs that did not finish"), "{md}");
}

/// Runs `mollify -q train --data langevin` with `extra` flags into `out` (tiny network, CPU).
fn train_langevin(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "-q",
        "train",
        "--data",
        "langevin",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    args.extend(TINY);
    mollify(&args)
}

/// `summary.json` without the fields that measure the machine (time, memory): what must be
/// identical between two runs of the same settings.
fn results_of(summary: &Path) -> serde_json::Value {
    let mut s = json(summary);
    let m = s.as_object_mut().unwrap();
    m.remove("ms_per_step");
    m.remove("peak_memory_mib");
    s
}

#[test]
fn a_run_stopped_and_resumed_ends_bit_identical_to_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let o = train_langevin(&whole, &["--steps", "60"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cut = dir.path().join("cut");
    let o = train_langevin(&cut, &["--steps", "60", "--inject-nan-at", "40"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    run_mollify(&["-q", "train", "--resume", cut.to_str().unwrap()]);
    // Steps 26–60 were taken again from the step-25 checkpoint: if the weights or Adam's
    // moments and step count were not restored exactly, the last bits would differ.
    let a = std::fs::read(whole.join("parameter.npy")).unwrap();
    let b = std::fs::read(cut.join("parameter.npy")).unwrap();
    assert!(a == b, "parameter.npy differs after resume");
    assert_eq!(
        results_of(&whole.join("summary.json")),
        results_of(&cut.join("summary.json"))
    );
}

#[test]
fn the_same_seeds_give_the_same_results_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<_> = ["a", "b"]
        .iter()
        .map(|name| {
            let out = dir.path().join(name);
            let mut args = vec![
                "-q",
                "train",
                "--data",
                "heat",
                "--noise",
                "0.05",
                "--data-seed",
                "3",
                "--seed",
                "5",
                "--steps",
                "8",
                "--out",
                out.to_str().unwrap(),
            ];
            args.extend(TINY);
            run_mollify(&args);
            out
        })
        .collect();
    assert!(
        std::fs::read(runs[0].join("parameter.npy")).unwrap()
            == std::fs::read(runs[1].join("parameter.npy")).unwrap(),
        "parameter.npy differs between two runs of the same seeds"
    );
    let (a, b) = (
        results_of(&runs[0].join("summary.json")),
        results_of(&runs[1].join("summary.json")),
    );
    assert!(
        a["metrics"]["interior"]["parameter"]["correlation"].is_f64(),
        "{a}"
    );
    assert_eq!(a, b);
}

#[test]
fn a_failed_engine_is_a_failed_row_never_an_earlier_runs_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    let base = [
        "-q",
        "compare",
        "--data",
        "langevin",
        "--engines",
        "mollifier",
        "--engines",
        "fd",
        "--steps",
        "3",
        "--width",
        "8",
        "--depth",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    run_mollify(&base);
    assert_eq!(json(&out.join("compare.json"))[0]["status"], "finished");
    // Rerun into the same folder with a kernel wider than the 200-point series: the mollifier
    // child refuses it; its old summary.json must not be reported as this run's.
    let mut again = base.to_vec();
    again.extend(["--kernel-size", "401"]);
    let o = mollify(&again);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("engine(s) failed: mollifier"),
        "{}",
        stderr(&o)
    );
    let rows = json(&out.join("compare.json"));
    assert!(
        rows[0]["status"].as_str().unwrap().starts_with("failed"),
        "{}",
        rows[0]
    );
    assert!(rows[0]["metrics"].is_null(), "{}", rows[0]);
    assert_eq!(rows[1]["status"], "finished", "{}", rows[1]);
}

#[test]
fn a_failed_write_exits_1_and_bad_input_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let o = train_langevin(&file.join("run"), &["--steps", "2"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("could not"), "{}", stderr(&o));
    let help = run_mollify(&["--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("Exit codes") && help.contains("2 bad input") && help.contains("130"),
        "{help}"
    );
}

#[test]
fn real_data_without_ground_truth_trains_and_reports_no_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let simulated = dir.path().join("sim");
    run_mollify(&[
        "-q",
        "simulate",
        "heat",
        "--noise",
        "0.05",
        "--out",
        simulated.to_str().unwrap(),
    ]);
    // What a researcher has: the measurements, where they were taken, the known source.
    let mut ds = mollify_core::Dataset::load(&simulated).unwrap();
    ds.fields.retain(|_, f| f.role != mollify_core::Role::Truth);
    assert!(!ds.fields.contains_key("k"));
    let real = dir.path().join("real");
    ds.save(&real).unwrap();
    let out = dir.path().join("run");
    let mut args = vec![
        "-q",
        "train",
        "--data",
        real.to_str().unwrap(),
        "--steps",
        "5",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(TINY);
    run_mollify(&args);
    let (_, p) = io::read_path(&out.join("parameter.npy")).unwrap();
    assert_eq!(p.shape, vec![64, 64]);
    assert!(p.data.iter().all(|v| v.is_finite()));
    let s = json(&out.join("summary.json"));
    assert_eq!(s["status"], "finished");
    assert!(s.get("metrics").is_none(), "no truth, no metrics: {s}");
}

/// The microscopy path: localisations drawn from a known density become a chromatin dataset
/// whose density (read back from φ_w) correlates with the source, edges included, and `train`
/// runs on it with no truth; malformed point files are bad input.
#[test]
fn localisations_become_a_chromatin_dataset_that_trains_without_truth() {
    let dir = tempfile::tempdir().unwrap();
    let source = |x: f64, y: f64| {
        let s = |t: f64| (std::f64::consts::TAU * t / 1.6).sin().powi(2);
        0.2 + (-(s(x) + s(y)) / 0.3).exp()
    };
    // Rejection sampling on [0, 3.2]² from a fixed low-discrepancy sequence.
    let mut text = String::from("x,y\n");
    let (mut kept, mut i) = (0, 0u64);
    while kept < 100_000 {
        i += 1;
        let (a, b, c) = (
            (i as f64 * 0.754_877_666_2).fract(),
            (i as f64 * 0.569_840_290_9).fract(),
            (i as f64 * 0.618_033_988_7).fract(),
        );
        let (x, y) = (3.2 * a, 3.2 * b);
        if 1.2 * c < source(x, y) {
            text += &format!("{x},{y}\n");
            kept += 1;
        }
    }
    let points = dir.path().join("locs.csv");
    std::fs::write(&points, text).unwrap();
    let data = dir.path().join("data");
    let out = run_mollify(&[
        "localize",
        "--points",
        points.to_str().unwrap(),
        "--nodes",
        "64",
        "--extent",
        "0,3.2,0,3.2",
        "--out",
        data.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("100000 localisations"));
    let ds = mollify_core::Dataset::load(&data).unwrap();
    assert!(
        ds.fields
            .values()
            .all(|f| f.role != mollify_core::Role::Truth)
    );
    let rho: Vec<f64> = ds
        .field("phi_w")
        .unwrap()
        .iter()
        .map(|w| (0.75 - w) / 0.4)
        .collect();
    let corr = mollify_core::problems::pearson(&rho, &ds.grid.sample(source));
    println!("localisations → density: correlation {corr:.4} with the source (64², whole grid)");
    assert!(corr > 0.93, "{corr}");
    let run = dir.path().join("run");
    let mut args = vec![
        "-q",
        "train",
        "--data",
        data.to_str().unwrap(),
        "--steps",
        "5",
        "--out",
        run.to_str().unwrap(),
    ];
    args.extend(TINY);
    run_mollify(&args);
    let s = json(&run.join("summary.json"));
    assert_eq!(s["status"], "finished");
    assert!(s.get("metrics").is_none(), "no truth, no metrics: {s}");
    // One column only: not localisations.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "1\n2\n3\n").unwrap();
    let o = mollify(&[
        "localize",
        "--points",
        bad.to_str().unwrap(),
        "--out",
        dir.path().join("nothing").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("2 or 3 columns"), "{}", stderr(&o));
    assert!(!dir.path().join("nothing").exists());
}
