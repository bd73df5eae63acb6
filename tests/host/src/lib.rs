//! Test support for the plugin: a model whose outputs the test decides, rendered signals with
//! known content, (in `clap_host`) a minimal CLAP host around the built bundle, and (in
//! `editor_capture`) that host showing the plugin's editor in an X11 window.

pub mod clap_host;
pub mod editor_capture;
pub mod model;
pub mod signals;
