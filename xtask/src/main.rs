//! `cargo xtask bundle ...` (nice-plug's bundler; with `--release` it also writes the stripped
//! bundles and their zips to `target/dist/`, see `dist`) and `cargo xtask screenshot`, which
//! regenerates docs/screenshot.png from a real run: the release bundle plays a shipped example
//! clip with its editor open (under Xvfb when there is no display).

mod dist;

use std::path::PathBuf;
use std::process::Command;

const CLIP: &str = "examples/drum-kit-acoustic.flac";
const OUT: &str = "docs/screenshot.png";

fn main() -> nice_plug_xtask::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("screenshot") {
        return screenshot(&args[1..]);
    }
    nice_plug_xtask::main()?;
    let release = args.iter().any(|a| a == "--release" || a == "-r");
    if let (Some("bundle"), Some(package), true) =
        (args.first().map(String::as_str), args.get(1), release)
    {
        nice_plug_xtask::chdir_workspace_root()?;
        let target =
            PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()));
        dist::make(package, &target.join("bundled"), &target.join("dist"))?;
    }
    Ok(())
}

fn run(cmd: &mut Command) -> nice_plug_xtask::Result<()> {
    let status = cmd.status()?;
    if !status.success() {
        return Err(std::io::Error::other(format!("{cmd:?} failed ({status})")).into());
    }
    Ok(())
}

/// `cargo xtask screenshot [CLIP] [OUT.png]`
fn screenshot(args: &[String]) -> nice_plug_xtask::Result<()> {
    nice_plug_xtask::chdir_workspace_root()?;
    let clip = args.first().map_or(CLIP, String::as_str);
    let out = args.get(1).map_or(OUT, String::as_str);
    if let Some(dir) = PathBuf::from(out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(&cargo).args(["xtask", "bundle", "audio-mamba", "--release"]))?;
    run(Command::new(&cargo).args([
        "build",
        "--release",
        "-p",
        "audio-mamba-host-tests",
        "--bin",
        "editor-screenshot",
    ]))?;
    let tool = PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
        .join("release/editor-screenshot");
    // The shipped model, whatever the environment names.
    let mut cmd = if std::env::var_os("DISPLAY").is_some() {
        Command::new(&tool)
    } else {
        let mut c = Command::new("xvfb-run");
        c.args(["-a", "-s", "-screen 0 2600x2200x24"]).arg(&tool);
        c
    };
    cmd.args([clip, out]).env_remove("AUDIO_MAMBA_MODEL");
    run(&mut cmd)?;
    println!("wrote {out} from {clip}");
    Ok(())
}
