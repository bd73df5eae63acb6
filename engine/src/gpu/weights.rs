//! A model's weight tree on the device: uploaded once per model per process, in the layouts the
//! kernels read (PyTorch `[out, in]` matrices, the depthwise kernel as `[9][E]`, the scan's
//! per-channel parameters in one block). The tree is the host tree mapped tensor by tensor, so
//! every id the graph holds names the same weight here.

use super::GpuError;
use crate::graph::weights::{Convert, Host, HostScan, Storage, Weights};
use crate::kernels::linalg::PackedMatrix;

/// Device buffers.
pub(crate) struct Device;

impl Storage for Device {
    type Vector = wgpu::Buffer;
    type Matrix = wgpu::Buffer;
    /// `[4][E][R]`
    type DtProj = wgpu::Buffer;
    /// `[dt_bias 4E | D 4E | -exp(A_log) as [4][N][E]]`
    type ScanParams = wgpu::Buffer;
}

pub(crate) type GpuWeights = Weights<Device>;

/// Where the tensors go: the device, its queue and the adapter's limits.
pub(crate) struct Upload<'a> {
    pub device: &'a wgpu::Device,
    pub queue: &'a wgpu::Queue,
    pub limits: &'a wgpu::Limits,
}

impl Upload<'_> {
    fn buf(&self, label: &str, data: &[f32]) -> Result<wgpu::Buffer, GpuError> {
        let limits = self.limits;
        let bytes = (data.len().max(4) * 4) as u64;
        if bytes > limits.max_storage_buffer_binding_size || bytes > limits.max_buffer_size {
            return Err(GpuError::Unsupported(format!(
                "tensor {label} has {bytes} bytes, the adapter binds at most {}",
                limits.max_storage_buffer_binding_size
            )));
        }
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue.write_buffer(&buf, 0, bytemuck::cast_slice(data));
        Ok(buf)
    }
}

impl Convert<Host, Device, GpuError> for Upload<'_> {
    fn vector(&mut self, v: &Vec<f32>) -> Result<wgpu::Buffer, GpuError> {
        self.buf("vector", v)
    }
    fn matrix(&mut self, m: &PackedMatrix, _n: usize, _k: usize) -> Result<wgpu::Buffer, GpuError> {
        self.buf("matrix", &m.unpack())
    }
    fn dt_proj(&mut self, d: &Vec<PackedMatrix>) -> Result<wgpu::Buffer, GpuError> {
        let dt: Vec<f32> = d.iter().flat_map(|m| m.unpack()).collect();
        self.buf("dt_proj", &dt)
    }
    fn scan_params(&mut self, s: &HostScan) -> Result<wgpu::Buffer, GpuError> {
        self.buf("scan params", &[&s.dt_bias[..], &s.d, &s.a_neg].concat())
    }
}

/// The host tree uploaded.
pub(crate) fn upload(mut to: Upload, host: &Weights<Host>) -> Result<GpuWeights, GpuError> {
    host.map(&mut to)
}
