//! Round trips and bad-input handling for every data format and for dataset folders.
#![cfg(not(target_arch = "wasm32"))]

use mollify_core::data::io::{self, Array, Precision};
use mollify_core::problems::{Observation, Size, chromatin, heat};
use mollify_core::{Axis, Dataset, Grid, Role};

#[path = "support/xorshift.rs"]
mod xorshift;
use xorshift::XorShift;

fn npy(array: &Array, precision: Precision) -> Vec<u8> {
    let mut bytes = Vec::new();
    io::write_npy(&mut bytes, array, precision).unwrap();
    bytes
}

fn err_of<T: std::fmt::Debug>(r: mollify_core::Result<T>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn npy_round_trips_in_both_precisions_and_shapes() {
    let a2 = Array::new(vec![3, 4], (0..12).map(|i| i as f64 * 0.25 - 1.0).collect()).unwrap();
    let a1 = Array::new(vec![5], vec![1.0, -2.5, 3.125, 1e-7, 4e5]).unwrap();
    for a in [&a1, &a2] {
        assert_eq!(&io::read_npy(&npy(a, Precision::F64), "x.npy").unwrap(), a);
        let back = io::read_npy(&npy(a, Precision::F32), "x.npy").unwrap();
        assert_eq!(back.shape, a.shape);
        assert!(
            back.data
                .iter()
                .zip(&a.data)
                .all(|(x, y)| (x - y).abs() <= 1e-6 * y.abs())
        );
    }
    // The header numpy expects: magic, version 1.0, C order, little-endian f8.
    let bytes = npy(&a2, Precision::F64);
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let header = String::from_utf8_lossy(&bytes[10..80]);
    assert!(
        header.contains("'descr': '<f8'")
            && header.contains("'fortran_order': False")
            && header.contains("'shape': (3, 4,"),
        "{header}"
    );
}

#[test]
fn fortran_order_npy_is_returned_in_c_order() {
    // A hand-written numpy file: np.asfortranarray([[1, 2, 3], [4, 5, 6]], dtype='<f8').
    let mut header = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    let a = io::read_npy(&bytes, "f.npy").unwrap();
    assert_eq!(a.shape, vec![2, 3]);
    assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}

#[test]
fn bad_npy_files_are_named_and_explained() {
    let good = npy(
        &Array::new(vec![4], vec![1.0, 2.0, 3.0, 4.0]).unwrap(),
        Precision::F64,
    );
    let truncated = err_of(io::read_npy(&good[..good.len() - 5], "cut.npy"));
    assert!(
        truncated.starts_with("cut.npy:") && truncated.contains("truncated"),
        "{truncated}"
    );
    let garbage = err_of(io::read_npy(b"hello, this is not numpy", "junk.npy"));
    assert!(
        garbage.starts_with("junk.npy:") && garbage.contains("not a valid NPY"),
        "{garbage}"
    );
    assert!(err_of(io::read_npy(&[], "empty.npy")).contains("empty file"));
    let nan = npy(
        &Array::new(vec![2, 2], vec![1.0, f64::NAN, 0.0, 1.0]).unwrap(),
        Precision::F64,
    );
    let msg = err_of(io::read_npy(&nan, "nan.npy"));
    assert!(
        msg.contains("nan.npy") && msg.contains("[0, 1]") && msg.contains("not finite"),
        "{msg}"
    );
    let inf = npy(
        &Array::new(vec![2], vec![f64::INFINITY, 0.0]).unwrap(),
        Precision::F32,
    );
    assert!(err_of(io::read_npy(&inf, "inf.npy")).contains("not finite"));
    let mut ints = Vec::new();
    {
        use npyz::WriterBuilder;
        let mut w = npyz::WriteOptions::<i32>::new()
            .default_dtype()
            .shape(&[3])
            .writer(&mut ints)
            .begin_nd()
            .unwrap();
        w.extend([1, 2, 3]).unwrap();
        w.finish().unwrap();
    }
    assert!(err_of(io::read_npy(&ints, "ints.npy")).contains("unsupported dtype"));
}

#[test]
fn csv_grids_round_trip_and_bad_ones_are_explained() {
    let a = Array::new(vec![2, 3], vec![0.5, 1.0, -1.5, 2.0, 1e-9, 3.0]).unwrap();
    let mut text = Vec::new();
    io::write_csv_grid(&mut text, &a).unwrap();
    assert_eq!(
        io::read_csv_grid(std::str::from_utf8(&text).unwrap(), "g.csv").unwrap(),
        a
    );
    let column = io::read_csv_grid("# temperature\n1\n2\n3\n", "c.csv").unwrap();
    assert_eq!(column.shape, vec![3]);
    let ragged = err_of(io::read_csv_grid("1,2,3\n4,5\n", "r.csv"));
    assert!(
        ragged.contains("r.csv") && ragged.contains("line 2"),
        "{ragged}"
    );
    assert!(err_of(io::read_csv_grid("1,2\n3,abc\n", "w.csv")).contains("'abc' is not a number"));
    assert!(err_of(io::read_csv_grid("# only a comment\n\n", "e.csv")).contains("no data rows"));
    assert!(err_of(io::read_csv_grid("1,2\nnan,3\n", "n.csv")).contains("not finite"));
}

#[test]
fn csv_header_rows_name_grids_or_tables() {
    // Coordinate then value: a table, whose coordinates give the grid.
    let (grid, a) = io::decode(b"t,v\n0,1\n0.5,2\n1.0,4\n", "series.csv").unwrap();
    let grid = grid.expect("a t,v table carries its coordinates");
    assert_eq!(grid.x().step, 0.5);
    assert_eq!(a.data, vec![1.0, 2.0, 4.0]);
    // Other names: a plain grid below its header.
    let (grid, a) = io::decode(b"\"a\",\"b\"\n1,2\n3,4\n", "grid.csv").unwrap();
    assert!(grid.is_none());
    assert_eq!(
        (a.shape.clone(), a.data),
        (vec![2, 2], vec![1.0, 2.0, 3.0, 4.0])
    );
    // No header: every row is data; a bad later row is still named by its line.
    let (_, a) = io::decode(b"1,2\n3,4\n", "plain.csv").unwrap();
    assert_eq!(a.data.len(), 4);
    let e = err_of(io::decode(b"t,v\n0,1\n0.5,oops\n", "bad.csv"));
    assert!(e.contains("line 3") && e.contains("oops"), "{e}");
}

#[test]
fn comsol_tables_are_regridded_and_bad_ones_are_explained() {
    // A COMSOL-style export: % header lines, then X Y value rows in arbitrary order.
    let mut text = String::from("% Model: heat.mph\n% Dimension: 2\n% X  Y  T (K)\n");
    let mut rows: Vec<(usize, usize)> = (0..4).flat_map(|j| (0..3).map(move |i| (i, j))).collect();
    rows.reverse();
    for (i, j) in &rows {
        let (x, y) = (0.5 * *i as f64, 0.1 + 0.25 * *j as f64);
        text.push_str(&format!("{x} {y} {}\n", x + 10.0 * y));
    }
    let (grid, a) = io::read_table(&text, "export.txt").unwrap();
    assert_eq!(grid.shape(), vec![4, 3]);
    assert!((grid.x().step - 0.5).abs() < 1e-12 && (grid.y().unwrap().start - 0.1).abs() < 1e-12);
    for j in 0..4 {
        for i in 0..3 {
            let want = 0.5 * i as f64 + 10.0 * (0.1 + 0.25 * j as f64);
            assert!((a.data[j * 3 + i] - want).abs() < 1e-12);
        }
    }
    let missing: String = text
        .lines()
        .take(text.lines().count() - 1)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(err_of(io::read_table(&missing, "m.txt")).contains("missing or duplicate"));
    let uneven = "0 0 1\n1 0 1\n3 0 1\n0 1 1\n1 1 1\n3 1 1\n";
    let msg = err_of(io::read_table(uneven, "u.txt"));
    assert!(
        msg.contains("u.txt") && msg.contains("not uniformly spaced"),
        "{msg}"
    );
    let dup = "0 0 1\n1 0 1\n0 1 1\n0 1 2\n";
    assert!(err_of(io::read_table(dup, "d.txt")).contains("d.txt"));
    assert!(err_of(io::read_table("% nothing\n", "e.txt")).contains("no data rows"));
    assert!(err_of(io::read_table("0 0 1 5\n", "c.txt")).contains("columns"));
    let (g1, a1) = io::read_table("0.0 1\n0.5 2\n1.0 3\n", "line.dat").unwrap();
    assert_eq!((g1.ndim(), a1.data.clone()), (1, vec![1.0, 2.0, 3.0]));
    let unsorted = err_of(io::check_uniform(&[0.0, 0.2, 0.1], "t", "times.csv"));
    assert!(unsorted.contains("not strictly increasing"), "{unsorted}");
}

#[test]
fn datasets_round_trip_through_folders() {
    let dir = tempfile::tempdir().unwrap();
    let ds = heat::simulate(
        heat::Case::Smooth,
        heat::Form::NonDivergence,
        Size::Quick,
        &Observation {
            noise: 0.01,
            ..Observation::default()
        },
    )
    .unwrap();
    ds.save(dir.path()).unwrap();
    let back = Dataset::load(dir.path()).unwrap();
    assert_eq!(back, ds);
    // Each field is a plain NPY file of the grid's shape.
    let (_, t) = io::read_path(&dir.path().join("T.npy")).unwrap();
    assert_eq!(t.shape, vec![64, 64]);
}

/// The authors' layout: n + 1 nodes on the closed period [0, L], the last row and column
/// repeating the first. It loads as the n-node open grid the simulator writes, value for value;
/// an export whose end does not repeat its start is refused with the axis named.
#[test]
fn periodic_exports_with_both_ends_load_as_one_period() {
    let open = chromatin::simulate(
        chromatin::Case::Patterned,
        chromatin::Layout::Droplets,
        Size::Quick,
        &chromatin::Params::default(),
        &Observation {
            noise: 0.05,
            ..Observation::default()
        },
    )
    .unwrap();
    let [ny, nx] = open.grid.shape_2d();
    let mut closed = open.clone();
    for a in &mut closed.grid.axes {
        a.n += 1;
    }
    for f in closed.fields.values_mut() {
        f.values = (0..(ny + 1) * (nx + 1))
            .map(|q| f.values[(q / (nx + 1)) % ny * nx + (q % (nx + 1)) % nx])
            .collect();
    }
    let dir = tempfile::tempdir().unwrap();
    closed.save(dir.path()).unwrap();
    let back = Dataset::load(dir.path()).unwrap();
    assert_eq!(back.grid, open.grid);
    assert_eq!(back.fields, open.fields);
    assert_eq!(back.meta["closed_period_input"], true);
    // The last row disagrees with the first in a known field: not one period.
    let mut torn = closed.clone();
    let w = &mut torn.fields.get_mut("phi_w").unwrap().values;
    w[ny * (nx + 1) + 3] += 0.01;
    torn.save(dir.path()).unwrap();
    let msg = err_of(Dataset::load(dir.path()));
    assert!(
        msg.contains("phi_w") && msg.contains("does not repeat the first"),
        "{msg}"
    );
}

#[test]
fn bad_dataset_folders_are_explained_and_failed_writes_leave_old_data() {
    let dir = tempfile::tempdir().unwrap();
    let grid = Grid::d1(Axis::span("t", 5, 0.0, 1.0));
    let mut ds = Dataset::new("langevin", "constant", grid.clone());
    ds.insert("v", Role::Observed, vec![1.0; 5]);
    ds.save(dir.path()).unwrap();
    // A failed save (NaN in a field) writes nothing: the old dataset still loads unchanged.
    let mut bad = ds.clone();
    bad.insert("v", Role::Observed, vec![1.0, f64::NAN, 1.0, 1.0, 1.0]);
    let msg = err_of(bad.save(dir.path()));
    assert!(msg.contains("v") && msg.contains("not finite"), "{msg}");
    assert_eq!(Dataset::load(dir.path()).unwrap(), ds);
    // Mismatched shapes: a field file that does not fit the grid.
    let wrong = npy(&Array::new(vec![4], vec![0.0; 4]).unwrap(), Precision::F64);
    std::fs::write(dir.path().join("v.npy"), wrong).unwrap();
    let msg = err_of(Dataset::load(dir.path()));
    assert!(
        msg.contains("v.npy") && msg.contains("does not match the grid"),
        "{msg}"
    );
    // Missing and malformed manifests.
    let empty = tempfile::tempdir().unwrap();
    assert!(err_of(Dataset::load(empty.path())).contains("dataset.json"));
    std::fs::write(empty.path().join("dataset.json"), "{not json").unwrap();
    assert!(err_of(Dataset::load(empty.path())).contains("invalid manifest"));
    // Masks hold 0/1 only.
    let mut masked = Dataset::new("x", "y", grid);
    masked.insert("mask", Role::Mask, vec![0.0, 1.0, 0.5, 1.0, 0.0]);
    assert!(err_of(masked.validate()).contains("only 0 and 1"));
}

#[test]
fn atomic_writes_replace_whole_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("field.npy");
    io::write_atomic(&path, b"first").unwrap();
    io::write_atomic(&path, b"second version").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"second version");
    let missing = dir.path().join("no/such/dir/field.npy");
    assert!(err_of(io::write_atomic(&missing, b"x")).contains("no/such/dir"));
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn fem_tables_with_last_bit_coordinate_noise_are_snapped_to_their_grid() {
    // 201 × 201 nodes on [0, 10]², as a mesher writes them: every coordinate off by a few ulps,
    // the zero row/column scattered on both sides of 0 (x = −2e-17, 0, 1.1e-17), rows shuffled.
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut noisy = |v: f64| {
        let r = rng.next();
        if v == 0.0 {
            [-2e-17, 0.0, 1.1e-17][(r % 3) as usize]
        } else {
            v * (1.0 + [-2.0, -1.0, 0.0, 1.0, 2.0][(r % 5) as usize] * f64::EPSILON)
        }
    };
    let n = 201;
    let value = |x: f64, y: f64| x.sin() + (2.0 * y).cos();
    let mut rows: Vec<String> = Vec::new();
    for j in 0..n {
        for i in 0..n {
            let (x, y) = (10.0 * i as f64 / 200.0, 10.0 * j as f64 / 200.0);
            rows.push(format!("{} {} {}", noisy(x), noisy(y), value(x, y)));
        }
    }
    let mut order = XorShift(42);
    for k in (1..rows.len()).rev() {
        rows.swap(k, (order.next() % (k as u64 + 1)) as usize);
    }
    let text = format!("% X Y u\n{}\n", rows.join("\n"));
    assert!(text.contains("-0.00000000000000002") || text.contains("-2e-17"));
    let (grid, a) = io::read_table(&text, "mesh.txt").unwrap();
    assert_eq!(grid.shape(), vec![n, n]);
    for axis in &grid.axes {
        assert_eq!(axis.start, 0.0, "{axis:?}");
        assert!((axis.step - 0.05).abs() < 1e-14, "{axis:?}");
    }
    for j in 0..n {
        for i in 0..n {
            let want = value(0.05 * i as f64, 0.05 * j as f64);
            assert!((a.data[j * n + i] - want).abs() < 1e-12, "({i}, {j})");
        }
    }
    // A node a tenth of a step off its place is not noise: refused, named.
    let shifted = text.replacen("\n0 ", "\n0.005 ", 1);
    let msg = err_of(io::read_table(&shifted, "mesh.txt"));
    assert!(msg.starts_with("mesh.txt:"), "{msg}");
}

#[test]
fn manifest_axes_are_matched_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let grid = Grid::d2(Axis::span("y", 4, 0.0, 1.0), Axis::span("x", 6, 0.0, 2.0));
    let mut ds = Dataset::new("heat", "smooth", grid);
    ds.insert("T", Role::Observed, vec![0.5; 24]);
    ds.save(dir.path()).unwrap();
    let manifest = dir.path().join("dataset.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["grid"]["axes"].as_array_mut().unwrap().reverse();
    std::fs::write(&manifest, m.to_string()).unwrap();
    let msg = err_of(Dataset::load(dir.path()));
    assert!(
        msg.starts_with("dataset.json:") && msg.contains("[y, x]"),
        "{msg}"
    );
    m["grid"]["axes"][0]["name"] = "r".into();
    std::fs::write(&manifest, m.to_string()).unwrap();
    assert!(err_of(Dataset::load(dir.path())).contains("named [y, x]"));
}

#[test]
fn a_table_field_on_other_coordinates_than_the_manifest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let grid = Grid::d2(Axis::span("y", 3, 0.0, 1.0), Axis::span("x", 4, 0.0, 3.0));
    let mut ds = Dataset::new("heat", "smooth", grid.clone());
    ds.insert("T", Role::Observed, vec![0.5; 12]);
    ds.save(dir.path()).unwrap();
    let table = |dx: f64| -> String {
        let mut t = String::new();
        for j in 0..3 {
            for i in 0..4 {
                t.push_str(&format!("{} {} {}\n", dx * i as f64, 0.5 * j as f64, i + j));
            }
        }
        t
    };
    let manifest = dir.path().join("dataset.json");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("T.npy", "T.txt");
    std::fs::write(&manifest, text).unwrap();
    // Same grid: read, regridded.
    std::fs::write(dir.path().join("T.txt"), table(1.0)).unwrap();
    let back = Dataset::load(dir.path()).unwrap();
    assert_eq!(back.field("T").unwrap()[5], 2.0);
    // Same shape, other spacing: refused, naming both.
    std::fs::write(dir.path().join("T.txt"), table(2.0)).unwrap();
    let msg = err_of(Dataset::load(dir.path()));
    assert!(
        msg.starts_with("T.txt:") && msg.contains("x = 0..6") && msg.contains("x = 0..3"),
        "{msg}"
    );
}

#[test]
fn failed_writes_are_write_errors_not_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let e = io::write_atomic(&file.join("below-a-file.npy"), b"x").unwrap_err();
    assert!(matches!(e, mollify_core::Error::Write { .. }), "{e:?}");
    assert!(e.to_string().contains("could not write"), "{e}");
    let e = io::read_path(&dir.path().join("missing.npy")).unwrap_err();
    assert!(matches!(e, mollify_core::Error::Io { .. }), "{e:?}");
}
