//! Small real data sets shipped with the crate.

/// One flower of Fisher's iris data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IrisSample {
    /// Sepal length, sepal width, petal length, petal width, in cm.
    pub features: [f64; 4],
    /// The species: 0 setosa, 1 versicolor, 2 virginica (see
    /// [`IRIS_SPECIES`]).
    pub species: usize,
}

/// The species names, indexed by [`IrisSample::species`].
pub const IRIS_SPECIES: [&str; 3] = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"];

/// The CSV text of the iris data (`data/iris.csv`: a header line, then
/// `sepal_length,sepal_width,petal_length,petal_width,species`).
pub const IRIS_CSV: &str = include_str!("../data/iris.csv");

/// Fisher's iris data (R. A. Fisher, 1936; UCI Machine Learning
/// Repository): 150 flowers, 50 of each species in the order setosa,
/// versicolor, virginica, with four measurements each.
///
/// This is the data as Fisher published it — the same as R's `iris` and
/// scikit-learn's `load_iris`. (The UCI file `iris.data` has two known
/// transcription errors, in samples 35 and 38, which its own `iris.names`
/// documents; they are corrected here.)
///
/// ```
/// use backprop_core::datasets::iris;
/// let data = iris();
/// assert_eq!(data.len(), 150);
/// assert_eq!(data[0].features, [5.1, 3.5, 1.4, 0.2]);
/// assert_eq!(data[149].species, 2);
/// ```
pub fn iris() -> Vec<IrisSample> {
    parse_iris_csv(IRIS_CSV).expect("the bundled iris.csv is well formed")
}

/// Parses iris data in the format of [`IRIS_CSV`] (a header line is skipped
/// if its first field is not a number; blank lines are ignored).
///
/// # Errors
///
/// A message naming the 1-based line of the first malformed row.
pub fn parse_iris_csv(text: &str) -> Result<Vec<IrisSample>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if n == 0 && fields[0].parse::<f64>().is_err() {
            continue; // header
        }
        if fields.len() != 5 {
            return Err(format!(
                "line {}: expected 5 fields, found {}",
                n + 1,
                fields.len()
            ));
        }
        let mut features = [0.0; 4];
        for (f, s) in features.iter_mut().zip(&fields) {
            *f = s
                .parse()
                .map_err(|e| format!("line {}: {s:?}: {e}", n + 1))?;
        }
        let species = IRIS_SPECIES
            .iter()
            .position(|&name| name == fields[4])
            .ok_or_else(|| format!("line {}: unknown species {:?}", n + 1, fields[4]))?;
        out.push(IrisSample { features, species });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifty_of_each_species_in_order() {
        let d = iris();
        assert_eq!(d.len(), 150);
        for (i, s) in d.iter().enumerate() {
            assert_eq!(s.species, i / 50);
        }
    }

    #[test]
    fn column_means_match_r() {
        // R: colMeans(iris[1:4]) = 5.843333 3.057333 3.758000 1.199333
        let d = iris();
        let want = [5.843333, 3.057333, 3.758000, 1.199333];
        for (j, w) in want.into_iter().enumerate() {
            let mean = d.iter().map(|s| s.features[j]).sum::<f64>() / 150.0;
            assert!((mean - w).abs() < 1e-6, "column {j}: {mean}");
        }
    }

    #[test]
    fn column_sums_and_fisher_corrections() {
        // sums of the four columns in Fisher's data: 876.5, 458.6, 563.7, 179.9
        let d = iris();
        let want = [876.5, 458.6, 563.7, 179.9];
        for (j, w) in want.into_iter().enumerate() {
            let sum: f64 = d.iter().map(|s| s.features[j]).sum();
            assert!((sum - w).abs() < 1e-9, "column {j}: {sum}");
        }
        // the two rows UCI's iris.names says are wrong in iris.data
        assert_eq!(d[34].features, [4.9, 3.1, 1.5, 0.2]);
        assert_eq!(d[37].features, [4.9, 3.6, 1.4, 0.1]);
    }

    #[test]
    fn malformed_rows_are_reported() {
        assert_eq!(
            parse_iris_csv("1,2,3,4,Iris-setosa\n1,2,3\n").unwrap_err(),
            "line 2: expected 5 fields, found 3"
        );
        assert!(parse_iris_csv("1,2,3,4,Rose\n")
            .unwrap_err()
            .contains("unknown species"));
    }
}

/// One 8×8 image of the optical handwritten digits data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Digit {
    /// The 64 pixels row by row, each a count of set pixels in a 4×4 block
    /// of the original 32×32 bitmap: 0 to 16.
    pub pixels: [f64; 64],
    /// The digit, 0 to 9.
    pub label: usize,
}

/// The gzip-compressed CSV of the digits data (`data/digits.csv.gz`: 64
/// pixel counts and the digit per line, no header). Licence CC BY 4.0, see
/// `data/DIGITS-LICENSE.txt`.
pub const DIGITS_CSV_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");

/// The optical recognition of handwritten digits data (E. Alpaydin,
/// C. Kaynak; UCI Machine Learning Repository, 1998; CC BY 4.0): 1,797
/// images of 8×8 pixels, about 180 of each digit — the copy scikit-learn
/// ships as `load_digits`, in its order.
///
/// ```
/// use backprop_core::datasets::digits;
/// let data = digits();
/// assert_eq!(data.len(), 1797);
/// assert_eq!(data[0].label, 0);
/// assert_eq!(data[0].pixels[2..6], [5.0, 13.0, 9.0, 1.0]);
/// assert!(data.iter().all(|d| d.pixels.iter().all(|&p| (0.0..=16.0).contains(&p))));
/// ```
pub fn digits() -> Vec<Digit> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .expect("the bundled digits.csv.gz is valid gzip text");
    parse_digits_csv(&text).expect("the bundled digits.csv.gz is well formed")
}

/// Parses digits data in the format of [`DIGITS_CSV_GZ`] once decompressed
/// (65 integers per line; blank lines are ignored).
///
/// # Errors
///
/// A message naming the 1-based line of the first malformed row.
pub fn parse_digits_csv(text: &str) -> Result<Vec<Digit>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 65 {
            return Err(format!(
                "line {}: expected 65 fields (64 pixels and the digit), found {}",
                n + 1,
                fields.len()
            ));
        }
        let mut pixels = [0.0; 64];
        for (k, f) in fields[..64].iter().enumerate() {
            pixels[k] = match f.parse::<u8>() {
                Ok(v) if v <= 16 => f64::from(v),
                _ => {
                    return Err(format!(
                        "line {}: pixel {} is `{f}`, not a count from 0 to 16",
                        n + 1,
                        k + 1
                    ))
                }
            };
        }
        let label = match fields[64].parse::<usize>() {
            Ok(d) if d <= 9 => d,
            _ => {
                return Err(format!(
                    "line {}: the digit is `{}`, not 0 to 9",
                    n + 1,
                    fields[64]
                ))
            }
        };
        out.push(Digit { pixels, label });
    }
    Ok(out)
}
