//! Compute kernels. Each has a plain reference implementation in its tests.

pub mod linalg;
pub mod math;
pub mod nn;
pub mod par;
pub mod scan;
#[cfg(test)]
pub(crate) mod testutil;
