//! The GradBench protocol: one JSON message per line in, one response per
//! line out, matched by `id` (upstream `CONTRIBUTING.md`, "Protocol").
//!
//! - `start` → `{"id", "tool": "backprop"}`;
//! - `define` → `success` true when backprop has the module, else false
//!   with the reason (the eval then stops);
//! - `evaluate` → `success`, `output` and one `evaluate` timing per run,
//!   or `success: false` and an `error`;
//! - anything else (`analysis`) → just the `id`.

use serde_json::{json, Value};
use std::io::{self, BufRead, Write};

/// The tool name reported in the `start` response.
pub const TOOL: &str = "backprop";

/// The response to one message line. A line that is not a JSON object with
/// an `id` cannot be answered (the intermediary would not know which
/// message it belongs to), so it is an error.
pub fn respond(line: &str) -> Result<Value, String> {
    let message: Value =
        serde_json::from_str(line).map_err(|e| format!("message is not JSON: {e}"))?;
    let id = message
        .get("id")
        .cloned()
        .ok_or_else(|| format!("message has no id: {line}"))?;
    let kind = message.get("kind").and_then(Value::as_str).unwrap_or("");
    let module_name = message.get("module").and_then(Value::as_str).unwrap_or("");
    Ok(match kind {
        "start" => json!({ "id": id, "tool": TOOL }),
        "define" => match crate::module(module_name) {
            Ok(_) => json!({ "id": id, "success": true }),
            Err(error) => json!({ "id": id, "success": false, "error": error }),
        },
        "evaluate" => {
            let function = message
                .get("function")
                .and_then(Value::as_str)
                .unwrap_or("");
            let input = message.get("input").unwrap_or(&Value::Null);
            match crate::module(module_name).and_then(|eval| eval(function, input)) {
                Ok(done) => {
                    let timings: Vec<Value> = done
                        .timings
                        .iter()
                        .map(|ns| json!({ "name": "evaluate", "nanoseconds": ns }))
                        .collect();
                    json!({ "id": id, "success": true, "output": done.output, "timings": timings })
                }
                Err(error) => json!({ "id": id, "success": false, "error": error }),
            }
        }
        _ => json!({ "id": id }),
    })
}

/// Answers every message line of `input` on `output` until end of input,
/// flushing after each response (the eval waits for it before sending the
/// next message). Empty lines are skipped; an unanswerable line is
/// reported on stderr and skipped.
pub fn serve(input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match respond(&line) {
            Ok(response) => {
                serde_json::to_writer(&mut output, &response)?;
                output.write_all(b"\n")?;
                output.flush()?;
            }
            Err(e) => eprintln!("backprop gradbench: {e}"),
        }
    }
    Ok(())
}
