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
    macro_stages(&out);
}

/// The expansion-cost binary compiles backprop-macros' stages in-process
/// (they are written against proc-macro2; only its lib.rs touches
/// proc_macro): one `#[path]` module per `mod` line of that lib.rs, except
/// the test modules.
fn macro_stages(out: &std::path::Path) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../backprop-macros/src");
    let lib = dir.join("lib.rs");
    println!("cargo:rerun-if-changed={}", lib.display());
    let text = std::fs::read_to_string(&lib).unwrap();
    let mut mods = String::new();
    let mut cfg_test = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("#[cfg(test)]") {
            cfg_test = true;
            continue;
        }
        if let Some(name) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) {
            if !cfg_test {
                let path = dir.join(format!("{name}.rs"));
                writeln!(
                    mods,
                    "#[path = {:?}]\nmod {name};",
                    path.display().to_string()
                )
                .unwrap();
            }
        }
        cfg_test = false;
    }
    std::fs::write(out.join("macro_stages.rs"), mods).unwrap();
}
