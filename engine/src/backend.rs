//! Backend choice (`auto | cpu | gpu`) and a runner that hides it: callers get the same
//! [`Prediction`] from either path, and a GPU failure at any point (device lost, out of memory,
//! a driver panic) is recorded for the caller and the CPU path takes over.

use crate::error::{Error, Result};
use crate::model::{Model, Prediction, Session};
use std::sync::Arc;

/// Environment variable read by [`BackendChoice::from_env`].
pub const BACKEND_ENV: &str = "AMTAG_BACKEND";

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

impl BackendChoice {
    /// The choice in `AMTAG_BACKEND`, if set.
    pub fn from_env() -> Result<Option<Self>> {
        match std::env::var(BACKEND_ENV) {
            Ok(v) => v.parse().map(Some),
            Err(_) => Ok(None),
        }
    }
}

/// A model session on the chosen backend.
pub struct Runner {
    model: Arc<Model>,
    threads: usize,
    cpu: Option<Session>,
    #[cfg(feature = "gpu")]
    gpu: Option<crate::gpu::GpuSession>,
    /// Why `auto` runs on the CPU, or the GPU failure that moved this runner there.
    notice: Option<String>,
    /// A GPU failure the caller has not taken yet.
    failure: Option<String>,
}

impl Runner {
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
                    Ok(Err(e)) if choice == BackendChoice::Gpu => {
                        return Err(Error::Gpu(e.to_string()))
                    }
                    Ok(Err(e)) => r.notice = Some(format!("no usable GPU ({e}); using the CPU")),
                    Err(_) if choice == BackendChoice::Gpu => {
                        return Err(Error::Gpu("GPU initialisation panicked".into()))
                    }
                    Err(_) => r.notice = Some("GPU initialisation panicked; using the CPU".into()),
                }
            }
            #[cfg(not(feature = "gpu"))]
            BackendChoice::Auto => {}
            #[cfg(not(feature = "gpu"))]
            BackendChoice::Gpu => {
                let _ = max_batch;
                return Err(Error::Gpu(
                    "this build has no GPU backend (engine feature `gpu`)".into(),
                ));
            }
        }
        if !r.is_gpu() {
            r.cpu = Some(Session::new(r.model.clone(), threads)?);
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

    /// Windows one call of [`Runner::run_batch`] hands to the device at once (1 on the CPU).
    pub fn batch_capacity(&self) -> usize {
        #[cfg(feature = "gpu")]
        if let Some(g) = &self.gpu {
            return g.capacity();
        }
        1
    }

    fn cpu(&mut self) -> Result<&mut Session> {
        if self.cpu.is_none() {
            self.cpu = Some(Session::new(self.model.clone(), self.threads)?);
        }
        Ok(self.cpu.as_mut().expect("just created"))
    }

    #[cfg(feature = "gpu")]
    fn fall_back(&mut self, why: String) {
        self.gpu = None;
        self.notice = Some(format!("GPU failed ({why}); continuing on the CPU"));
        self.failure = Some(why);
    }

    /// Runs `waves` (at most [`Runner::batch_capacity`]) on the GPU if it is in use; Ok(false)
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
                self.fall_back(panic_text(&p));
                Ok(false)
            }
        }
    }

    /// Tags one window of mono audio at the model rate (see [`Session::run`]).
    pub fn run(&mut self, wave: &[f32]) -> Result<Prediction<'_>> {
        #[cfg(feature = "gpu")]
        if self.try_gpu(&[wave])? {
            return Ok(self.gpu.as_ref().expect("ran on it").last().get(0));
        }
        self.cpu()?.run(wave)
    }

    /// Tags every window, calling `f(index, prediction)` once each, in order; the GPU takes up
    /// to [`Runner::batch_capacity`] windows per submission. After a GPU failure the CPU
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
                Err(p) => self.fall_back(panic_text(&p)),
            }
            done = delivered.get();
        }
        for (i, w) in waves.iter().enumerate().skip(done) {
            f(i, &self.cpu()?.run(w)?);
        }
        Ok(())
    }
}

#[cfg(feature = "gpu")]
fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    format!("panic in the GPU backend: {msg}")
}
