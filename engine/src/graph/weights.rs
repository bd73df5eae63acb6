//! One weight tree for every backend. The graph refers to weights by id; a [`Weights`] holds
//! them in flat tables by kind, generic over where the tensors live: [`Host`] keeps them in
//! host memory in the CPU kernels' layouts, and the GPU backend maps the same tree to device
//! buffers ([`Weights::map`]) so that no backend repeats the model's structure.

use crate::kernels::linalg::PackedMatrix;
use crate::kernels::nn::ConvShape;

/// Where a backend keeps each kind of tensor.
pub trait Storage {
    /// A vector: LayerNorm weight or bias, a bias, the depthwise kernel `[9][E]`.
    type Vector;
    /// A PyTorch `[out, in]` matrix.
    type Matrix;
    /// The four directions' dt_proj matrices `[4][E][R]`.
    type DtProj;
    /// The scan's per-channel parameters: dt bias `[4][E]`, D `[4][E]`, `-exp(A_log)` `[4][N][E]`.
    type ScanParams;
}

/// Host memory, in the layouts the CPU kernels read.
pub struct Host;

/// The scan parameters on the host, each in its own vector.
pub struct HostScan {
    pub a_neg: Vec<f32>,
    pub dt_bias: Vec<f32>,
    pub d: Vec<f32>,
}

impl Storage for Host {
    type Vector = Vec<f32>;
    type Matrix = PackedMatrix;
    type DtProj = Vec<PackedMatrix>;
    type ScanParams = HostScan;
}

pub struct Norm<S: Storage> {
    pub w: S::Vector,
    pub b: S::Vector,
}

/// `y = x . W^T + b` with W `[n, k]`.
pub struct Lin<S: Storage> {
    pub w: S::Matrix,
    pub b: Option<S::Vector>,
    pub n: usize,
    pub k: usize,
}

pub struct Conv<S: Storage> {
    pub lin: Lin<S>,
    pub shape: ConvShape,
}

/// Depthwise 3x3 kernel `[9][E]` and bias.
pub struct DwConv<S: Storage> {
    pub w9: S::Vector,
    pub b: Option<S::Vector>,
}

macro_rules! ids {
    ($($id:ident),*) => {$(
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $id(pub(crate) usize);
    )*};
}
ids!(NormId, LinId, ConvId, DwId, DtId, ScanId);

pub struct Weights<S: Storage> {
    pub norms: Vec<Norm<S>>,
    pub lins: Vec<Lin<S>>,
    pub convs: Vec<Conv<S>>,
    pub dws: Vec<DwConv<S>>,
    pub dts: Vec<S::DtProj>,
    pub scans: Vec<S::ScanParams>,
}

impl<S: Storage> Default for Weights<S> {
    fn default() -> Self {
        Self {
            norms: Vec::new(),
            lins: Vec::new(),
            convs: Vec::new(),
            dws: Vec::new(),
            dts: Vec::new(),
            scans: Vec::new(),
        }
    }
}

impl<S: Storage> std::ops::Index<NormId> for Weights<S> {
    type Output = Norm<S>;
    fn index(&self, i: NormId) -> &Norm<S> {
        &self.norms[i.0]
    }
}
impl<S: Storage> std::ops::Index<LinId> for Weights<S> {
    type Output = Lin<S>;
    fn index(&self, i: LinId) -> &Lin<S> {
        &self.lins[i.0]
    }
}
impl<S: Storage> std::ops::Index<ConvId> for Weights<S> {
    type Output = Conv<S>;
    fn index(&self, i: ConvId) -> &Conv<S> {
        &self.convs[i.0]
    }
}
impl<S: Storage> std::ops::Index<DwId> for Weights<S> {
    type Output = DwConv<S>;
    fn index(&self, i: DwId) -> &DwConv<S> {
        &self.dws[i.0]
    }
}

impl<S: Storage> Weights<S> {
    pub fn dt(&self, i: DtId) -> &S::DtProj {
        &self.dts[i.0]
    }

    pub fn scan(&self, i: ScanId) -> &S::ScanParams {
        &self.scans[i.0]
    }

    pub(crate) fn push_norm(&mut self, n: Norm<S>) -> NormId {
        self.norms.push(n);
        NormId(self.norms.len() - 1)
    }
    pub(crate) fn push_lin(&mut self, l: Lin<S>) -> LinId {
        self.lins.push(l);
        LinId(self.lins.len() - 1)
    }
    pub(crate) fn push_conv(&mut self, c: Conv<S>) -> ConvId {
        self.convs.push(c);
        ConvId(self.convs.len() - 1)
    }
    pub(crate) fn push_dw(&mut self, d: DwConv<S>) -> DwId {
        self.dws.push(d);
        DwId(self.dws.len() - 1)
    }
    pub(crate) fn push_dt(&mut self, d: S::DtProj) -> DtId {
        self.dts.push(d);
        DtId(self.dts.len() - 1)
    }
    pub(crate) fn push_scan(&mut self, s: S::ScanParams) -> ScanId {
        self.scans.push(s);
        ScanId(self.scans.len() - 1)
    }

    /// The same tree in another storage: `f` converts each tensor, keeping every id valid.
    pub fn map<T: Storage, E>(&self, f: &mut impl Convert<S, T, E>) -> Result<Weights<T>, E> {
        let mut out = Weights::<T>::default();
        for n in &self.norms {
            out.norms.push(Norm {
                w: f.vector(&n.w)?,
                b: f.vector(&n.b)?,
            });
        }
        for l in &self.lins {
            out.lins.push(map_lin(f, l)?);
        }
        for c in &self.convs {
            out.convs.push(Conv {
                lin: map_lin(f, &c.lin)?,
                shape: c.shape,
            });
        }
        for d in &self.dws {
            out.dws.push(DwConv {
                w9: f.vector(&d.w9)?,
                b: d.b.as_ref().map(|b| f.vector(b)).transpose()?,
            });
        }
        for d in &self.dts {
            out.dts.push(f.dt_proj(d)?);
        }
        for s in &self.scans {
            out.scans.push(f.scan_params(s)?);
        }
        Ok(out)
    }
}

fn map_lin<S: Storage, T: Storage, E>(
    f: &mut impl Convert<S, T, E>,
    l: &Lin<S>,
) -> Result<Lin<T>, E> {
    Ok(Lin {
        w: f.matrix(&l.w, l.n, l.k)?,
        b: l.b.as_ref().map(|b| f.vector(b)).transpose()?,
        n: l.n,
        k: l.k,
    })
}

/// How one storage's tensors become another's (host to device: an upload).
pub trait Convert<S: Storage, T: Storage, E> {
    fn vector(&mut self, v: &S::Vector) -> Result<T::Vector, E>;
    fn matrix(&mut self, m: &S::Matrix, n: usize, k: usize) -> Result<T::Matrix, E>;
    fn dt_proj(&mut self, d: &S::DtProj) -> Result<T::DtProj, E>;
    fn scan_params(&mut self, s: &S::ScanParams) -> Result<T::ScanParams, E>;
}
