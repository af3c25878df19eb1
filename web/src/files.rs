//! Users' files: datasets in (the CLI's dataset folder: `dataset.json` plus the NPY/CSV field
//! files it names) and recovered fields out (NPY or CSV), through the core's readers and writers.

use mollify_core::Dataset;
use mollify_core::data::dataset::MANIFEST;
use mollify_core::data::io::{self, Array, Precision};

/// Rebuilds a dataset from the files a user picked; every failure names the file at fault.
pub fn dataset_from_files(files: &[(String, Vec<u8>)]) -> Result<Dataset, String> {
    let base = |name: &str| name.rsplit(['/', '\\']).next().unwrap_or(name).to_string();
    let manifest = files
        .iter()
        .find(|(n, _)| base(n) == MANIFEST)
        .ok_or_else(|| {
            let names: Vec<String> = files.iter().map(|(n, _)| base(n)).collect();
            format!(
                "no {MANIFEST} among the chosen files ({}): choose all files of a dataset folder \
             (`mollify simulate` writes one); a lone .npy/.csv has no grid or problem",
                names.join(", ")
            )
        })?;
    Dataset::from_files(&manifest.1, |wanted| {
        files
            .iter()
            .find(|(n, _)| base(n) == wanted)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| {
                mollify_core::Error::data(wanted, format!("named in {MANIFEST} but not chosen"))
            })
    })
    .map_err(|e| e.to_string())
}

/// A recovered field as file bytes: `.npy` (float32) or `.csv` by the name's extension.
pub fn export(values: &[f32], shape: [usize; 2], file_name: &str) -> Result<Vec<u8>, String> {
    let shape = if shape[0] == 1 {
        vec![shape[1]]
    } else {
        shape.to_vec()
    };
    let array = Array::new(shape, values.iter().map(|&v| f64::from(v)).collect())
        .map_err(|e| e.to_string())?;
    io::encode(&array, file_name, Precision::F32).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mollify_core::problems::{self, Observation, Size};

    fn heat_files() -> Vec<(String, Vec<u8>)> {
        problems::builtin("heat")
            .unwrap()
            .simulate(None, Size::Quick, &Observation::default())
            .unwrap()
            .to_files()
            .unwrap()
    }

    #[test]
    fn a_dataset_folder_round_trips() {
        let files = heat_files();
        let ds = dataset_from_files(&files).unwrap();
        assert_eq!(
            (ds.problem.as_str(), ds.grid.shape()),
            ("heat", vec![64, 64])
        );
    }

    #[test]
    fn bad_files_are_named() {
        let mut files = heat_files();
        files.retain(|(n, _)| n != MANIFEST);
        let err = dataset_from_files(&files).unwrap_err();
        assert!(err.contains("no dataset.json"), "{err}");
        let mut files = heat_files();
        let victim = files.iter_mut().find(|(n, _)| n.ends_with(".npy")).unwrap();
        let name = victim.0.clone();
        victim.1.truncate(20);
        let err = dataset_from_files(&files).unwrap_err();
        assert!(err.contains(&name), "{err}");
        let mut files = heat_files();
        files.retain(|(n, _)| n != &name);
        let err = dataset_from_files(&files).unwrap_err();
        assert!(err.contains("not chosen"), "{err}");
    }

    #[test]
    fn exports_read_back() {
        let values = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        for name in ["k.npy", "k.csv"] {
            let bytes = export(&values, [2, 3], name).unwrap();
            let (_, back) = io::decode(&bytes, name).unwrap();
            assert_eq!(back.shape, vec![2, 3]);
            assert_eq!(back.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        }
    }
}
