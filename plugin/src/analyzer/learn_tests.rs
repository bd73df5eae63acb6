//! Teaching a slot through the analysis's learn controls, with the shipped models on scenes the
//! tests render (`audio_mamba_host_tests::learning`): the calls the worker makes, block by block.

use super::*;
use crate::events::Msg;
use crate::learned::{learn_lesson, LearnedBank};
use crate::params::PluginParams;
use crate::worker::settings;
use audio_mamba_engine::BackendChoice;
use audio_mamba_host_tests::learning::{
    check_on_the_snares, hit_model, kit_a_snares, lead_exam, lead_lesson, snare_exam, snare_lesson,
    tagger, RATE,
};
use audio_mamba_host_tests::signals::Instrument;

const BLOCK: usize = 480;
/// The first learned slot's default note.
const KEY: u8 = 60;

struct Rig {
    an: Analyzer,
    s: Settings,
    pos: u64,
    events: Vec<Event>,
    bank: LearnedBank,
}

impl Rig {
    fn new() -> Self {
        let (tagger, hits) = (tagger(), hit_model());
        let session = Session::new(tagger.clone(), 1, BackendChoice::Cpu, 1).unwrap();
        let mut an = Analyzer::new(session, RATE, 0.25).unwrap();
        let clf = HitClassifier::new(hits.clone(), 1, BackendChoice::Cpu).unwrap();
        an.set_hit_classifier(clf).unwrap();
        let s = settings(&PluginParams::new(&tagger.config().labels));
        // As at activation: the bank learns with the instance's models.
        let bank = LearnedBank::default();
        bank.check_models(&tagger, Some(&hits));
        Self {
            an,
            s,
            pos: 0,
            events: Vec::new(),
            bank,
        }
    }

    /// Plays `x` in blocks with slot 0 armed when `teach`, holding "this is it" over `marks`
    /// (seconds from `x`'s start) as the worker would: the controls before each block.
    /// Returns the position `x` started at.
    fn play(&mut self, x: &[f32], teach: bool, marks: &[Span]) -> u64 {
        let start = self.pos;
        for block in x.chunks(BLOCK) {
            let t = (self.pos - start) as f64 / RATE as f64;
            let held = marks.iter().any(|m| m.start_s <= t && t < m.end_s);
            let lesson = self.an.learn_control(teach.then_some(0), held);
            assert!(
                lesson.is_none(),
                "a lesson ends only when the slot is disarmed"
            );
            self.an
                .push(self.pos, block, self.s.sensitivity, &mut self.events);
            while self.an.window_due() {
                self.an.run_window(&self.s).unwrap();
            }
            self.an.emit(&self.s, &mut self.events).unwrap();
            self.pos += block.len() as u64;
        }
        start
    }

    /// Disarms: the lesson is learned into slot 0 and handed to the analysis.
    fn learn(&mut self) {
        let lesson = self.an.learn_control(None, false).expect("the lesson");
        assert_eq!(lesson.slot, 0);
        assert_eq!(lesson.rate, tagger().config().sample_rate());
        learn_lesson(&self.bank, &lesson);
        self.an.set_learned(self.bank.usable());
    }

    fn note_ons(&self, from: u64) -> Vec<u64> {
        self.events
            .iter()
            .filter(|e| e.pos >= from && matches!(e.msg, Msg::NoteOn { key: KEY, .. }))
            .map(|e| e.pos)
            .collect()
    }
}

/// Marks are taken a block late at most, the way a worker reading a held button sees them.
fn widen(spans: &[Span]) -> Vec<Span> {
    spans
        .iter()
        .map(|s| Span {
            start_s: s.start_s,
            end_s: s.end_s + 0.05,
        })
        .collect()
}

#[test]
fn a_slot_taught_a_snare_plays_its_note_on_that_snare_only() {
    let mut rig = Rig::new();
    let (lesson, marks) = snare_lesson(5);
    rig.play(&lesson.audio, true, &widen(&marks));
    assert!(rig.note_ons(0).is_empty(), "nothing learned yet: no note");
    rig.learn();
    let slot = &rig.bank.slots()[0];
    let tag = slot.tag.as_ref().unwrap_or_else(|| panic!("{}", slot.news));
    assert_eq!((tag.kind, tag.examples.positives), (Kind::Percussive, 5));

    let exam = snare_exam();
    let from = rig.play(&exam.audio, false, &[]);
    // Let the last hits' windows in.
    rig.play(&vec![0.0; RATE as usize], false, &[]);
    let secs = |p: u64| (p - from) as f64 / RATE as f64;
    let notes: Vec<f64> = rig.note_ons(from).into_iter().map(secs).collect();
    check_on_the_snares("the analysis", &notes, &kit_a_snares(&exam));
}

#[test]
fn a_slot_taught_a_lead_holds_its_note_while_the_lead_plays() {
    let mut rig = Rig::new();
    let (lesson, marks) = lead_lesson(5);
    rig.play(&lesson.audio, true, &marks);
    rig.learn();
    let slot = &rig.bank.slots()[0];
    let tag = slot.tag.as_ref().unwrap_or_else(|| panic!("{}", slot.news));
    assert_eq!(tag.kind, Kind::Sustained);

    let exam = lead_exam();
    let from = rig.play(&exam.audio, false, &[]);
    rig.play(&vec![0.0; RATE as usize * 11], false, &[]);
    let secs = |p: u64| (p - from) as f64 / RATE as f64;
    let lead = exam
        .truth
        .iter()
        .find(|t| t.2 == Some(Instrument::SawLead))
        .map(|t| (t.0, t.1))
        .unwrap();
    let ons: Vec<f64> = rig.note_ons(from).into_iter().map(secs).collect();
    // The note starts within the lead's phrases (a hop and the model's frame behind at most)
    // and never over the other instruments' or the speech-like part.
    assert!(
        ons.iter().any(|&t| t >= lead.0 && t < lead.1 + 0.5),
        "no note over the lead: {ons:?}"
    );
    let outside: Vec<f64> = ons.iter().copied().filter(|&t| t > lead.1 + 0.5).collect();
    assert!(outside.len() <= 1, "notes after the lead: {outside:?}");
}
