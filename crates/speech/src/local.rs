//! The offline speech engine: `espeak-ng` speaks a chunk of text as WAV, `lame` encodes it as
//! MP3.
//!
//! Policy:
//! - both programs run as subprocesses, never linked (espeak-ng is GPL-licensed);
//! - the text goes to `espeak-ng` on standard input, never as an argument, and no text ever
//!   appears in an error or a log line;
//! - text longer than [`LocalLimits::max_chars`] is refused before any process starts;
//! - a voice must be one `espeak-ng --voices` lists (its language code or one of its other
//!   languages); the list is read once per engine and cached;
//! - each call, voice listing included, is bounded by [`LocalLimits::timeout`]; a process still
//!   running when the time is up is killed;
//! - a missing program is [`EngineError::Unavailable`] (permanent); a non-zero exit or empty or
//!   malformed output is [`EngineError::Failed`] (retryable).

use std::collections::HashSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio::sync::OnceCell;

/// Longest a whole call (listing, speaking and encoding) may take: 60 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Most characters spoken in one call: 3,000, the same as a chunk for a cloud engine.
pub const DEFAULT_MAX_CHARS: usize = 3_000;

/// MP3 bitrate in kbit/s: 48, ample for one synthetic voice at 22.05 kHz.
pub const DEFAULT_BITRATE_KBPS: u32 = 48;

/// Longest the availability check may wait for each program's `--version`: 5 seconds.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The engine name listed in [`Voice::engines`].
pub const ENGINE_NAME: &str = "local";

/// Size of a RIFF chunk header: a four-byte id and a four-byte little-endian size.
const RIFF_CHUNK_HEADER: usize = 8;

/// Size of the RIFF/WAVE file header before the first chunk.
const RIFF_FILE_HEADER: usize = 12;

/// Fewest bytes a PCM `fmt ` chunk holds.
const FMT_MIN_LEN: usize = 16;

/// The WAVE format tag of integer PCM.
const WAVE_FORMAT_PCM: u16 = 1;

/// The only sample width the `lame` invocation accepts.
const PCM_BITS: u16 = 16;

/// The only channel count the `lame` invocation accepts (`-m m`).
const PCM_CHANNELS: u16 = 1;

/// What the offline engine may spend on one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalLimits {
    /// Longest one call may take; default [`DEFAULT_TIMEOUT`] (60 s).
    pub timeout: Duration,
    /// Most characters (Unicode scalar values) in one call; default [`DEFAULT_MAX_CHARS`]
    /// (3,000).
    pub max_chars: usize,
    /// Constant MP3 bitrate in kbit/s; default [`DEFAULT_BITRATE_KBPS`] (48).
    pub bitrate_kbps: u32,
    /// Longest [`LocalEngine::available`] waits for each program; default
    /// [`DEFAULT_PROBE_TIMEOUT`] (5 s).
    pub probe_timeout: Duration,
}

impl Default for LocalLimits {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            max_chars: DEFAULT_MAX_CHARS,
            bitrate_kbps: DEFAULT_BITRATE_KBPS,
            probe_timeout: DEFAULT_PROBE_TIMEOUT,
        }
    }
}

/// A voice the engine can speak with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voice {
    /// What [`LocalEngine::synthesize`] takes: the espeak-ng language code, e.g. `en-us`.
    pub id: String,
    /// Display name, e.g. `English_(America)`.
    pub name: String,
    /// Language code, e.g. `en-us`.
    pub language: String,
    /// `male` or `female`, if espeak-ng says.
    pub gender: Option<String>,
    /// Engines offering this voice: `["local"]`.
    pub engines: Vec<String>,
}

/// Why a speech engine produced no audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// `espeak-ng` or `lame` is not installed or cannot be run.
    #[error("the offline speech engine is not installed")]
    Unavailable,
    /// The engine's configuration cannot work (an empty region, a malformed endpoint, only one
    /// of two keys).
    #[error("the speech engine is not configured correctly")]
    Misconfigured,
    /// The voice is not one the engine offers (with the configured voice technology).
    #[error("the voice is not known to the speech engine")]
    UnknownVoice,
    /// The text is longer than the engine accepts in one call.
    #[error("the text is too long for one speech call")]
    TextTooLong,
    /// The engine refused the request as malformed (invalid input, unknown lexicon).
    #[error("the speech engine rejected the request")]
    Rejected,
    /// The engine asked the caller to slow down.
    #[error("the speech engine is throttling requests")]
    Throttled,
    /// The engine did not recognise the credentials, or none were found.
    #[error("the speech engine did not accept the credentials")]
    Unauthenticated,
    /// The credentials are valid but may not use the engine.
    #[error("the speech engine denied access")]
    AccessDenied,
    /// The engine failed, could not be reached, or produced empty or malformed output.
    #[error("the speech engine failed")]
    Failed,
    /// The call took longer than its limit.
    #[error("the speech engine took too long")]
    Timeout,
}

impl EngineError {
    /// A stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable => "speech_engine_unavailable",
            Self::Misconfigured => "speech_engine_misconfigured",
            Self::UnknownVoice => "unknown_voice",
            Self::TextTooLong => "text_too_long",
            Self::Rejected => "speech_rejected",
            Self::Throttled => "speech_throttled",
            Self::Unauthenticated => "speech_unauthenticated",
            Self::AccessDenied => "speech_access_denied",
            Self::Failed => "speech_failed",
            Self::Timeout => "speech_timeout",
        }
    }

    /// Whether the same call may succeed when tried again (after a pause).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled | Self::Failed | Self::Timeout)
    }
}

/// The voices espeak-ng lists, and every voice name it accepts.
#[derive(Debug)]
struct Catalogue {
    voices: Vec<Voice>,
    accepted: HashSet<String>,
}

impl Catalogue {
    fn accepts(&self, voice: &str) -> bool {
        self.accepted.contains(voice)
    }
}

/// The shape of the PCM samples in a WAV stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PcmFormat {
    sample_rate: u32,
    channels: u16,
    bits: u16,
}

/// Speech from `espeak-ng`, encoded by `lame`, both run as subprocesses.
#[derive(Debug)]
pub struct LocalEngine {
    espeak: PathBuf,
    lame: PathBuf,
    limits: LocalLimits,
    catalogue: OnceCell<Catalogue>,
}

impl LocalEngine {
    /// An engine running the given `espeak-ng` and `lame` programs.
    pub fn new(espeak: PathBuf, lame: PathBuf, limits: LocalLimits) -> Self {
        Self { espeak, lame, limits, catalogue: OnceCell::new() }
    }

    /// An engine running `espeak-ng` and `lame` found on `PATH`.
    pub fn from_path(limits: LocalLimits) -> Self {
        Self::new(PathBuf::from("espeak-ng"), PathBuf::from("lame"), limits)
    }

    /// Most characters one call accepts.
    pub fn max_chars(&self) -> usize {
        self.limits.max_chars
    }

    /// Whether both programs run (`--version` succeeds within the probe timeout).
    pub async fn available(&self) -> bool {
        let limit = self.limits.probe_timeout;
        let espeak = tokio::time::timeout(limit, run(&self.espeak, &["--version"], None));
        let lame = tokio::time::timeout(limit, run(&self.lame, &["--version"], None));

        let (espeak, lame) = tokio::join!(espeak, lame);

        matches!((espeak, lame), (Ok(Ok(_)), Ok(Ok(_))))
    }

    /// The voices `espeak-ng --voices` lists, read once and cached.
    pub async fn voices(&self) -> Result<Vec<Voice>, EngineError> {
        let catalogue = tokio::time::timeout(self.limits.timeout, self.catalogue())
            .await
            .map_err(|_| EngineError::Timeout)??;

        Ok(catalogue.voices.clone())
    }

    /// Speaks `text` with `voice` and returns the MP3 bytes.
    ///
    /// Fails with [`EngineError::TextTooLong`] before starting any process, with
    /// [`EngineError::UnknownVoice`] for a voice the engine does not list and with
    /// [`EngineError::Timeout`] once [`LocalLimits::timeout`] has passed.
    pub async fn synthesize(&self, voice: &str, text: &str) -> Result<Vec<u8>, EngineError> {
        if text.chars().count() > self.limits.max_chars {
            return Err(EngineError::TextTooLong);
        }

        tokio::time::timeout(self.limits.timeout, self.speak(voice, text))
            .await
            .map_err(|_| EngineError::Timeout)?
    }

    /// The cached voice catalogue, listed on first use.
    async fn catalogue(&self) -> Result<&Catalogue, EngineError> {
        self.catalogue
            .get_or_try_init(|| async {
                let listing = run(&self.espeak, &["--voices"], None).await?;
                let listing = String::from_utf8_lossy(&listing);
                Ok(parse_voices(&listing))
            })
            .await
    }

    /// Speaks and encodes, without the time limit.
    async fn speak(&self, voice: &str, text: &str) -> Result<Vec<u8>, EngineError> {
        if !self.catalogue().await?.accepts(voice) {
            return Err(EngineError::UnknownVoice);
        }

        let wav = run(
            &self.espeak,
            &["-v", voice, "-b", "1", "--stdin", "--stdout"],
            Some(text.as_bytes()),
        )
        .await?;
        let (format, pcm) = pcm_of(&wav)?;

        let khz = (f64::from(format.sample_rate) / 1_000.0).to_string();
        let kbps = self.limits.bitrate_kbps.to_string();
        let args = [
            "-r",
            "-s",
            &khz,
            "--signed",
            "--bitwidth",
            "16",
            "--little-endian",
            "-m",
            "m",
            "-b",
            &kbps,
            "--cbr",
            "--quiet",
            "-",
            "-",
        ];
        run(&self.lame, &args, Some(pcm)).await
    }
}

/// Runs `program`, feeding `input` to its standard input while reading its standard output.
///
/// Writing and reading run concurrently, so neither pipe can fill up and stall the other. The
/// process is killed if this future is dropped.
async fn run(program: &Path, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>, EngineError> {
    let stdin = if input.is_some() { Stdio::piped() } else { Stdio::null() };
    let mut child = Command::new(program)
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| match error.kind() {
            ErrorKind::NotFound | ErrorKind::PermissionDenied => EngineError::Unavailable,
            _ => EngineError::Failed,
        })?;

    let mut stdout = child.stdout.take().ok_or(EngineError::Failed)?;
    let mut writer = child.stdin.take();
    let write = async move {
        match (writer.as_mut(), input) {
            (Some(pipe), Some(bytes)) => {
                let written = pipe.write_all(bytes).await;
                drop(writer);
                written
            }
            _ => Ok(()),
        }
    };
    let read = async {
        let mut output = Vec::new();
        stdout.read_to_end(&mut output).await.map(|_| output)
    };
    let (written, output) = tokio::join!(write, read);

    let status = child.wait().await.map_err(|_| EngineError::Failed)?;
    if !status.success() {
        return Err(EngineError::Failed);
    }

    written.map_err(|_| EngineError::Failed)?;
    let output = output.map_err(|_| EngineError::Failed)?;
    if output.is_empty() {
        return Err(EngineError::Failed);
    }
    Ok(output)
}

/// Reads the listing of `espeak-ng --voices`.
///
/// Columns: `Pty Language Age/Gender VoiceName File Other Languages`, the last holding groups
/// such as `(en 2)(en-gb 3)`. Names use `_` for spaces, so columns split on whitespace.
fn parse_voices(listing: &str) -> Catalogue {
    let mut voices: Vec<Voice> = Vec::new();
    let mut accepted = HashSet::new();

    for line in listing.lines().skip_while(|line| line.trim_start().starts_with("Pty")) {
        let columns: Vec<&str> = line.split_whitespace().collect();
        let [_priority, language, age_gender, name, _file, others @ ..] = columns.as_slice() else {
            continue;
        };

        let others = others.join(" ");
        let other_languages = others
            .split(')')
            .filter_map(|group| group.trim().trim_start_matches('(').split_whitespace().next());
        accepted.extend(other_languages.map(str::to_owned));
        accepted.insert((*language).to_owned());

        if voices.iter().any(|voice| voice.id == *language) {
            continue;
        }
        let gender = match age_gender.rsplit('/').next() {
            Some("M") => Some("male".to_owned()),
            Some("F") => Some("female".to_owned()),
            _ => None,
        };
        voices.push(Voice {
            id: (*language).to_owned(),
            name: (*name).to_owned(),
            language: (*language).to_owned(),
            gender,
            engines: vec![ENGINE_NAME.to_owned()],
        });
    }

    Catalogue { voices, accepted }
}

/// Finds the PCM format and samples in a WAV stream written to a pipe.
///
/// A stream written to a pipe carries placeholder sizes in its RIFF and `data` headers, so the
/// samples are everything after the `data` chunk header, up to the end of the stream.
fn pcm_of(wav: &[u8]) -> Result<(PcmFormat, &[u8]), EngineError> {
    if wav.len() < RIFF_FILE_HEADER || &wav[0..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        return Err(EngineError::Failed);
    }

    let mut format = None;
    let mut rest = &wav[RIFF_FILE_HEADER..];
    while rest.len() >= RIFF_CHUNK_HEADER {
        let (header, body) = rest.split_at(RIFF_CHUNK_HEADER);
        let id = &header[0..4];
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;

        if id == b"data" {
            let format = format.ok_or(EngineError::Failed)?;
            return accepted_pcm(format, body);
        }

        let padded = size.checked_add(size % 2).ok_or(EngineError::Failed)?;
        let chunk = body.get(..size).ok_or(EngineError::Failed)?;
        if id == b"fmt " {
            format = Some(parse_fmt(chunk)?);
        }
        rest = body.get(padded..).unwrap_or_default();
    }

    Err(EngineError::Failed)
}

/// Reads a `fmt ` chunk body; only integer PCM is accepted.
fn parse_fmt(chunk: &[u8]) -> Result<PcmFormat, EngineError> {
    if chunk.len() < FMT_MIN_LEN {
        return Err(EngineError::Failed);
    }

    let u16_at = |at: usize| u16::from_le_bytes([chunk[at], chunk[at + 1]]);
    if u16_at(0) != WAVE_FORMAT_PCM {
        return Err(EngineError::Failed);
    }

    Ok(PcmFormat {
        channels: u16_at(2),
        sample_rate: u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]),
        bits: u16_at(14),
    })
}

/// Checks that the samples are non-empty 16-bit mono, dropping a trailing odd byte.
fn accepted_pcm(format: PcmFormat, samples: &[u8]) -> Result<(PcmFormat, &[u8]), EngineError> {
    if format.bits != PCM_BITS || format.channels != PCM_CHANNELS || format.sample_rate == 0 {
        return Err(EngineError::Failed);
    }

    let whole = samples.len() - samples.len() % 2;
    if whole == 0 {
        return Err(EngineError::Failed);
    }
    Ok((format, &samples[..whole]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp3;

    const SENTENCES: &str = "Hello world. This is a test.";

    fn engine() -> LocalEngine {
        LocalEngine::from_path(LocalLimits::default())
    }

    fn engine_with(limits: LocalLimits) -> LocalEngine {
        LocalEngine::from_path(limits)
    }

    fn missing_program() -> PathBuf {
        PathBuf::from("/nonexistent/orator-test/espeak-ng")
    }

    /// A WAV header as espeak-ng writes it to a pipe: placeholder sizes, then samples.
    fn piped_wav(sample_rate: u32, channels: u16, bits: u16, samples: &[u8]) -> Vec<u8> {
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF");
        wav.extend_from_slice(&0x7fff_f024u32.to_le_bytes());
        wav.extend_from_slice(b"WAVE");
        wav.extend_from_slice(b"fmt ");
        wav.extend_from_slice(&16u32.to_le_bytes());
        wav.extend_from_slice(&1u16.to_le_bytes());
        wav.extend_from_slice(&channels.to_le_bytes());
        wav.extend_from_slice(&sample_rate.to_le_bytes());
        let block = u32::from(channels) * u32::from(bits / 8);
        wav.extend_from_slice(&(sample_rate * block).to_le_bytes());
        wav.extend_from_slice(&(block as u16).to_le_bytes());
        wav.extend_from_slice(&bits.to_le_bytes());
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&0x7fff_f000u32.to_le_bytes());
        wav.extend_from_slice(samples);
        wav
    }

    #[tokio::test]
    async fn english_voices_are_listed_for_the_local_engine() {
        let voices = engine().voices().await.unwrap();

        let english = voices.iter().find(|voice| voice.language.starts_with("en")).unwrap();
        assert_eq!(english.engines, vec!["local".to_owned()]);
        assert!(!english.name.is_empty());
        assert!(voices.iter().any(|voice| voice.id == "en-us"));
    }

    #[test]
    fn voice_listing_columns_are_read() {
        let listing = "Pty Language       Age/Gender VoiceName          File                 Other Languages\n \
             2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)\n \
             5  en-gb-x-rp      --/F      English_(Received_Pronunciation) gmw/en-GB-x-rp       (en-gb 4)(en 5)\n \
             5  xx              --/-      Nobody             xx/xx\n";

        let catalogue = parse_voices(listing);

        let ids: Vec<&str> = catalogue.voices.iter().map(|voice| voice.id.as_str()).collect();
        assert_eq!(ids, ["en-gb", "en-gb-x-rp", "xx"]);
        assert_eq!(catalogue.voices[0].name, "English_(Great_Britain)");
        assert_eq!(catalogue.voices[0].gender.as_deref(), Some("male"));
        assert_eq!(catalogue.voices[1].gender.as_deref(), Some("female"));
        assert_eq!(catalogue.voices[2].gender, None);
        assert!(catalogue.accepts("en"));
        assert!(catalogue.accepts("en-gb-x-rp"));
        assert!(!catalogue.accepts("Pty"));
        assert!(!catalogue.accepts("gmw/en"));
    }

    #[tokio::test]
    async fn synthesized_speech_is_mp3_of_plausible_length() {
        let audio = engine().synthesize("en", SENTENCES).await.unwrap();

        let probe = mp3::probe(&audio).unwrap();
        assert!((500..=10_000).contains(&probe.duration_ms), "{probe:?}");
        assert_eq!(probe.sample_rate, 22_050);
        assert_eq!(probe.channels, 1);
    }

    #[tokio::test]
    async fn joined_chunks_last_as_long_as_their_sum() {
        let engine = engine();
        let first = engine.synthesize("en-us", "Hello world.").await.unwrap();
        let second = engine.synthesize("en-us", "This is a test.").await.unwrap();

        let sum =
            mp3::probe(&first).unwrap().duration_ms + mp3::probe(&second).unwrap().duration_ms;
        let joined = mp3::join(&[first, second]).unwrap();

        assert!(joined.duration_ms.abs_diff(sum) <= 50, "{} vs {sum}", joined.duration_ms);
        assert_eq!(mp3::probe(&joined.bytes).unwrap().duration_ms, joined.duration_ms);
    }

    #[tokio::test]
    async fn text_is_read_from_stdin_not_taken_as_options() {
        let audio = engine().synthesize("en", "--version --help").await.unwrap();

        assert!(mp3::probe(&audio).unwrap().duration_ms >= 500);
    }

    #[tokio::test]
    async fn unknown_voice_is_refused() {
        let engine = engine();

        assert_eq!(engine.synthesize("xx-nosuch", SENTENCES).await, Err(EngineError::UnknownVoice));
        assert_eq!(engine.synthesize("--stdout", SENTENCES).await, Err(EngineError::UnknownVoice));
    }

    #[tokio::test]
    async fn text_over_the_limit_is_refused_before_any_process_starts() {
        let limits = LocalLimits { max_chars: 10, ..LocalLimits::default() };
        let engine = LocalEngine::new(missing_program(), missing_program(), limits);

        assert_eq!(engine.synthesize("en", "ééééééééééé").await, Err(EngineError::TextTooLong));
        assert_ne!(engine.synthesize("en", "éééééééééé").await, Err(EngineError::TextTooLong));
    }

    #[tokio::test]
    async fn missing_espeak_is_unavailable() {
        let engine =
            LocalEngine::new(missing_program(), PathBuf::from("lame"), LocalLimits::default());

        assert!(!engine.available().await);
        assert_eq!(engine.synthesize("en", SENTENCES).await, Err(EngineError::Unavailable));
        assert_eq!(engine.voices().await, Err(EngineError::Unavailable));
    }

    #[tokio::test]
    async fn missing_lame_is_unavailable() {
        let engine =
            LocalEngine::new(PathBuf::from("espeak-ng"), missing_program(), LocalLimits::default());

        assert!(!engine.available().await);
        assert_eq!(engine.synthesize("en", SENTENCES).await, Err(EngineError::Unavailable));
    }

    #[tokio::test]
    async fn installed_engine_is_available() {
        assert!(engine().available().await);
    }

    #[tokio::test]
    async fn call_over_its_time_limit_times_out() {
        let limits = LocalLimits { timeout: Duration::from_millis(1), ..LocalLimits::default() };

        assert_eq!(
            engine_with(limits).synthesize("en", SENTENCES).await,
            Err(EngineError::Timeout)
        );
    }

    #[test]
    fn piped_wav_yields_the_samples_after_the_data_header() {
        let wav = piped_wav(22_050, 1, 16, &[1, 2, 3, 4, 5]);

        let (format, samples) = pcm_of(&wav).unwrap();

        assert_eq!(format, PcmFormat { sample_rate: 22_050, channels: 1, bits: 16 });
        assert_eq!(samples, [1, 2, 3, 4]);
    }

    #[test]
    fn malformed_or_unsupported_wav_is_a_failure() {
        assert_eq!(pcm_of(b"ID3 not a wave file").unwrap_err(), EngineError::Failed);
        assert_eq!(pcm_of(&piped_wav(22_050, 1, 16, &[])).unwrap_err(), EngineError::Failed);
        assert_eq!(pcm_of(&piped_wav(22_050, 2, 16, &[0; 8])).unwrap_err(), EngineError::Failed);
        assert_eq!(pcm_of(&piped_wav(22_050, 1, 8, &[0; 8])).unwrap_err(), EngineError::Failed);

        let truncated = &piped_wav(22_050, 1, 16, &[0; 8])[..30];
        assert_eq!(pcm_of(truncated).unwrap_err(), EngineError::Failed);
    }

    #[test]
    fn errors_have_stable_codes_and_retryability() {
        let cases = [
            (EngineError::Unavailable, "speech_engine_unavailable", false),
            (EngineError::Misconfigured, "speech_engine_misconfigured", false),
            (EngineError::UnknownVoice, "unknown_voice", false),
            (EngineError::TextTooLong, "text_too_long", false),
            (EngineError::Rejected, "speech_rejected", false),
            (EngineError::Throttled, "speech_throttled", true),
            (EngineError::Unauthenticated, "speech_unauthenticated", false),
            (EngineError::AccessDenied, "speech_access_denied", false),
            (EngineError::Failed, "speech_failed", true),
            (EngineError::Timeout, "speech_timeout", true),
        ];

        for (error, code, retryable) in cases {
            assert_eq!(error.code(), code);
            assert_eq!(error.is_retryable(), retryable, "{code}");
        }
    }
}
