//! Distribution copies of the release bundles: `target/dist/` holds each bundle stripped of its
//! debug information and a `.zip` per format with the licences and the README, ready to hand
//! to a user. The bundles in `target/bundled/` keep their line tables for the tests' backtraces.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use zip::write::SimpleFileOptions;

const EXTRAS: &[&str] = &["LICENSE-MIT", "LICENSE-APACHE", "README.md"];

/// Strips and zips every bundle of `package` found in `bundled` into `dist`; returns the zips.
pub fn make(package: &str, bundled: &Path, dist: &Path) -> std::io::Result<Vec<PathBuf>> {
    if dist.exists() {
        fs::remove_dir_all(dist)?;
    }
    fs::create_dir_all(dist)?;
    let mut zips = Vec::new();
    for format in ["clap", "vst3"] {
        let name = format!("{package}.{format}");
        let src = bundled.join(&name);
        if !src.exists() {
            continue;
        }
        let copy = dist.join(&name);
        copy_tree(&src, &copy)?;
        for file in files(&copy)? {
            strip_if_binary(&file)?;
        }
        let zip_path = dist.join(format!(
            "{package}-{}-{}-{}-{format}.zip",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH
        ));
        write_zip(&zip_path, dist, &copy)?;
        println!(
            "{}: bundle {:.1} MB, stripped {:.1} MB, zip {:.1} MB",
            name,
            mb(tree_size(&src)?),
            mb(tree_size(&copy)?),
            mb(fs::metadata(&zip_path)?.len())
        );
        zips.push(zip_path);
    }
    Ok(zips)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    if src.is_dir() {
        fs::create_dir_all(dst)?;
        for e in fs::read_dir(src)? {
            let e = e?;
            copy_tree(&e.path(), &dst.join(e.file_name()))?;
        }
        Ok(())
    } else {
        fs::copy(src, dst).map(|_| ())
    }
}

/// Regular files under `p` (or `p` itself), sorted so that zips are reproducible.
fn files(p: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !p.is_dir() {
        return Ok(vec![p.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(p)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        out.extend(files(&e.path())?);
    }
    Ok(out)
}

fn tree_size(p: &Path) -> std::io::Result<u64> {
    files(p)?
        .iter()
        .map(|f| fs::metadata(f).map(|m| m.len()))
        .sum()
}

/// Removes debug sections and the static symbol table from ELF and Mach-O binaries with the
/// platform's `strip` (binutils on Linux, Xcode's on macOS; the exported entry points are dynamic
/// symbols and stay): no maintained crate rewrites object files in place, and the linker's own
/// stripping would need a second release build. Windows bundles keep debug info in PDBs beside
/// the build, so there is nothing to strip.
fn strip_if_binary(file: &Path) -> std::io::Result<()> {
    let mut magic = [0u8; 4];
    let n = fs::File::open(file).and_then(|mut f| std::io::Read::read(&mut f, &mut magic))?;
    let elf = n == 4 && magic == *b"\x7fELF";
    let macho = n == 4
        && matches!(
            u32::from_le_bytes(magic),
            0xfeedfacf | 0xcafebabe | 0xbebafeca
        );
    let flag = match (elf, macho) {
        (true, _) => "--strip-all",
        (_, true) => "-x",
        _ => return Ok(()),
    };
    let status = Command::new("strip").arg(flag).arg(file).status()?;
    if !status.success() {
        return Err(std::io::Error::other(format!(
            "strip {flag} {} failed ({status})",
            file.display()
        )));
    }
    Ok(())
}

/// Zips `bundle` (paths relative to `base`, executable bits kept) and the workspace's
/// licences and README.
fn write_zip(zip_path: &Path, base: &Path, bundle: &Path) -> std::io::Result<()> {
    let mut zip = zip::ZipWriter::new(fs::File::create(zip_path)?);
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut add = |path: &Path, name: String| -> std::io::Result<()> {
        let mode = permissions(path)?;
        zip.start_file(name, deflated.unix_permissions(mode))
            .map_err(std::io::Error::other)?;
        zip.write_all(&fs::read(path)?)
    };
    for f in files(bundle)? {
        let rel = f.strip_prefix(base).map_err(std::io::Error::other)?;
        let name = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        add(&f, name)?;
    }
    for extra in EXTRAS {
        add(Path::new(extra), (*extra).to_string())?;
    }
    zip.finish().map_err(std::io::Error::other)?;
    Ok(())
}

#[cfg(unix)]
fn permissions(p: &Path) -> std::io::Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    Ok(fs::metadata(p)?.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn permissions(_: &Path) -> std::io::Result<u32> {
    Ok(0o644)
}
