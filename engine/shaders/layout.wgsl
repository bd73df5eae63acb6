// Pure data movement between token layouts, one thread per output value.

struct P {
    total: u32,
    h: u32, w: u32, c: u32,
    // unstack: frequency rows per window (h / freq_ratio)
    hf: u32,
}

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + lid;
}

// PatchMerging gather (h, w, c) -> (h/2, w/2, 4c) with VMamba's neighbour order
// (row, col) = (0,0), (1,0), (0,1), (1,1).
@compute @workgroup_size(256)
fn patch_merge(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = flat(wg, nwg, lid);
    if (i >= p.total) {
        return;
    }
    let oh = p.h / 2u;
    let ow = p.w / 2u;
    let ch = i % p.c;
    let q = (i / p.c) % 4u;
    let pix = i / (4u * p.c);
    let ox = pix % ow;
    let oy = (pix / ow) % oh;
    let b = pix / (ow * oh);
    let y = 2u * oy + (q & 1u);
    let x = 2u * ox + (q >> 1u);
    dst[i] = src[((b * p.h + y) * p.w + x) * p.c + ch];
}

// Token-semantic head: undo the front end's window stacking. Grid row wi*hf + f, column col
// becomes frequency f, time wi*w + col.
@compute @workgroup_size(256)
fn unstack(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let i = flat(wg, nwg, lid);
    if (i >= p.total) {
        return;
    }
    let fr = p.h / p.hf;
    let steps = p.w * fr;
    let ch = i % p.c;
    let t = (i / p.c) % steps;
    let f = (i / (p.c * steps)) % p.hf;
    let b = i / (p.c * steps * p.hf);
    let wi = t / p.w;
    let col = t % p.w;
    dst[i] = src[((b * p.h + wi * p.hf + f) * p.w + col) * p.c + ch];
}
