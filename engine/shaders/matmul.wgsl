// out[z][m, n] (+)= act(a[z][m, k] . w[z][n, k] + bias[n])
// Weights stay in PyTorch's [out, in] layout, so both operands are read along k. One workgroup
// computes a 64 x 64 tile; each thread owns a 4 x 4 block (rows 4ty.., columns 4tx..) held in
// four vec4 accumulators, and reads its 4 + 4 operands of each k step as two vec4 loads from
// shared memory, so the inner loop is 16 FMAs per 2 loads. `z` batches the four SS2D directions
// of dt_proj into one dispatch.
//
// Split k: a product whose 64 x 64 tiles are too few to fill the GPU (stage 4 and the head at
// batch 1: 12 tiles for 132 SMs) runs `splits` workgroups per tile along z, each over `kchunk`
// of k, writing raw partial sums to a scratch buffer bound as `out`; `reduce` then adds them up
// and applies the epilogue.
//
// No private array is indexed by a loop variable and no vector component by a computed index:
// the first version of this kernel did both and ran 17 to 25 times slower than this form on an
// H200 through NVIDIA's Vulkan driver (BENCHMARKS.md), most likely with its accumulators in
// local memory.

struct P {
    m: u32, n: u32, k: u32,
    a_rs: u32, a_off: u32, a_z: u32,
    w_off: u32, w_z: u32,
    out_rs: u32, out_off: u32, out_z: u32,
    // bit 0: add bias, bit 1: accumulate into out, bit 2: exact GELU after the bias
    flags: u32,
    // k splits (1: no split) and the k each split covers (a multiple of TK)
    splits: u32, kchunk: u32,
}

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const TM: u32 = 64u;
const TK: u32 = 16u;
// Row stride of the tiles in vec4s: 16 groups of 4 rows plus one of padding, so that the 16
// k-rows one warp stores land in different banks.
const TS: u32 = 17u;

// [TK][TS]: rows 4g..4g+3 of k-row kk at [kk * TS + g]
var<workgroup> a_tile: array<vec4<f32>, 272>;
var<workgroup> w_tile: array<vec4<f32>, 272>;

fn erf(x: f32) -> f32 {
    // Abramowitz & Stegun 7.1.26, as the CPU kernel (absolute error < 1.5e-7).
    let s = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * s);
    let poly = t * (0.2548296 + t * (-0.28449674 + t * (1.4214137 + t * (-1.4531521 + t * 1.0614054))));
    return sign(x) * (1.0 - poly * exp(-s * s));
}

// Split boundaries are multiples of TK, so a split never loads past its own end; only p.k bounds
// the last one.
fn load_a(base: u32, row: u32, gk: u32) -> f32 {
    if (row < p.m && gk < p.k) {
        return a[base + row * p.a_rs + gk];
    }
    return 0.0;
}

fn load_w(base: u32, row: u32, gk: u32) -> f32 {
    if (row < p.n && gk < p.k) {
        return w[base + row * p.k + gk];
    }
    return 0.0;
}

fn epilogue(o: u32, c: u32, acc: f32) {
    var v = acc;
    if ((p.flags & 1u) != 0u) {
        v += bias[c];
    }
    if ((p.flags & 4u) != 0u) {
        v = 0.5 * v * (1.0 + erf(v * 0.70710678));
    }
    if ((p.flags & 2u) != 0u) {
        v += out[o];
    }
    out[o] = v;
}

// `base` is the output offset of this z; with split k it is the split's scratch plane.
fn store(base: u32, r: u32, c: u32, acc: f32) {
    if (r >= p.m || c >= p.n) {
        return;
    }
    if (p.splits > 1u) {
        out[base + r * p.n + c] = acc;
        return;
    }
    epilogue(base + r * p.out_rs + c, c, acc);
}

fn store_row(base: u32, r: u32, c: u32, v: vec4<f32>) {
    store(base, r, c, v.x);
    store(base, r, c + 1u, v.y);
    store(base, r, c + 2u, v.z);
    store(base, r, c + 3u, v.w);
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let z = wg.z / p.splits;
    let split = wg.z % p.splits;
    let k_begin = split * p.kchunk;
    let k_end = min(p.k, k_begin + p.kchunk);
    let m0 = wg.y * TM;
    let n0 = wg.x * TM;
    let tx = lid.x;
    let ty = lid.y;
    let t = ty * 16u + tx;
    let a_base = p.a_off + z * p.a_z;
    let w_base = p.w_off + z * p.w_z;
    // Loading role: k-row lk of rows 4g..4g+3; 16 consecutive threads read 16 consecutive k of
    // one row.
    let lk = t % TK;
    let g = t / TK;
    let la = m0 + 4u * g;
    let lw = n0 + 4u * g;
    var c0 = vec4<f32>(0.0);
    var c1 = vec4<f32>(0.0);
    var c2 = vec4<f32>(0.0);
    var c3 = vec4<f32>(0.0);
    for (var k0 = k_begin; k0 < k_end; k0 += TK) {
        let gk = k0 + lk;
        a_tile[lk * TS + g] = vec4<f32>(load_a(a_base, la, gk), load_a(a_base, la + 1u, gk),
                                        load_a(a_base, la + 2u, gk), load_a(a_base, la + 3u, gk));
        w_tile[lk * TS + g] = vec4<f32>(load_w(w_base, lw, gk), load_w(w_base, lw + 1u, gk),
                                        load_w(w_base, lw + 2u, gk), load_w(w_base, lw + 3u, gk));
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let av = a_tile[kk * TS + ty];
            let wv = w_tile[kk * TS + tx];
            c0 = fma(vec4<f32>(av.x), wv, c0);
            c1 = fma(vec4<f32>(av.y), wv, c1);
            c2 = fma(vec4<f32>(av.z), wv, c2);
            c3 = fma(vec4<f32>(av.w), wv, c3);
        }
        workgroupBarrier();
    }
    var o_base = p.out_off + z * p.out_z;
    if (p.splits > 1u) {
        o_base = wg.z * p.m * p.n;
    }
    let r = m0 + 4u * ty;
    let c = n0 + 4u * tx;
    store_row(o_base, r, c, c0);
    store_row(o_base, r + 1u, c, c1);
    store_row(o_base, r + 2u, c, c2);
    store_row(o_base, r + 3u, c, c3);
}

// Split-k second pass: one thread per output element sums the splits' partials (bound as `a`,
// [splits][m][n]) and applies the epilogue. Only z = 1 products are split.
@compute @workgroup_size(64)
fn reduce(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let i = (wg.y * nwg.x + wg.x) * 64u + lid;
    if (i >= p.m * p.n) {
        return;
    }
    let r = i / p.n;
    let c = i % p.n;
    var acc = 0.0;
    for (var s = 0u; s < p.splits; s++) {
        acc += a[s * p.m * p.n + i];
    }
    epilogue(p.out_off + r * p.out_rs + c, c, acc);
}
