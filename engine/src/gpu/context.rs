//! The process-wide GPU device: adapter choice, compiled pipelines, uploaded weights, and the
//! error plumbing that turns every wgpu failure into a [`GpuError`] instead of a panic.

use super::kernels::Kernel;
use super::weights::{self, GpuWeights};
use super::GpuError;
use crate::model::Model;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};

/// Which adapters a caller accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdapterPolicy {
    /// Discrete, integrated or virtual GPUs only: a CPU-emulated adapter (lavapipe, WARP) is
    /// slower than the engine's own CPU path.
    RealGpu,
    /// Any adapter, CPU-emulated included (tests, or `--backend gpu` on a machine without one).
    Any,
}

/// The adapter a context runs on, as reported to users.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    /// True for software adapters (lavapipe reports `Cpu`).
    pub cpu_emulated: bool,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {})", self.name, self.backend, self.device_type)?;
        if self.cpu_emulated {
            f.write_str(", CPU-emulated")?;
        }
        Ok(())
    }
}

pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) limits: wgpu::Limits,
    adapter: AdapterSummary,
    /// First fatal condition seen outside an error scope (device lost, uncaptured error).
    broken: Arc<Mutex<Option<GpuError>>>,
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<Kernel, wgpu::ComputePipeline>>,
    weights: Mutex<Vec<(Weak<Model>, Arc<GpuWeights>)>>,
    /// Bound where a kernel declares an input that this dispatch does not use.
    pub(crate) dummy: wgpu::Buffer,
}

static SHARED: Mutex<Option<Arc<GpuContext>>> = Mutex::new(None);
/// Why `RealGpu` found nothing, remembered: enumerating adapters opens a Vulkan instance, and
/// a plugin activates (and asks again) many times in a session on a machine without a GPU.
static NO_REAL_GPU: Mutex<Option<GpuError>> = Mutex::new(None);

fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

impl GpuContext {
    /// The process's device, created on first use and replaced after a device loss. Every
    /// model and session (and every plugin instance) shares it.
    pub fn shared(policy: AdapterPolicy) -> Result<Arc<GpuContext>, GpuError> {
        let mut slot = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        let mut no_real = NO_REAL_GPU.lock().unwrap_or_else(|p| p.into_inner());
        if policy == AdapterPolicy::RealGpu && slot.is_none() {
            if let Some(e) = no_real.as_ref() {
                return Err(e.clone());
            }
        }
        let ctx = match slot.as_ref() {
            Some(c) if c.check().is_ok() => c.clone(),
            _ => {
                let c = match Self::create(policy) {
                    Ok(c) => Arc::new(c),
                    Err(e) => {
                        if policy == AdapterPolicy::RealGpu
                            && matches!(e, GpuError::NoAdapter(_) | GpuError::CpuEmulatedOnly(_))
                        {
                            *no_real = Some(e.clone());
                        }
                        return Err(e);
                    }
                };
                *slot = Some(c.clone());
                c
            }
        };
        if policy == AdapterPolicy::RealGpu && ctx.adapter.cpu_emulated {
            return Err(GpuError::CpuEmulatedOnly(ctx.adapter.to_string()));
        }
        Ok(ctx)
    }

    /// Picks the best adapter (discrete > integrated > virtual > other > CPU) and opens a device
    /// with the adapter's own limits (the WebGPU defaults cap storage buffers at 128 MiB).
    fn create(policy: AdapterPolicy) -> Result<Self, GpuError> {
        // wgpu's Vulkan loader or a driver may panic on a broken install: keep that out of the
        // caller (a plugin host).
        std::panic::catch_unwind(|| Self::create_inner(policy)).unwrap_or_else(|_| {
            Err(GpuError::NoAdapter(
                "GPU adapter enumeration panicked".into(),
            ))
        })
    }

    fn create_inner(policy: AdapterPolicy) -> Result<Self, GpuError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let mut adapters = block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        adapters.sort_by_key(|a| rank(a.get_info().device_type));
        let adapter = adapters.into_iter().next().ok_or_else(|| {
            GpuError::NoAdapter("no Vulkan, Metal or DX12 adapter found (install a GPU driver, or mesa-vulkan-drivers for the CPU-emulated lavapipe)".into())
        })?;
        let info = adapter.get_info();
        let summary = AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            cpu_emulated: info.device_type == wgpu::DeviceType::Cpu,
        };
        if policy == AdapterPolicy::RealGpu && summary.cpu_emulated {
            // Not worth a device: the caller will take the CPU path.
            return Err(GpuError::CpuEmulatedOnly(summary.to_string()));
        }
        let limits = adapter.limits();
        let (device, queue) = block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("audio-mamba"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| GpuError::Device(format!("{summary}: {e}")))?;
        let broken: Arc<Mutex<Option<GpuError>>> = Arc::default();
        let b = broken.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = b.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert(GpuError::from_wgpu(e));
        }));
        let b = broken.clone();
        device.set_device_lost_callback(move |reason, msg| {
            let mut slot = b.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert(GpuError::Lost(format!("{reason:?}: {msg}")));
        });
        let dummy = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("unused binding"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        Ok(Self {
            device,
            queue,
            limits,
            adapter: summary,
            broken,
            modules: Mutex::default(),
            pipelines: Mutex::default(),
            weights: Mutex::default(),
            dummy,
        })
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// Err once the device is lost or an error escaped every scope: the context is unusable.
    pub fn check(&self) -> Result<(), GpuError> {
        match &*self.broken.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Marks the device unusable, so that [`GpuContext::shared`] opens a new one for the next
    /// caller (wgpu does not always report a loss through its callback).
    pub(crate) fn mark_broken(&self, e: GpuError) {
        let mut slot = self.broken.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(e);
    }

    /// Runs `f` inside validation, out-of-memory and internal error scopes and returns the first
    /// error any of them caught. Scopes are per thread, so concurrent sessions do not mix.
    pub(crate) fn scoped<T>(&self, f: impl FnOnce() -> T) -> Result<T, GpuError> {
        self.check()?;
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let internal = self.device.push_error_scope(wgpu::ErrorFilter::Internal);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let errors = [
            block_on(validation.pop()),
            block_on(internal.pop()),
            block_on(oom.pop()),
        ];
        let out = out.map_err(|p| GpuError::Other(panic_message(&p)))?;
        if let Some(e) = errors.into_iter().flatten().next() {
            return Err(GpuError::from_wgpu(e));
        }
        self.check()?;
        Ok(out)
    }

    /// The compiled pipeline of `kernel`, compiled on first use (seconds on lavapipe).
    pub(crate) fn pipeline(&self, kernel: Kernel) -> Result<wgpu::ComputePipeline, GpuError> {
        if let Some(p) = self.pipelines.lock().unwrap().get(&kernel) {
            return Ok(p.clone());
        }
        let (file, source) = kernel.source();
        let module = {
            let mut modules = self.modules.lock().unwrap();
            match modules.get(file) {
                Some(m) => m.clone(),
                None => {
                    let m = self.compile_module(file, source)?;
                    modules.insert(file, m.clone());
                    m
                }
            }
        };
        let constants = kernel.constants();
        let pipeline = self
            .scoped(|| {
                self.device
                    .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                        label: Some(kernel.entry()),
                        layout: None,
                        module: &module,
                        entry_point: Some(kernel.entry()),
                        compilation_options: wgpu::PipelineCompilationOptions {
                            constants: &constants,
                            zero_initialize_workgroup_memory: false,
                        },
                        cache: None,
                    })
            })
            .map_err(|e| e.context(&format!("pipeline {file}:{}", kernel.entry())))?;
        self.pipelines
            .lock()
            .unwrap()
            .insert(kernel, pipeline.clone());
        Ok(pipeline)
    }

    /// Compiles WGSL inside error scopes: an invalid shader is an error, not a panic.
    pub fn compile_module(&self, name: &str, wgsl: &str) -> Result<wgpu::ShaderModule, GpuError> {
        self.scoped(|| {
            self.device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(name),
                    source: wgpu::ShaderSource::Wgsl(wgsl.into()),
                })
        })
        .map_err(|e| e.context(&format!("shader {name}")))
    }

    pub(crate) fn upload_target(&self) -> weights::Upload<'_> {
        weights::Upload {
            device: &self.device,
            queue: &self.queue,
            limits: &self.limits,
        }
    }

    /// The model's weights on this device, uploaded by the first session that asks.
    pub(crate) fn weights(&self, model: &Arc<Model>) -> Result<Arc<GpuWeights>, GpuError> {
        let mut cache = self.weights.lock().unwrap();
        cache.retain(|(m, _)| m.strong_count() > 0);
        if let Some((_, w)) = cache.iter().find(|(m, _)| m.as_ptr() == Arc::as_ptr(model)) {
            return Ok(w.clone());
        }
        let w = Arc::new(self.scoped(|| weights::upload(self.upload_target(), model.weights()))??);
        cache.push((Arc::downgrade(model), w.clone()));
        Ok(w)
    }

    /// Destroys the device, as a driver reset would: for tests of the CPU fallback.
    #[doc(hidden)]
    pub fn simulate_device_loss(&self) {
        self.device.destroy();
    }
}

pub(crate) fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("panic in the GPU backend: {msg}")
}
