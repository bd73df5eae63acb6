//! A small CLAP host (clack-host) that loads the built `audio-mamba.clap`, sets parameters,
//! saves and loads state, switches render mode and processes whole signals block by block,
//! collecting audio, notes and CCs with their absolute sample times.

use clack_extensions::audio_ports_config::PluginAudioPortsConfig;
use clack_extensions::gui::{GuiSize, HostGui, HostGuiImpl};
use clack_extensions::latency::PluginLatency;
use clack_extensions::params::{ParamInfoBuffer, ParamInfoFlags, PluginParams};
use clack_extensions::render::{PluginRender, RenderMode};
use clack_extensions::state::PluginState;
use clack_host::events::event_types::{MidiEvent, NoteOffEvent, NoteOnEvent, ParamValueEvent};
use clack_host::prelude::*;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub const PLUGIN_ID: &[u8] = b"org.audio-mamba.tagger";

/// Where `cargo xtask bundle` put the bundles: `AUDIO_MAMBA_BUNDLE_DIR`, else `bundled/` in the
/// target directory this crate was built into.
pub fn bundle_dir() -> PathBuf {
    if let Ok(d) = std::env::var("AUDIO_MAMBA_BUNDLE_DIR") {
        return PathBuf::from(d);
    }
    let target = option_env!("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("bundled")
}

pub fn clap_path() -> PathBuf {
    bundle_dir().join("audio-mamba.clap")
}

#[derive(Default)]
pub struct Shared {
    restart: AtomicBool,
    callback: AtomicBool,
}

impl SharedHandler<'_> for Shared {
    fn request_restart(&self) {
        self.restart.store(true, Ordering::Release);
    }
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback.store(true, Ordering::Release);
    }
}

/// The host side of the GUI extension: a real host provides it, and nice-plug needs it to open
/// an editor. The test window keeps its size, so resize requests are only acknowledged.
impl HostGuiImpl for Shared {
    fn resize_hints_changed(&self) {}
    fn request_resize(&self, _size: GuiSize) -> Result<(), HostError> {
        Ok(())
    }
    fn request_show(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn request_hide(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn closed(&self, _was_destroyed: bool) {}
}

pub struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = Shared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder.register::<HostGui>();
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Note {
    pub time: u64,
    pub on: bool,
    pub key: i16,
    pub channel: i16,
    pub velocity: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cc {
    pub time: u64,
    pub channel: u8,
    pub cc: u8,
    pub value: u8,
}

#[derive(Debug, Default)]
pub struct Output {
    pub audio: Vec<Vec<f32>>,
    pub notes: Vec<Note>,
    pub ccs: Vec<Cc>,
    /// Latency the plugin reported after activation.
    pub latency: u32,
    pub restart_requested: bool,
    /// Microseconds of each `process()` call, when `Run::time_blocks` is set.
    pub block_micros: Vec<f64>,
    /// Every block the host had, processed or slept through.
    pub blocks: Vec<Block>,
}

/// One block of a run and what the plugin said after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub start: u64,
    pub len: usize,
    /// False when the host let the plugin sleep through it (`Run::sleep`).
    pub processed: bool,
    /// The plugin said it may sleep: CLAP's CONTINUE_IF_NOT_QUIET, or VST3 silence flags on
    /// every output channel.
    pub may_sleep: bool,
}

impl Output {
    /// Start of the first block from which the plugin said it may sleep, and stayed so to the end.
    pub fn sleeps_from(&self) -> Option<u64> {
        let awake = self.blocks.iter().rposition(|b| !b.may_sleep);
        let first = awake.map_or(0, |i| i + 1);
        self.blocks.get(first).map(|b| b.start)
    }

    /// Time of the last note-off.
    pub fn last_note_off(&self) -> Option<u64> {
        self.notes.iter().filter(|n| !n.on).map(|n| n.time).max()
    }
}

/// How to feed the signal.
#[derive(Clone, Debug)]
pub struct Run {
    pub rate: f64,
    /// Block sizes, cycled.
    pub blocks: Vec<usize>,
    /// Sleep so blocks arrive no faster than real time (as from a sound card).
    pub real_time: bool,
    /// Raw MIDI bytes to send in, by absolute sample time.
    pub midi_in: Vec<(u64, [u8; 3])>,
    /// Parameter changes sent with the block containing the time: (time, name, text value).
    pub param_changes: Vec<(u64, String, String)>,
    /// Time every `process()` call (benchmarks).
    pub time_blocks: bool,
    /// Act as a host that saves power: once the plugin said it may sleep, skip its `process()`
    /// for blocks of silent input without events (outputs silence), until the input is not.
    pub sleep: bool,
    /// VST3 host only: a transport that is stopped until this sample and plays from it.
    pub playing_from: Option<u64>,
}

impl Run {
    pub fn new(rate: f64, blocks: &[usize]) -> Self {
        Self {
            rate,
            blocks: blocks.to_vec(),
            real_time: false,
            midi_in: Vec::new(),
            param_changes: Vec::new(),
            time_blocks: false,
            sleep: false,
            playing_from: None,
        }
    }
}

pub struct Instance {
    inst: PluginInstance<TestHost>,
}

pub fn load_entry() -> PluginEntry {
    let path = clap_path();
    // SAFETY: loading a CLAP bundle runs its entry point; it is the plugin under test.
    unsafe { PluginEntry::load(&path) }.unwrap_or_else(|e| {
        panic!(
            "cannot load {} ({e}); run `cargo xtask bundle audio-mamba --release` first",
            path.display()
        )
    })
}

impl Instance {
    pub fn new(entry: &PluginEntry) -> Self {
        let info = HostInfo::new(
            "audio-mamba host test",
            "audio-mamba",
            "https://example.invalid",
            "1.0",
        )
        .unwrap();
        let id = CString::new(PLUGIN_ID).unwrap();
        let inst =
            PluginInstance::<TestHost>::new(|_| Shared::default(), |_| (), entry, &id, &info)
                .expect("plugin instance");
        Self { inst }
    }

    /// The plugin's main-thread handle (for extensions the harness does not wrap, e.g. the GUI).
    pub fn main_thread(&mut self) -> PluginMainThreadHandle<'_> {
        self.inst.plugin_handle()
    }

    /// Runs the main-thread callbacks the plugin asked for.
    pub fn pump(&mut self) {
        self.pump_main_thread();
    }

    fn params_ext(&mut self) -> PluginParams {
        self.inst
            .plugin_handle()
            .get_extension::<PluginParams>()
            .expect("params extension")
    }

    /// Id and flags of the parameter with this display name.
    fn param_info(&mut self, name: &str) -> (ClapId, ParamInfoFlags) {
        let ext = self.params_ext();
        let handle = self.inst.plugin_handle();
        let mut buf = ParamInfoBuffer::new();
        for i in 0..ext.count(&handle) {
            if let Some(info) = ext.get_info(&handle, i, &mut buf) {
                if info.name == name.as_bytes() {
                    return (info.id, info.flags);
                }
            }
        }
        panic!("no parameter named {name:?}");
    }

    /// Parameter id by display name.
    pub fn param_id(&mut self, name: &str) -> ClapId {
        self.param_info(name).0
    }

    /// Whether the parameter is flagged as the plugin's bypass (CLAP_PARAM_IS_BYPASS).
    pub fn param_is_bypass(&mut self, name: &str) -> bool {
        self.param_info(name).1.contains(ParamInfoFlags::IS_BYPASS)
    }

    pub fn param_names(&mut self) -> Vec<String> {
        let ext = self.params_ext();
        let handle = self.inst.plugin_handle();
        let mut buf = ParamInfoBuffer::new();
        (0..ext.count(&handle))
            .filter_map(|i| {
                ext.get_info(&handle, i, &mut buf)
                    .map(|p| String::from_utf8_lossy(p.name).into_owned())
            })
            .collect()
    }

    /// The CLAP value of a parameter given as text (the plugin parses it).
    pub fn param_value_of(&mut self, name: &str, text: &str) -> (ClapId, f64) {
        let id = self.param_id(name);
        let ext = self.params_ext();
        let text = CString::new(text).unwrap();
        let v = ext
            .text_to_value(&self.inst.plugin_handle(), id, &text)
            .unwrap_or_else(|| panic!("{name}: cannot parse {text:?}"));
        (id, v)
    }

    pub fn param_value(&mut self, name: &str) -> f64 {
        let id = self.param_id(name);
        let ext = self.params_ext();
        ext.get_value(&self.inst.plugin_handle(), id)
            .expect("value")
    }

    /// Sets parameters from text while inactive (the host's `flush`).
    pub fn set_params(&mut self, values: &[(&str, &str)]) {
        let events: Vec<ParamValueEvent> = values
            .iter()
            .map(|(n, t)| {
                let (id, v) = self.param_value_of(n, t);
                ParamValueEvent::new(0, id, Pckn::match_all(), v)
            })
            .collect();
        let ext = self.params_ext();
        let mut out = EventBuffer::new();
        let input = InputEvents::from_buffer(&events);
        let mut handle = self.inst.inactive_plugin_handle().expect("inactive");
        ext.flush(
            &mut handle,
            &input,
            &mut OutputEvents::from_buffer(&mut out),
        );
    }

    pub fn save_state(&mut self) -> Vec<u8> {
        let ext = self
            .inst
            .plugin_handle()
            .get_extension::<PluginState>()
            .expect("state extension");
        let mut out = Vec::new();
        ext.save(&self.inst.plugin_handle(), &mut out)
            .expect("save state");
        out
    }

    pub fn load_state(&mut self, bytes: &[u8]) -> bool {
        let ext = self
            .inst
            .plugin_handle()
            .get_extension::<PluginState>()
            .expect("state extension");
        ext.load(&self.inst.plugin_handle(), &mut std::io::Cursor::new(bytes))
            .is_ok()
    }

    pub fn set_offline(&mut self, offline: bool) {
        let ext = self
            .inst
            .plugin_handle()
            .get_extension::<PluginRender>()
            .expect("render extension");
        let mode = if offline {
            RenderMode::Offline
        } else {
            RenderMode::Realtime
        };
        ext.set(&self.inst.plugin_handle(), mode)
            .expect("render mode");
    }

    /// Picks the stereo (2) or mono (1) layout; nice-plug lists stereo first.
    pub fn select_channels(&mut self, channels: usize) {
        let ext = self
            .inst
            .plugin_handle()
            .get_extension::<PluginAudioPortsConfig>()
            .expect("audio-ports-config");
        let id = ClapId::new(if channels == 1 { 1 } else { 0 });
        ext.select(&self.inst.plugin_handle(), id)
            .expect("select layout");
    }

    fn pump_main_thread(&mut self) {
        let pending = self
            .inst
            .access_shared_handler(|s| s.callback.swap(false, Ordering::AcqRel));
        if pending {
            self.inst.call_on_main_thread_callback();
        }
    }

    /// Activates at `run.rate`, processes `input` (one Vec per channel), deactivates.
    pub fn run(&mut self, input: &[Vec<f32>], run: &Run) -> Output {
        let channels = input.len();
        let len = input[0].len();
        let max_block = run.blocks.iter().copied().max().unwrap_or(1).max(1);
        let config = PluginAudioConfiguration {
            sample_rate: run.rate,
            min_frames_count: 1,
            max_frames_count: max_block as u32,
        };
        self.select_channels(channels);
        let stopped = self.inst.activate(|_, _| (), config).expect("activate");
        self.pump_main_thread();
        let latency = self
            .inst
            .plugin_handle()
            .get_extension::<PluginLatency>()
            .map_or(0, |l| l.get(&self.inst.plugin_handle()));
        let mut ids = std::collections::HashMap::new();
        let changes: Vec<(u64, ClapId, f64)> = run
            .param_changes
            .iter()
            .map(|(t, n, v)| {
                let (id, value) = *ids
                    .entry((n.clone(), v.clone()))
                    .or_insert_with(|| self.param_value_of(n, v));
                (*t, id, value)
            })
            .collect();
        let mut proc = stopped.start_processing().expect("start processing");
        let mut out = Output {
            audio: vec![Vec::with_capacity(len); channels],
            latency,
            ..Output::default()
        };
        let mut in_ports = AudioPorts::with_capacity(channels, 1);
        let mut out_ports = AudioPorts::with_capacity(channels, 1);
        let mut in_bufs = vec![vec![0.0f32; max_block]; channels];
        let mut out_bufs = vec![vec![0.0f32; max_block]; channels];
        let mut out_events = EventBuffer::with_capacity(1024);
        let (mut pos, mut k) = (0usize, 0usize);
        let mut may_sleep = false;
        let start = Instant::now();
        while pos < len {
            let n = run.blocks[k % run.blocks.len()].max(1).min(len - pos);
            k += 1;
            for (b, x) in in_bufs.iter_mut().zip(input) {
                b[..n].copy_from_slice(&x[pos..pos + n]);
            }
            let quiet = in_bufs.iter().all(|b| b[..n].iter().all(|&v| v == 0.0))
                && !changes
                    .iter()
                    .any(|c| (pos..pos + n).contains(&(c.0 as usize)))
                && !run
                    .midi_in
                    .iter()
                    .any(|m| (pos..pos + n).contains(&(m.0 as usize)));
            if run.sleep && may_sleep && quiet {
                for o in out.audio.iter_mut() {
                    o.extend(std::iter::repeat_n(0.0, n));
                }
                out.blocks.push(Block {
                    start: pos as u64,
                    len: n,
                    processed: false,
                    may_sleep,
                });
                pos += n;
                continue;
            }
            let mut in_events = EventBuffer::new();
            for (t, id, v) in changes
                .iter()
                .filter(|c| c.0 as usize >= pos && (c.0 as usize) < pos + n)
            {
                in_events.push(&ParamValueEvent::new(
                    (*t as usize - pos) as u32,
                    *id,
                    Pckn::match_all(),
                    *v,
                ));
            }
            for (t, data) in run
                .midi_in
                .iter()
                .filter(|m| m.0 as usize >= pos && (m.0 as usize) < pos + n)
            {
                in_events.push(&MidiEvent::new((*t as usize - pos) as u32, 0, *data));
            }
            out_events.clear();
            let t = Instant::now();
            {
                let ins = in_ports.with_input_buffers([AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_input_only(
                        in_bufs
                            .iter_mut()
                            .map(|b| InputChannel::variable(&mut b[..n])),
                    ),
                }]);
                let mut outs = out_ports.with_output_buffers([AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_output_only(
                        out_bufs.iter_mut().map(|b| &mut b[..n]),
                    ),
                }]);
                let status = proc
                    .process(
                        &ins,
                        &mut outs,
                        &InputEvents::from_buffer(&in_events),
                        &mut OutputEvents::from_buffer(&mut out_events),
                        Some(pos as u64),
                        None,
                    )
                    .expect("process");
                may_sleep = status == ProcessStatus::ContinueIfNotQuiet;
            }
            out.blocks.push(Block {
                start: pos as u64,
                len: n,
                processed: true,
                may_sleep,
            });
            if run.time_blocks {
                out.block_micros.push(t.elapsed().as_secs_f64() * 1e6);
            }
            for (o, b) in out.audio.iter_mut().zip(&out_bufs) {
                o.extend_from_slice(&b[..n]);
            }
            collect_events(&out_events, pos as u64, &mut out);
            pos += n;
            self.pump_main_thread();
            if run.real_time {
                let due = Duration::from_secs_f64(pos as f64 / run.rate);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
        }
        self.inst.deactivate(proc.stop_processing());
        self.pump_main_thread();
        out.restart_requested = self
            .inst
            .access_shared_handler(|s| s.restart.swap(false, Ordering::AcqRel));
        out
    }
}

fn collect_events(events: &EventBuffer, at: u64, out: &mut Output) {
    for e in events.iter() {
        let time = at + e.header().time() as u64;
        if let Some(n) = e.as_event::<NoteOnEvent>() {
            let p = n.pckn();
            out.notes.push(Note {
                time,
                on: true,
                key: p.raw_key(),
                channel: p.raw_channel(),
                velocity: n.velocity(),
            });
        } else if let Some(n) = e.as_event::<NoteOffEvent>() {
            let p = n.pckn();
            out.notes.push(Note {
                time,
                on: false,
                key: p.raw_key(),
                channel: p.raw_channel(),
                velocity: n.velocity(),
            });
        } else if let Some(m) = e.as_event::<MidiEvent>() {
            let [status, cc, value] = m.data();
            if status & 0xF0 == 0xB0 {
                out.ccs.push(Cc {
                    time,
                    channel: status & 0x0F,
                    cc,
                    value,
                });
            }
        }
    }
}

/// The JSON inside a nice-plug CLAP state (after its 8-byte length).
pub fn state_json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(&bytes[8..]).expect("state JSON")
}

pub fn state_bytes(json: &serde_json::Value) -> Vec<u8> {
    let body = json.to_string().into_bytes();
    let mut out = (body.len() as u64).to_le_bytes().to_vec();
    out.extend(body);
    out
}

/// Runs the calling test binary's test `name` in a child process with `env` set and `remove`
/// unset; returns its success and output.
pub fn child(name: &str, env: &[(&str, &str)], remove: &[&str]) -> (bool, String) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--ignored", "--exact", "--nocapture", name]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    for k in remove {
        cmd.env_remove(k);
    }
    let out = cmd.output().expect("run child test");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && text.contains("1 passed"), text)
}

/// Runs the calling test `name` again in a child process with the shipped (embedded) models,
/// that is without the test models' environment variables. True in the parent, whose test is
/// then done; false in the child, which goes on with the test.
pub fn with_shipped_models(name: &str) -> bool {
    if std::env::var_os("AUDIO_MAMBA_CHILD").is_some() {
        return false;
    }
    let (ok, log) = child(
        name,
        &[("AUDIO_MAMBA_CHILD", "1")],
        &["AUDIO_MAMBA_MODEL", "AUDIO_MAMBA_HIT_MODEL"],
    );
    assert!(ok, "{name} with the shipped models:\n{log}");
    true
}
