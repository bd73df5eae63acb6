//! `cargo xtask screenshot` runs this: plays a clip through the built .clap with its editor open
//! (X server needed; the xtask starts Xvfb when there is none) and saves the window as PNG.
//!
//!     editor-screenshot CLIP.flac OUT.png [SCALE]

use audio_mamba_host_tests::editor_capture::capture;
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: editor-screenshot CLIP OUT.png [SCALE]");
        std::process::exit(2);
    }
    let scale: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let trace = std::env::temp_dir().join(format!("am-shot-{}.json", std::process::id()));
    match capture(&PathBuf::from(&args[0]), scale, None, &trace) {
        Ok(c) => {
            if let Err(e) = c.screenshot.save_png(&PathBuf::from(&args[1])) {
                eprintln!("{e}");
                std::process::exit(1);
            }
            println!("{}", c.trace);
            std::fs::remove_file(trace).ok();
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
