//! What callers hold: one [`Session`] per stream, on the backend chosen (`auto | cpu | gpu`).
//! Callers get the same [`Prediction`] from either executor, and a GPU failure at any point
//! (device lost, out of memory, a driver panic) is recorded for the caller and the CPU path
//! takes over.

use crate::error::{Error, GpuError, Result};
use crate::graph::Tap;
use crate::model::{CpuSession, Model, Prediction};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendChoice {
    /// A real GPU (discrete, integrated or virtual) when one is usable, else the CPU.
    #[default]
    Auto,
    Cpu,
    /// Any GPU adapter, CPU-emulated ones (lavapipe) included; failing that, an error.
    Gpu,
}

impl std::str::FromStr for BackendChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "gpu" => Ok(Self::Gpu),
            other => Err(Error::Config(format!(
                "unknown backend `{other}` (expected auto, cpu or gpu)"
            ))),
        }
    }
}

impl std::fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
        })
    }
}

/// One stream of windows through a model, on the chosen backend.
pub struct Session {
    model: Arc<Model>,
    threads: usize,
    cpu: Option<CpuSession>,
    #[cfg(feature = "gpu")]
    gpu: Option<crate::gpu::GpuSession>,
    /// Why `auto` runs on the CPU, or the GPU failure that moved this runner there.
    notice: Option<String>,
    /// A GPU failure the caller has not taken yet.
    failure: Option<String>,
}

impl Session {
    /// A session on the CPU with `threads` threads.
    pub fn cpu(model: Arc<Model>, threads: usize) -> Result<Self> {
        Self::new(model, threads, BackendChoice::Cpu, 1)
    }

    /// `threads` serve the CPU path (or the GPU path's CPU front end); `max_batch` bounds the
    /// windows of one GPU submission.
    pub fn new(
        model: Arc<Model>,
        threads: usize,
        choice: BackendChoice,
        max_batch: usize,
    ) -> Result<Self> {
        let mut r = Self {
            model,
            threads,
            cpu: None,
            #[cfg(feature = "gpu")]
            gpu: None,
            notice: None,
            failure: None,
        };
        match choice {
            BackendChoice::Cpu => {}
            #[cfg(feature = "gpu")]
            BackendChoice::Auto | BackendChoice::Gpu => {
                use crate::gpu::{AdapterPolicy, GpuSession};
                let policy = match choice {
                    BackendChoice::Gpu => AdapterPolicy::Any,
                    _ => AdapterPolicy::RealGpu,
                };
                let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    GpuSession::new(r.model.clone(), max_batch, threads, policy)
                }));
                match made {
                    Ok(Ok(g)) => r.gpu = Some(g),
                    Ok(Err(e)) if choice == BackendChoice::Gpu => return Err(Error::Gpu(e)),
                    Ok(Err(e)) => r.notice = Some(format!("no usable GPU ({e}); using the CPU")),
                    Err(p) if choice == BackendChoice::Gpu => {
                        return Err(Error::Gpu(panic_error(&p)))
                    }
                    Err(_) => r.notice = Some("GPU initialisation panicked; using the CPU".into()),
                }
            }
            #[cfg(not(feature = "gpu"))]
            BackendChoice::Auto => {}
            #[cfg(not(feature = "gpu"))]
            BackendChoice::Gpu => {
                let _ = max_batch;
                return Err(Error::Gpu(GpuError::NotBuilt));
            }
        }
        if !r.is_gpu() {
            r.cpu = Some(CpuSession::new(r.model.clone(), threads)?);
        }
        Ok(r)
    }

    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    pub fn is_gpu(&self) -> bool {
        #[cfg(feature = "gpu")]
        if self.gpu.is_some() {
            return true;
        }
        false
    }

    /// The backend in use, for users: `gpu: <adapter>` or `cpu (N threads)`.
    pub fn describe(&self) -> String {
        #[cfg(feature = "gpu")]
        if let Some(g) = &self.gpu {
            return format!("gpu: {}", g.context().adapter());
        }
        format!("cpu ({} threads)", self.threads.max(1))
    }

    /// Why this runner is on the CPU although a GPU was allowed, if it is.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// The GPU failure that moved this runner to the CPU, once; later calls return None.
    pub fn take_gpu_failure(&mut self) -> Option<String> {
        self.failure.take()
    }

    /// Windows one call of [`Session::run_batch`] hands to the device at once (1 on the CPU).
    pub fn batch_capacity(&self) -> usize {
        #[cfg(feature = "gpu")]
        if let Some(g) = &self.gpu {
            return g.capacity();
        }
        1
    }

    /// The process's GPU device, while this session runs on it.
    #[cfg(feature = "gpu")]
    pub fn gpu_context(&self) -> Option<&Arc<crate::gpu::GpuContext>> {
        self.gpu.as_ref().map(|g| g.context())
    }

    /// As [`Session::run`], calling `tap` with intermediate activations. Taps are observed on
    /// the CPU executor, whichever backend the session runs on.
    pub fn run_with_taps(
        &mut self,
        wave: &[f32],
        tap: &mut (dyn FnMut(Tap, &[f32]) + Send),
    ) -> Result<Prediction<'_>> {
        self.cpu_session()?.run_with_taps(wave, tap)
    }

    /// Runs `waves` (at most [`Session::batch_capacity`]) on the GPU one dispatch at a time:
    /// each dispatch's label and wall time, for finding the slow kernels on a real device.
    pub fn profile(&mut self, waves: &[&[f32]]) -> Result<Vec<(String, std::time::Duration)>> {
        #[cfg(feature = "gpu")]
        if let Some(g) = self.gpu.as_mut() {
            return g.profile(waves);
        }
        let _ = waves;
        Err(Error::Gpu(GpuError::NoAdapter(
            "profiling runs on the GPU backend; this session is on the CPU".into(),
        )))
    }

    fn cpu_session(&mut self) -> Result<&mut CpuSession> {
        if self.cpu.is_none() {
            self.cpu = Some(CpuSession::new(self.model.clone(), self.threads)?);
        }
        Ok(self.cpu.as_mut().expect("just created"))
    }

    #[cfg(feature = "gpu")]
    fn fall_back(&mut self, why: GpuError) {
        self.gpu = None;
        self.notice = Some(format!("GPU failed ({why}); continuing on the CPU"));
        self.failure = Some(why.to_string());
    }

    /// Runs `waves` (at most [`Session::batch_capacity`]) on the GPU if it is in use; Ok(false)
    /// when the CPU must do it (no GPU, or the GPU just failed).
    #[cfg(feature = "gpu")]
    fn try_gpu(&mut self, waves: &[&[f32]]) -> Result<bool> {
        let Some(g) = self.gpu.as_mut() else {
            return Ok(false);
        };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            g.run_batch(waves).map(|_| ())
        }));
        match r {
            Ok(Ok(())) => Ok(true),
            Ok(Err(Error::Gpu(why))) => {
                self.fall_back(why);
                Ok(false)
            }
            Ok(Err(e)) => Err(e),
            Err(p) => {
                self.fall_back(panic_error(&p));
                Ok(false)
            }
        }
    }

    /// Tags one window of mono audio at the model rate. Shorter input is zero-padded at the
    /// end; NaN and infinite samples are treated as silence.
    pub fn run(&mut self, wave: &[f32]) -> Result<Prediction<'_>> {
        #[cfg(feature = "gpu")]
        if self.try_gpu(&[wave])? {
            return Ok(self.gpu.as_ref().expect("ran on it").last().get(0));
        }
        self.cpu_session()?.run(wave)
    }

    /// Tags every window, calling `f(index, prediction)` once each, in order; the GPU takes up
    /// to [`Session::batch_capacity`] windows per submission. After a GPU failure the CPU
    /// continues from the first window not yet delivered.
    pub fn run_batch(
        &mut self,
        waves: &[&[f32]],
        f: &mut dyn FnMut(usize, &Prediction),
    ) -> Result<()> {
        #[allow(unused_mut)]
        let mut done = 0;
        #[cfg(feature = "gpu")]
        if let Some(g) = self.gpu.as_mut() {
            let delivered = std::cell::Cell::new(0);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                g.run_stream(waves, &mut |i, p| {
                    f(i, p);
                    delivered.set(i + 1);
                })
            }));
            match r {
                Ok(Ok(())) => return Ok(()),
                Ok(Err((_, Error::Gpu(why)))) => self.fall_back(why),
                Ok(Err((_, e))) => return Err(e),
                Err(p) => self.fall_back(panic_error(&p)),
            }
            done = delivered.get();
        }
        for (i, w) in waves.iter().enumerate().skip(done) {
            f(i, &self.cpu_session()?.run(w)?);
        }
        Ok(())
    }
}

#[cfg(feature = "gpu")]
fn panic_error(p: &Box<dyn std::any::Any + Send>) -> GpuError {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    GpuError::Panic(msg)
}

/// Starts of the windows that cover a recording of `len` samples, `hop` apart, the last one
/// ending at the recording's end (one window at 0, zero-padded, when it is shorter): how
/// `amtag` and learned tags lay windows over a file.
pub fn window_starts(len: usize, window: usize, hop: usize) -> Vec<usize> {
    let mut starts: Vec<usize> = (0..)
        .map(|i| i * hop.max(1))
        .take_while(|&s| s + window < len)
        .collect();
    let last = len.saturating_sub(window);
    if starts.last() != Some(&last) {
        starts.push(last);
    }
    starts
}
