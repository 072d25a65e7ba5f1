//! Joining 30 minutes of MP3 audio: Orator's frame-level join against decoding every chunk
//! and encoding the whole again.
//!
//! Setup (not measured): 60 chunks of 30 s of speech-like PCM (mono, 16-bit, 22,050 Hz:
//! summed harmonics of a drifting pitch under a syllable envelope, with pauses), each
//! encoded by the `lame` program at 48 kbit/s CBR, as a speech engine returns one MP3 per
//! text chunk. Then:
//! - frame join: `orator_speech::mp3::join` over the 60 chunks, run several times;
//! - decode and re-encode: every chunk decoded to raw PCM by `lame --decode`, the PCM
//!   concatenated and encoded once more with the same settings, run twice.
//!
//! Needs `lame` on the `PATH` (installed by `scripts/setup.sh`); without it the benchmark
//! says so and exits successfully. Run with
//! `cargo run --release -p orator-bench --bin audio_join`.

use std::error::Error;
use std::io::{ErrorKind, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use orator_speech::mp3;

/// Samples per second of the generated speech.
const SAMPLE_RATE: u32 = 22_050;
/// Seconds of audio in each chunk.
const CHUNK_SECS: u32 = 30;
/// Chunks making up the whole audio: 60 × 30 s = 30 minutes.
const CHUNKS: u32 = 60;
/// Times the frame join is run.
const JOIN_RUNS: usize = 7;
/// Times the decode-and-re-encode path is run.
const REENCODE_RUNS: usize = 2;
/// `lame` arguments turning raw PCM on stdin into MP3 on stdout.
const ENCODE_ARGS: &[&str] = &[
    "-r",
    "-s",
    "22.05",
    "--signed",
    "--bitwidth",
    "16",
    "--little-endian",
    "-m",
    "m",
    "-b",
    "48",
    "--cbr",
    "--quiet",
    "-",
    "-",
];
/// `lame` arguments turning MP3 on stdin into raw PCM on stdout.
const DECODE_ARGS: &[&str] = &["--decode", "-t", "--quiet", "--mp3input", "-", "-"];

/// A benchmark outcome.
type BenchResult<T> = Result<T, Box<dyn Error>>;

fn main() -> BenchResult<()> {
    if !lame_installed() {
        println!("audio_join: the `lame` program is not installed; nothing measured");
        return Ok(());
    }

    let chunk_samples = SAMPLE_RATE * CHUNK_SECS;
    let chunks = (0..CHUNKS)
        .map(|index| lame(ENCODE_ARGS, &speech_pcm(index * chunk_samples, chunk_samples)))
        .collect::<BenchResult<Vec<_>>>()?;
    let chunk_bytes: usize = chunks.iter().map(Vec::len).sum();

    let mut join_times = Vec::with_capacity(JOIN_RUNS);
    let mut joined = mp3::join(&chunks)?;
    for _ in 0..JOIN_RUNS {
        let started = Instant::now();
        joined = mp3::join(&chunks)?;
        join_times.push(started.elapsed());
    }

    let mut reencode_times = Vec::with_capacity(REENCODE_RUNS);
    let mut reencoded = Vec::new();
    for _ in 0..REENCODE_RUNS {
        let started = Instant::now();
        reencoded = decode_and_reencode(&chunks)?;
        reencode_times.push(started.elapsed());
    }

    let probe = mp3::probe(&joined.bytes)?;
    let expected_ms = u64::from(CHUNKS * CHUNK_SECS) * 1_000;
    let (join_best, join_median) = best_and_median(&mut join_times);
    let (reencode_best, reencode_median) = best_and_median(&mut reencode_times);

    println!(
        "audio: {} min in {CHUNKS} chunks of {CHUNK_SECS} s (mono, {SAMPLE_RATE} Hz, 48 kbit/s \
         CBR), {} KiB of chunks",
        CHUNKS * CHUNK_SECS / 60,
        chunk_bytes / 1024
    );
    println!(
        "{:<24} {:>12} {:>10} {:>10} {:>5}",
        "approach", "output KiB", "best ms", "median ms", "runs"
    );
    let row = |name: &str, bytes: usize, best: Duration, median: Duration, runs: usize| {
        println!(
            "{name:<24} {:>12} {:>10.1} {:>10.1} {runs:>5}",
            bytes / 1024,
            millis(best),
            millis(median)
        );
    };
    row("frame join", joined.bytes.len(), join_best, join_median, JOIN_RUNS);
    row("decode + re-encode", reencoded.len(), reencode_best, reencode_median, REENCODE_RUNS);
    println!(
        "speed ratio (best re-encode / best join): {:.0}x",
        millis(reencode_best) / millis(join_best).max(f64::EPSILON)
    );
    println!(
        "sanity: probe of the joined audio {:.3} s in {} frames, expected {:.3} s ({:+} ms: \
         each of the {CHUNKS} chunks keeps its encoder delay and padding)",
        probe.duration_ms as f64 / 1_000.0,
        probe.frames,
        expected_ms as f64 / 1_000.0,
        probe.duration_ms as i64 - expected_ms as i64
    );

    Ok(())
}

/// Whether `lame` can be run at all.
fn lame_installed() -> bool {
    match Command::new("lame").arg("--version").stdout(Stdio::null()).status() {
        Ok(_) => true,
        Err(err) => err.kind() != ErrorKind::NotFound,
    }
}

/// Runs `lame` with `args`, feeding `input` on stdin from a second thread so neither pipe can
/// fill up and stall the other, and returns its stdout.
fn lame(args: &[&str], input: &[u8]) -> BenchResult<Vec<u8>> {
    let mut child = Command::new("lame")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("lame has no stdin")?;

    let output = std::thread::scope(|scope| {
        let writer = scope.spawn(move || stdin.write_all(input));
        let output = child.wait_with_output();
        let written = writer.join().map_err(|_| "the stdin writer panicked");
        (output, written)
    });
    let (output, written) = output;
    let output = output?;
    written??;

    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr).into_owned();
        return Err(format!("lame {args:?} failed ({}): {message}", output.status).into());
    }
    Ok(output.stdout)
}

/// Decodes every chunk to raw PCM, concatenates it and encodes the whole once more.
fn decode_and_reencode(chunks: &[Vec<u8>]) -> BenchResult<Vec<u8>> {
    let mut pcm = Vec::new();
    for chunk in chunks {
        pcm.extend_from_slice(&lame(DECODE_ARGS, chunk)?);
    }

    lame(ENCODE_ARGS, &pcm)
}

/// `count` samples of speech-like audio starting at sample `start`, as little-endian 16-bit
/// PCM. Syllables of about a quarter second carry four harmonics of a pitch that drifts
/// between about 95 and 185 Hz; every few syllables is a pause. The same input always gives
/// the same samples.
fn speech_pcm(start: u32, count: u32) -> Vec<u8> {
    let rate = f64::from(SAMPLE_RATE);
    let syllables_per_second = 4.0;
    let mut phase = 0.0_f64;
    let mut pcm = Vec::with_capacity(count as usize * 2);

    for n in start..start + count {
        let t = f64::from(n) / rate;
        let syllable = (t * syllables_per_second) as u64;
        let within = t * syllables_per_second - syllable as f64;
        let mix = scramble(syllable);

        let pitch = 140.0 + 30.0 * (std::f64::consts::TAU * 0.25 * t).sin() + (mix % 16) as f64;
        phase = (phase + std::f64::consts::TAU * pitch / rate) % std::f64::consts::TAU;
        let vowel = 1.0 + (mix >> 8) as f64 % 3.0;
        let voice = (1..=4_u32)
            .map(|harmonic| {
                let weight = 1.0 / (1.0 + (f64::from(harmonic) - vowel).abs());
                weight * (phase * f64::from(harmonic)).sin()
            })
            .sum::<f64>();

        let pause = mix.is_multiple_of(7);
        let envelope = if pause { 0.0 } else { (std::f64::consts::PI * within).sin().powi(2) };
        let sample = (0.25 * f64::from(i16::MAX) * envelope * voice / 2.0) as i16;
        pcm.extend_from_slice(&sample.to_le_bytes());
    }

    pcm
}

/// Spreads the bits of `value` so neighbouring syllables differ (a fixed integer mix).
fn scramble(value: u64) -> u64 {
    let mut mixed = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    mixed ^ (mixed >> 31)
}

/// Sorts `times` and returns the fastest and the median.
fn best_and_median(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();

    let best = times.first().copied().unwrap_or_default();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    (best, median)
}

/// A duration in milliseconds.
fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}
