//! A small VST3 host (the `vst3` crate's bindings) for what pedalboard cannot show: the MIDI the
//! VST3 build sends (notes, and CCs as legacy MIDI CC events) and takes in (notes, and CCs as
//! parameter changes through `IMidiMapping`, the way VST3 DAWs deliver them). It loads the built
//! `audio-mamba.vst3`, processes whole signals block by block and collects audio and events with
//! absolute sample times into the same `Output` as the CLAP host.

mod host_objects;

use crate::clap_host::{bundle_dir, Block, Cc, Note, Output, Run};
use host_objects::{EventList, MemoryStream, ParamValueQueue, ParameterChanges};
use std::cell::RefCell;
use std::ffi::c_void;
use std::path::PathBuf;
use std::ptr::null_mut;
use vst3::Steinberg::Vst::Event_::EventTypes_::{
    kLegacyMIDICCOutEvent, kNoteOffEvent, kNoteOnEvent,
};
use vst3::Steinberg::Vst::*;
use vst3::Steinberg::*;
use vst3::{ComPtr, ComWrapper, Interface};

pub const CLASS_ID: &[u8; 16] = b"AudioMambaTagger";

pub fn vst3_library() -> PathBuf {
    bundle_dir().join("audio-mamba.vst3/Contents/x86_64-linux/audio-mamba.so")
}

/// The loaded module: `ModuleEntry` on load, `ModuleExit` after the factory is released.
pub struct Module {
    factory: Option<ComPtr<IPluginFactory>>,
    lib: libloading::Library,
}

impl Module {
    pub fn load() -> Self {
        let path = vst3_library();
        // SAFETY: the bundle under test; its entry points have the VST3 SDK's signatures.
        unsafe {
            let lib = libloading::Library::new(&path)
                .unwrap_or_else(|e| panic!("load {}: {e}", path.display()));
            let entry = lib
                .get::<unsafe extern "C" fn(*mut c_void) -> bool>(b"ModuleEntry")
                .expect("ModuleEntry");
            assert!(entry(null_mut()), "ModuleEntry failed");
            let get = lib
                .get::<unsafe extern "system" fn() -> *mut c_void>(b"GetPluginFactory")
                .expect("GetPluginFactory");
            let factory = ComPtr::from_raw(get() as *mut IPluginFactory).expect("a factory");
            Self {
                factory: Some(factory),
                lib,
            }
        }
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        self.factory = None;
        // SAFETY: every object from this module is gone (instances borrow the module).
        unsafe {
            if let Ok(exit) = self
                .lib
                .get::<unsafe extern "C" fn() -> bool>(b"ModuleExit")
            {
                exit();
            }
        }
    }
}

pub struct Vst3Instance<'m> {
    component: ComPtr<IComponent>,
    processor: ComPtr<IAudioProcessor>,
    controller: ComPtr<IEditController>,
    _module: &'m Module,
}

/// Title of a VST3 parameter (UTF-16, NUL-terminated).
fn title(units: &[TChar]) -> String {
    let end = units.iter().position(|&c| c == 0).unwrap_or(units.len());
    String::from_utf16_lossy(&units[..end])
}

impl<'m> Vst3Instance<'m> {
    pub fn new(module: &'m Module) -> Self {
        let factory = module.factory.as_ref().expect("factory");
        let mut obj = null_mut();
        // SAFETY: plain COM calls with valid pointers; the IIDs name the interfaces asked for.
        unsafe {
            let r = factory.createInstance(
                CLASS_ID.as_ptr() as FIDString,
                IComponent::IID.as_ptr() as FIDString,
                &mut obj,
            );
            assert_eq!(r, kResultOk, "createInstance");
            let component = ComPtr::from_raw(obj as *mut IComponent).expect("component");
            assert_eq!(component.initialize(null_mut()), kResultOk);
            let processor = component
                .cast::<IAudioProcessor>()
                .expect("IAudioProcessor");
            let controller = component
                .cast::<IEditController>()
                .expect("IEditController");
            Self {
                component,
                processor,
                controller,
                _module: module,
            }
        }
    }

    /// (id, title) of every parameter the host is shown, hidden MIDI CC ones included.
    pub fn params(&self) -> Vec<(ParamID, String, i32)> {
        // SAFETY: ParameterInfo is plain data the plugin fills in.
        unsafe {
            (0..self.controller.getParameterCount())
                .map(|i| {
                    let mut info: ParameterInfo = std::mem::zeroed();
                    assert_eq!(self.controller.getParameterInfo(i, &mut info), kResultOk);
                    (info.id, title(&info.title), info.flags)
                })
                .collect()
        }
    }

    pub fn param_id(&self, name: &str) -> ParamID {
        self.params()
            .into_iter()
            .find(|p| p.1 == name)
            .unwrap_or_else(|| panic!("no parameter {name}"))
            .0
    }

    /// The normalized value the plugin gives `text` for parameter `name`.
    pub fn param_value_of(&self, name: &str, text: &str) -> (ParamID, f64) {
        let id = self.param_id(name);
        let mut units: Vec<TChar> = text.encode_utf16().map(|c| c as TChar).collect();
        units.push(0);
        let mut value = 0.0;
        // SAFETY: a NUL-terminated UTF-16 string and a valid out pointer.
        let r = unsafe {
            self.controller
                .getParamValueByString(id, units.as_mut_ptr(), &mut value)
        };
        assert_eq!(r, kResultOk, "{name} = {text}");
        (id, value)
    }

    pub fn param_normalized(&self, name: &str) -> f64 {
        let id = self.param_id(name);
        // SAFETY: a plain COM call.
        unsafe { self.controller.getParamNormalized(id) }
    }

    /// Sets parameters from the main thread, as a host's generic editor does.
    pub fn set_params(&self, values: &[(&str, &str)]) {
        for (name, text) in values {
            let (id, v) = self.param_value_of(name, text);
            // SAFETY: a plain COM call.
            assert_eq!(
                unsafe { self.controller.setParamNormalized(id, v) },
                kResultOk
            );
        }
    }

    /// The parameter ID a DAW sends MIDI CC `cc` on `channel` to.
    pub fn midi_cc_param(&self, channel: i16, cc: i16) -> Option<ParamID> {
        let mapping = self.component.cast::<IMidiMapping>()?;
        let mut id = 0;
        // SAFETY: a plain COM call with a valid out pointer.
        let r = unsafe { mapping.getMidiControllerAssignment(0, channel, cc, &mut id) };
        (r == kResultOk).then_some(id)
    }

    pub fn save_state(&self) -> Vec<u8> {
        let stream = ComWrapper::new(MemoryStream::default());
        let ptr = stream.to_com_ptr::<IBStream>().expect("IBStream");
        // SAFETY: the stream outlives the call.
        assert_eq!(unsafe { self.component.getState(ptr.as_ptr()) }, kResultOk);
        let bytes = stream.bytes.borrow().clone();
        bytes
    }

    pub fn load_state(&self, bytes: &[u8]) -> bool {
        let stream = ComWrapper::new(MemoryStream {
            bytes: RefCell::new(bytes.to_vec()),
            at: RefCell::new(0),
        });
        let ptr = stream.to_com_ptr::<IBStream>().expect("IBStream");
        // SAFETY: the stream outlives the call.
        unsafe { self.component.setState(ptr.as_ptr()) == kResultOk }
    }

    /// Activates at `run.rate` (offline mode when `offline`), processes `input` (one Vec per
    /// channel), deactivates. `run.midi_in` notes arrive as VST3 note events and CCs as
    /// parameter changes on the IDs `IMidiMapping` gives.
    pub fn run(&self, input: &[Vec<f32>], run: &Run, offline: bool) -> Output {
        let mode = if offline {
            Mode::Offline
        } else {
            Mode::Realtime
        };
        self.run_mode(input, run, mode)
    }

    /// As `run`, in any of the ways a host can say what kind of processing it does.
    pub fn run_mode(&self, input: &[Vec<f32>], run: &Run, mode: Mode) -> Output {
        let channels = input.len();
        let len = input[0].len();
        let max_block = run.blocks.iter().copied().max().unwrap_or(1).max(1);
        let mut arrangement = if channels == 1 {
            SpeakerArr::kMono
        } else {
            SpeakerArr::kStereo
        };
        let mut out_arrangement = arrangement;
        let mut setup = ProcessSetup {
            processMode: if mode == Mode::Offline {
                ProcessModes_::kOffline as i32
            } else {
                ProcessModes_::kRealtime as i32
            },
            symbolicSampleSize: SymbolicSampleSizes_::kSample32 as i32,
            maxSamplesPerBlock: max_block as i32,
            sampleRate: run.rate,
        };
        // SAFETY: plain COM calls with valid pointers, in the order the VST3 SDK prescribes.
        let latency = unsafe {
            let r = self
                .processor
                .setBusArrangements(&mut arrangement, 1, &mut out_arrangement, 1);
            assert_eq!(r, kResultOk, "{channels} channels");
            assert_eq!(self.processor.setupProcessing(&mut setup), kResultOk);
            assert_eq!(self.component.setActive(1), kResultOk);
            assert_eq!(self.processor.setProcessing(1), kResultOk);
            self.processor.getLatencySamples()
        };
        let changes: Vec<(u64, ParamID, f64)> = run
            .param_changes
            .iter()
            .map(|(t, n, v)| {
                let (id, value) = self.param_value_of(n, v);
                (*t, id, value)
            })
            .chain(
                run.midi_in
                    .iter()
                    .filter(|m| m.1[0] & 0xF0 == 0xB0)
                    .map(|m| {
                        let [status, cc, value] = m.1;
                        let id = self
                            .midi_cc_param(i16::from(status & 0x0F), i16::from(cc))
                            .expect("the plugin maps MIDI CCs to parameters");
                        (m.0, id, f64::from(value) / 127.0)
                    }),
            )
            .collect();
        let mut out = Output {
            audio: vec![Vec::with_capacity(len); channels],
            latency,
            ..Output::default()
        };
        let mut in_bufs = vec![vec![0.0f32; max_block]; channels];
        let mut out_bufs = vec![vec![0.0f32; max_block]; channels];
        let in_events = ComWrapper::new(EventList::default());
        let out_events = ComWrapper::new(EventList::default());
        let in_params = ComWrapper::new(ParameterChanges::default());
        let (mut pos, mut k) = (0usize, 0usize);
        while pos < len {
            let n = run.blocks[k % run.blocks.len()].max(1).min(len - pos);
            k += 1;
            for (b, x) in in_bufs.iter_mut().zip(input) {
                b[..n].copy_from_slice(&x[pos..pos + n]);
            }
            let in_block = |t: u64| (t as usize) >= pos && (t as usize) < pos + n;
            in_events.events.replace(
                run.midi_in
                    .iter()
                    .filter(|m| in_block(m.0))
                    .filter_map(|m| note_event(m.1, (m.0 as usize - pos) as i32))
                    .collect(),
            );
            in_params.queues.replace(
                changes
                    .iter()
                    .filter(|c| in_block(c.0))
                    .map(|&(t, id, v)| {
                        ComWrapper::new(ParamValueQueue {
                            id,
                            point: ((t as usize - pos) as i32, v),
                        })
                    })
                    .collect(),
            );
            out_events.events.borrow_mut().clear();
            let mut in_ptrs: Vec<*mut f32> = in_bufs.iter_mut().map(|b| b.as_mut_ptr()).collect();
            let mut out_ptrs: Vec<*mut f32> = out_bufs.iter_mut().map(|b| b.as_mut_ptr()).collect();
            let mut inputs = AudioBusBuffers {
                numChannels: channels as i32,
                silenceFlags: 0,
                __field0: AudioBusBuffers__type0 {
                    channelBuffers32: in_ptrs.as_mut_ptr(),
                },
            };
            let mut outputs = AudioBusBuffers {
                numChannels: channels as i32,
                silenceFlags: 0,
                __field0: AudioBusBuffers__type0 {
                    channelBuffers32: out_ptrs.as_mut_ptr(),
                },
            };
            let as_ptr = |w: &ComWrapper<EventList>| w.as_com_ref::<IEventList>().unwrap().as_ptr();
            // SAFETY: ProcessContext is plain data; zero is a valid value for every field.
            let mut transport: ProcessContext = unsafe { std::mem::zeroed() };
            transport.sampleRate = run.rate;
            transport.projectTimeSamples = pos as i64;
            if run.playing_from.is_some_and(|p| pos as u64 >= p) {
                transport.state = ProcessContext_::StatesAndFlags_::kPlaying;
            }
            let mut data = ProcessData {
                processMode: if mode == Mode::Realtime {
                    ProcessModes_::kRealtime as i32
                } else {
                    ProcessModes_::kOffline as i32
                },
                symbolicSampleSize: setup.symbolicSampleSize,
                numSamples: n as i32,
                numInputs: 1,
                numOutputs: 1,
                inputs: &mut inputs,
                outputs: &mut outputs,
                inputParameterChanges: in_params
                    .as_com_ref::<IParameterChanges>()
                    .unwrap()
                    .as_ptr(),
                outputParameterChanges: null_mut(),
                inputEvents: as_ptr(&in_events),
                outputEvents: as_ptr(&out_events),
                processContext: if run.playing_from.is_some() {
                    &mut transport
                } else {
                    null_mut()
                },
            };
            // SAFETY: every pointer in `data` lives until after the call.
            assert_eq!(unsafe { self.processor.process(&mut data) }, kResultOk);
            let all = (1u64 << channels) - 1;
            out.blocks.push(Block {
                start: pos as u64,
                len: n,
                processed: true,
                may_sleep: outputs.silenceFlags & all == all,
            });
            for (o, b) in out.audio.iter_mut().zip(&out_bufs) {
                o.extend_from_slice(&b[..n]);
            }
            collect_events(&out_events.events.borrow(), pos as u64, &mut out);
            pos += n;
        }
        // SAFETY: plain COM calls.
        unsafe {
            self.processor.setProcessing(0);
            self.component.setActive(0);
        }
        out
    }
}

/// How the host says what kind of processing it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Realtime,
    /// `setupProcessing(kOffline)` and every call flagged offline: a DAW's offline bounce.
    Offline,
    /// Set up for real time, each call flagged offline: a freewheeling export (Ardour's).
    Freewheel,
}

impl Drop for Vst3Instance<'_> {
    fn drop(&mut self) {
        // SAFETY: a plain COM call; the pointers are released after it.
        unsafe { self.component.terminate() };
    }
}

fn note_event([status, key, velocity]: [u8; 3], offset: i32) -> Option<Event> {
    // SAFETY: Event is plain data; zero is a valid value for every field.
    let mut e: Event = unsafe { std::mem::zeroed() };
    e.sampleOffset = offset;
    let channel = i16::from(status & 0x0F);
    match status & 0xF0 {
        0x90 => {
            e.r#type = kNoteOnEvent as u16;
            e.__field0.noteOn = NoteOnEvent {
                channel,
                pitch: i16::from(key),
                tuning: 0.0,
                velocity: f32::from(velocity) / 127.0,
                length: 0,
                noteId: -1,
            };
        }
        0x80 => {
            e.r#type = kNoteOffEvent as u16;
            e.__field0.noteOff = NoteOffEvent {
                channel,
                pitch: i16::from(key),
                velocity: f32::from(velocity) / 127.0,
                noteId: -1,
                tuning: 0.0,
            };
        }
        _ => return None,
    }
    Some(e)
}

fn collect_events(events: &[Event], at: u64, out: &mut Output) {
    for e in events {
        let time = at + e.sampleOffset as u64;
        // SAFETY: the union field read is the one `type` names.
        unsafe {
            match u32::from(e.r#type) {
                t if t == kNoteOnEvent || t == kNoteOffEvent => {
                    let on = t == kNoteOnEvent;
                    let (channel, key, velocity) = if on {
                        let n = e.__field0.noteOn;
                        (n.channel, n.pitch, n.velocity)
                    } else {
                        let n = e.__field0.noteOff;
                        (n.channel, n.pitch, n.velocity)
                    };
                    out.notes.push(Note {
                        time,
                        on,
                        key,
                        channel,
                        velocity: f64::from(velocity),
                    });
                }
                t if t == kLegacyMIDICCOutEvent => {
                    let c = e.__field0.midiCCOut;
                    if c.controlNumber < 128 {
                        out.ccs.push(Cc {
                            time,
                            channel: c.channel as u8,
                            cc: c.controlNumber,
                            value: c.value as u8,
                        });
                    }
                }
                _ => {}
            }
        }
    }
}
