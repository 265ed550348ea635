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
    #[cfg(feature = "manual")]
    manual::build();
}

/// With the feature `manual`: GradBench's hand-written C++ gmm, compiled
/// as upstream builds `manual` (`-O3 -march=native`), for `gmm_side`.
#[cfg(feature = "manual")]
mod manual {
    use std::path::PathBuf;

    pub fn build() {
        println!("cargo:rerun-if-changed=cpp/manual_gmm.cpp");
        println!("cargo:rerun-if-env-changed=GRADBENCH_DIR");
        // The harness's checkout (`../shared/gradbench/run --setup`).
        let dir = PathBuf::from(
            std::env::var("GRADBENCH_DIR").unwrap_or_else(|_| "/tmp/gradbench".into()),
        );
        let (cpp, manual) = (dir.join("cpp"), dir.join("tools/manual"));
        for needed in [cpp.join("json.hpp"), manual.join("gmm_d.hpp")] {
            assert!(
                needed.exists(),
                "the feature `manual` needs a GradBench checkout with {} \
                 (run `../shared/gradbench/run --setup`, or set GRADBENCH_DIR)",
                needed.display()
            );
        }
        cc::Build::new()
            .cpp(true)
            .file("cpp/manual_gmm.cpp")
            .include(&cpp)
            .include(&manual)
            .flag("-std=c++17")
            .flag("-march=native")
            .opt_level(3)
            .warnings(false)
            .compile("manual_gmm");
    }
}
