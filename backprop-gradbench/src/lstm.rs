//! `lstm`: ADBench's LSTM objective (diagonal weight "matrices"), the mean
//! negative log-likelihood of each next character of a sequence, and its
//! gradient with respect to the main and extra parameters.

use crate::timing::{measure, Runs};
use crate::{parse, unknown_function, Evaluated};
use backprop::core::Workspace;
use backprop::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

/// The objective of upstream `lstm.hpp`. Flat row-major arrays:
/// `main[8b·layer ..]` holds that layer's weights (forget, ingate,
/// outgate, change; b each) then its biases in the same order; `extra` is
/// the input weights, output weights and output biases (b each); `state`
/// holds each layer's hidden then cell values; `seq` has `c` rows of `b`.
///
/// The weights are diagonal, so element i of every layer depends only on
/// element i of the layer below: the loop over elements runs all layers
/// for one element, and each time step's log-softmax term
/// Σᵢ gᵢ(yᵢ − lse) is accumulated as Σᵢ gᵢyᵢ − (Σᵢ gᵢ)·lse in the same pass.
/// This was the tool's objective while backprop could not differentiate
/// `lstm.hpp`'s form (LIMITATIONS.md, "Bug 1", fixed in commit a1ec357);
/// the tool now uses that form, [`lstm_objective_layers`] (as fast, or
/// faster), and this one stays as a cross-check: the same function up to
/// rounding, with the same gradient (tested).
#[allow(clippy::too_many_arguments)]
#[derive_grad(wrt(main, extra))]
pub fn lstm_objective(
    main: &[f64],
    extra: &[f64],
    state: &[f64],
    seq: &[f64],
    l: usize,
    c: usize,
    b: usize,
) -> f64 {
    let mut st = vec![0.0; l * 2 * b];
    for t in 0..l * 2 * b {
        st[t] = state[t];
    }
    let mut total = 0.0;
    for t in 0..c - 1 {
        let mut sum_exp = 0.0;
        let mut gold_pred = 0.0;
        let mut gold = 0.0;
        for i in 0..b {
            let mut input = seq[t * b + i] * extra[i];
            for layer in 0..l {
                let p = 8 * b * layer;
                let h = 2 * b * layer;
                let forget = sigmoid(input * main[p + i] + main[p + 4 * b + i]);
                let ingate = sigmoid(st[h + i] * main[p + b + i] + main[p + 5 * b + i]);
                let outgate = sigmoid(input * main[p + 2 * b + i] + main[p + 6 * b + i]);
                let change = (st[h + i] * main[p + 3 * b + i] + main[p + 7 * b + i]).tanh();
                st[h + b + i] = st[h + b + i] * forget + ingate * change;
                st[h + i] = outgate * st[h + b + i].tanh();
                input = st[h + i];
            }
            let ypred = input * extra[b + i] + extra[2 * b + i];
            sum_exp += ypred.exp();
            gold_pred += seq[(t + 1) * b + i] * ypred;
            gold += seq[(t + 1) * b + i];
        }
        // lstm.hpp's logsumexp adds 2 to the sum.
        let lse = (sum_exp + 2.0).ln();
        total += gold_pred - gold * lse;
    }
    -total / ((c - 1) * b) as f64
}

/// The same objective in upstream `lstm.hpp`'s form: per time step the
/// input row, then a layer at a time over all elements (`lstm_model`),
/// each layer reading the previous one's hidden state (copied into
/// `input`: `lstm.hpp` points at it), the predictions `ypred` in an array,
/// their log-sum-exp (plus 2, as `lstm.hpp`'s `logsumexp`), and
/// Σᵢ goldᵢ·(ypredᵢ − lse) in a last pass. Equal to [`lstm_objective`] up
/// to rounding, and so are the gradients (tested). The tool's `objective`
/// and `jacobian`.
#[allow(clippy::too_many_arguments)]
#[derive_grad(wrt(main, extra))]
pub fn lstm_objective_layers(
    main: &[f64],
    extra: &[f64],
    state: &[f64],
    seq: &[f64],
    l: usize,
    c: usize,
    b: usize,
) -> f64 {
    let mut st = vec![0.0; l * 2 * b];
    for t in 0..l * 2 * b {
        st[t] = state[t];
    }
    let mut input = vec![0.0; b];
    let mut ypred = vec![0.0; b];
    let mut total = 0.0;
    for t in 0..c - 1 {
        for i in 0..b {
            input[i] = seq[t * b + i] * extra[i];
        }
        for layer in 0..l {
            let p = 8 * b * layer;
            let h = 2 * b * layer;
            for i in 0..b {
                let forget = sigmoid(input[i] * main[p + i] + main[p + 4 * b + i]);
                let ingate = sigmoid(st[h + i] * main[p + b + i] + main[p + 5 * b + i]);
                let outgate = sigmoid(input[i] * main[p + 2 * b + i] + main[p + 6 * b + i]);
                let change = (st[h + i] * main[p + 3 * b + i] + main[p + 7 * b + i]).tanh();
                st[h + b + i] = st[h + b + i] * forget + ingate * change;
                st[h + i] = outgate * st[h + b + i].tanh();
            }
            for i in 0..b {
                input[i] = st[h + i];
            }
        }
        for i in 0..b {
            ypred[i] = input[i] * extra[b + i] + extra[2 * b + i];
        }
        let mut sum = 0.0;
        for i in 0..b {
            sum += ypred[i].exp();
        }
        let lse = (sum + 2.0).ln();
        for i in 0..b {
            total += seq[(t + 1) * b + i] * (ypred[i] - lse);
        }
    }
    -total / ((c - 1) * b) as f64
}

/// The eval's `LSTMInput` (without the `Runs` fields).
#[derive(Deserialize)]
struct Input {
    main_params: Vec<Vec<f64>>,
    extra_params: Vec<Vec<f64>>,
    state: Vec<Vec<f64>>,
    sequence: Vec<Vec<f64>>,
}

/// Answers `objective` and `jacobian` (main then extra gradient, flat).
pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, String> {
    let i: Input = parse(input)?;
    let l = i.main_params.len() / 2;
    let b = i.main_params.first().map_or(0, Vec::len) / 4;
    let c = i.sequence.len();
    let (main, extra, state, seq) = (
        i.main_params.concat(),
        i.extra_params.concat(),
        i.state.concat(),
        i.sequence.concat(),
    );
    if l == 0 || c < 2 || main.len() != 8 * b * l || extra.len() != 3 * b {
        return Err("inconsistent LSTM input shapes".into());
    }
    if state.len() != 2 * b * l || seq.len() != c * b {
        return Err("inconsistent LSTM state or sequence shape".into());
    }
    let runs = Runs::of(input);
    let (output, timings) = match function {
        "objective" => {
            let (v, t) = measure(runs, || {
                lstm_objective_layers(&main, &extra, &state, &seq, l, c, b)
            });
            (json!(v), t)
        }
        "jacobian" => {
            let mut grad = (vec![0.0; main.len()], vec![0.0; extra.len()]);
            let mut work = Workspace::new();
            let (_, t) = measure(runs, || {
                grad.0.fill(0.0);
                grad.1.fill(0.0);
                lstm_objective_layers_grad_acc_with(
                    &main, &extra, &state, &seq, l, c, b, &mut grad, &mut work,
                )
            });
            (json!([&grad.0[..], &grad.1[..]].concat()), t)
        }
        _ => return Err(unknown_function("lstm", function)),
    };
    Ok(Evaluated { output, timings })
}
