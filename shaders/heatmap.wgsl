// Heatmap of a scalar field on an [ny, nx] grid: one full-screen triangle; each fragment looks up
// its grid cell (row 0 at the bottom, as in a plot with y up), maps the value linearly onto
// [range.x, range.y] and colours it with viridis. `colormap` in web/src/heatmap.rs is the CPU twin
// of `viridis` below (the canvas fallback and the test reference).

struct Params {
    // nx, ny
    shape: vec2<u32>,
    // value at the bottom and at the top of the colour scale
    range: vec2<f32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> values: array<f32>;

struct VertexOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
}

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    // (0,0), (2,0), (0,2): a triangle covering the whole viewport; uv (0,0) is the top left.
    let uv = vec2<f32>(f32((index << 1u) & 2u), f32(index & 2u));
    var out: VertexOut;
    out.position = vec4<f32>(uv.x * 2.0 - 1.0, 1.0 - uv.y * 2.0, 0.0, 1.0);
    out.uv = uv;
    return out;
}

// Polynomial fit of matplotlib's viridis (6th order per channel, max error ~1%).
fn viridis(t: f32) -> vec3<f32> {
    let c0 = vec3<f32>(0.2777273272234177, 0.005407344544966578, 0.3340998053353061);
    let c1 = vec3<f32>(0.1050930431085774, 1.404613529898575, 1.384590162594685);
    let c2 = vec3<f32>(-0.3308618287255563, 0.214847559468213, 0.09509516302823659);
    let c3 = vec3<f32>(-4.634230498983486, -5.799100973351585, -19.33244095627987);
    let c4 = vec3<f32>(6.228269936347081, 14.17993336680509, 56.69055260068105);
    let c5 = vec3<f32>(4.776384997670288, -13.74514537774601, -65.35303263337234);
    let c6 = vec3<f32>(-5.435455855934631, 4.645852612178535, 26.3124352495832);
    return clamp(c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * (c5 + t * c6))))), vec3<f32>(0.0), vec3<f32>(1.0));
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let nx = params.shape.x;
    let ny = params.shape.y;
    let i = min(u32(in.uv.x * f32(nx)), nx - 1u);
    let j = ny - 1u - min(u32(in.uv.y * f32(ny)), ny - 1u);
    let v = values[j * nx + i];
    let span = params.range.y - params.range.x;
    var t = 0.5;
    if (span > 0.0) {
        t = clamp((v - params.range.x) / span, 0.0, 1.0);
    }
    return vec4<f32>(viridis(t), 1.0);
}
