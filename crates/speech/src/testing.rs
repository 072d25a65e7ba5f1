//! A Polly-compatible HTTP server on loopback, for tests of code that calls Polly through the
//! real AWS SDK client.
//!
//! It speaks just enough of the Polly REST protocol: `POST /v1/speech` answers valid MPEG
//! Layer III frames, `GET /v1/voices` answers two pages of voices. Each speech request takes
//! the next scripted [`Answer`]; once the script is used up every request gets the default.

#![allow(clippy::expect_used, reason = "test support: a server that cannot start ends the test")]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The voices the server lists, one per page, as `(id, gender, engines)`; all speak `en-US`.
pub const VOICES: &[(&str, &str, &str)] =
    &[("Joanna", "Female", r#"["standard"]"#), ("Matthew", "Male", r#"["neural","standard"]"#)];

/// Frames in each speech answer.
pub const FRAMES_PER_ANSWER: usize = 5;

/// What the server answers to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// MP3 audio for speech; two pages of voices.
    Succeed,
    /// Bytes that are not MP3.
    NotAudio,
    /// An error body with this service error code and HTTP status.
    Error(&'static str, u16),
    /// Reads the request and never answers.
    Hang,
}

/// One request the server read.
#[derive(Debug, Clone)]
pub struct Seen {
    /// HTTP method.
    pub method: String,
    /// Request target (path and query).
    pub target: String,
    /// Request body.
    pub body: Vec<u8>,
}

/// What the server has left to say.
#[derive(Debug)]
struct Script {
    next: VecDeque<Answer>,
    default: Answer,
    voices: Answer,
}

/// A running Polly-compatible server. It stops with the test's runtime.
#[derive(Debug, Clone)]
pub struct PollyServer {
    /// `http://127.0.0.1:{port}`.
    pub endpoint: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<Script>>,
}

impl PollyServer {
    /// Starts a server answering every request with `answer`.
    pub async fn start(answer: Answer) -> Self {
        Self::with_script(Vec::new(), answer, answer).await
    }

    /// Starts a server answering speech requests with `first`, in order, then with `then`;
    /// voice listings always succeed.
    pub async fn scripted(first: Vec<Answer>, then: Answer) -> Self {
        Self::with_script(first, then, Answer::Succeed).await
    }

    async fn with_script(first: Vec<Answer>, default: Answer, voices: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(Script { next: first.into(), default, voices }));

        let server = Self { endpoint, seen, script };
        let handle = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(handle.clone().serve(stream));
            }
        });

        server
    }

    /// Every request read so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("request log").clone()
    }

    /// How many speech requests were read.
    pub fn speech_calls(&self) -> usize {
        self.seen().iter().filter(|seen| seen.target.starts_with("/v1/speech")).count()
    }

    fn next_answer(&self, speech: bool) -> Answer {
        let mut script = self.script.lock().expect("script");
        if speech { script.next.pop_front().unwrap_or(script.default) } else { script.voices }
    }

    async fn serve(self, mut stream: TcpStream) {
        let Some(request) = read_request(&mut stream).await else { return };
        let speech = request.target.starts_with("/v1/speech");
        let second_page = request.target.contains("NextToken=page-2");
        self.seen.lock().expect("request log").push(request);

        let (status, headers, body) = match self.next_answer(speech) {
            Answer::Hang => {
                tokio::time::sleep(Duration::from_secs(3_600)).await;
                return;
            }
            Answer::Error(code, status) => {
                let body =
                    format!(r#"{{"message":"refused by the test server","__type":"{code}"}}"#);
                let headers = format!(
                    "x-amzn-ErrorType: {code}:http://internal.amazon.com/\r\n\
                     Content-Type: application/json\r\n"
                );
                (status, headers, body.into_bytes())
            }
            Answer::NotAudio => (200, "Content-Type: audio/mpeg\r\n".to_owned(), vec![0; 8]),
            Answer::Succeed if speech => {
                let audio = mp3_frames(FRAMES_PER_ANSWER);
                (200, "Content-Type: audio/mpeg\r\n".to_owned(), audio)
            }
            Answer::Succeed => {
                let page = usize::from(second_page);
                let (id, gender, engines) = VOICES[page];
                let next = if page == 0 { r#","NextToken":"page-2""# } else { "" };
                let body = format!(
                    r#"{{"Voices":[{{"Id":"{id}","Name":"{id}","Gender":"{gender}","LanguageCode":"en-US","LanguageName":"English","SupportedEngines":{engines}}}]{next}}}"#
                );
                (200, "Content-Type: application/json\r\n".to_owned(), body.into_bytes())
            }
        };

        let head = format!(
            "HTTP/1.1 {status} Test\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(&body).await;
        let _ = stream.shutdown().await;
    }
}

/// Valid MPEG-2 Layer III frames (22.05 kHz, 48 kbit/s, mono, 156 bytes each) holding
/// silence.
pub fn mp3_frames(count: usize) -> Vec<u8> {
    let mut frame = vec![0xFF, 0xF3, 0x60, 0xC0];
    frame.resize(156, 0);
    frame.repeat(count)
}

/// Reads one HTTP/1.1 request with a `Content-Length` body (or none).
async fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };

    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut request_line = head.lines().next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);

    while buffer.len() < head_end + length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }

    Some(Seen { method, target, body: buffer[head_end..head_end + length].to_vec() })
}
