//! The one source of fresh ids. Code that mints ids (deploy ids, event ids, attempt ids) is
//! handed an [`Ids`], so tests predict them and pure decisions take them as values.
//!
//! [`Ids::random`] is the only place in Pulse that draws random UUIDs (a test in
//! `tests/adapters/house_rules.rs` holds that line).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;

/// A source of fresh UUIDs.
#[derive(Clone)]
pub struct Ids(Arc<dyn Fn() -> Uuid + Send + Sync>);

impl Ids {
    /// Random (v4) UUIDs.
    pub fn random() -> Self {
        Self(Arc::new(Uuid::new_v4))
    }

    /// `00000000-0000-4000-8000-{seed:04x}{n:08x}` for n = 1, 2, 3, ...: distinct, predictable
    /// ids for tests.
    pub fn sequence(seed: u16) -> Self {
        let next = AtomicU64::new(0);
        Self(Arc::new(move || {
            let n = next.fetch_add(1, Ordering::SeqCst) + 1;
            let low = (u128::from(seed) << 32) | u128::from(n & 0xffff_ffff);
            Uuid::from_u128((0x4000u128 << 64) | (0x8000u128 << 48) | low)
        }))
    }

    pub fn uuid(&self) -> Uuid {
        (self.0)()
    }
}

impl Default for Ids {
    fn default() -> Self {
        Self::random()
    }
}

impl std::fmt::Debug for Ids {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ids")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_are_distinct_and_predictable() {
        let ids = Ids::sequence(7);
        let (a, b) = (ids.uuid(), ids.uuid());
        assert_ne!(a, b);
        assert_eq!(a.to_string(), "00000000-0000-4000-8000-000700000001");
        assert_eq!(Ids::sequence(7).uuid(), a);
        assert_ne!(Ids::random().uuid(), Ids::random().uuid());
    }
}
