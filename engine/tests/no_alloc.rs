//! After a session's warm-up, running a window allocates nothing (the plugin's worker relies on
//! it to keep a steady footprint). One test per binary: the counter is process-wide.

use audio_mamba_engine::{Model, Session};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_runs_do_not_allocate() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/golden/");
    for name in ["golden-a", "golden-b", "golden-c", "golden-d"] {
        let model = Arc::new(Model::load(format!("{dir}{name}.safetensors")).unwrap());
        let mut s = Session::cpu(model.clone(), 1).unwrap();
        let wave: Vec<f32> = (0..model.config().clip_samples())
            .map(|i| (i as f32 * 0.01).sin())
            .collect();
        s.run(&wave).unwrap();
        let before = ALLOCS.load(Ordering::SeqCst);
        for _ in 0..3 {
            let p = s.run(&wave).unwrap();
            assert!(p.clip_probs.iter().all(|v| v.is_finite()));
        }
        let after = ALLOCS.load(Ordering::SeqCst);
        assert_eq!(
            after - before,
            0,
            "{name}: {} allocations in 3 steady-state runs",
            after - before
        );
    }
}
