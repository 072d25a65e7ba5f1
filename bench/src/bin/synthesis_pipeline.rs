//! Wall time to synthesize one 30,000-character page through Orator's speech pipeline
//! (`synthesize_text`: chunking, engine calls, frame join) with a simulated engine that takes
//! 300 ms per call and accepts 3,000 characters per call, as Amazon Polly does.
//!
//! The page is deterministic English prose with sentences of varying length. It is spoken
//! with 1 engine call at a time (sequential), then with 2, 4 and 8 calls in flight (Orator's
//! default per worker is `ORATOR_SPEECH_CONCURRENCY=4`), and finally under a calls-per-second
//! gate that paces call starts evenly, the way `ORATOR_SPEECH_CALLS_PER_SECOND` limits them.
//! No network is used. Run with `cargo run --release -p orator-bench --bin synthesis_pipeline`.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use orator_speech::pipeline::{CallGate, Synthesized, Ungated, synthesize_text};
use orator_speech::testing::mp3_frames;
use orator_speech::{EngineError, Synthesize};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Characters of prose on the page.
const PAGE_CHARS: usize = 30_000;
/// Time the simulated engine takes for one call.
const CALL_TIME: Duration = Duration::from_millis(300);
/// Most characters the simulated engine accepts in one call.
const MAX_CHARS: usize = 3_000;
/// MP3 frames returned per 100 characters: about 15 spoken characters a second, at 38.3
/// frames a second (22,050 Hz, 576 samples per frame).
const FRAMES_PER_100_CHARS: usize = 255;
/// Calls in flight for each ungated run; the first is the sequential baseline.
const PERMITS: [usize; 4] = [1, 2, 4, 8];
/// Calls per second allowed by the gated runs.
const CALLS_PER_SECOND: u32 = 8;
/// Calls in flight for the gated runs.
const GATED_PERMITS: [usize; 2] = [4, 8];
/// The voice and its language, as a job would pass them.
const VOICE: (&str, &str) = ("Joanna", "en-US");

/// A speech engine that only waits and returns silent audio of a plausible length.
struct SimulatedEngine;

impl Synthesize for SimulatedEngine {
    fn max_chars(&self) -> usize {
        MAX_CHARS
    }

    async fn synthesize(&self, _voice: &str, text: &str) -> Result<Vec<u8>, EngineError> {
        tokio::time::sleep(CALL_TIME).await;

        let frames = (text.chars().count() * FRAMES_PER_100_CHARS).div_ceil(100);
        Ok(mp3_frames(frames.max(1)))
    }
}

/// A gate that lets calls start at most `per_second` times a second, evenly spaced.
struct PacedGate {
    /// Time between two call starts.
    spacing: Duration,
    /// When the next call may start.
    next: Mutex<Instant>,
}

impl PacedGate {
    /// A gate for `per_second` calls a second, open now.
    fn new(per_second: u32) -> Self {
        let spacing = Duration::from_secs(1) / per_second.max(1);

        Self { spacing, next: Mutex::new(Instant::now()) }
    }
}

impl CallGate for PacedGate {
    async fn wait(&self) {
        let start_at = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let start_at = (*next).max(Instant::now());
            *next = start_at + self.spacing;
            start_at
        };

        tokio::time::sleep_until(start_at).await;
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let page = prose(PAGE_CHARS);
    let engine = SimulatedEngine;
    println!(
        "page: {} characters; engine: {} ms per call, {MAX_CHARS} characters per call",
        page.chars().count(),
        CALL_TIME.as_millis()
    );
    println!(
        "{:<34} {:>7} {:>9} {:>9} {:>9} {:>10}",
        "run", "chunks", "wall ms", "speed-up", "floor ms", "audio s"
    );

    let mut sequential_ms = None;
    for permits in PERMITS {
        let (done, elapsed) = timed(&engine, &Ungated, permits, &page).await?;
        let baseline = *sequential_ms.get_or_insert(millis(elapsed));
        let floor = done.chunk_count.div_ceil(permits) as u128 * CALL_TIME.as_millis();
        let label = if permits == 1 {
            "1 call at a time (sequential)".to_owned()
        } else {
            format!("{permits} calls in flight")
        };
        row(&label, &done, elapsed, baseline, floor);
    }

    for permits in GATED_PERMITS {
        let gate = PacedGate::new(CALLS_PER_SECOND);
        let (done, elapsed) = timed(&engine, &gate, permits, &page).await?;
        let baseline = sequential_ms.unwrap_or(millis(elapsed));
        let paced_ms = gate.spacing.as_millis() * (done.chunk_count as u128 - 1);
        let floor = (paced_ms + CALL_TIME.as_millis())
            .max(done.chunk_count.div_ceil(permits) as u128 * CALL_TIME.as_millis());
        let label = format!("{permits} in flight, gate {CALLS_PER_SECOND} calls/s");
        row(&label, &done, elapsed, baseline, floor);
    }

    println!("floor ms: the least wall time the permits and the gate allow, ignoring overhead");
    Ok(())
}

/// Synthesizes `page` with `permits` calls in flight behind `gate`, and times it.
async fn timed<G: CallGate>(
    engine: &SimulatedEngine,
    gate: &G,
    permits: usize,
    page: &str,
) -> Result<(Synthesized, Duration), Box<dyn std::error::Error>> {
    let calls = Semaphore::new(permits);
    let started = Instant::now();

    let done = synthesize_text(engine, gate, &calls, VOICE.0, VOICE.1, page).await?;

    Ok((done, started.elapsed()))
}

/// Prints one result row.
fn row(label: &str, done: &Synthesized, elapsed: Duration, baseline_ms: f64, floor_ms: u128) {
    let wall_ms = millis(elapsed);

    println!(
        "{label:<34} {:>7} {wall_ms:>9.0} {:>8.2}x {floor_ms:>9} {:>10.1}",
        done.chunk_count,
        baseline_ms / wall_ms.max(f64::EPSILON),
        done.audio.duration_ms as f64 / 1_000.0
    );
}

/// English prose of whole sentences of 3 to 32 words, as long as fits in `chars` characters.
/// The same length always gives the same text.
fn prose(chars: usize) -> String {
    const WORDS: &[&str] = &[
        "the",
        "reader",
        "opens",
        "a",
        "long",
        "report",
        "about",
        "rivers",
        "and",
        "their",
        "seasons",
        "while",
        "evening",
        "light",
        "falls",
        "across",
        "quiet",
        "harbor",
        "town",
        "every",
        "chapter",
        "describes",
        "how",
        "water",
        "moves",
        "through",
        "valleys",
        "of",
        "stone",
        "clay",
        "forest",
        "farmers",
        "measured",
        "rainfall",
        "for",
        "many",
        "years",
        "before",
        "engineers",
        "built",
        "new",
        "bridges",
        "near",
        "old",
        "mills",
        "that",
        "still",
        "stand",
        "today",
        "visitors",
        "often",
        "listen",
        "to",
        "stories",
        "told",
        "by",
        "local",
        "guides",
        "in",
        "small",
        "museums",
        "with",
        "maps",
        "photographs",
    ];
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |bound: usize| {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize % bound
    };
    let mut text = String::with_capacity(chars + 256);

    loop {
        let length = 3 + next(30);
        let mut sentence = String::new();
        for index in 0..length {
            let word = WORDS[next(WORDS.len())];
            if index == 0 {
                let mut letters = word.chars();
                sentence.extend(letters.next().map(|first| first.to_ascii_uppercase()));
                sentence.push_str(letters.as_str());
            } else {
                if next(9) == 0 {
                    sentence.push(',');
                }
                sentence.push(' ');
                sentence.push_str(word);
            }
        }
        sentence.push(if next(6) == 0 { '?' } else { '.' });

        if text.len() + 1 + sentence.len() > chars {
            break;
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&sentence);
    }

    text
}

/// A duration in milliseconds.
fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}
