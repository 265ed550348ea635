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

/// With the feature `manual`: GradBench's hand-written C++ tool, one
/// object per eval (`cpp/manual_eval.cpp`), compiled as upstream's
/// Makefile builds `manual` (`-O3 -march=native`, no OpenMP), for `side`.
#[cfg(feature = "manual")]
mod manual {
    use std::path::PathBuf;

    /// Each eval and its two functions, with `manual`'s class for each.
    const EVALS: [(&str, [(&str, &str); 2]); 9] = [
        (
            "llsq",
            [("primal", "llsq::Primal"), ("gradient", "Gradient")],
        ),
        ("lse", [("primal", "lse::Primal"), ("gradient", "Gradient")]),
        ("ode", [("primal", "ode::Primal"), ("gradient", "Gradient")]),
        ("det", [("primal", "det::Primal"), ("gradient", "Gradient")]),
        (
            "gmm",
            [("objective", "gmm::Objective"), ("jacobian", "Jacobian")],
        ),
        ("kmeans", [("cost", "kmeans::Cost"), ("dir", "Dir")]),
        (
            "lstm",
            [("objective", "lstm::Objective"), ("jacobian", "Jacobian")],
        ),
        (
            "ba",
            [("objective", "ba::Objective"), ("jacobian", "Jacobian")],
        ),
        (
            "ht",
            [("objective", "ht::Objective"), ("jacobian", "Jacobian")],
        ),
    ];

    pub fn build() {
        println!("cargo:rerun-if-changed=cpp/manual_eval.cpp");
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
        let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
        // The libraries go to the `side` binary only (cargo would give
        // them to the package's library).
        let link = |lib: &str| {
            println!(
                "cargo:rustc-link-arg-bin=side={}",
                out.join(lib).join(format!("lib{lib}.a")).display()
            );
        };
        for (eval, [(first, first_class), (second, second_class)]) in EVALS {
            cc::Build::new()
                .cpp(true)
                .cargo_metadata(false)
                .file("cpp/manual_eval.cpp")
                .include(&cpp)
                .include(&manual)
                .define("EVAL", eval)
                .define("EVAL_CPP", format!("\"{eval}.cpp\"").as_str())
                .define("FIRST", first)
                .define("FIRST_CLASS", first_class)
                .define("SECOND", second)
                .define("SECOND_CLASS", second_class)
                .flag("-std=c++17")
                .flag("-march=native")
                .opt_level(3)
                .warnings(false)
                .out_dir(out.join(format!("manual_{eval}")))
                .compile(&format!("manual_{eval}"));
        }
        let table: String = EVALS
            .iter()
            .map(|(eval, _)| format!("X({eval}) "))
            .collect();
        cc::Build::new()
            .cpp(true)
            .cargo_metadata(false)
            .file("cpp/manual_table.cpp")
            .out_dir(out.join("manual_table"))
            .define("EVALS", table.as_str())
            .opt_level(2)
            .compile("manual_table");
        // The table first: it calls into the evals' libraries.
        link("manual_table");
        for (eval, _) in EVALS {
            link(&format!("manual_{eval}"));
        }
        println!("cargo:rustc-link-arg-bin=side=-lstdc++");
        println!("cargo:rerun-if-changed=cpp/manual_table.cpp");
    }
}
