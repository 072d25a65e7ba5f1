//! Redis access shared by the API and the worker: one lazily connected handle whose keys all
//! carry the deployment's prefix, and fixed-window rate limits that every replica sees.
//!
//! Rate-limit subjects (emails, client addresses) are hashed before they become part of a
//! key, so no personal data is stored in Redis.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};

/// A Redis failure: the server is unreachable, slow, or answered with an error.
#[derive(Debug, thiserror::Error)]
#[error("redis unavailable")]
pub struct KvError(#[from] redis::RedisError);

/// A namespaced, lazily connected Redis handle. Cheap to clone.
#[derive(Clone)]
pub struct Kv {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for Kv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kv").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

/// The answer of a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allowed,
    /// Refused; the window reopens after this long.
    Limited {
        /// Time until the window resets.
        retry_after: Duration,
    },
}

/// A fixed-window limit: at most `max` events per `window`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Events allowed per window.
    pub max: u32,
    /// Length of the window.
    pub window: Duration,
}

const HIT_SCRIPT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
return {count, ttl}
";

impl Kv {
    /// Builds the handle. No connection is made until the first command, so a service can
    /// start (and report itself not ready) while Redis is down.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, KvError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(timeout);
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;

        Ok(Self { conn, prefix: prefix.to_owned(), timeout })
    }

    /// The deployment's key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A full key: the prefix, then the parts joined by `:`.
    pub fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    /// A connection for commands this crate has no helper for.
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Checks that Redis answers.
    pub async fn ping(&self) -> Result<(), KvError> {
        let mut conn = self.conn.clone();
        let command = redis::cmd("PING");
        let reply = tokio::time::timeout(self.timeout, command.query_async::<String>(&mut conn));

        match reply.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(err.into()),
            Err(_) => Err(timeout_error()),
        }
    }

    /// Counts one event for `subject` in `bucket` and says whether it fits in the limit.
    pub async fn hit(
        &self,
        bucket: &str,
        subject: &str,
        limit: Limit,
    ) -> Result<Decision, KvError> {
        let key = self.key(&["rl", bucket, &hash_subject(subject)]);
        let window_ms = u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX);

        let (count, ttl_ms) = self.count(&key, window_ms).await?;

        Ok(decide(count, u64::from(limit.max), ttl_ms, limit.window))
    }

    /// Takes one of `per_second` slots of the current one-second window in `bucket`, shared
    /// by every process using this Redis prefix. `Limited` carries the exact time until the
    /// window turns (no one-second floor, unlike [`Kv::hit`]), so callers can pace themselves.
    pub async fn take_slot(&self, bucket: &str, per_second: u32) -> Result<Decision, KvError> {
        let key = self.key(&["pace", bucket]);

        let (count, ttl_ms) = self.count(&key, 1000).await?;

        if count <= u64::from(per_second) {
            return Ok(Decision::Allowed);
        }
        let wait = u64::try_from(ttl_ms).unwrap_or(1000).clamp(1, 1000);
        Ok(Decision::Limited { retry_after: Duration::from_millis(wait) })
    }

    /// Counts one event in the fixed window `key` (opened for `window_ms` by its first event)
    /// and returns the count with the window's remaining milliseconds.
    async fn count(&self, key: &str, window_ms: u64) -> Result<(u64, i64), KvError> {
        let mut conn = self.conn.clone();
        let script = redis::Script::new(HIT_SCRIPT);
        let mut invocation = script.key(key);
        invocation.arg(window_ms);

        let run = invocation.invoke_async::<(u64, i64)>(&mut conn);
        match tokio::time::timeout(self.timeout, run).await {
            Ok(reply) => Ok(reply?),
            Err(_) => Err(timeout_error()),
        }
    }

    /// Says whether `subject` is already over the limit in `bucket`, without counting.
    pub async fn peek(
        &self,
        bucket: &str,
        subject: &str,
        limit: Limit,
    ) -> Result<Decision, KvError> {
        let key = self.key(&["rl", bucket, &hash_subject(subject)]);
        let mut conn = self.conn.clone();

        let mut pipe = redis::pipe();
        pipe.get(&key).cmd("PTTL").arg(&key);
        let run = pipe.query_async::<(Option<u64>, i64)>(&mut conn);
        let (count, ttl_ms) = match tokio::time::timeout(self.timeout, run).await {
            Ok(reply) => reply?,
            Err(_) => return Err(timeout_error()),
        };

        // `peek` asks whether one more event would still fit.
        Ok(decide(count.unwrap_or(0) + 1, u64::from(limit.max), ttl_ms, limit.window))
    }

    /// Forgets the events counted for `subject` in `bucket`.
    pub async fn reset(&self, bucket: &str, subject: &str) -> Result<(), KvError> {
        let key = self.key(&["rl", bucket, &hash_subject(subject)]);
        let mut conn = self.conn.clone();

        let mut command = redis::cmd("DEL");
        command.arg(&key);
        let run = command.query_async::<i64>(&mut conn);
        match tokio::time::timeout(self.timeout, run).await {
            Ok(reply) => reply.map(drop).map_err(KvError::from),
            Err(_) => Err(timeout_error()),
        }
    }
}

fn decide(count: u64, max: u64, ttl_ms: i64, window: Duration) -> Decision {
    if count <= max {
        return Decision::Allowed;
    }

    let retry_after = u64::try_from(ttl_ms).map(Duration::from_millis).unwrap_or(window);
    Decision::Limited { retry_after: retry_after.max(Duration::from_secs(1)) }
}

fn hash_subject(subject: &str) -> String {
    let digest = Sha256::digest(subject.as_bytes());
    hex::encode(&digest[..16])
}

fn timeout_error() -> KvError {
    KvError(redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "redis command timed out",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_limit_is_allowed() {
        assert_eq!(decide(5, 5, 1000, Duration::from_secs(60)), Decision::Allowed);
    }

    #[test]
    fn over_limit_reports_time_left() {
        let decision = decide(6, 5, 42_000, Duration::from_secs(60));

        assert_eq!(decision, Decision::Limited { retry_after: Duration::from_secs(42) });
    }

    #[test]
    fn subjects_are_not_stored_in_clear() {
        let hashed = hash_subject("someone@example.com");

        assert!(!hashed.contains("someone"));
        assert_eq!(hashed.len(), 32);
    }
}
