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

/// Runs `graph` over `weights` for `windows` windows on `ctx` in one submission: `inputs` are
/// written to their activations first (every window's back to back, as the executor lays them
/// out), and `output`'s floats are read back. For the test kit, which runs graph fragments.
#[cfg(feature = "testkit")]
pub(crate) fn run_graph(
    ctx: &GpuContext,
    graph: &crate::graph::Graph,
    weights: &crate::graph::weights::Weights<crate::graph::weights::Host>,
    windows: usize,
    inputs: &[(crate::graph::Act, &[f32])],
    output: crate::graph::Act,
) -> Result<Vec<f32>, GpuError> {
    use plan::Buf;
    let w = weights::upload(ctx.upload_target(), weights)?;
    let rec = plan::record(graph, &w, windows);
    let bufs: std::collections::HashMap<Buf, wgpu::Buffer> = ctx.scoped(|| {
        rec.needs
            .iter()
            .map(|(&b, &n)| {
                let buf = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("fragment activation"),
                    size: (n.max(4) * 4) as u64,
                    usage: wgpu::BufferUsages::STORAGE
                        | wgpu::BufferUsages::COPY_DST
                        | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                });
                (b, buf)
            })
            .collect()
    })?;
    for (a, data) in inputs {
        let buf = &bufs[&Buf::Act(*a)];
        ctx.queue.write_buffer(buf, 0, bytemuck::cast_slice(data));
    }
    let floats = rec.needs[&Buf::Act(output)];
    let readback = ctx.scoped(|| {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("fragment readback"),
            size: (floats.max(4) * 4) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    })?;
    let plan = exec::build_plan(ctx, &rec.dispatches, &|b: &Buf| bufs[b].clone())?;
    let mut out = vec![0.0; floats];
    exec::execute(
        ctx,
        &plan,
        None,
        (&bufs[&Buf::Act(output)], &readback),
        &mut out,
    )?;
    Ok(out)
}
