//! feed-projector end to end on the emulator: the deployed stack's routing, the projector's
//! S3 writes and announcements, exactly-once under redelivery and contention, and every kind of
//! bad input reaching the dead-letter queue with its reason; praktika's own feed writes reaching
//! Pulse through praktika-compat (the worker's `update`) and S3's notifications.

mod failures;
mod github;
mod harness;
mod logs;
mod praktika_today;
mod praktika_writes;
mod projection;
