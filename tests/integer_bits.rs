//! Integer bit operators and bit counts in losses: `& | ^ << >> !`, their
//! compound assignments, `trailing_zeros`, `count_ones` and the other bit
//! counts, on integers computed at run time (they decide which elements
//! are read; no derivative flows through them). Checked through the macro
//! against the original (bit for bit), a hand gradient and central
//! differences.

#![allow(clippy::needless_range_loop)]

mod common;

use backprop::prelude::*;
use common::{assert_near, central_slice};

/// `Σ_i (bit i of mask ? w_i² : −w_i)`, plus the element at the first
/// clear bit of `mask` times the number of set bits, plus the element the
/// top bits pick.
#[derive_grad]
fn masked(w: &[f64], mask: u64) -> f64 {
    let mut s = 0.0;
    let mut m = mask;
    for i in 0..w.len() {
        if m & 1 == 1 {
            s += w[i] * w[i];
        } else {
            s -= w[i];
        }
        m >>= 1;
    }
    let first_clear = (!mask).trailing_zeros() as usize;
    let mut top = mask.leading_zeros() as usize ^ 3;
    top |= (mask << 2 >> 62) as usize;
    s + w[first_clear] * mask.count_ones() as f64 + w[top % w.len()]
}

#[test]
fn bits_decide_what_is_read() {
    let w: Vec<f64> = (0..8).map(|i| (i as f64 * 0.7 + 0.2).sin()).collect();
    for mask in [0b1011_0111u64, 0, 0b10, 0b0111_1111, 0x4000_0000_0000_00f3] {
        let (v, g) = masked_grad(&w, mask);
        assert_eq!(v.to_bits(), masked(&w, mask).to_bits(), "mask {mask:#x}");
        let first_clear = (!mask).trailing_zeros() as usize;
        let top = ((mask.leading_zeros() as usize) ^ 3) | (mask << 2 >> 62) as usize;
        let mut hand: Vec<f64> = (0..8)
            .map(|i| if mask >> i & 1 == 1 { 2.0 * w[i] } else { -1.0 })
            .collect();
        hand[first_clear] += mask.count_ones() as f64;
        hand[top % 8] += 1.0;
        assert_near(&g, &hand, 1e-15, &format!("mask {mask:#x}: by hand"));
        let fd = central_slice(|w| masked(w, mask), &w);
        assert_near(
            &g,
            &fd,
            1e-8,
            &format!("mask {mask:#x}: central differences"),
        );
    }
    // The first clear bit past the end: both panic, at the same read.
    let mask = u64::MAX >> 1;
    let original = std::panic::catch_unwind(|| masked(&w, mask)).unwrap_err();
    let generated = std::panic::catch_unwind(|| masked_grad(&w, mask)).unwrap_err();
    let text = |e: &Box<dyn std::any::Any + Send>| e.downcast_ref::<String>().cloned();
    assert_eq!(text(&original), text(&generated));
    assert!(text(&original).unwrap().contains("index is 63"));
}

/// `x ^= …`, `x &= …`, `x <<= …` and `count_zeros` in a loop that stays
/// a loop, choosing the element each iteration reads.
#[derive_grad]
fn scrambled(w: &[f64], seed: u32) -> f64 {
    let mut state = seed;
    let mut s = 0.0;
    for _ in 0..w.len() {
        state ^= state << 3;
        state &= 0x7fff_ffff;
        let k = (state.count_zeros() as usize + state.trailing_ones() as usize) % w.len();
        s += w[k].sin();
    }
    s
}

#[test]
fn bit_state_carried_by_a_loop() {
    let w: Vec<f64> = (0..5).map(|i| 0.3 * i as f64 - 0.4).collect();
    for seed in [1u32, 12345, 0xdead_beef] {
        let (v, g) = scrambled_grad(&w, seed);
        assert_eq!(v.to_bits(), scrambled(&w, seed).to_bits());
        let mut hand = vec![0.0; 5];
        let mut state = seed;
        for _ in 0..5 {
            state ^= state << 3;
            state &= 0x7fff_ffff;
            let k = (state.count_zeros() as usize + state.trailing_ones() as usize) % 5;
            hand[k] += w[k].cos();
        }
        assert_near(&g, &hand, 1e-15, &format!("seed {seed}: by hand"));
    }
}
