//! Field heatmaps: the WGSL shader in `shaders/heatmap.wgsl` through wgpu (WebGPU in the page,
//! Vulkan in the tests), and its CPU twin for the plain-canvas fallback. Both map values
//! linearly onto a shared range so panels compare by colour.

/// The heatmap shader's source.
pub const SHADER: &str = include_str!("../../shaders/heatmap.wgsl");

/// Coefficients of the viridis fit, constant term first (the shader's `c0..c6`).
const VIRIDIS: [[f32; 3]; 7] = [
    [0.277_727_33, 0.005_407_344_5, 0.334_099_8],
    [0.105_093_04, 1.404_613_5, 1.384_590_1],
    [-0.330_861_83, 0.214_847_56, 0.095_095_16],
    [-4.634_230_4, -5.799_101, -19.332_441],
    [6.228_27, 14.179_933, 56.690_55],
    [4.776_385, -13.745_145, -65.353_03],
    [-5.435_456, 4.645_852_6, 26.312_435],
];

/// Colour of `t` in [0, 1] (clamped) as 8-bit RGB: exactly what the shader computes, in f32.
pub fn colormap(t: f32) -> [u8; 3] {
    let t = if t.is_nan() { 0.5 } else { t.clamp(0.0, 1.0) };
    let mut rgb = [0u8; 3];
    for (c, out) in rgb.iter_mut().enumerate() {
        let v = VIRIDIS.iter().rev().fold(0.0f32, |acc, k| acc * t + k[c]);
        *out = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    }
    rgb
}

/// Position of `v` on the colour scale `range`, as the shader computes it.
pub fn scale(v: f32, range: [f32; 2]) -> f32 {
    let span = range[1] - range[0];
    if span > 0.0 {
        ((v - range[0]) / span).clamp(0.0, 1.0)
    } else {
        0.5
    }
}

/// RGBA pixels of a [ny, nx] field, row 0 of the image at the top (the field's last row).
pub fn rgba(values: &[f32], shape: [usize; 2], range: [f32; 2]) -> Vec<u8> {
    let [ny, nx] = shape;
    let mut out = Vec::with_capacity(4 * nx * ny);
    for row in (0..ny).rev() {
        for &v in &values[row * nx..(row + 1) * nx] {
            let [r, g, b] = colormap(scale(v, range));
            out.extend_from_slice(&[r, g, b, 255]);
        }
    }
    out
}

/// A field to draw: [ny, nx] values (C order) on the colour scale `range`.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    /// Values, row 0 drawn at the bottom.
    pub values: &'a [f32],
    /// [ny, nx].
    pub shape: [usize; 2],
    /// Values at the two ends of the colour scale.
    pub range: [f32; 2],
}

/// The compiled heatmap pipeline for one output format, with its buffers: made once per field
/// size and rewritten with `write_buffer` on each draw (no per-frame allocations or mappings).
#[derive(Debug)]
pub struct Renderer {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    bound: std::cell::RefCell<Option<Bound>>,
}

#[derive(Debug)]
struct Bound {
    values: usize,
    uniform: wgpu::Buffer,
    storage: wgpu::Buffer,
    group: wgpu::BindGroup,
}

impl Renderer {
    /// Compiles the shader for targets of `format`.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("heatmap"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let entry = |binding, ty| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Buffer {
                ty,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("heatmap"),
            entries: &[
                entry(0, wgpu::BufferBindingType::Uniform),
                entry(1, wgpu::BufferBindingType::Storage { read_only: true }),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("heatmap"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("heatmap"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(format.into())],
            }),
            multiview_mask: None,
            cache: None,
        });
        Self {
            pipeline,
            layout,
            bound: std::cell::RefCell::new(None),
        }
    }

    fn bind(&self, device: &wgpu::Device, values: usize) -> std::cell::RefMut<'_, Bound> {
        let mut bound = self.bound.borrow_mut();
        if bound.as_ref().is_none_or(|b| b.values != values) {
            let buffer = |label, size: usize, usage| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size: size as u64,
                    usage: usage | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            };
            let uniform = buffer("heatmap params", 16, wgpu::BufferUsages::UNIFORM);
            let storage = buffer("heatmap values", 4 * values, wgpu::BufferUsages::STORAGE);
            let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("heatmap"),
                layout: &self.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: uniform.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: storage.as_entire_binding(),
                    },
                ],
            });
            *bound = Some(Bound {
                values,
                uniform,
                storage,
                group,
            });
        }
        std::cell::RefMut::map(bound, |b| b.as_mut().expect("bound above"))
    }

    /// Uploads `field` and records its drawing onto `target` (the whole view).
    pub fn draw(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        field: Field<'_>,
    ) {
        let Field {
            values,
            shape,
            range,
        } = field;
        let [ny, nx] = shape;
        assert_eq!(values.len(), nx * ny, "heatmap values do not fill the grid");
        let bound = self.bind(device, values.len());
        let mut params = Vec::with_capacity(16);
        for v in [nx as u32, ny as u32] {
            params.extend_from_slice(&v.to_le_bytes());
        }
        for v in range {
            params.extend_from_slice(&v.to_le_bytes());
        }
        queue.write_buffer(&bound.uniform, 0, &params);
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        queue.write_buffer(&bound.storage, 0, &data);
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("heatmap"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::WHITE),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &bound.group, &[]);
        pass.draw(0..3, 0..1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colormap_runs_from_dark_violet_to_yellow() {
        let [r0, g0, b0] = colormap(0.0);
        let [r1, g1, b1] = colormap(1.0);
        // matplotlib's viridis: #440154 → #fde725 (fit within ~1%).
        assert!((r0 as i32 - 0x44).abs() <= 4 && g0 <= 4 && (b0 as i32 - 0x54).abs() <= 4);
        assert!((r1 as i32 - 0xfd).abs() <= 4 && (g1 as i32 - 0xe7).abs() <= 4);
        assert!((b1 as i32 - 0x25).abs() <= 8);
        assert_eq!(colormap(f32::NAN), colormap(0.5));
        // Luminance rises monotonically, which is what makes viridis readable.
        let lum = |t: f32| {
            let [r, g, b] = colormap(t);
            0.2126 * r as f32 + 0.7152 * g as f32 + 0.0722 * b as f32
        };
        assert!((1..=20).all(|k| lum(k as f32 / 20.0) > lum((k - 1) as f32 / 20.0)));
    }

    #[test]
    fn images_put_the_first_row_at_the_bottom() {
        let px = rgba(&[0.0, 0.0, 1.0, 1.0], [2, 2], [0.0, 1.0]);
        assert_eq!(px[0..3], colormap(1.0));
        assert_eq!(px[8..11], colormap(0.0));
        assert_eq!(scale(5.0, [1.0, 1.0]), 0.5);
    }
}
