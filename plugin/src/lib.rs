//! Audio Mamba as a CLAP/VST3 plugin: audio passes through (delayed by the reported latency when
//! compensation is on) while a worker thread tags it and the tags come out as MIDI notes and CCs.

mod activation;
pub mod analyzer;
pub mod delay;
pub mod editor;
pub mod events;
pub mod feed;
pub mod learned;
mod model_store;
pub mod params;
mod realtime;
pub mod resample;
pub mod status;
pub mod tags;
pub mod timeline;
pub mod worker;

use analyzer::Sessions;
use audio_mamba_engine::Model;
use nice_plug::prelude::*;
use params::PluginParams;
use realtime::Realtime;
use status::Status;
use std::sync::Arc;
use worker::Worker;

pub use model_store::MODEL_ENV;

pub struct AudioMamba {
    params: Arc<PluginParams>,
    status: Arc<Status>,
    editor_state: Arc<nice_plug_egui::EguiEditorState>,
    /// Kept across activations: creating them warms the models up.
    session: Option<Sessions>,
    /// The model found at creation, held so activation reuses it instead of loading it again.
    _model: Option<Arc<Model>>,
    worker: Option<Worker>,
    rt: Option<Realtime>,
    /// Hop and compensation the latency was computed for; changing them needs a restart.
    activated: (f32, bool),
    restart_requested: bool,
}

impl Default for AudioMamba {
    fn default() -> Self {
        let loaded = model_store::resolve("");
        let labels = loaded
            .model
            .as_ref()
            .map(|m| m.config().labels.clone())
            .unwrap_or_default();
        let status = Status::default();
        status.set_message(loaded.message.clone());
        Self {
            params: Arc::new(PluginParams::new(&labels)),
            status: Arc::new(status),
            editor_state: editor::state(),
            session: None,
            _model: loaded.model,
            worker: None,
            rt: None,
            activated: (0.0, false),
            restart_requested: false,
        }
    }
}

impl AudioMamba {
    pub fn status(&self) -> Arc<Status> {
        self.status.clone()
    }

    fn shutdown(&mut self) {
        if let Some(w) = self.worker.take() {
            if let Some(s) = w.stop() {
                self.session = Some(s);
            }
        }
    }
}

impl Plugin for AudioMamba {
    const NAME: &'static str = "Audio Mamba";
    const VENDOR: &'static str = "Audio Mamba";
    const URL: &'static str = "https://github.com/audio-mamba/audio-mamba";
    const EMAIL: &'static str = "audio-mamba@users.noreply.github.com";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];
    // Incoming notes and CCs are passed on with the tags' own events. In VST3 this means 16 x 130
    // hidden, read-only parameters that a DAW's IMidiMapping routes CCs to (as JUCE plugins do).
    const MIDI_INPUT: MidiConfig = MidiConfig::MidiCCs;
    const MIDI_OUTPUT: MidiConfig = MidiConfig::MidiCCs;

    type Editor = nice_plug_egui::EguiEditor<editor::EditorApp>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(
            self.params.clone(),
            self.status.clone(),
            self.editor_state.clone(),
        )
    }

    fn activate(
        &mut self,
        layout: &AudioIOLayout,
        config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        self.shutdown();
        let channels = layout.main_output_channels.map_or(0, NonZeroU32::get) as usize;
        let rate = config.sample_rate.round() as u32;
        let max_block = config.max_buffer_size.max(1) as usize;
        let offline = config.process_mode == ProcessMode::Offline;
        self.activated = (
            self.params.hop.value(),
            self.params.latency_compensation.value(),
        );
        self.restart_requested = false;
        let setup = activation::Setup {
            rate,
            max_block,
            channels,
            offline,
        };
        let rt = match activation::start(&self.params, &self.status, &mut self.session, setup) {
            Ok((worker, rt)) => {
                self.worker = Some(worker);
                rt
            }
            Err(e) => {
                self.status.set_message(e);
                Realtime::new(None, channels, 0, offline, 0)
            }
        };
        context.set_latency_samples(rt.latency.min(u32::MAX as u64) as u32);
        self.rt = Some(rt);
        true
    }

    fn reset(&mut self) {
        if let Some(rt) = self.rt.as_mut() {
            rt.delay.clear();
        }
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        if cfg!(feature = "bench_passthrough") {
            return ProcessStatus::Normal;
        }
        let now = (
            self.params.hop.value(),
            self.params.latency_compensation.value(),
        );
        if now != self.activated && !self.restart_requested {
            // The latency depends on both: the host must re-activate us to learn the new one.
            self.restart_requested = true;
            context.request_restart();
        }
        let bypass = self.params.bypass.value();
        match self.rt.as_mut() {
            Some(rt) => rt.process(buffer, context, self.worker.as_ref(), &self.status, bypass),
            None => {
                for ch in buffer.as_slice() {
                    ch.iter_mut()
                        .filter(|x| !x.is_finite())
                        .for_each(|x| *x = 0.0);
                }
                ProcessStatus::Normal
            }
        }
    }

    fn deactivate(&mut self) {
        self.shutdown();
        self.rt = None;
    }
}

impl Drop for AudioMamba {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl ClapPlugin for AudioMamba {
    const CLAP_ID: &'static str = "org.audio-mamba.tagger";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Tags audio with a Mamba model and plays the tags as MIDI notes and CCs");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Analyzer,
        ClapFeature::NoteEffect,
        ClapFeature::Stereo,
        ClapFeature::Mono,
    ];
}

impl Vst3Plugin for AudioMamba {
    const VST3_CLASS_ID: [u8; 16] = *b"AudioMambaTagger";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Analyzer];
}

nice_export_clap!(AudioMamba);
nice_export_vst3!(AudioMamba);
