//! The caller's thread budget. A session with `threads == 1` never touches rayon, so a plugin
//! worker runs every op on its own thread; with more, work runs in the session's own pool.

use rayon::prelude::*;

#[derive(Clone, Copy, Debug)]
pub struct Par {
    threads: usize,
}

impl Par {
    pub fn new(threads: usize) -> Self {
        Self {
            threads: threads.max(1),
        }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Calls `f(index, chunk)` for consecutive `chunk_len`-sized chunks of `data`.
    pub fn for_chunks<F>(&self, data: &mut [f32], chunk_len: usize, f: F)
    where
        F: Fn(usize, &mut [f32]) + Sync + Send,
    {
        if self.threads > 1 {
            data.par_chunks_mut(chunk_len)
                .enumerate()
                .for_each(|(i, c)| f(i, c));
        } else {
            data.chunks_mut(chunk_len)
                .enumerate()
                .for_each(|(i, c)| f(i, c));
        }
    }

    /// Calls `f(i)` for every i in 0..n.
    pub fn for_each<F>(&self, n: usize, f: F)
    where
        F: Fn(usize) + Sync + Send,
    {
        if self.threads > 1 {
            (0..n).into_par_iter().for_each(f);
        } else {
            (0..n).for_each(f);
        }
    }
}

/// A raw pointer that tasks share to write disjoint parts of one buffer. Whoever creates one
/// promises that concurrent tasks never touch the same element.
#[derive(Clone, Copy)]
pub struct SharedMut(*mut f32);
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}

impl SharedMut {
    pub fn new(buf: &mut [f32]) -> Self {
        Self(buf.as_mut_ptr())
    }
    /// # Safety
    /// `i` is in bounds of the buffer this was made from and no other task touches it now.
    #[inline(always)]
    pub unsafe fn at(self, i: usize) -> *mut f32 {
        self.0.add(i)
    }
}
