//! Failed-login throttling, per account and per client address.
//!
//! Each account and each address has a budget of failures that refills at a steady rate (the
//! generic cell rate algorithm: one timestamp per key, the moment its budget would be full
//! again). Guessing one account's password from many addresses hits the account's budget;
//! guessing many accounts from one address hits the address's.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::clock::Clock;

/// Past this many tracked keys, keys whose budget is full again are forgotten.
const PRUNE_ABOVE: usize = 10_000;

/// How many failures a key may have in a row, and how fast they are forgiven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRate {
    /// Failures allowed in a burst before the key is throttled. At least 1.
    pub burst: u32,
    /// One failure is forgiven each time this much time passes.
    pub forgive_every: Duration,
}

impl ThrottleRate {
    /// How much unforgiven failure time a key may carry and still try again.
    fn tolerance(self) -> Duration {
        self.forgive_every * self.burst.saturating_sub(1)
    }
}

/// A login attempt refused without checking its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed logins; try again in {} seconds", retry_after.as_secs().max(1))]
pub struct Throttled {
    /// How long until one more attempt is allowed (for a `Retry-After` header).
    pub retry_after: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

/// Counts failed logins and refuses attempts while an account or address is over its budget.
#[derive(Debug)]
pub struct LoginThrottle {
    per_account: ThrottleRate,
    per_address: ThrottleRate,
    clock: Arc<dyn Clock>,
    /// For each key, when its budget is full again; a key whose time has passed is as if absent.
    full_at: Mutex<HashMap<Key, SystemTime>>,
}

impl LoginThrottle {
    /// A throttle with separate rates for accounts and addresses.
    pub fn new(
        per_account: ThrottleRate,
        per_address: ThrottleRate,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            per_account,
            per_address,
            clock,
            full_at: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` when a login for `account` from `address` may be tried now. `account` must be the
    /// name as the account store compares it (case-folded if logins ignore case), or variants of
    /// one name would each get a budget.
    pub fn check(&self, account: &str, address: IpAddr) -> Result<(), Throttled> {
        let now = self.clock.now();
        let full_at = self.lock();
        let wait = |key: Key, rate: ThrottleRate| {
            let debt = full_at
                .get(&key)
                .map_or(Duration::ZERO, |full| debt_at(*full, now));
            debt.saturating_sub(rate.tolerance())
        };
        let retry_after = wait(Key::Account(account.to_owned()), self.per_account)
            .max(wait(Key::Address(address_key(address)), self.per_address));
        if retry_after.is_zero() {
            Ok(())
        } else {
            Err(Throttled { retry_after })
        }
    }

    /// Counts a failed login against both the account and the address.
    pub fn record_failure(&self, account: &str, address: IpAddr) {
        let now = self.clock.now();
        let mut full_at = self.lock();
        if full_at.len() > PRUNE_ABOVE {
            full_at.retain(|_, full| *full > now);
        }
        for (key, rate) in [
            (Key::Account(account.to_owned()), self.per_account),
            (Key::Address(address_key(address)), self.per_address),
        ] {
            let full = full_at.entry(key).or_insert(now);
            *full = (*full).max(now) + rate.forgive_every;
        }
    }

    /// Clears the account's failures after a successful login. The address keeps its count, so
    /// logging in to one's own account does not reset a budget spent guessing others.
    pub fn record_success(&self, account: &str) {
        self.lock().remove(&Key::Account(account.to_owned()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, SystemTime>> {
        // Every update leaves the map consistent, so a panic elsewhere cannot corrupt it.
        self.full_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Unforgiven failure time at `now` for a key whose budget is full again at `full_at`.
fn debt_at(full_at: SystemTime, now: SystemTime) -> Duration {
    full_at.duration_since(now).unwrap_or(Duration::ZERO)
}

/// IPv6 clients usually hold a whole /64, so an address counts by its /64; IPv4-mapped IPv6
/// addresses count as the IPv4 address they are.
fn address_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    const MINUTE: Duration = Duration::from_secs(60);

    fn throttle(clock: &Arc<ManualClock>) -> LoginThrottle {
        let rate = |burst| ThrottleRate {
            burst,
            forgive_every: MINUTE,
        };
        LoginThrottle::new(rate(3), rate(5), clock.clone())
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_account_is_throttled_after_its_burst_and_recovers_with_time() {
        let clock = Arc::new(ManualClock::at_unix_seconds(1_000_000));
        let throttle = throttle(&clock);
        for _ in 0..3 {
            assert_eq!(throttle.check("alice", ip("192.0.2.1")), Ok(()));
            throttle.record_failure("alice", ip("192.0.2.1"));
        }
        // The account's budget is spent, whatever address the next guess comes from.
        let refused = Err(Throttled {
            retry_after: MINUTE,
        });
        assert_eq!(throttle.check("alice", ip("198.51.100.7")), refused);
        assert_eq!(throttle.check("bob", ip("198.51.100.7")), Ok(()));
        clock.advance(MINUTE - Duration::from_secs(1));
        assert_eq!(
            throttle.check("alice", ip("192.0.2.1")),
            Err(Throttled {
                retry_after: Duration::from_secs(1)
            })
        );
        clock.advance(Duration::from_secs(1));
        assert_eq!(throttle.check("alice", ip("192.0.2.1")), Ok(()));
    }

    #[test]
    fn an_address_is_throttled_across_accounts() {
        let clock = Arc::new(ManualClock::at_unix_seconds(1_000_000));
        let throttle = throttle(&clock);
        for account in ["a", "b", "c", "d", "e"] {
            throttle.record_failure(account, ip("2001:db8::1"));
        }
        // Same /64, another account: still the spent address budget.
        assert_eq!(
            throttle.check("f", ip("2001:db8::ffff")),
            Err(Throttled {
                retry_after: MINUTE
            })
        );
        assert_eq!(throttle.check("f", ip("2001:db8:0:1::1")), Ok(()));
    }

    #[test]
    fn success_clears_the_account_but_not_the_address() {
        let clock = Arc::new(ManualClock::at_unix_seconds(1_000_000));
        let throttle = throttle(&clock);
        for _ in 0..5 {
            throttle.record_failure("alice", ip("192.0.2.1"));
        }
        throttle.record_success("alice");
        assert_eq!(throttle.check("alice", ip("192.0.2.2")), Ok(()));
        assert!(throttle.check("alice", ip("192.0.2.1")).is_err());
    }

    #[test]
    fn mapped_ipv4_counts_as_ipv4() {
        assert_eq!(address_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(address_key(ip("2001:db8::1:2:3:4")), ip("2001:db8::"));
    }

    #[test]
    fn a_clock_set_back_does_not_forgive_failures() {
        let clock = Arc::new(ManualClock::at_unix_seconds(1_000_000));
        let throttle = throttle(&clock);
        for _ in 0..3 {
            throttle.record_failure("alice", ip("192.0.2.1"));
        }
        clock.rewind(Duration::from_secs(3600));
        assert!(throttle.check("alice", ip("192.0.2.1")).is_err());
    }
}
