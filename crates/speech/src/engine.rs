//! The speech engine a deployment uses, chosen by configuration: Amazon Polly, or espeak-ng
//! on the local machine. Both produce MP3 and share one error type.

use std::time::Duration;

use orator_config::{Config, PollyVoiceEngine, SpeechEngineChoice};

use crate::local::{self, EngineError, LocalEngine, LocalLimits, Voice};
use crate::polly::{PollyConfig, PollyEngine, PollyEngineKind, PollyLimits};

/// Something that turns text into MP3 audio with a voice. The pipeline and the benchmarks
/// take this rather than [`Speech`], so a simulated engine can stand in.
pub trait Synthesize: Sync {
    /// Most characters one call accepts.
    fn max_chars(&self) -> usize;

    /// Speaks `text` with `voice` and returns MP3 bytes.
    fn synthesize(
        &self,
        voice: &str,
        text: &str,
    ) -> impl Future<Output = Result<Vec<u8>, EngineError>> + Send;
}

/// The configured speech engine.
#[derive(Debug)]
pub enum Speech {
    /// espeak-ng and lame, run as programs.
    Local(LocalEngine),
    /// Amazon Polly through the AWS SDK.
    Polly(PollyEngine),
}

impl Speech {
    /// Builds the engine the configuration asks for. Polly clients are only built when Polly
    /// is chosen, and Polly needs `AWS_REGION`.
    pub async fn from_config(config: &Config) -> Result<Self, EngineError> {
        let call_timeout = Duration::from_secs(config.speech_call_timeout_secs);

        match config.speech_engine_choice() {
            SpeechEngineChoice::Local => {
                let limits = LocalLimits { timeout: call_timeout, ..LocalLimits::default() };
                let engine =
                    LocalEngine::new(config.espeak_path.clone(), config.lame_path.clone(), limits);
                Ok(Self::Local(engine))
            }
            SpeechEngineChoice::Polly => {
                let region = config.aws_region.clone().ok_or(EngineError::Misconfigured)?;
                let polly = PollyConfig {
                    region,
                    endpoint_url: config
                        .polly_endpoint_url
                        .clone()
                        .or_else(|| config.aws_endpoint_url.clone()),
                    access_key_id: config.aws_access_key_id.as_ref().map(|k| k.expose().clone()),
                    secret_access_key: config
                        .aws_secret_access_key
                        .as_ref()
                        .map(|k| k.expose().clone()),
                    engine: match config.polly_engine {
                        PollyVoiceEngine::Standard => PollyEngineKind::Standard,
                        PollyVoiceEngine::Neural => PollyEngineKind::Neural,
                    },
                    limits: PollyLimits { attempt_timeout: call_timeout, ..PollyLimits::default() },
                };
                Ok(Self::Polly(PollyEngine::new(polly).await?))
            }
        }
    }

    /// `local` or `polly`, as stored with each audio.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Local(_) => local::ENGINE_NAME,
            Self::Polly(_) => "polly",
        }
    }

    /// Whether the engine can be used at all: the local programs run. A configured Polly
    /// client always can (its failures show per call).
    pub async fn available(&self) -> bool {
        match self {
            Self::Local(engine) => engine.available().await,
            Self::Polly(_) => true,
        }
    }

    /// The engine's voices (cached by each engine after the first success); for Polly, only
    /// those offering the configured voice technology.
    pub async fn voices(&self) -> Result<Vec<Voice>, EngineError> {
        match self {
            Self::Local(engine) => engine.voices().await,
            Self::Polly(engine) => {
                let technology = engine.voice_engine().as_str();
                let mut voices = engine.voices().await?;
                voices.retain(|voice| voice.engines.iter().any(|offered| offered == technology));
                Ok(voices)
            }
        }
    }

    /// The voice with this id, if the engine offers it.
    pub async fn voice(&self, id: &str) -> Result<Option<Voice>, EngineError> {
        let voices = self.voices().await?;

        Ok(voices.into_iter().find(|voice| voice.id == id))
    }
}

impl Synthesize for Speech {
    fn max_chars(&self) -> usize {
        match self {
            Self::Local(engine) => engine.max_chars(),
            Self::Polly(engine) => engine.max_chars(),
        }
    }

    async fn synthesize(&self, voice: &str, text: &str) -> Result<Vec<u8>, EngineError> {
        match self {
            Self::Local(engine) => engine.synthesize(voice, text).await,
            Self::Polly(engine) => engine.synthesize(voice, text).await,
        }
    }
}

/// The chunker's language for a voice's language code: `en-US` and `en-us` give `en`.
pub fn chunk_language(voice_language: &str) -> String {
    let primary = voice_language.split(['-', '_']).next().unwrap_or_default();

    if primary.len() >= 2 && primary.chars().all(|c| c.is_ascii_alphabetic()) {
        primary.to_ascii_lowercase()
    } else {
        crate::chunk::DEFAULT_LANGUAGE.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_languages_are_primary_subtags() {
        assert_eq!(chunk_language("en-US"), "en");
        assert_eq!(chunk_language("pt_BR"), "pt");
        assert_eq!(chunk_language("de"), "de");
        assert_eq!(chunk_language(""), "en");
        assert_eq!(chunk_language("1x"), "en");
    }
}
