//! Opens the plugin's editor the way a Linux DAW does (an X11 window of the host's with the
//! CLAP GUI embedded in it), plays a clip through the plugin, and reads back both the pixels and
//! what the editor says it shows (its trace file). Needs an X server: Xvfb in CI.

use crate::clap_host::{load_entry, Instance, Run};
use clack_extensions::gui::{GuiApiType, GuiConfiguration, GuiSize, PluginGui, Window};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ConfigureWindowAux, ConnectionExt, CreateWindowAux, ImageFormat, WindowClass,
};
use x11rb::rust_connection::RustConnection;

/// The editor's trace variable (plugin/src/editor.rs, `TRACE_ENV`).
pub const TRACE_ENV: &str = "AUDIO_MAMBA_EDITOR_TRACE";

/// RGB pixels of the host window.
pub struct Screenshot {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl Screenshot {
    /// Distinct colours (a blank or single-colour window has one or two).
    pub fn colours(&self) -> usize {
        let mut c: Vec<[u8; 3]> = self
            .rgb
            .chunks_exact(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        c.sort_unstable();
        c.dedup();
        c.len()
    }

    /// Fraction of pixels that differ between two screenshots of the same size.
    pub fn difference(&self, other: &Screenshot) -> f64 {
        let n = self.rgb.len().min(other.rgb.len()) / 3;
        let differ = self
            .rgb
            .chunks_exact(3)
            .zip(other.rgb.chunks_exact(3))
            .filter(|(a, b)| a != b)
            .count();
        differ as f64 / n.max(1) as f64
    }

    pub fn save_png(&self, path: &Path) -> Result<(), String> {
        let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(&self.rgb).map_err(|e| e.to_string())
    }
}

/// What one capture saw.
pub struct Capture {
    pub screenshot: Screenshot,
    /// The editor's own account of what it shows (see the editor's `trace`).
    pub trace: serde_json::Value,
}

impl Capture {
    /// The probability the editor shows for `label`, if it lists it.
    pub fn shown(&self, label: &str) -> Option<f64> {
        self.trace["tags"]
            .as_array()?
            .iter()
            .find(|t| t[0] == label)
            .and_then(|t| t[1].as_f64())
    }
}

/// The clip as stereo host input at its own rate.
fn clip(path: &Path) -> (f64, Vec<Vec<f32>>) {
    let d = amtag::audio::decode_mono(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (d.sample_rate as f64, vec![d.samples.clone(), d.samples])
}

fn x11() -> Result<(RustConnection, u32, u32), String> {
    // Retried: back-to-back xvfb-run calls have had a connection reset by a server still
    // starting or stopping.
    let mut attempt = 0;
    let (conn, screen) = loop {
        match x11rb::connect(None) {
            Ok(c) => break c,
            Err(e) if attempt == 10 => {
                return Err(format!("no X server ({e}); run under xvfb-run"))
            }
            Err(_) => attempt += 1,
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let root = conn.setup().roots[screen].root;
    let black = conn.setup().roots[screen].black_pixel;
    let window = conn.generate_id().map_err(|e| e.to_string())?;
    conn.create_window(
        x11rb::COPY_DEPTH_FROM_PARENT,
        window,
        root,
        0,
        0,
        64,
        64,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new().background_pixel(black),
    )
    .map_err(|e| e.to_string())?;
    conn.map_window(window).map_err(|e| e.to_string())?;
    // A round trip, so the window exists on the server before the plugin parents to it.
    conn.get_input_focus()
        .map_err(|e| e.to_string())?
        .reply()
        .map_err(|e| e.to_string())?;
    Ok((conn, root, window))
}

fn grab(conn: &RustConnection, window: u32, width: u32, height: u32) -> Result<Screenshot, String> {
    let geometry = conn
        .get_geometry(window)
        .map_err(|e| e.to_string())?
        .reply()
        .map_err(|e| e.to_string())?;
    if (u32::from(geometry.width), u32::from(geometry.height)) != (width, height) {
        return Err(format!(
            "the host window is {}x{}, expected {width}x{height}",
            geometry.width, geometry.height
        ));
    }
    let img = conn
        .get_image(
            ImageFormat::Z_PIXMAP,
            window,
            0,
            0,
            width as u16,
            height as u16,
            !0,
        )
        .map_err(|e| e.to_string())?
        .reply()
        .map_err(|e| format!("reading the window back: {e}"))?;
    // 24-bit visuals come back as 32-bit little-endian BGRX.
    let rgb = img
        .data
        .chunks_exact(4)
        .flat_map(|p| [p[2], p[1], p[0]])
        .collect();
    Ok(Screenshot { width, height, rgb })
}

/// This process's threads named `name`. A thread spawned without a name of its own (the
/// editor's window thread is one) carries the name of the thread that spawned it.
fn threads_named(name: &str) -> BTreeSet<u32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return BTreeSet::new();
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
        })
        .filter_map(|t| t.file_name().to_str()?.parse().ok())
        .collect()
}

/// Plays `clip` through a fresh instance with its editor open at `scale` (and resized by the
/// host to `resize`, if given), waits until the editor has shown the result, and captures it.
/// `trace_file` receives the editor's trace.
pub fn capture(
    clip_path: &Path,
    scale: f64,
    resize: Option<(u32, u32)>,
    trace_file: &Path,
) -> Result<Capture, String> {
    let (rate, audio) = clip(clip_path);
    capture_playing(&audio, &Run::new(rate, &[512]), scale, resize, trace_file)
}

/// As [`capture`], playing `audio` offline as `run` says (its parameter changes included).
pub fn capture_playing(
    audio: &[Vec<f32>],
    run: &Run,
    scale: f64,
    resize: Option<(u32, u32)>,
    trace_file: &Path,
) -> Result<Capture, String> {
    let (conn, _root, window) = x11()?;
    let _ = std::fs::remove_file(trace_file);
    // SAFETY: tests and the screenshot tool set this before any plugin thread reads it.
    unsafe { std::env::set_var(TRACE_ENV, trace_file) };
    let entry = load_entry();
    let mut inst = Instance::new(&entry);
    let gui = inst
        .main_thread()
        .get_extension::<PluginGui>()
        .ok_or("the plugin has no GUI extension")?;
    let host_thread = std::fs::read_to_string("/proc/thread-self/comm")
        .map_err(|e| format!("/proc/thread-self/comm: {e}"))?;
    let host_thread = host_thread.trim_end();
    let before_editor = threads_named(host_thread);
    gui.create(
        &inst.main_thread(),
        GuiConfiguration {
            api_type: GuiApiType::X11,
            is_floating: false,
        },
    )
    .map_err(|e| format!("gui.create: {e:?}"))?;
    let _ = gui.set_scale(&inst.main_thread(), scale);
    let mut size = gui
        .get_size(&inst.main_thread())
        .ok_or("gui.get_size failed")?;
    if let Some((width, height)) = resize {
        if !gui.can_resize(&inst.main_thread()) {
            return Err("the editor says it cannot be resized".into());
        }
        size = GuiSize { width, height };
        gui.set_size(&inst.main_thread(), size)
            .map_err(|e| format!("gui.set_size: {e:?}"))?;
    }
    conn.configure_window(
        window,
        &ConfigureWindowAux::new()
            .width(size.width)
            .height(size.height),
    )
    .map_err(|e| e.to_string())?;
    conn.flush().map_err(|e| e.to_string())?;
    // SAFETY: `window` is a live X11 window of ours, kept until the GUI is destroyed.
    unsafe { gui.set_parent(&inst.main_thread(), Window::from_x11_handle(window as _)) }
        .map_err(|e| format!("gui.set_parent: {e:?}"))?;
    gui.show(&inst.main_thread())
        .map_err(|e| format!("gui.show: {e:?}"))?;
    let editor_threads: BTreeSet<u32> = threads_named(host_thread)
        .difference(&before_editor)
        .copied()
        .collect();
    if editor_threads.is_empty() {
        return Err("the editor started no window thread of its own".into());
    }

    inst.set_offline(true);
    inst.run(audio, run);

    // The editor repaints on its own thread; wait for a trace written after the run.
    let t = Instant::now();
    let since = std::time::SystemTime::now();
    let trace = loop {
        inst.pump();
        let fresh = std::fs::metadata(trace_file)
            .and_then(|m| m.modified())
            .is_ok_and(|m| m > since);
        if fresh {
            if let Ok(Ok(v)) =
                std::fs::read(trace_file).map(|b| serde_json::from_slice::<serde_json::Value>(&b))
            {
                break v;
            }
        }
        if t.elapsed() > Duration::from_secs(60) {
            return Err("the editor never reported what it shows (no trace within 60 s)".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(300));
    let screenshot = grab(&conn, window, size.width, size.height)?;
    gui.destroy(&inst.main_thread());
    // A window thread still running now races the host unloading the plugin (a crash in CI).
    let outlived: Vec<u32> = threads_named(host_thread)
        .intersection(&editor_threads)
        .copied()
        .collect();
    if !outlived.is_empty() {
        return Err(format!(
            "editor threads {outlived:?} still run after gui.destroy returned"
        ));
    }
    drop(inst);
    let _ = conn.destroy_window(window);
    let _ = conn.flush();
    Ok(Capture { screenshot, trace })
}
