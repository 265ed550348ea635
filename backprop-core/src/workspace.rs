//! The reusable memory of a generated `NAME_grad_acc_with`.

/// Memory a gradient function reuses from call to call, so that a training
/// loop allocates nothing per sample.
///
/// `#[derive_grad]` generates `NAME_grad_acc_with(args…, &mut grad, &mut
/// workspace)`: a loop whose reverse sweep needs values the forward loop
/// overwrites (an RNN's hidden state, the results of `tanh` in a layer)
/// records them on a tape, and the tape lives here. The first call grows it
/// to the size the function needs; later calls reuse it. One workspace per
/// thread: it is `Send` but a call borrows it mutably.
///
/// ```
/// use backprop_core::Workspace;
/// let mut work = Workspace::<f64>::new();
/// assert_eq!(work.capacity(), 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Workspace<F> {
    /// The tape: values pushed by forward loops, popped by their reverses.
    /// Public for the generated code, not for users.
    #[doc(hidden)]
    pub tape: Vec<F>,
}

impl<F> Workspace<F> {
    /// An empty workspace (no memory until the first call).
    pub fn new() -> Self {
        Workspace { tape: Vec::new() }
    }

    /// The number of values the tape holds without allocating.
    pub fn capacity(&self) -> usize {
        self.tape.capacity()
    }
}
