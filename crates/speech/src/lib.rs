//! Speech preparation for Orator: the text a voice reads from a page, the chunks a speech
//! engine accepts, and the joining of the engine's MP3 chunks into one audio.
//!
//! Pure functions, except the speech engines: [`local`], which runs `espeak-ng` and `lame` as
//! subprocesses, and [`polly`], which calls Amazon Polly through the AWS SDK. Nothing here
//! knows of databases or queues.

pub mod chunk;
pub mod local;
pub mod mp3;
pub mod polly;
pub mod speakable;

pub use chunk::{ChunkLimits, chunks, chunks_in};
pub use local::{EngineError, LocalEngine, LocalLimits, Voice};
pub use mp3::{Joined, Mp3Error, Probe, join, probe};
pub use polly::{PollyConfig, PollyEngine, PollyEngineKind, PollyLimits};
pub use speakable::speakable_text;
