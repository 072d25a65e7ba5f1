//! From a page's Markdown to one MP3: speakable text, chunks within the engine's limit,
//! concurrent engine calls, and a frame-level join.
//!
//! Concurrency has two bounds, both supplied by the caller: a semaphore (calls one process
//! makes at once, shared by every audio it synthesizes) and a [`CallGate`] awaited before
//! each call (a rate limit that may be shared by every process). The first failed chunk ends
//! the synthesis; the chunks still in flight are dropped.

use tokio::sync::Semaphore;

use crate::engine::{Synthesize, chunk_language};
use crate::local::EngineError;
use crate::mp3::{self, Joined, Mp3Error};
use crate::speakable::speakable_text;

/// Waits for permission to make one engine call.
pub trait CallGate: Sync {
    /// Resolves when the next call may start.
    fn wait(&self) -> impl Future<Output = ()> + Send;
}

/// A gate that never waits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ungated;

impl CallGate for Ungated {
    async fn wait(&self) {}
}

/// What one synthesis produced.
#[derive(Debug)]
pub struct Synthesized {
    /// The joined MP3 with its duration.
    pub audio: Joined,
    /// Characters of speakable text spoken.
    pub char_count: usize,
    /// Engine calls made.
    pub chunk_count: usize,
}

/// Why a synthesis produced no audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SynthesisError {
    /// The Markdown has nothing to read aloud.
    #[error("the page has no speakable text")]
    NothingToSay,
    /// An engine call failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The engine's chunks could not be joined.
    #[error(transparent)]
    Audio(#[from] Mp3Error),
}

impl SynthesisError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NothingToSay => "page_empty",
            Self::Engine(err) => err.code(),
            Self::Audio(err) => err.code(),
        }
    }

    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::NothingToSay | Self::Audio(_) => false,
            Self::Engine(err) => err.is_retryable(),
        }
    }
}

/// Whether the Markdown has anything to read aloud.
pub fn has_speech(markdown: &str) -> bool {
    !speakable_text(markdown).trim().is_empty()
}

/// Speaks `markdown` with `voice` (whose language is `voice_language`, for sentence rules).
pub async fn synthesize_markdown<E: Synthesize, G: CallGate>(
    engine: &E,
    gate: &G,
    calls: &Semaphore,
    voice: &str,
    voice_language: &str,
    markdown: &str,
) -> Result<Synthesized, SynthesisError> {
    let text = speakable_text(markdown);

    synthesize_text(engine, gate, calls, voice, voice_language, &text).await
}

/// Speaks plain `text`: chunked, synthesized concurrently within both bounds, joined in
/// order.
pub async fn synthesize_text<E: Synthesize, G: CallGate>(
    engine: &E,
    gate: &G,
    calls: &Semaphore,
    voice: &str,
    voice_language: &str,
    text: &str,
) -> Result<Synthesized, SynthesisError> {
    let chunks = crate::chunk::chunks_in(text, engine.max_chars(), &chunk_language(voice_language));
    if chunks.is_empty() {
        return Err(SynthesisError::NothingToSay);
    }

    let speaking = chunks.iter().map(|chunk| speak_chunk(engine, gate, calls, voice, chunk));
    let parts = futures::future::try_join_all(speaking).await?;

    let audio = mp3::join(&parts)?;
    Ok(Synthesized { audio, char_count: text.chars().count(), chunk_count: parts.len() })
}

/// One engine call, inside both bounds.
async fn speak_chunk<E: Synthesize, G: CallGate>(
    engine: &E,
    gate: &G,
    calls: &Semaphore,
    voice: &str,
    chunk: &str,
) -> Result<Vec<u8>, EngineError> {
    let _permit = calls.acquire().await.map_err(|_| EngineError::Failed)?;
    gate.wait().await;

    engine.synthesize(voice, chunk).await
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::testing::mp3_frames;

    /// An engine that returns one frame per 10 characters and records what it was given.
    #[derive(Default)]
    struct Recording {
        max_chars: usize,
        fail_on: Option<usize>,
        texts: Mutex<Vec<String>>,
        running: AtomicUsize,
        peak: AtomicUsize,
    }

    impl Synthesize for Recording {
        fn max_chars(&self) -> usize {
            self.max_chars
        }

        async fn synthesize(&self, _voice: &str, text: &str) -> Result<Vec<u8>, EngineError> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.running.fetch_sub(1, Ordering::SeqCst);

            let index = {
                let mut texts = self.texts.lock().unwrap();
                texts.push(text.to_owned());
                texts.len()
            };
            if self.fail_on == Some(index) {
                return Err(EngineError::Throttled);
            }
            Ok(mp3_frames(text.chars().count().div_ceil(10)))
        }
    }

    fn sentences(count: usize) -> String {
        (0..count).map(|n| format!("Sentence number {n} is here.")).collect::<Vec<_>>().join(" ")
    }

    #[tokio::test]
    async fn chunks_are_joined_in_order_with_their_full_duration() {
        let engine = Recording { max_chars: 60, ..Recording::default() };
        let text = sentences(12);

        let done =
            synthesize_text(&engine, &Ungated, &Semaphore::new(4), "v", "en-US", &text).await;

        let done = done.unwrap();
        let texts = engine.texts.lock().unwrap().clone();
        let frames: u64 = texts.iter().map(|t| t.chars().count().div_ceil(10) as u64).sum();
        assert!(texts.len() > 1);
        assert!(texts.iter().all(|t| t.chars().count() <= 60));
        assert_eq!(done.chunk_count, texts.len());
        assert_eq!(done.audio.frames, frames);
        assert_eq!(done.char_count, text.chars().count());
    }

    #[tokio::test]
    async fn calls_never_exceed_the_semaphore() {
        let engine = Recording { max_chars: 40, ..Recording::default() };

        synthesize_text(&engine, &Ungated, &Semaphore::new(3), "v", "en", &sentences(20))
            .await
            .unwrap();

        assert_eq!(engine.peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_first_failed_chunk_fails_the_whole() {
        let engine = Recording { max_chars: 40, fail_on: Some(2), ..Recording::default() };

        let error =
            synthesize_text(&engine, &Ungated, &Semaphore::new(1), "v", "en", &sentences(6))
                .await
                .unwrap_err();

        assert_eq!(error, SynthesisError::Engine(EngineError::Throttled));
        assert!(error.is_retryable());
    }

    #[tokio::test]
    async fn markdown_without_words_is_nothing_to_say() {
        let engine = Recording { max_chars: 40, ..Recording::default() };
        let markdown = "![a chart](chart.png)\n\n```\nlet x = 1;\n```\n";

        let error = synthesize_markdown(&engine, &Ungated, &Semaphore::new(1), "v", "en", markdown)
            .await
            .unwrap_err();

        assert_eq!(error.code(), "page_empty");
        assert!(!has_speech(markdown));
        assert!(engine.texts.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_gate_is_awaited_before_every_call() {
        struct Counting(AtomicUsize);
        impl CallGate for Counting {
            async fn wait(&self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let engine = Recording { max_chars: 40, ..Recording::default() };
        let gate = Counting(AtomicUsize::new(0));

        let done = synthesize_text(&engine, &gate, &Semaphore::new(2), "v", "en", &sentences(9))
            .await
            .unwrap();

        assert_eq!(gate.0.load(Ordering::SeqCst), done.chunk_count);
    }
}
