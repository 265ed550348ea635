//! Checkpoints (feature `serde`): parameters, and an optimizer's state, saved
//! to and loaded from a JSON file.
//!
//! A checkpoint stores every element with its path (`.w1[3][2]`, as
//! [`Params::path`] writes it), so loading checks that the file was written
//! for parameters of the same shape, and a reader outside Rust can find a
//! weight by name. Values are written exactly (shortest round-trip decimal):
//! loading gives back the same bits, and a training run resumed from a
//! checkpoint continues exactly as if it had not stopped.
//!
//! Loading fills a value you already have (built with the same shape, as
//! PyTorch's `load_state_dict` fills a model), so any [`Params`] type works:
//! arrays of any length, `Vec`s, tuples, `#[derive(Params)]` structs.
//!
//! ```
//! use backprop_core::{checkpoint, Adam, Optimizer};
//!
//! let dir = std::env::temp_dir().join(format!("backprop-doc-{}", std::process::id()));
//! let file = dir.join("net.json");
//! let mut w = [1.0_f64, -2.0, 0.5];
//! let mut opt = Adam::new(0.1);
//! opt.step(&mut w, &[0.3, 0.1, -0.2]);
//! checkpoint::save(&file, &w, &opt)?;
//!
//! let (mut w2, mut opt2) = ([0.0_f64; 3], Adam::new(0.1));
//! checkpoint::load(&file, &mut w2, &mut opt2)?;
//! assert_eq!(w2, w);
//! assert_eq!(opt2.steps(), 1);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), checkpoint::CheckpointError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use num_traits::{NumCast, ToPrimitive};
use serde::{Deserialize, Serialize};

use crate::optim::Optimizer;
use crate::params::Params;

/// What went wrong saving or loading a checkpoint; every variant names the
/// file.
#[derive(Debug)]
pub enum CheckpointError {
    /// The file could not be written or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a checkpoint (not JSON, or not of this format).
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The checkpoint holds parameters of another shape than the value
    /// loaded into.
    Shape {
        /// The file.
        path: PathBuf,
        /// How the shapes differ (element count, or the first differing
        /// element's path).
        message: String,
    },
    /// An element is NaN or infinite, which JSON cannot hold.
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Which element (`params.w1[0][3]`, `optimizer buffer 1 .b2[4]`).
        element: String,
    },
    /// The optimizer's state cannot be saved or restored (a custom
    /// optimizer without [`Optimizer::restore`]).
    Optimizer {
        /// The file.
        path: PathBuf,
        /// The optimizer's message.
        message: String,
    },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Io { path, source } => {
                write!(f, "checkpoint {}: {source}", path.display())
            }
            CheckpointError::Format { path, message } => {
                write!(
                    f,
                    "checkpoint {}: not a backprop checkpoint: {message}",
                    path.display()
                )
            }
            CheckpointError::Shape { path, message } => write!(
                f,
                "checkpoint {}: written for parameters of another shape: {message}",
                path.display()
            ),
            CheckpointError::NonFinite { path, element } => write!(
                f,
                "checkpoint {}: {element} is not finite, and a checkpoint holds finite values only",
                path.display()
            ),
            CheckpointError::Optimizer { path, message } => {
                write!(
                    f,
                    "checkpoint {}: optimizer state: {message}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckpointError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The format's name, written first in every file.
pub const FORMAT: &str = "backprop-checkpoint";
/// The version of the format this crate writes and reads.
pub const VERSION: u32 = 1;

/// The file's contents.
#[derive(Serialize, Deserialize)]
struct File {
    format: String,
    version: u32,
    /// Each element's path, in flat order.
    paths: Vec<String>,
    params: Vec<f64>,
    /// `None` when only parameters were saved.
    optimizer: Option<OptimizerState>,
}

#[derive(Serialize, Deserialize)]
struct OptimizerState {
    steps: usize,
    /// Each buffer's elements (`None`: not created yet).
    buffers: Vec<Option<Vec<f64>>>,
}

/// Saves `params` (and nothing else) to `path`, replacing the file.
///
/// # Errors
///
/// [`CheckpointError`]: the file cannot be written, or an element is not
/// finite.
pub fn save_params<P: Params>(path: impl AsRef<Path>, params: &P) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    write(path, file_of(path, params, None)?)
}

/// Loads parameters saved by [`save_params`] or [`save`] into `params`,
/// which must have the same shape.
///
/// # Errors
///
/// [`CheckpointError`]: the file cannot be read, is not a checkpoint, or
/// holds parameters of another shape. `params` is unchanged on error.
pub fn load_params<P: Params>(
    path: impl AsRef<Path>,
    params: &mut P,
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let file = read(path)?;
    let values = checked(path, &file, params)?;
    fill(params, &values);
    Ok(())
}

/// Saves `params` and `optimizer`'s state (step count, moments) to `path`,
/// replacing the file.
///
/// # Errors
///
/// [`CheckpointError`]: the file cannot be written, or an element is not
/// finite.
pub fn save<P: Params, O: Optimizer<P> + ?Sized>(
    path: impl AsRef<Path>,
    params: &P,
    optimizer: &O,
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let mut buffers = Vec::new();
    for (k, b) in optimizer.state().into_iter().enumerate() {
        buffers.push(match b {
            None => None,
            Some(b) => Some(values_of(
                path,
                b,
                &format!("optimizer buffer {k} element "),
            )?),
        });
    }
    let state = OptimizerState {
        steps: optimizer.steps(),
        buffers,
    };
    write(path, file_of(path, params, Some(state))?)
}

/// Loads a checkpoint written by [`save`] into `params` and `optimizer`
/// (an optimizer of the same kind, built with the same hyperparameters:
/// they are not saved).
///
/// # Errors
///
/// [`CheckpointError`]: the file cannot be read, is not a checkpoint,
/// holds parameters of another shape or no optimizer state, or the
/// optimizer cannot restore it. Nothing is changed on error.
pub fn load<P: Params, O: Optimizer<P> + ?Sized>(
    path: impl AsRef<Path>,
    params: &mut P,
    optimizer: &mut O,
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let file = read(path)?;
    let values = checked(path, &file, params)?;
    let Some(state) = &file.optimizer else {
        return Err(CheckpointError::Format {
            path: path.to_owned(),
            message:
                "it holds parameters only (written by `save_params`): load it with `load_params`"
                    .into(),
        });
    };
    let mut buffers = Vec::new();
    for b in &state.buffers {
        buffers.push(match b {
            None => None,
            Some(v) => {
                if v.len() != values.len() {
                    return Err(CheckpointError::Shape {
                        path: path.to_owned(),
                        message: format!(
                            "an optimizer buffer has {} elements, the parameters {}",
                            v.len(),
                            values.len()
                        ),
                    });
                }
                let mut b = params.clone();
                fill(&mut b, v);
                Some(b)
            }
        });
    }
    optimizer
        .restore(state.steps, buffers)
        .map_err(|message| CheckpointError::Optimizer {
            path: path.to_owned(),
            message,
        })?;
    fill(params, &values);
    Ok(())
}

fn values_of<P: Params>(path: &Path, p: &P, what: &str) -> Result<Vec<f64>, CheckpointError> {
    let mut out = Vec::with_capacity(p.len());
    let mut bad = None;
    p.for_each(&mut |x| {
        let v = x.to_f64().unwrap_or(f64::NAN);
        if !v.is_finite() && bad.is_none() {
            bad = Some(out.len());
        }
        out.push(v);
    });
    match bad {
        Some(i) => Err(CheckpointError::NonFinite {
            path: path.to_owned(),
            element: format!("{what}`{}`", p.path(i)),
        }),
        None => Ok(out),
    }
}

fn file_of<P: Params>(
    path: &Path,
    params: &P,
    optimizer: Option<OptimizerState>,
) -> Result<File, CheckpointError> {
    Ok(File {
        format: FORMAT.to_owned(),
        version: VERSION,
        paths: (0..params.len()).map(|i| params.path(i)).collect(),
        params: values_of(path, params, "parameter ")?,
        optimizer,
    })
}

fn write(path: &Path, file: File) -> Result<(), CheckpointError> {
    let text = serde_json::to_string(&file).map_err(|e| CheckpointError::Format {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| CheckpointError::Io {
            path: path.to_owned(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| CheckpointError::Io {
        path: path.to_owned(),
        source,
    })
}

fn read(path: &Path) -> Result<File, CheckpointError> {
    let text = std::fs::read_to_string(path).map_err(|source| CheckpointError::Io {
        path: path.to_owned(),
        source,
    })?;
    let file: File = serde_json::from_str(&text).map_err(|e| CheckpointError::Format {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(CheckpointError::Format {
            path: path.to_owned(),
            message: format!(
                "format `{}` version {}, expected `{FORMAT}` version {VERSION}",
                file.format, file.version
            ),
        });
    }
    Ok(file)
}

/// The saved values, after checking they fit `params`.
fn checked<P: Params>(path: &Path, file: &File, params: &P) -> Result<Vec<f64>, CheckpointError> {
    let shape_error = |message: String| CheckpointError::Shape {
        path: path.to_owned(),
        message,
    };
    if file.params.len() != params.len() || file.paths.len() != params.len() {
        return Err(shape_error(format!(
            "it holds {} elements, the parameters have {}",
            file.params.len(),
            params.len()
        )));
    }
    if let Some(i) = (0..params.len()).find(|&i| file.paths[i] != params.path(i)) {
        return Err(shape_error(format!(
            "element {i} is `{}` in the file and `{}` here",
            file.paths[i],
            params.path(i)
        )));
    }
    Ok(file.params.clone())
}

fn fill<P: Params>(params: &mut P, values: &[f64]) {
    let mut k = 0;
    params.for_each_mut(&mut |x| {
        // f32 parameters were widened exactly to f64: this narrowing is exact.
        *x = NumCast::from(values[k]).unwrap_or_else(num_traits::Float::nan);
        k += 1;
    });
}
