// out[z][m, n] (+)= act(a[z][m, k] . w[z][n, k] + bias[n])
// Weights stay in PyTorch's [out, in] layout, so both operands are read along k. One workgroup
// computes a 64 x 64 tile; each thread owns a 4 x 4 block (rows 4ty.., columns 4tx..) and reads
// its 4 + 4 operands of each k step as two vec4 loads from shared memory, so the inner loop is
// 16 FMAs per 2 loads. `z` batches the four SS2D directions of dt_proj into one dispatch.

struct P {
    m: u32, n: u32, k: u32,
    a_rs: u32, a_off: u32, a_z: u32,
    w_off: u32, w_z: u32,
    out_rs: u32, out_off: u32, out_z: u32,
    // bit 0: add bias, bit 1: accumulate into out, bit 2: exact GELU after the bias
    flags: u32,
}

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const TM: u32 = 64u;
const TK: u32 = 16u;

// [TK][TM / 4]: element (kk, row) at [kk * 16 + row / 4][row % 4]
var<workgroup> a_tile: array<vec4<f32>, 256>;
var<workgroup> w_tile: array<vec4<f32>, 256>;

fn erf(x: f32) -> f32 {
    // Abramowitz & Stegun 7.1.26, as the CPU kernel (absolute error < 1.5e-7).
    let s = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * s);
    let poly = t * (0.2548296 + t * (-0.28449674 + t * (1.4214137 + t * (-1.4531521 + t * 1.0614054))));
    return sign(x) * (1.0 - poly * exp(-s * s));
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let z = wg.z;
    let m0 = wg.y * TM;
    let n0 = wg.x * TM;
    let tx = lid.x;
    let ty = lid.y;
    let t = ty * 16u + tx;
    let a_base = p.a_off + z * p.a_z;
    let w_base = p.w_off + z * p.w_z;
    var acc: array<array<f32, 4>, 4>;
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            acc[i][j] = 0.0;
        }
    }
    for (var k0 = 0u; k0 < p.k; k0 += TK) {
        // 1024 elements per tile, 4 per thread; 16 consecutive threads read one row along k.
        for (var q = 0u; q < 4u; q++) {
            let e = t + 256u * q;
            let row = e / TK;
            let kk = e % TK;
            let gk = k0 + kk;
            var av = 0.0;
            if (m0 + row < p.m && gk < p.k) {
                av = a[a_base + (m0 + row) * p.a_rs + gk];
            }
            a_tile[kk * 16u + row / 4u][row % 4u] = av;
            var wv = 0.0;
            if (n0 + row < p.n && gk < p.k) {
                wv = w[w_base + (n0 + row) * p.k + gk];
            }
            w_tile[kk * 16u + row / 4u][row % 4u] = wv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let av = a_tile[kk * 16u + ty];
            let wv = w_tile[kk * 16u + tx];
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i][j] = fma(av[i], wv[j], acc[i][j]);
                }
            }
        }
        workgroupBarrier();
    }
    let o_base = p.out_off + z * p.out_z;
    for (var i = 0u; i < 4u; i++) {
        let r = m0 + 4u * ty + i;
        if (r >= p.m) {
            continue;
        }
        for (var j = 0u; j < 4u; j++) {
            let c = n0 + 4u * tx + j;
            if (c >= p.n) {
                continue;
            }
            var v = acc[i][j];
            if ((p.flags & 1u) != 0u) {
                v += bias[c];
            }
            if ((p.flags & 4u) != 0u) {
                v = 0.5 * v * (1.0 + erf(v * 0.70710678));
            }
            let o = o_base + r * p.out_rs + c;
            if ((p.flags & 2u) != 0u) {
                v += out[o];
            }
            out[o] = v;
        }
    }
}
