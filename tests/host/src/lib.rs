//! Test support for the plugin: a model whose outputs the test decides, rendered signals with
//! known content, and (in `clap_host`) a minimal CLAP host around the built bundle.

pub mod clap_host;
pub mod model;
pub mod signals;
