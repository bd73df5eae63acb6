//! The model on a GPU through wgpu (Vulkan, Metal, DX12): WGSL kernels (`engine/shaders/`) for every op
//! after the front end, which stays on the CPU.
//!
//! One [`GpuContext`] (device, compiled pipelines, uploaded weights) serves the whole process;
//! a [`GpuSession`] owns one stream's activation buffers and runs a batch of windows in one
//! submission, reading back only the outputs. Every wgpu failure, including device loss and
//! out-of-memory, surfaces as a [`GpuError`]; [`crate::Session`] then continues on the
//! CPU path.

mod context;
mod exec;
mod kernels;
mod plan;
mod session;
#[doc(hidden)]
pub mod testing;
mod weights;

pub use context::{AdapterPolicy, AdapterSummary, GpuContext};
pub(crate) use session::GpuSession;

pub use crate::error::GpuError;

impl GpuError {
    pub(crate) fn from_wgpu(e: wgpu::Error) -> Self {
        match e {
            wgpu::Error::OutOfMemory { .. } => GpuError::OutOfMemory(e.to_string()),
            wgpu::Error::Validation { description, .. } => GpuError::Validation(description),
            wgpu::Error::Internal { description, .. } => GpuError::Other(description),
        }
    }

    /// The same error with `what` prepended to its message.
    pub(crate) fn context(self, what: &str) -> Self {
        use GpuError::*;
        match self {
            NotBuilt => NotBuilt,
            NoAdapter(m) => NoAdapter(format!("{what}: {m}")),
            CpuEmulatedOnly(m) => CpuEmulatedOnly(m),
            Device(m) => Device(format!("{what}: {m}")),
            Validation(m) => Validation(format!("{what}: {m}")),
            OutOfMemory(m) => OutOfMemory(format!("{what}: {m}")),
            Lost(m) => Lost(m),
            Panic(m) => Panic(m),
            Unsupported(m) => Unsupported(format!("{what}: {m}")),
            Other(m) => Other(format!("{what}: {m}")),
        }
    }
}
