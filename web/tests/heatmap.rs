//! The WGSL heatmap shader, run for real through wgpu (Vulkan: lavapipe on CI), against its CPU
//! twin pixel by pixel. Like the core's wgpu tests it needs a Vulkan driver (lavapipe on CI).
#![cfg(not(target_arch = "wasm32"))]

use futures_lite::future::block_on;
use mollify_web::heatmap::{Field, Renderer, rgba};

#[test]
fn shader_matches_the_cpu_colormap() {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapter = block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
        .expect("wgpu needs a Vulkan driver (Debian: mesa-vulkan-drivers)");
    eprintln!("adapter: {:?}", adapter.get_info().name);
    let (device, queue) =
        block_on(adapter.request_device(&wgpu::DeviceDescriptor::default())).unwrap();
    // 64 columns × 4 bytes = 256 bytes per row: the copy alignment, so rows need no padding.
    let (nx, ny) = (64usize, 12usize);
    let values: Vec<f32> = (0..nx * ny)
        .map(|k| ((k % nx) as f32 * 0.37).sin() * (k / nx) as f32 - 2.0)
        .collect();
    let range = [-6.0, 9.0];
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let texture = device.create_texture(&wgpu::TextureDescriptor {
        label: Some("target"),
        size: wgpu::Extent3d {
            width: nx as u32,
            height: ny as u32,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let view = texture.create_view(&Default::default());
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: (4 * nx * ny) as u64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let renderer = Renderer::new(&device, format);
    let mut encoder = device.create_command_encoder(&Default::default());
    renderer.draw(
        &device,
        &queue,
        &mut encoder,
        &view,
        Field {
            values: &values,
            shape: [ny, nx],
            range,
        },
    );
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &readback,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(4 * nx as u32),
                rows_per_image: None,
            },
        },
        texture.size(),
    );
    queue.submit([encoder.finish()]);
    readback
        .slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.unwrap());
    device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
    let gpu = readback.slice(..).get_mapped_range().unwrap().to_vec();
    let cpu = rgba(&values, [ny, nx], range);
    let worst = gpu
        .iter()
        .zip(&cpu)
        .map(|(a, b)| (*a as i32 - *b as i32).abs())
        .max()
        .unwrap();
    eprintln!(
        "max channel difference GPU vs CPU: {worst}/255 over {} pixels",
        nx * ny
    );
    assert!(worst <= 1, "shader and CPU colormap differ by {worst}/255");
    // The picture is not uniform: the test would catch a shader that ignores its input.
    assert!(cpu.chunks(4).any(|p| p != &cpu[0..4]));
}
