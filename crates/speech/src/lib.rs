//! Speech for Orator: the text a voice reads from a page, the chunks a speech engine accepts,
//! the engines themselves, and the joining of their MP3 chunks into one audio.
//!
//! [`local`] runs `espeak-ng` and `lame` as subprocesses; [`polly`] calls Amazon Polly
//! through the AWS SDK; [`engine`] picks one from the configuration; [`pipeline`] runs a
//! whole page through it. Nothing here knows of databases, HTTP or queues.

pub mod chunk;
pub mod engine;
pub mod local;
pub mod mp3;
pub mod pipeline;
pub mod polly;
pub mod speakable;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use chunk::{ChunkLimits, chunks, chunks_in};
pub use engine::{Speech, Synthesize};
pub use local::{EngineError, LocalEngine, LocalLimits, Voice};
pub use mp3::{Joined, Mp3Error, Probe, join, probe};
pub use pipeline::{CallGate, SynthesisError, Synthesized, Ungated};
pub use polly::{PollyConfig, PollyEngine, PollyEngineKind, PollyLimits};
pub use speakable::speakable_text;
