//! Why an eval is not answered: the reason `define` sends back with
//! `success: false`.

/// The reason backprop does not run the module `name`.
pub fn reason(name: &str) -> String {
    format!("backprop does not support {name:?}: no such GradBench eval is known to backprop")
}
