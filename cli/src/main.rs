//! `amtag`: tag audio files with an Audio Mamba model from the command line.

mod bench;
mod hits;
mod learned;
mod tag;

use amtag::audio;
use anyhow::{anyhow, bail, Context, Result};
use audio_mamba_engine::learn::Kind;
use audio_mamba_engine::onset::Onsets;
use audio_mamba_engine::{BackendChoice, Model, Session};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "amtag",
    version,
    about = "Tag audio files with an Audio Mamba model"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Tag audio files (WAV, FLAC, OGG, MP3 at any rate and channel count) or directories.
    Tag {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Model file (.safetensors); default: the model embedded in this build.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Tags printed per file and per window.
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// One JSON object per file on stdout.
        #[arg(long)]
        json: bool,
        /// Write framewise probabilities to OUT.csv or OUT.json.
        #[arg(long, value_name = "OUT")]
        framewise: Option<PathBuf>,
        /// Seconds between window starts (default: the model's window length).
        #[arg(long)]
        hop: Option<f64>,
        /// Threads for inference (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// auto (a real GPU if there is one, else the CPU), cpu, or gpu (any adapter, the
        /// CPU-emulated lavapipe included). Default: $AUDIO_MAMBA_BACKEND, else auto.
        #[arg(long)]
        backend: Option<BackendChoice>,
        /// Windows per GPU submission.
        #[arg(long, default_value_t = 16)]
        batch: usize,
        /// Learned tags (from `amtag learn`) to report beside the model's.
        #[arg(long, value_name = "TAG.json")]
        learned: Vec<PathBuf>,
        /// Hit model for percussive learned tags; default: the embedded one.
        #[arg(long)]
        hit_model: Option<PathBuf>,
    },
    /// Learn a tag of your own from examples: spans where the sound plays (FILE@START-END in
    /// seconds, or whole files and directories) and, optionally, where it does not. Without
    /// --negative, what the positives' own files hold outside their spans is the negative.
    Learn {
        /// The tag's name.
        name: String,
        #[arg(long, value_name = "FILE[@START-END]", required = true)]
        positive: Vec<learned::Example>,
        #[arg(long, value_name = "FILE[@START-END]")]
        negative: Vec<learned::Example>,
        /// percussive (per hit: drums, claps, clicks), sustained (per framewise step:
        /// instruments, voices), or auto (percussive when no positive lasts over a second).
        #[arg(long, value_enum, default_value = "auto")]
        kind: learned::KindArg,
        /// Where to write the tag (JSON, docs/learned-tags.md).
        #[arg(long, value_name = "TAG.json")]
        out: PathBuf,
        /// Tagger for sustained tags; default: the embedded model.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Hit model for percussive tags; default: the embedded one.
        #[arg(long)]
        hit_model: Option<PathBuf>,
    },
    /// Find every drum hit and say which drums were struck; optionally write them as MIDI.
    Hits {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Hit model file (.safetensors); default: the hit model embedded in this build.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Class probability at which a hit counts as that drum.
        #[arg(long, default_value_t = 0.5)]
        threshold: f32,
        /// Onset sensitivity, 0..1 (0.5 neutral; higher finds softer hits).
        #[arg(long, default_value_t = 0.5)]
        sensitivity: f32,
        /// Onset detector: banded (the plugin's: also a kick band and a hat band, which find
        /// hits under accompaniment) or broadband (the whole signal only: fewer onsets).
        #[arg(long, default_value = "banded")]
        onsets: Onsets,
        /// One JSON object per file on stdout.
        #[arg(long)]
        json: bool,
        /// Write the hits as a Standard MIDI File on General MIDI drum notes (one input file).
        #[arg(long, value_name = "OUT.mid")]
        midi: Option<PathBuf>,
        /// auto, cpu or gpu, as for `tag`. Default: $AUDIO_MAMBA_BACKEND, else cpu.
        #[arg(long)]
        backend: Option<BackendChoice>,
        /// Keep hits where the tagger hears no drums (by default they are dropped, as in the
        /// plugin: an onset in speech or a melody is no drum hit).
        #[arg(long)]
        no_veto: bool,
        /// Tagger for the veto (.safetensors); default: the embedded model.
        #[arg(long)]
        tagger: Option<PathBuf>,
    },
    /// Time the engine on one window (or a batch on the GPU); prints one JSON line.
    Bench {
        /// tiny | micro | nano (random weights), a config JSON, or a model file.
        #[arg(long, default_value = "nano")]
        config: String,
        /// Window length in seconds (configs only; default: the config's).
        #[arg(long)]
        seconds: Option<f64>,
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Timed runs (the median is reported).
        #[arg(long, default_value_t = 10)]
        iters: usize,
        /// cpu, gpu (any adapter) or auto. Default: $AUDIO_MAMBA_BACKEND, else cpu.
        #[arg(long)]
        backend: Option<BackendChoice>,
        /// GPU only: run one batch a dispatch at a time and print each kernel's share of the time
        /// (to find the slow kernels on a real GPU) instead of timing whole batches.
        #[arg(long)]
        profile: bool,
        /// Windows per timed run (one GPU submission).
        #[arg(long, default_value_t = 1)]
        batch: usize,
    },
    /// Show a model's configuration, parameter count and labels.
    Info {
        model: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn load_model(path: Option<&Path>) -> Result<Model> {
    match (path, audio_mamba_engine::embedded::tagger()) {
        (Some(p), _) => Model::load(p).map_err(|e| anyhow!("{e}")),
        (None, Some(bytes)) => Model::from_bytes(bytes).map_err(|e| anyhow!("embedded model: {e}")),
        (None, None) => bail!("this build has no embedded model (no trained weights in weights/ yet): pass --model PATH"),
    }
}

pub(crate) fn load_hit_model(path: Option<&Path>) -> Result<Model> {
    match (path, audio_mamba_engine::embedded::hits()) {
        (Some(p), _) => Model::load(p).map_err(|e| anyhow!("{e}")),
        (None, Some(bytes)) => {
            Model::from_bytes(bytes).map_err(|e| anyhow!("embedded hit model: {e}"))
        }
        (None, None) => bail!("this build has no embedded hit model (weights/audio-mamba-hits.safetensors): pass --model PATH"),
    }
}

/// `--backend`, else `$AUDIO_MAMBA_BACKEND`, else `default`; and whether the user chose it.
fn backend_choice(
    flag: Option<BackendChoice>,
    default: BackendChoice,
) -> Result<(BackendChoice, bool)> {
    if let Some(c) = flag {
        return Ok((c, true));
    }
    Ok(match audio_mamba_engine::env::backend()? {
        Some(c) => (c, true),
        None => (default, false),
    })
}

fn main() {
    // Mesa's Vulkan device-select layer connects to a Wayland compositor to rank GPUs and prints
    // an error to stderr when there is none (headless machines, CI); without one it has nothing
    // to rank by. Set before any thread exists.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none()
        && std::env::var_os("NODEVICE_SELECT").is_none()
    {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Info { model, json } => info(&model, json),
        Cmd::Bench {
            config,
            seconds,
            threads,
            iters,
            backend,
            profile,
            batch,
        } => backend_choice(backend, BackendChoice::Cpu).and_then(|(b, _)| {
            if profile {
                bench::profile(&config, seconds, batch, threads)
            } else if b == BackendChoice::Cpu && batch <= 1 {
                bench::run(&config, seconds, threads, iters)
            } else {
                bench::run_backend(&config, seconds, b, batch, threads, iters)
            }
        }),
        Cmd::Hits {
            inputs,
            model,
            threshold,
            sensitivity,
            onsets,
            json,
            midi,
            backend,
            no_veto,
            tagger,
        } => backend_choice(backend, BackendChoice::Cpu).and_then(|(b, _)| {
            let opts = HitsOptions {
                threshold,
                sensitivity,
                onsets,
                json,
                midi: midi.as_deref(),
                backend: b,
                veto: !no_veto,
                tagger: tagger.as_deref(),
            };
            run_hits(&inputs, model.as_deref(), &opts)
        }),
        Cmd::Tag {
            inputs,
            model,
            top,
            json,
            framewise,
            hop,
            threads,
            backend,
            batch,
            learned,
            hit_model,
        } => backend_choice(backend, BackendChoice::Auto).and_then(|backend| {
            run_tag(
                &inputs,
                model.as_deref(),
                top,
                json,
                framewise.as_deref(),
                hop,
                threads,
                backend,
                batch,
                (&learned, hit_model.as_deref()),
            )
        }),
        Cmd::Learn {
            name,
            positive,
            negative,
            kind,
            out,
            model,
            hit_model,
        } => learned::run_learn(&learned::LearnArgs {
            name: &name,
            positives: &positive,
            negatives: &negative,
            kind,
            out: &out,
            model: model.as_deref(),
            hit_model: hit_model.as_deref(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }),
    };
    if let Err(e) = result {
        eprintln!("amtag: {e:#}");
        std::process::exit(1);
    }
}

fn info(path: &Path, as_json: bool) -> Result<()> {
    let model = load_model(Some(path))?;
    let cfg = model.config();
    if as_json {
        let v = json!({
            "file": path,
            "parameters": model.parameter_count(),
            "config": serde_json::to_value(cfg)?,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "{} {} ({} parameters)",
        cfg.name,
        cfg.version,
        model.parameter_count()
    );
    println!("front end: {}", serde_json::to_string(&cfg.frontend)?);
    println!("backbone:  {}", serde_json::to_string(&cfg.backbone)?);
    println!("head:      {}", serde_json::to_string(&cfg.head)?);
    let (rows, cols) = cfg.image_size();
    println!(
        "window:    {:.2} s at {} Hz, image {rows}x{cols}, framewise steps {}",
        cfg.clip_seconds(),
        cfg.sample_rate(),
        cfg.frame_steps().map_or("none".into(), |s| s.to_string())
    );
    println!("labels ({}):", cfg.num_classes());
    for (i, l) in cfg.labels.iter().enumerate() {
        println!("  {i:4}  {}  {}", l.mid, l.name);
    }
    Ok(())
}

/// Expands directories (recursively, sorted) into the audio files they hold.
pub(crate) fn collect_inputs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            out.push(dir.to_path_buf()); // reported as unreadable later
            return;
        };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| audio::EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    for p in inputs {
        if p.is_dir() {
            walk(p, &mut files);
        } else {
            files.push(p.clone());
        }
    }
    files
}

#[allow(clippy::too_many_arguments)]
fn run_tag(
    inputs: &[PathBuf],
    model: Option<&Path>,
    top: usize,
    as_json: bool,
    framewise: Option<&Path>,
    hop: Option<f64>,
    threads: Option<usize>,
    (backend, chosen): (BackendChoice, bool),
    batch: usize,
    (learned_paths, hit_model): (&[PathBuf], Option<&Path>),
) -> Result<()> {
    if let Some(h) = hop {
        if !(h > 0.0 && h.is_finite()) {
            bail!("--hop must be a positive number of seconds");
        }
    }
    let model = Arc::new(load_model(model)?);
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut session = Session::new(model.clone(), threads, backend, batch.max(1))?;
    if chosen || session.is_gpu() {
        eprintln!("amtag: backend {}", session.describe());
    }
    let cfg = model.config().clone();
    let (mut learned, problems) = learned::LearnedSet::load(learned_paths, &model, hit_model)?;
    for p in &problems {
        eprintln!("amtag: learned tag {p}; left out");
    }
    let mut columns: Vec<String> = cfg.labels.iter().map(|l| l.name.clone()).collect();
    columns.extend(learned.tags.iter().map(|t| format!("learned:{}", t.name)));
    let files = collect_inputs(inputs);
    if files.is_empty() {
        bail!(
            "no audio files found in {}",
            inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let bar = if files.len() > 1 {
        let b = ProgressBar::new(files.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} {wide_msg}")
                .expect("valid template"),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let mut failures = Vec::new();
    let mut frame_rows = Vec::new();
    let stdout = std::io::stdout();
    for file in &files {
        bar.set_message(file.display().to_string());
        let keep = learned.tags.iter().any(|t| t.kind == Kind::Sustained);
        let outcome = audio::decode_mono(file).and_then(|d| {
            let res = tag::tag_samples(&mut session, &d.samples, d.sample_rate, hop, keep)
                .context("inference failed")?;
            let l = learned
                .score(
                    &d.samples,
                    d.sample_rate,
                    &res.frames,
                    &res.frame_embeddings,
                )
                .context("learned tags failed")?;
            Ok((res, l))
        });
        if let Some(why) = session.take_gpu_failure() {
            bar.suspend(|| eprintln!("amtag: GPU failed ({why}); continuing on the CPU"));
        }
        bar.inc(1);
        let (mut res, learned_res) = match outcome {
            Ok(r) => r,
            Err(e) => {
                bar.suspend(|| eprintln!("amtag: {}: {e:#}", file.display()));
                failures.push(file.clone());
                continue;
            }
        };
        let mut out = stdout.lock();
        if as_json {
            let v = json!({
                "file": file,
                "model": format!("{} {}", cfg.name, cfg.version),
                "duration_s": res.duration_s,
                "tags": tag::top_tags(&res.file_probs, &cfg.labels, top),
                "learned": learned_res,
                "windows": res.windows.iter().map(|(a, b, p)| tag::Window {
                    start_s: *a, end_s: *b, tags: tag::top_tags(p, &cfg.labels, top)
                }).collect::<Vec<_>>(),
            });
            bar.suspend(|| writeln!(out, "{v}"))?;
        } else {
            bar.suspend(|| -> std::io::Result<()> {
                writeln!(
                    out,
                    "{}  ({:.1} s, {} windows)",
                    file.display(),
                    res.duration_s,
                    res.windows.len()
                )?;
                for t in tag::top_tags(&res.file_probs, &cfg.labels, top) {
                    writeln!(out, "  {:.3}  {}", t.probability, t.label)?;
                }
                for l in &learned_res {
                    writeln!(out, "  {}", l.describe())?;
                }
                Ok(())
            })?;
        }
        if framewise.is_some() {
            for (i, row) in res.frames.iter_mut().enumerate() {
                row.2.extend(learned_res.iter().map(|l| l.frames[i]));
            }
            frame_rows.push((file.clone(), res.frames));
        }
    }
    bar.finish_and_clear();
    if let Some(path) = framewise {
        write_framewise(path, &columns, &frame_rows)?;
    }
    if !failures.is_empty() {
        bail!("{} of {} files failed", failures.len(), files.len());
    }
    if !problems.is_empty() {
        bail!(
            "{} of {} learned tags left out",
            problems.len(),
            learned_paths.len()
        );
    }
    Ok(())
}

struct HitsOptions<'a> {
    threshold: f32,
    sensitivity: f32,
    onsets: Onsets,
    json: bool,
    midi: Option<&'a Path>,
    backend: BackendChoice,
    veto: bool,
    tagger: Option<&'a Path>,
}

fn run_hits(inputs: &[PathBuf], model: Option<&Path>, o: &HitsOptions) -> Result<()> {
    let (threshold, sensitivity, midi) = (o.threshold, o.sensitivity, o.midi);
    if !(0.0..=1.0).contains(&threshold) || !(0.0..=1.0).contains(&sensitivity) {
        bail!("--threshold and --sensitivity must lie in 0..1");
    }
    let model = Arc::new(load_hit_model(model)?);
    let mut clf = audio_mamba_engine::hits::HitClassifier::new(model.clone(), 1, o.backend)?;
    let mut tagger = match o.veto {
        true => {
            let t = Arc::new(load_model(o.tagger).context("the veto's tagger (or --no-veto)")?);
            Some(Session::new(t, 1, o.backend, 16)?)
        }
        false => None,
    };
    let cfg = model.config().clone();
    let files = collect_inputs(inputs);
    if files.is_empty() {
        bail!("no audio files found");
    }
    if midi.is_some() && files.len() != 1 {
        bail!(
            "--midi writes one file: give one input ({} found)",
            files.len()
        );
    }
    let mut failures = 0;
    let stdout = std::io::stdout();
    for file in &files {
        let outcome = audio::decode_mono(file).and_then(|d| {
            hits::find_hits(
                &mut clf,
                tagger.as_mut(),
                &d.samples,
                d.sample_rate,
                (sensitivity, o.onsets),
                threshold,
            )
        });
        if let Some(why) = clf.take_gpu_failure() {
            eprintln!("amtag: GPU failed ({why}); continuing on the CPU");
        }
        let res = match outcome {
            Ok(r) => r,
            Err(e) => {
                eprintln!("amtag: {}: {e:#}", file.display());
                failures += 1;
                continue;
            }
        };
        let mut out = stdout.lock();
        if o.json {
            let v = json!({
                "file": file,
                "model": format!("{} {}", cfg.name, cfg.version),
                "duration_s": res.duration_s,
                "onsets": res.onsets,
                "threshold": threshold,
                "vetoed": res.vetoed,
                "hits": res.hits,
            });
            writeln!(out, "{v}")?;
        } else {
            writeln!(
                out,
                "{}  ({:.1} s, {} hits of {} onsets, {} where the tagger heard no drums)",
                file.display(),
                res.duration_s,
                res.hits.len(),
                res.onsets,
                res.vetoed
            )?;
            for h in &res.hits {
                let classes: Vec<String> = h
                    .classes
                    .iter()
                    .map(|c| format!("{} {:.2}", c.label, c.probability))
                    .collect();
                writeln!(
                    out,
                    "  {:9.3} s  {:6.1} dB  {}",
                    h.time_s,
                    h.level_db,
                    classes.join(", ")
                )?;
            }
        }
        if let Some(path) = midi {
            let name = file
                .file_stem()
                .map_or("hits".into(), |s| s.to_string_lossy());
            hits::write_midi(path, &res.hits, threshold, &name)?;
        }
    }
    if failures > 0 {
        bail!("{failures} of {} files failed", files.len());
    }
    Ok(())
}

type FrameRows = Vec<(PathBuf, Vec<(f64, f64, Vec<f32>)>)>;

/// The framewise table: one column per model label, then one per learned tag.
fn write_framewise(path: &Path, columns: &[String], rows: &FrameRows) -> Result<()> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
    );
    if is_json {
        let v: Vec<_> = rows
            .iter()
            .map(|(file, frames)| {
                json!({
                    "file": file,
                    "labels": columns,
                    "frames": frames.iter().map(|(a, b, p)| json!({"start_s": a, "end_s": b, "probabilities": p})).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::to_writer(&mut f, &v)?;
    } else {
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let header: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        writeln!(f, "file,start_s,end_s,{}", header.join(","))?;
        for (file, frames) in rows {
            for (a, b, p) in frames {
                let vals: Vec<String> = p.iter().map(|v| format!("{v:.4}")).collect();
                writeln!(
                    f,
                    "{},{a:.3},{b:.3},{}",
                    quote(&file.display().to_string()),
                    vals.join(",")
                )?;
            }
        }
    }
    f.flush()?;
    Ok(())
}
