//! Why an eval is not answered: the reasons `define` sends back with
//! `success: false`. Each points to a reproduction in `LIMITATIONS.md`.

/// The reason backprop does not run the module `name`.
pub fn reason(name: &str) -> String {
    let why = match name {
        "det" => {
            "expansion by minors is recursive, and a #[derive_grad] function can only pass \
             floats and float arrays to another (not the matrix slice, nor the integers \
             saying which minor); see backprop-gradbench/LIMITATIONS.md, limit 2"
        }
        _ => "no such GradBench eval is known to backprop",
    };
    format!("backprop does not support {name:?}: {why}")
}
