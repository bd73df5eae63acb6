//! What amtag shares with other crates: reading audio files (the plugin's editor test plays the
//! example clips through it).

pub mod audio;
