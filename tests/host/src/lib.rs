//! Test support for the plugin: a model whose outputs the test decides, rendered signals with
//! known content, (in `clap_host` and `vst3_host`) minimal CLAP and VST3 hosts around the built
//! bundles, (in `checks`) what both builds must do with a drum signal, and (in
//! `editor_capture`) the CLAP host showing the plugin's editor in an X11 window.

pub mod checks;
pub mod clap_host;
pub mod editor_capture;
pub mod learning;
pub mod model;
pub mod signals;
pub mod vst3_host;
