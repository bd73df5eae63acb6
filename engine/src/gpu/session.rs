//! One stream on the GPU: activation buffers sized once for the largest batch, bind groups
//! built once per batch size, one submission and one small readback per batch.

use super::context::{AdapterPolicy, GpuContext};
use super::exec::{self, Plan};
use super::kernels::Dispatch;
use super::plan::{self, Buf};
use super::weights::GpuWeights;
use super::GpuError;
use crate::error::{Error, Result};
use crate::frontend::{check_window, Frontend};
use crate::graph::{Act, OutLayout};
use crate::model::{Model, Prediction};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// One stream on the GPU executor (private: callers hold the backend-neutral
/// [`crate::Session`]).
pub(crate) struct GpuSession {
    ctx: Arc<GpuContext>,
    model: Arc<Model>,
    weights: Arc<GpuWeights>,
    capacity: usize,
    acts: HashMap<Buf, wgpu::Buffer>,
    plans: HashMap<usize, Plan>,
    readback: wgpu::Buffer,
    pool: Option<rayon::ThreadPool>,
    frontends: Vec<Frontend>,
    waves: Vec<f32>,
    image: Vec<f32>,
    out: Vec<f32>,
    layout: OutLayout,
    /// Windows in the last batch run.
    last: usize,
}

/// Outputs of a batch, borrowed from the session.
pub(crate) struct GpuBatch<'a> {
    out: &'a [f32],
    len: usize,
    layout: OutLayout,
}

impl<'a> GpuBatch<'a> {
    pub fn len(&self) -> usize {
        self.len
    }
    /// Window `i`'s prediction, the same shape as the CPU session's.
    pub fn get(&self, i: usize) -> Prediction<'a> {
        assert!(i < self.len, "window {i} of a batch of {}", self.len);
        Prediction::from_out(&self.out[i * self.layout.len()..], self.layout)
    }
}

impl GpuSession {
    /// A session on the process's shared device running up to `max_batch` windows per
    /// submission (fewer where the adapter's buffer limits require), with `threads` threads for
    /// the CPU front end. It runs one silent window, so a model the device cannot run fails here.
    pub fn new(
        model: Arc<Model>,
        max_batch: usize,
        threads: usize,
        policy: AdapterPolicy,
    ) -> Result<Self, GpuError> {
        let ctx = GpuContext::shared(policy)?;
        Self::with_context(ctx, model, max_batch, threads)
    }

    pub fn with_context(
        ctx: Arc<GpuContext>,
        model: Arc<Model>,
        max_batch: usize,
        threads: usize,
    ) -> Result<Self, GpuError> {
        let weights = ctx.weights(&model)?;
        let cfg = model.config();
        let graph = model.graph();
        let per_window = plan::record(graph, &weights, 1);
        let largest = per_window.needs.values().copied().max().unwrap_or(1) as u64 * 4;
        let limit = ctx
            .limits
            .max_storage_buffer_binding_size
            .min(ctx.limits.max_buffer_size)
            .min(u32::MAX as u64);
        // Matrix-product grids grow with the batch along y, capped per dimension.
        let rows = per_window
            .dispatches
            .iter()
            .map(|d| d.groups[1])
            .max()
            .unwrap_or(1);
        let by_grid = (ctx.limits.max_compute_workgroups_per_dimension / rows.max(1)) as u64;
        let capacity = (limit / largest).min(by_grid).min(max_batch.max(1) as u64) as usize;
        if capacity == 0 {
            return Err(GpuError::Unsupported(format!(
                "one window needs a {largest}-byte buffer and {rows} workgroup rows, the adapter \
                 allows {limit} bytes and {} rows",
                ctx.limits.max_compute_workgroups_per_dimension
            )));
        }
        let (full, needs) = plan::record_up_to(graph, &weights, capacity);
        let acts = ctx.scoped(|| {
            needs
                .iter()
                .map(|(&a, &n)| {
                    let buf = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("activation"),
                        size: (n.max(4) * 4) as u64,
                        usage: wgpu::BufferUsages::STORAGE
                            | wgpu::BufferUsages::COPY_DST
                            | wgpu::BufferUsages::COPY_SRC,
                        mapped_at_creation: false,
                    });
                    (a, buf)
                })
                .collect::<HashMap<_, _>>()
        })?;
        let out_floats = needs[&Buf::Act(Act::Out)];
        let readback = ctx.scoped(|| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size: (out_floats * 4) as u64,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })?;
        let threads = threads.max(1);
        let pool = (threads > 1)
            .then(|| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("amba-gpu-fe-{i}"))
                    .build()
                    .map_err(|e| GpuError::Other(format!("cannot start {threads} threads: {e}")))
            })
            .transpose()?;
        let (rows, cols) = cfg.image_size();
        let layout = model.graph().out;
        let mut s = Self {
            frontends: (0..capacity)
                .map(|_| Frontend::new(&cfg.frontend, model.bn0()))
                .collect(),
            waves: vec![0.0; capacity * cfg.clip_samples()],
            image: vec![0.0; capacity * rows * cols],
            out: vec![0.0; out_floats],
            layout,
            last: 0,
            capacity,
            acts,
            plans: HashMap::new(),
            readback,
            pool,
            weights,
            model,
            ctx,
        };
        let plan = s.plan(capacity, &full.dispatches)?;
        s.plans.insert(capacity, plan);
        s.run_batch(&[&[]]).map_err(|e| match e {
            Error::Gpu(g) => g,
            other => GpuError::Other(other.to_string()),
        })?;
        Ok(s)
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// Windows one submission holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn plan(&self, windows: usize, ds: &[Dispatch<Buf>]) -> Result<Plan, GpuError> {
        let acts = &self.acts;
        exec::build_plan(&self.ctx, ds, &|a: &Buf| acts[a].clone())
            .map_err(|e| e.context(&format!("plan for {windows} windows")))
    }

    /// Tags up to [`GpuSession::capacity`] windows in one submission. Each wave is mono at the
    /// model rate; shorter ones are zero-padded and non-finite samples count as silence, as on
    /// the CPU. GPU failures come back as [`Error::Gpu`].
    pub fn run_batch(&mut self, waves: &[&[f32]]) -> Result<GpuBatch<'_>> {
        let n = self.prepare_batch(waves)?;
        let pending = self.submit(n).map_err(gpu_err)?;
        self.collect(n, pending).map_err(gpu_err)?;
        Ok(self.last())
    }

    /// Tags any number of windows, [`GpuSession::capacity`] per submission, calling
    /// `f(index, prediction)` in order. While the GPU runs one batch the CPU computes the next
    /// batch's front end. On a GPU failure, `Err((delivered, error))`: windows before
    /// `delivered` were handed to `f`.
    pub fn run_stream(
        &mut self,
        waves: &[&[f32]],
        f: &mut dyn FnMut(usize, &Prediction),
    ) -> Result<(), (usize, Error)> {
        self.check_lengths(waves).map_err(|e| (0, e))?;
        let cap = self.capacity;
        let mut chunks = waves.chunks(cap).enumerate().peekable();
        let Some((_, first)) = chunks.peek() else {
            return Ok(());
        };
        self.prepare(first).map_err(|e| (0, e))?;
        let mut pending = self.submit(first.len()).map_err(|e| (0, gpu_err(e)))?;
        while let Some((i, chunk)) = chunks.next() {
            let next = chunks.peek().map(|(_, c)| *c);
            if let Some(next) = next {
                // The current batch's image is already copied into the queue.
                self.prepare(next).map_err(|e| (i * cap, e))?;
            }
            self.collect(chunk.len(), pending)
                .map_err(|e| (i * cap, gpu_err(e)))?;
            let batch = self.last();
            for j in 0..batch.len() {
                f(i * cap + j, &batch.get(j));
            }
            match next {
                Some(next) => {
                    pending = self
                        .submit(next.len())
                        .map_err(|e| ((i + 1) * cap, gpu_err(e)))?
                }
                None => break,
            }
        }
        Ok(())
    }

    /// Runs `waves` one dispatch at a time (see [`exec::profile`]): each dispatch's label and
    /// wall time, for finding the slow kernels on a real device.
    pub fn profile(&mut self, waves: &[&[f32]]) -> Result<Vec<(String, std::time::Duration)>> {
        let n = self.prepare_batch(waves)?;
        let img = self.image.len() / self.capacity;
        exec::profile(
            &self.ctx,
            &self.plans[&n],
            (&self.acts[&Buf::Act(Act::Image)], &self.image[..n * img]),
        )
        .map_err(gpu_err)
    }

    /// Checks one batch and computes its front end and plan; the window count.
    fn prepare_batch(&mut self, waves: &[&[f32]]) -> Result<usize> {
        let n = waves.len();
        if n == 0 || n > self.capacity {
            return Err(Error::Gpu(GpuError::Other(format!(
                "a batch holds 1 to {} windows, got {n}",
                self.capacity
            ))));
        }
        self.check_lengths(waves)?;
        self.prepare(waves)?;
        Ok(n)
    }

    fn check_lengths(&self, waves: &[&[f32]]) -> Result<()> {
        let clip = self.model.config().clip_samples();
        waves.iter().try_for_each(|w| check_window(w, clip))
    }

    /// The front end of `waves` (their lengths checked) into the host image, and the plan for
    /// their count.
    fn prepare(&mut self, waves: &[&[f32]]) -> Result<()> {
        let n = waves.len();
        self.frontend(waves)?;
        if !self.plans.contains_key(&n) {
            let rec = plan::record(self.model.graph(), &self.weights, n);
            let plan = self.plan(n, &rec.dispatches)?;
            self.plans.insert(n, plan);
        }
        Ok(())
    }

    fn submit(&self, n: usize) -> Result<exec::Pending, GpuError> {
        let img = self.image.len() / self.capacity;
        exec::submit(
            &self.ctx,
            &self.plans[&n],
            Some((&self.acts[&Buf::Act(Act::Image)], &self.image[..n * img])),
            (&self.acts[&Buf::Act(Act::Out)], &self.readback),
            n * self.layout.len(),
        )
    }

    fn collect(&mut self, n: usize, pending: exec::Pending) -> Result<(), GpuError> {
        let out_floats = n * self.layout.len();
        exec::finish(
            &self.ctx,
            pending,
            &self.readback,
            &mut self.out[..out_floats],
        )?;
        self.last = n;
        Ok(())
    }

    /// The outputs of the last successful batch.
    pub fn last(&self) -> GpuBatch<'_> {
        GpuBatch {
            out: &self.out[..self.last * self.layout.len()],
            len: self.last,
            layout: self.layout,
        }
    }

    /// Front end of every window on the CPU, in parallel when the session has threads.
    fn frontend(&mut self, waves: &[&[f32]]) -> Result<()> {
        let clip = self.model.config().clip_samples();
        let img = self.image.len() / self.capacity;
        let n = waves.len();
        let (fes, waves_buf, image) = (&mut self.frontends[..n], &mut self.waves, &mut self.image);
        match &self.pool {
            Some(pool) => pool.install(|| {
                fes.par_iter_mut()
                    .zip(waves_buf.par_chunks_mut(clip))
                    .zip(image.par_chunks_mut(img))
                    .zip(waves.par_iter())
                    .try_for_each(|(((fe, buf), image), w)| fe.window(w, buf, image))
            }),
            None => fes
                .iter_mut()
                .zip(waves_buf.chunks_mut(clip))
                .zip(image.chunks_mut(img))
                .zip(waves.iter())
                .try_for_each(|(((fe, buf), image), w)| fe.window(w, buf, image)),
        }
    }
}

fn gpu_err(e: GpuError) -> Error {
    Error::Gpu(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelConfig;

    /// Every batch size a session accepts finds its activations allocated large enough, also
    /// where a small batch splits k and the full one does not (the H200 run that found this
    /// panicked at batch 64 with "no entry found for key").
    #[test]
    fn activations_cover_every_batch_size() {
        let ctx = match GpuContext::shared(AdapterPolicy::Any) {
            Ok(c) => c,
            Err(e) => {
                assert!(!crate::env::require_gpu(), "{e}");
                return;
            }
        };
        let json = include_str!("../../../training/configs/nano.json");
        let cfg = ModelConfig::from_json(json).unwrap();
        let model = Arc::new(Model::random(cfg.clone(), 3).unwrap());
        let weights = ctx.weights(&model).unwrap();
        let cap = 48;
        let (_, needs) = plan::record_up_to(model.graph(), &weights, cap);
        let mut split_somewhere = false;
        for n in 1..=cap {
            let rec = plan::record(model.graph(), &weights, n);
            split_somewhere |= rec.needs.contains_key(&Buf::Partial);
            for (a, f) in &rec.needs {
                assert!(
                    needs.get(a).is_some_and(|&have| have >= *f),
                    "{a:?} at {n} windows"
                );
            }
        }
        assert!(
            split_somewhere,
            "nano never splits k: the test covers nothing"
        );
        let at_cap = plan::record(model.graph(), &weights, cap).needs;
        assert!(
            at_cap.get(&Buf::Partial).copied().unwrap_or(0) < needs[&Buf::Partial],
            "the full batch needs the most partials: the case is not covered"
        );
    }
}
