use std::path::PathBuf;

/// Everything that can go wrong when loading a model or running it. Each variant carries enough
/// context to be shown to a user as one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read model file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not a valid safetensors model file: {0}")]
    NotSafetensors(String),
    #[error("model file has no Audio Mamba config (metadata key `{0}` missing)")]
    MissingConfig(&'static str),
    #[error("invalid model config: {0}")]
    Config(String),
    #[error("model format version {found} is newer than this build supports ({supported}); update Audio Mamba")]
    FutureFormat { found: u32, supported: u32 },
    #[error("tensor `{name}` is missing from the model file (expected shape {expected:?})")]
    MissingTensor { name: String, expected: Vec<usize> },
    #[error("tensor `{name}` has shape {actual:?}, expected {expected:?}")]
    ShapeMismatch {
        name: String,
        expected: Vec<usize>,
        actual: Vec<usize>,
    },
    #[error("tensor `{name}` has dtype {dtype}, expected F32, F16 or BF16")]
    BadDtype { name: String, dtype: String },
    #[error("tensor `{name}` contains NaN or infinite values")]
    NonFiniteTensor { name: String },
    #[error("unexpected tensor `{0}` in model file (not part of this config)")]
    UnexpectedTensor(String),
    #[error("input has {got} samples, the model window holds at most {max}")]
    InputTooLong { got: usize, max: usize },
    #[error("unsupported sample rate {0} Hz (supported: 1 kHz to 768 kHz)")]
    SampleRate(u32),
    #[error("resampler: {0}")]
    Resample(String),
    /// The GPU backend failed; callers may rerun on the CPU.
    #[error("GPU backend: {0}")]
    Gpu(#[from] GpuError),
}

/// What went wrong on the GPU backend.
#[derive(Clone, Debug, thiserror::Error)]
pub enum GpuError {
    #[error("this build has no GPU backend (engine feature `gpu`)")]
    NotBuilt,
    #[error("{0}")]
    NoAdapter(String),
    #[error("only a CPU-emulated GPU adapter is available ({0}); ask for the gpu backend explicitly to use it")]
    CpuEmulatedOnly(String),
    #[error("cannot open the GPU device: {0}")]
    Device(String),
    #[error("GPU validation error: {0}")]
    Validation(String),
    #[error("GPU out of memory: {0}")]
    OutOfMemory(String),
    #[error("GPU device lost: {0}")]
    Lost(String),
    #[error("model does not fit the GPU's limits: {0}")]
    Unsupported(String),
    /// A panic inside the GPU stack (driver or wgpu), caught before it reached the caller.
    #[error("panic in the GPU backend: {0}")]
    Panic(String),
    #[error("GPU error: {0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
