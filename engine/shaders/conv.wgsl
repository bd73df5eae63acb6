// Convolutions on token-major (h, w, c) images. Dense convolutions (patch embedding, conv
// downsampling, the token-semantic head) are im2col here followed by the tiled matrix product;
// the depthwise 3x3 of SS2D is direct, fused with its bias and SiLU.

struct P {
    total: u32,
    h: u32, w: u32, cin: u32,
    kh: u32, kw: u32, stride: u32, ph: u32, pw: u32,
    oh: u32, ow: u32,
    // dwconv_silu: 1 when the conv has a bias
    has_bias: u32,
}

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> w9: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + lid;
}

// cols[(window, oy, ox)][(ci, ky, kx)], PyTorch's weight flattening order; zero outside.
@compute @workgroup_size(256)
fn im2col(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let i = flat(wg, nwg, lid);
    if (i >= p.total) {
        return;
    }
    let kk = p.kh * p.kw;
    let plen = p.cin * kk;
    let e = i % plen;
    let pix = i / plen;
    let ci = e / kk;
    let ky = (e % kk) / p.kw;
    let kx = e % p.kw;
    let ox = pix % p.ow;
    let oy = (pix / p.ow) % p.oh;
    let b = pix / (p.ow * p.oh);
    let iy = i32(oy * p.stride + ky) - i32(p.ph);
    let ix = i32(ox * p.stride + kx) - i32(p.pw);
    var v = 0.0;
    if (iy >= 0 && ix >= 0 && u32(iy) < p.h && u32(ix) < p.w) {
        v = src[((b * p.h + u32(iy)) * p.w + u32(ix)) * p.cin + ci];
    }
    dst[i] = v;
}

// dst = SiLU(depthwise 3x3 (padding 1) of src + bias); w9 is the kernel as [9][channels].
@compute @workgroup_size(256)
fn dwconv_silu(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = flat(wg, nwg, lid);
    if (i >= p.total) {
        return;
    }
    let c = p.cin;
    let ch = i % c;
    let pix = i / c;
    let x = pix % p.w;
    let y = (pix / p.w) % p.h;
    let b = pix / (p.w * p.h);
    var acc = 0.0;
    if (p.has_bias != 0u) {
        acc = bias[ch];
    }
    for (var ky = 0u; ky < 3u; ky++) {
        let iy = i32(y + ky) - 1;
        if (iy < 0 || u32(iy) >= p.h) {
            continue;
        }
        for (var kx = 0u; kx < 3u; kx++) {
            let ix = i32(x + kx) - 1;
            if (ix < 0 || u32(ix) >= p.w) {
                continue;
            }
            acc = fma(src[((b * p.h + u32(iy)) * p.w + u32(ix)) * c + ch], w9[(ky * 3u + kx) * c + ch], acc);
        }
    }
    dst[i] = acc / (1.0 + exp(-acc));
}
