//! Trying again what may pass a moment later: a broken or refused connection, `429 Too Many
//! Requests`, `502`, `503` and `504`. Only requests that can be sent twice without harm are
//! retried (`GET`, `HEAD`, a manifest `PUT`; a blob upload starts again from its `POST`),
//! a bounded number of times, waiting what the registry's `Retry-After` asks (up to a cap)
//! or else an exponential backoff with jitter. No other `4xx` is ever retried: the same
//! request would get the same answer.

use std::time::{Duration, SystemTime};

use ureq::http::Response;
use ureq::Body;

use crate::transport::header;
use crate::{Client, ClientError};

/// How a [`crate::Client`] retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a request is sent at most (1: never retried).
    pub attempts: u32,
    /// The backoff before the second attempt; it doubles for each later one.
    pub first_delay: Duration,
    /// The longest wait: backoff stops growing here, and a registry whose `Retry-After`
    /// asks for more is not tried again (the error says when to come back).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts, waiting about 0.5 s, 1 s and 2 s between them; a `Retry-After` of up
    /// to a minute is honoured.
    fn default() -> Self {
        Self {
            attempts: 4,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before the attempt after `failed` attempts: `retry_after` if the registry
    /// sent one, else a random wait in the upper half of `first_delay × 2^(failed-1)` (so
    /// clients that failed together do not come back together), both capped. `Err` with the
    /// asked wait when the registry asks for longer than [`RetryPolicy::max_delay`].
    fn wait(&self, failed: u32, retry_after: Option<Duration>) -> Result<Duration, Duration> {
        match retry_after {
            Some(asked) if asked <= self.max_delay => Ok(asked),
            Some(asked) => Err(asked),
            None => Ok(self.backoff(failed)),
        }
    }

    /// The backoff after `failed` attempts: a random wait in the upper half of
    /// `first_delay × 2^(failed-1)`, capped.
    pub(crate) fn backoff(&self, failed: u32) -> Duration {
        let doubled = self
            .first_delay
            .saturating_mul(1 << failed.saturating_sub(1).min(16))
            .min(self.max_delay);
        let half = doubled / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// What one try of a request came to.
pub(crate) enum Attempt<T> {
    /// An answer to keep (success or a failure that would repeat).
    Done(T),
    /// A failure that may pass, and the wait the registry asked for, if it did.
    Transient(ClientError, Option<Duration>),
}

impl Client {
    /// Runs `attempt` until it is done or fails for good, or the policy's attempts are spent;
    /// the last failure then says how many were made.
    pub(crate) fn retrying<T>(
        &self,
        mut attempt: impl FnMut() -> Result<Attempt<T>, ClientError>,
    ) -> Result<T, ClientError> {
        let policy = &self.options.retry;
        let mut made = 0;
        loop {
            made += 1;
            let (error, retry_after) = match attempt()? {
                Attempt::Done(value) => return Ok(value),
                Attempt::Transient(error, retry_after) => (error, retry_after),
            };
            let gave_up = |asked_wait| ClientError::GaveUp {
                attempts: made,
                asked_wait,
                source: Box::new(error),
            };
            if made >= policy.attempts.max(1) {
                return Err(gave_up(None));
            }
            match policy.wait(made, retry_after) {
                Ok(wait) => std::thread::sleep(wait),
                Err(asked) => return Err(gave_up(Some(asked))),
            }
        }
    }
}

/// Sorts the outcome of one exchange: a transient status (its error made by `error_of`, which
/// reads the body) or a transient connection failure may be retried; the rest is final.
pub(crate) fn classify(
    result: Result<Response<Body>, ClientError>,
    error_of: impl FnOnce(Response<Body>) -> ClientError,
) -> Result<Attempt<Response<Body>>, ClientError> {
    match result {
        Ok(response) if is_transient_status(response.status().as_u16()) => {
            let wait = retry_after(&response);
            Ok(Attempt::Transient(error_of(response), wait))
        }
        Ok(response) => Ok(Attempt::Done(response)),
        Err(ClientError::Transport { url, source }) if is_transient_error(&source) => Ok(
            Attempt::Transient(ClientError::Transport { url, source }, None),
        ),
        Err(other) => Err(other),
    }
}

/// Whether an answer with this status may be different a moment later.
fn is_transient_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Whether a failure to exchange a request is one of the connection's, not the request's.
fn is_transient_error(error: &ureq::Error) -> bool {
    matches!(
        error,
        ureq::Error::Io(_) | ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed
    )
}

/// The wait a response's `Retry-After` asks for (see [`crate::header::retry_after`]).
fn retry_after(response: &Response<Body>) -> Option<Duration> {
    header(response, "retry-after")
        .and_then(|value| crate::header::retry_after(value, SystemTime::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_back_off_with_jitter_and_honour_the_registry_up_to_the_cap() {
        let policy = RetryPolicy {
            attempts: 4,
            first_delay: Duration::from_millis(400),
            max_delay: Duration::from_secs(1),
        };
        for (failed, low, high) in [(1, 200, 400), (2, 400, 800), (3, 500, 1000), (9, 500, 1000)] {
            for _ in 0..50 {
                let wait = policy.wait(failed, None).unwrap().as_millis();
                assert!((low..=high).contains(&wait), "{failed}: {wait}");
            }
        }
        let asked = Duration::from_millis(700);
        assert_eq!(policy.wait(1, Some(asked)), Ok(asked));
        let long = Duration::from_secs(3600);
        assert_eq!(policy.wait(1, Some(long)), Err(long));
    }

    #[test]
    fn only_answers_that_may_change_are_transient() {
        let transient: Vec<u16> = (400..600).filter(|s| is_transient_status(*s)).collect();
        assert_eq!(transient, [429, 502, 503, 504]);
        assert!(is_transient_error(&ureq::Error::ConnectionFailed));
        assert!(!is_transient_error(&ureq::Error::HostNotFound));
    }
}
