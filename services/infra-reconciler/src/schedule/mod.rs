//! EventBridge schedule expressions, parsed in AWS's own dialect into a typed [`Schedule`], and
//! the next time one fires ([`Schedule::next_after`]).
//!
//! The rules, as AWS's "Schedule expressions for rules" states them:
//!
//! - `rate(VALUE UNIT)`: VALUE a positive whole number; UNIT `minute`, `hour` or `day` when VALUE
//!   is 1, `minutes`, `hours` or `days` otherwise (AWS refuses `rate(1 minutes)` and
//!   `rate(5 minute)`).
//! - `cron(Minutes Hours Day-of-month Month Day-of-week Year)`: exactly six fields, in UTC.
//!
//!   | field        | values                    | wildcards         |
//!   |--------------|---------------------------|-------------------|
//!   | Minutes      | 0-59                      | `, - * /`         |
//!   | Hours        | 0-23                      | `, - * /`         |
//!   | Day-of-month | 1-31                      | `, - * ? / L W`   |
//!   | Month        | 1-12 or JAN-DEC           | `, - * /`         |
//!   | Day-of-week  | 1-7 or SUN-SAT (SUN is 1) | `, - * ? L #`     |
//!   | Year         | 1970-2199                 | `, - * /`         |
//!
//! - `,` lists values, `-` is an inclusive range (start not after end), `*` is every value,
//!   `a/n` is every n-th value from a (`*/n` and `a-b/n` too), `?` is "any" and stands alone.
//! - Day-of-month and day-of-week cannot both be given: exactly one of them is `?`.
//! - Day-of-month `L` is the month's last day, `LW` its last weekday, `nW` the weekday nearest
//!   day n without leaving the month (`1W` on a Saturday is Monday the 3rd).
//! - Day-of-week `L` alone is the week's last day (Saturday), `nL` the month's last weekday n
//!   (`6L`: the last Friday), `n#k` its k-th weekday n (`3#2`: the second Tuesday; k is 1-5).
//!   These special forms fill their field alone (no lists, no ranges).
//! - Names are upper or lower case; numbers and names can mix in a range (`2-FRI`).
//!
//! Two choices where AWS's page is silent: `LW` is read as Quartz reads it (AWS's cron is
//! Quartz's), and a range that wraps (`FRI-MON`, `22-2`) is refused rather than guessed.

pub mod deliver;
mod next;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{DateTime, Utc};

pub use parse::parse;

/// A parsed schedule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Rate(Rate),
    Cron(Box<Cron>),
}

/// `rate(VALUE UNIT)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub value: u32,
    pub unit: RateUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Minute,
    Hour,
    Day,
}

impl Rate {
    /// The time between two runs.
    pub fn period(&self) -> chrono::Duration {
        let n = i64::from(self.value);
        match self.unit {
            RateUnit::Minute => chrono::Duration::minutes(n),
            RateUnit::Hour => chrono::Duration::hours(n),
            RateUnit::Day => chrono::Duration::days(n),
        }
    }
}

impl fmt::Display for Rate {
    /// `every minute`, `every 5 minutes`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            RateUnit::Minute => "minute",
            RateUnit::Hour => "hour",
            RateUnit::Day => "day",
        };
        if self.value == 1 { write!(f, "every {unit}") } else { write!(f, "every {} {unit}s", self.value) }
    }
}

/// `cron(...)`: the set of times each field allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    pub(crate) minutes: Bits,
    pub(crate) hours: Bits,
    pub(crate) days: Days,
    pub(crate) months: Bits,
    /// Years as offsets from [`Field::Year`]'s first year (1970), which fit the bit set.
    pub(crate) years: Bits,
}

/// Which of the two day fields chooses the days (the other one is `?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Days {
    OfMonth(DayOfMonth),
    OfWeek(DayOfWeek),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayOfMonth {
    /// Days 1-31 (a day a month lacks never matches).
    Days(Bits),
    /// `L`.
    Last,
    /// `LW`.
    LastWeekday,
    /// `nW`.
    NearestWeekday(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayOfWeek {
    /// Weekdays 1 (Sunday) to 7 (Saturday).
    Days(Bits),
    /// `nL`: the last weekday n of the month.
    Last(u32),
    /// `n#k`: the k-th weekday n of the month.
    Nth { weekday: u32, nth: u32 },
}

/// A set of small numbers (0-255).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Bits([u64; 4]);

impl Bits {
    pub(crate) fn insert(&mut self, n: u32) {
        self.0[(n / 64) as usize] |= 1 << (n % 64);
    }

    pub(crate) fn contains(&self, n: u32) -> bool {
        n < 256 && self.0[(n / 64) as usize] & (1 << (n % 64)) != 0
    }

    /// The members from `from` on, in order.
    pub(crate) fn from(&self, from: u32) -> impl Iterator<Item = u32> + '_ {
        (from..256).filter(|n| self.contains(*n))
    }
}

impl fmt::Debug for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.from(0)).finish()
    }
}

/// A field of a cron expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

impl Field {
    #[cfg(test)]
    pub(crate) const ALL: [Field; 6] = [Field::Minutes, Field::Hours, Field::DayOfMonth, Field::Month, Field::DayOfWeek, Field::Year];

    /// The values the field takes.
    pub(crate) fn range(self) -> (u32, u32) {
        match self {
            Field::Minutes => (0, 59),
            Field::Hours => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (1, 7),
            Field::Year => (1970, 2199),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Minutes => "minutes",
            Field::Hours => "hours",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
            Field::Year => "year",
        })
    }
}

/// Why an expression is not one EventBridge accepts: the expression, the field when one is to
/// blame, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedule {expr:?}: {}", self.reason())]
pub struct ScheduleError {
    pub expr: String,
    pub field: Option<Field>,
    pub message: String,
}

impl ScheduleError {
    /// What is wrong, without the expression: `hours: range 10-8 runs backwards ...`.
    pub fn reason(&self) -> String {
        match self.field {
            Some(field) => format!("{field}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl std::str::FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

/// When a scheduled resource runs next, as a plan shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextRun {
    At(DateTime<Utc>),
    /// A rate: EventBridge counts it from the rule's creation, which a plan cannot know.
    Every(Rate),
    /// No time matches any more (a past year, a day no month has).
    Never,
    Disabled,
    /// The expression does not parse (the plan's validation already says why).
    Invalid,
}

impl NextRun {
    /// The next run of `expr` after `now` (`enabled`: the rule's state).
    pub fn of(expr: &str, enabled: bool, now: DateTime<Utc>) -> NextRun {
        match parse(expr) {
            Err(_) => NextRun::Invalid,
            Ok(_) if !enabled => NextRun::Disabled,
            Ok(Schedule::Rate(rate)) => NextRun::Every(rate),
            Ok(schedule @ Schedule::Cron(_)) => schedule.next_after(now).map_or(NextRun::Never, NextRun::At),
        }
    }

    /// The time, for the JSON plan (`None` for a rate, a disabled or a never-again schedule).
    pub fn time(&self) -> Option<DateTime<Utc>> {
        match self {
            NextRun::At(t) => Some(*t),
            _ => None,
        }
    }
}

impl fmt::Display for NextRun {
    /// `next run 2026-12-04 13:00 UTC`, `runs every 5 minutes from its creation`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextRun::At(t) => write!(f, "next run {}", t.format("%Y-%m-%d %H:%M UTC")),
            NextRun::Every(rate) => write!(f, "runs {rate} from its creation"),
            NextRun::Never => f.write_str("never runs again (no matching time up to 2199)"),
            NextRun::Disabled => f.write_str("disabled: never runs"),
            NextRun::Invalid => f.write_str("invalid schedule"),
        }
    }
}
