//! Time as a boundary: token expiry and login throttling read the time through [`Clock`], so tests
//! move it by hand instead of sleeping.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the current time comes from.
pub trait Clock: std::fmt::Debug + Send + Sync {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;

    /// The current time in whole seconds since the Unix epoch, the unit of JWT claims. Times
    /// before the epoch read as 0, since no token or login predates it.
    fn unix_seconds(&self) -> i64 {
        let seconds = self
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        i64::try_from(seconds).unwrap_or(i64::MAX)
    }
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until it is told to move: for tests of expiry and throttling.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock showing `unix_seconds` after the epoch.
    pub fn at_unix_seconds(unix_seconds: u64) -> Self {
        Self {
            now: Mutex::new(UNIX_EPOCH + Duration::from_secs(unix_seconds)),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.lock() += by;
    }

    /// Moves the clock backward by `by`, as a system clock corrected by NTP may.
    pub fn rewind(&self, by: Duration) {
        *self.lock() -= by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SystemTime> {
        // A panic while holding this lock cannot leave a half-written SystemTime behind.
        self.now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.lock()
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_unix_seconds(1_000);
        assert_eq!(clock.unix_seconds(), 1_000);
        clock.advance(Duration::from_secs(61));
        assert_eq!(clock.unix_seconds(), 1_061);
        clock.rewind(Duration::from_secs(1));
        assert_eq!(clock.unix_seconds(), 1_060);
    }

    #[test]
    fn times_before_the_epoch_read_as_zero() {
        let clock = ManualClock::at_unix_seconds(0);
        clock.rewind(Duration::from_secs(5));
        assert_eq!(clock.unix_seconds(), 0);
    }
}
