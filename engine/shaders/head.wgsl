// Activations and the end of the model: GELU in place, the linear head's token mean, and the
// output block of each window (p.stride floats): [clip logits | clip probs | frame logits |
// frame probs] from head_finish, then at p.at [clip embedding | frame embeddings] from embed.

struct P {
    total: u32,
    // mean_pool: tokens per window; head_finish, embed: framewise steps (0 for the linear head)
    l: u32,
    c: u32,
    // head_finish, embed: floats of a window's output block
    stride: u32,
    // embed: vectors averaged per step, where the embeddings start, whether frames are written
    rows: u32,
    at: u32,
    frames: u32,
}

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + lid;
}

fn erf(v: f32) -> f32 {
    // Abramowitz & Stegun 7.1.26, as the CPU kernel (absolute error < 1.5e-7).
    let s = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * s);
    let poly = t * (0.2548296 + t * (-0.28449674 + t * (1.4214137 + t * (-1.4531521 + t * 1.0614054))));
    return sign(v) * (1.0 - poly * exp(-s * s));
}

fn sigmoid(v: f32) -> f32 {
    return 1.0 / (1.0 + exp(-v));
}

@compute @workgroup_size(256)
fn gelu(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat(wg, nwg, lid);
    if (i >= p.total) {
        return;
    }
    let v = x[i];
    x[i] = 0.5 * v * (1.0 + erf(v * 0.70710678));
}

// dst[window, ch] = mean over the window's l tokens of src[window, token, ch]
@compute @workgroup_size(256)
fn mean_pool(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let i = flat(wg, nwg, lid);
    if (i >= p.total) {
        return;
    }
    let ch = i % p.c;
    let b = i / p.c;
    var s = 0.0;
    for (var t = 0u; t < p.l; t++) {
        s += src[(b * p.l + t) * p.c + ch];
    }
    dst[i] = s / f32(p.l);
}

// One thread per (window, class); p.c = classes. src holds framewise logits [window][step][class]
// (token-semantic head, p.l steps) or clip logits [window][class] (p.l = 0).
@compute @workgroup_size(256)
fn head_finish(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = flat(wg, nwg, lid);
    if (i >= p.total) {
        return;
    }
    let m = p.c;
    let j = i % m;
    let b = i / m;
    let steps = p.l;
    let o = b * p.stride;
    var clip = 0.0;
    if (steps == 0u) {
        clip = src[i];
    } else {
        for (var t = 0u; t < steps; t++) {
            let v = src[(b * steps + t) * m + j];
            clip += v / f32(steps);
            dst[o + 2u * m + t * m + j] = v;
            dst[o + 2u * m + steps * m + t * m + j] = sigmoid(v);
        }
    }
    dst[o + j] = clip;
    dst[o + m + j] = sigmoid(clip);
}

// One thread per (window, channel); p.c = channels. src per window (rows, steps, c): frame t is
// the mean of its rows, the clip the mean of the frames, summed in the CPU executor's order.
@compute @workgroup_size(256)
fn embed(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let i = flat(wg, nwg, lid);
    if (i >= p.total) {
        return;
    }
    let c = p.c;
    let ch = i % c;
    let b = i / c;
    let steps = p.l;
    let x0 = b * p.rows * steps * c;
    let o = b * p.stride + p.at;
    var clip = 0.0;
    for (var t = 0u; t < steps; t++) {
        var s = 0.0;
        for (var r = 0u; r < p.rows; r++) {
            s += src[x0 + (r * steps + t) * c + ch];
        }
        let mean = s / f32(p.rows);
        if (p.frames != 0u) {
            dst[o + c + t * c + ch] = mean;
        }
        clip += mean / f32(steps);
    }
    dst[o + ch] = clip;
}
