//! symdiff cannot read loops, so the 100-variable Rosenbrock function is
//! unrolled here into the one expression symdiff needs, in its own idiom
//! (`powi(2)`, as in its README).

use std::fmt::Write;

fn main() {
    let mut terms = Vec::new();
    for i in 0..99 {
        terms.push(format!(
            "100.0 * (x[{}] - x[{i}].powi(2)).powi(2) + (1.0 - x[{i}]).powi(2)",
            i + 1
        ));
    }
    let mut src = String::new();
    writeln!(
        src,
        "/// 7: symdiff, the 100-variable Rosenbrock sum unrolled by build.rs."
    )
    .unwrap();
    writeln!(src, "#[symdiff::gradient(var = x, dim = 100)]").unwrap();
    writeln!(src, "pub fn symdiff_rosenbrock(x: &[f64]) -> f64 {{").unwrap();
    writeln!(src, "    {}", terms.join("\n        + ")).unwrap();
    writeln!(src, "}}").unwrap();
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("symdiff_rosenbrock.rs"), src).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
}
