//! Turning dispatch descriptions into bind groups once, and running them: one command buffer,
//! one submission, one readback of the output buffer.

use super::context::GpuContext;
use super::kernels::{Bind, Dispatch};
use super::GpuError;
use std::num::NonZeroU64;
use std::time::Duration;

/// A wait longer than this means the device hung: give up and let the CPU path take over.
const SUBMISSION_TIMEOUT: Duration = Duration::from_secs(120);

struct Step {
    pipeline: wgpu::ComputePipeline,
    group: wgpu::BindGroup,
    grid: [u32; 3],
    label: String,
}

/// Dispatches with their bind groups; the parameter blocks live in one uniform buffer.
pub(crate) struct Plan {
    steps: Vec<Step>,
    _params: wgpu::Buffer,
}

/// Compiles (or fetches) each dispatch's pipeline and binds its resources; `resolve` maps the
/// symbolic buffers to real ones.
pub(crate) fn build_plan<A>(
    ctx: &GpuContext,
    ds: &[Dispatch<A>],
    resolve: &dyn Fn(&A) -> wgpu::Buffer,
) -> Result<Plan, GpuError> {
    let stride = (ctx.limits.min_uniform_buffer_offset_alignment as usize).max(256);
    let mut blob = vec![0u8; ds.len().max(1) * stride];
    for (i, d) in ds.iter().enumerate() {
        let bytes: &[u8] = bytemuck::cast_slice(&d.params);
        blob[i * stride..][..bytes.len()].copy_from_slice(bytes);
    }
    let pipelines = ds
        .iter()
        .map(|d| ctx.pipeline(d.kernel))
        .collect::<Result<Vec<_>, _>>()?;
    ctx.scoped(|| {
        let params = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("dispatch parameters"),
            size: blob.len() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        ctx.queue.write_buffer(&params, 0, &blob);
        let steps = ds
            .iter()
            .zip(pipelines)
            .enumerate()
            .map(|(i, (d, pipeline))| {
                let bufs: Vec<(u32, wgpu::Buffer)> = d
                    .binds
                    .iter()
                    .map(|(slot, b)| {
                        let buf = match b {
                            Bind::Act(a) => resolve(a),
                            Bind::Buf(buf) => buf.clone(),
                            Bind::Unused => ctx.dummy.clone(),
                        };
                        (*slot, buf)
                    })
                    .collect();
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &params,
                        offset: (i * stride) as u64,
                        size: NonZeroU64::new(256),
                    }),
                }];
                entries.extend(bufs.iter().map(|(slot, b)| wgpu::BindGroupEntry {
                    binding: *slot,
                    resource: b.as_entire_binding(),
                }));
                let group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &pipeline.get_bind_group_layout(0),
                    entries: &entries,
                });
                Step {
                    pipeline,
                    group,
                    grid: d.groups,
                    label: describe(d),
                }
            })
            .collect();
        Plan {
            steps,
            _params: params,
        }
    })
}

/// A command encoder holding one compute pass over `steps`.
fn encode(ctx: &GpuContext, steps: &[Step]) -> wgpu::CommandEncoder {
    let mut enc = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
    {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: None,
        });
        for s in steps {
            pass.set_pipeline(&s.pipeline);
            pass.set_bind_group(0, &s.group, &[]);
            pass.dispatch_workgroups(s.grid[0], s.grid[1], s.grid[2]);
        }
    }
    enc
}

/// The kernel, its first parameters (for a matrix product: m, n, k) and its grid.
fn describe<A>(d: &Dispatch<A>) -> String {
    let head: Vec<String> = d.params.iter().take(3).map(u32::to_string).collect();
    let name = match d.kernel.entry() {
        "main" => "matmul",
        other => other,
    };
    format!("{name} ({}) grid {:?}", head.join(","), d.groups)
}

/// Runs the plan one dispatch per submission and waits for each, returning each dispatch's label
/// and wall time. Every time includes a submission's fixed cost (tens of microseconds), so this
/// finds the slow kernels on a real GPU; it is not how a forward pass is timed.
pub(crate) fn profile(
    ctx: &GpuContext,
    plan: &Plan,
    input: (&wgpu::Buffer, &[f32]),
) -> Result<Vec<(String, Duration)>, GpuError> {
    ctx.scoped(|| {
        ctx.queue
            .write_buffer(input.0, 0, bytemuck::cast_slice(input.1))
    })?;
    let mut times = Vec::with_capacity(plan.steps.len());
    for s in &plan.steps {
        let t = std::time::Instant::now();
        let index = ctx.scoped(|| {
            ctx.queue
                .submit([encode(ctx, std::slice::from_ref(s)).finish()])
        })?;
        ctx.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: Some(SUBMISSION_TIMEOUT),
            })
            .map_err(|e| GpuError::Lost(format!("waiting for the GPU: {e}")))?;
        times.push((s.label.clone(), t.elapsed()));
    }
    ctx.check()?;
    Ok(times)
}

/// A submitted plan whose output is on its way to the mappable buffer.
pub(crate) struct Pending {
    mapped: std::sync::mpsc::Receiver<Result<(), wgpu::BufferAsyncError>>,
    index: wgpu::SubmissionIndex,
    bytes: u64,
}

/// Uploads `input` (buffer, data; copied at once, so the caller may reuse it), runs the plan,
/// and queues the copy of the first `floats` of `out.0` into the mappable `out.1`.
pub(crate) fn submit(
    ctx: &GpuContext,
    plan: &Plan,
    input: Option<(&wgpu::Buffer, &[f32])>,
    out: (&wgpu::Buffer, &wgpu::Buffer),
    floats: usize,
) -> Result<Pending, GpuError> {
    let (out, readback) = out;
    let bytes = (floats * 4) as u64;
    let (tx, rx) = std::sync::mpsc::channel();
    let index = ctx.scoped(|| {
        if let Some((buf, data)) = input {
            ctx.queue.write_buffer(buf, 0, bytemuck::cast_slice(data));
        }
        let mut enc = encode(ctx, &plan.steps);
        enc.copy_buffer_to_buffer(out, 0, readback, 0, bytes);
        let index = ctx.queue.submit([enc.finish()]);
        readback
            .slice(..bytes)
            .map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
        index
    })?;
    Ok(Pending {
        mapped: rx,
        index,
        bytes,
    })
}

/// Waits for a submission and copies its output from the mappable buffer into `dst`.
pub(crate) fn finish(
    ctx: &GpuContext,
    p: Pending,
    readback: &wgpu::Buffer,
    dst: &mut [f32],
) -> Result<(), GpuError> {
    let waited = ctx.device.poll(wgpu::PollType::Wait {
        submission_index: Some(p.index),
        timeout: Some(SUBMISSION_TIMEOUT),
    });
    if let Err(e) = waited {
        // A submission that never completes (device destroyed or reset, driver hang) leaves the
        // device in an unknown state: retire it.
        let e = GpuError::Lost(format!("waiting for the GPU: {e}"));
        ctx.mark_broken(e.clone());
        return Err(e);
    }
    p.mapped
        .recv_timeout(Duration::from_secs(5))
        .map_err(|_| GpuError::Other("readback never completed".into()))?
        .map_err(|e| GpuError::Other(format!("readback: {e}")))?;
    let read = readback
        .get_mapped_range(..p.bytes)
        .map(|view| {
            for (o, b) in dst.iter_mut().zip(view.chunks_exact(4)) {
                *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        })
        .map_err(|e| GpuError::Other(format!("readback: {e}")));
    readback.unmap();
    read?;
    ctx.check()
}

/// [`submit`] then [`finish`]: `dst.len()` floats of `out.0` end up in `dst`. Only the test
/// kit runs one submission to completion this way; sessions overlap them.
#[cfg(feature = "testkit")]
pub(crate) fn execute(
    ctx: &GpuContext,
    plan: &Plan,
    input: Option<(&wgpu::Buffer, &[f32])>,
    out: (&wgpu::Buffer, &wgpu::Buffer),
    dst: &mut [f32],
) -> Result<(), GpuError> {
    let pending = submit(ctx, plan, input, out, dst.len())?;
    finish(ctx, pending, out.1, dst)
}
