// LayerNorm over the channel axis (eps 1e-5, two-pass mean then variance as the CPU kernel),
// one 64-thread workgroup per token. Three entry points differ only in where the row comes
// from and goes to: wgpu forbids binding one buffer as both read-only and read-write in a
// dispatch, so the in-place form has its own entry point.

struct P {
    rows: u32,
    c: u32,
    // merge_ln_gate: distance between the four direction planes of y4
    plane: u32,
    // merge_ln_gate: 1 when the output is multiplied by SiLU(z)
    gate: u32,
}

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> lnw: array<f32>;
@group(0) @binding(2) var<storage, read> lnb: array<f32>;
@group(0) @binding(3) var<storage, read> src: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
@group(0) @binding(5) var<storage, read> z: array<f32>;

const WG: u32 = 64u;
var<workgroup> red: array<f32, 64>;

fn reduce(v: f32, lid: u32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            red[lid] += red[lid + s];
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

fn row_index(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wg.y * nwg.x + wg.x;
}

fn silu(x: f32) -> f32 {
    return x / (1.0 + exp(-x));
}

// dst[row] = LN(src[row])
@compute @workgroup_size(64)
fn ln_copy(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let row = row_index(wg, nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.c;
    var s = 0.0;
    for (var i = lid; i < p.c; i += WG) {
        s += src[base + i];
    }
    let mean = reduce(s, lid) / f32(p.c);
    var q = 0.0;
    for (var i = lid; i < p.c; i += WG) {
        let d = src[base + i] - mean;
        q += d * d;
    }
    let inv = 1.0 / sqrt(reduce(q, lid) / f32(p.c) + 1e-5);
    for (var i = lid; i < p.c; i += WG) {
        dst[base + i] = (src[base + i] - mean) * inv * lnw[i] + lnb[i];
    }
}

// dst[row] = LN(dst[row])
@compute @workgroup_size(64)
fn ln_inplace(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let row = row_index(wg, nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.c;
    var s = 0.0;
    for (var i = lid; i < p.c; i += WG) {
        s += dst[base + i];
    }
    let mean = reduce(s, lid) / f32(p.c);
    var q = 0.0;
    for (var i = lid; i < p.c; i += WG) {
        let d = dst[base + i] - mean;
        q += d * d;
    }
    let inv = 1.0 / sqrt(reduce(q, lid) / f32(p.c) + 1e-5);
    for (var i = lid; i < p.c; i += WG) {
        dst[base + i] = (dst[base + i] - mean) * inv * lnw[i] + lnb[i];
    }
}

// SS2D tail: cross-merge (sum of the four direction planes, already in token order), out_norm,
// and the v0 gate y * SiLU(z).
@compute @workgroup_size(64)
fn merge_ln_gate(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let row = row_index(wg, nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.c;
    var s = 0.0;
    for (var i = lid; i < p.c; i += WG) {
        let o = base + i;
        s += src[o] + src[o + p.plane] + src[o + 2u * p.plane] + src[o + 3u * p.plane];
    }
    let mean = reduce(s, lid) / f32(p.c);
    var q = 0.0;
    for (var i = lid; i < p.c; i += WG) {
        let o = base + i;
        let d = src[o] + src[o + p.plane] + src[o + 2u * p.plane] + src[o + 3u * p.plane] - mean;
        q += d * d;
    }
    let inv = 1.0 / sqrt(reduce(q, lid) / f32(p.c) + 1e-5);
    for (var i = lid; i < p.c; i += WG) {
        let o = base + i;
        let v = src[o] + src[o + p.plane] + src[o + 2u * p.plane] + src[o + 3u * p.plane];
        var y = (v - mean) * inv * lnw[i] + lnb[i];
        if (p.gate != 0u) {
            y *= silu(z[o]);
        }
        dst[o] = y;
    }
}
