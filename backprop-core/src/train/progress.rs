//! The progress bar [`train`](super::train) draws on a terminal.

use std::io::Write;
use std::time::{Duration, Instant};

/// A one-line progress bar (on standard error), redrawn after each epoch
/// and at most ten times a second within one.
pub(super) struct ProgressBar<W: Write> {
    pub(super) out: W,
    epochs: usize,
    batches: usize,
    start: Instant,
    last: Option<Instant>,
}

impl<W: Write> ProgressBar<W> {
    pub(super) fn new(out: W, epochs: usize, batches: usize) -> Self {
        ProgressBar {
            out,
            epochs,
            batches,
            start: Instant::now(),
            last: None,
        }
    }

    pub(super) fn update(&mut self, epoch: usize, batches_done: usize, batch_loss: f64) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        self.draw(epoch, batches_done, &format!("batch loss {batch_loss:.6}"));
    }

    pub(super) fn end_epoch(&mut self, epoch: usize, mean_loss: f64) {
        self.last = Some(Instant::now());
        self.draw(epoch + 1, 0, &format!("epoch loss {mean_loss:.6}"));
    }

    fn draw(&mut self, epoch: usize, batches_done: usize, tail: &str) {
        const WIDTH: usize = 30;
        let total = (self.epochs * self.batches).max(1);
        let done = (epoch * self.batches + batches_done).min(total);
        let filled = done * WIDTH / total;
        let bar: String = (0..WIDTH)
            .map(|i| if i < filled { '█' } else { '░' })
            .collect();
        let shown = epoch.min(self.epochs);
        let _ = write!(
            self.out,
            "\r\x1b[Kepoch {shown}/{} {bar} {:>3}% {tail} [{:.1}s]",
            self.epochs,
            done * 100 / total,
            self.start.elapsed().as_secs_f64()
        );
    }

    pub(super) fn finish(&mut self) {
        let _ = writeln!(self.out);
        let _ = self.out.flush();
    }
}
