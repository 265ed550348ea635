pub use backprop_macros::derive_grad;
