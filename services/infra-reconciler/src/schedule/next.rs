//! When a schedule fires next: a walk over the allowed years, months, days, hours and minutes
//! in order, so the first match is the answer and an impossible expression ends at 2199.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};

use super::{Cron, DayOfMonth, DayOfWeek, Days, Schedule};

impl Schedule {
    /// The first run strictly after `after` (to the minute, UTC). `None` when the expression
    /// allows no later time (a past year, 30 February).
    ///
    /// A rate counts from `after`: EventBridge counts it from the rule's creation, which an
    /// expression does not know, so for a rate this is "one period from now".
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Rate(rate) => after.checked_add_signed(rate.period()),
            Schedule::Cron(cron) => cron.next_after(after),
        }
    }
}

impl Cron {
    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // The first whole minute after `after`.
        let start = after.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let (start_date, start_hm) = (start.date_naive(), (start.hour(), start.minute()));
        for year_offset in self.years.from((start.year() - 1970).max(0) as u32) {
            let year = 1970 + year_offset as i32;
            let first_month = if year == start_date.year() { start_date.month() } else { 1 };
            for month in self.months.from(first_month).take_while(|m| *m <= 12) {
                let same_month = year == start_date.year() && month == start_date.month();
                let first_day = if same_month { start_date.day() } else { 1 };
                let last = last_day(year, month);
                for day in (first_day..=last).filter(|d| self.day_matches(year, month, *d, last)) {
                    let date = NaiveDate::from_ymd_opt(year, month, day)?;
                    let from = if date == start_date { start_hm } else { (0, 0) };
                    if let Some((h, m)) = self.first_time_from(from) {
                        return Some(Utc.from_utc_datetime(&date.and_hms_opt(h, m, 0)?));
                    }
                }
            }
        }
        None
    }

    /// The first allowed hour:minute at or after `from` on a matching day.
    fn first_time_from(&self, (from_h, from_m): (u32, u32)) -> Option<(u32, u32)> {
        self.hours.from(from_h).take_while(|h| *h < 24).find_map(|h| {
            let first_minute = if h == from_h { from_m } else { 0 };
            self.minutes.from(first_minute).find(|m| *m < 60).map(|m| (h, m))
        })
    }

    fn day_matches(&self, year: i32, month: u32, day: u32, last: u32) -> bool {
        let weekday = |d: u32| NaiveDate::from_ymd_opt(year, month, d).map_or(0, |date| date.weekday().num_days_from_sunday() + 1);
        match self.days {
            Days::OfMonth(DayOfMonth::Days(days)) => days.contains(day),
            Days::OfMonth(DayOfMonth::Last) => day == last,
            Days::OfMonth(DayOfMonth::LastWeekday) => day == nearest_weekday(last, last, weekday(last)),
            Days::OfMonth(DayOfMonth::NearestWeekday(n)) => n <= last && day == nearest_weekday(n, last, weekday(n)),
            Days::OfWeek(DayOfWeek::Days(days)) => days.contains(weekday(day)),
            Days::OfWeek(DayOfWeek::Last(w)) => weekday(day) == w && day + 7 > last,
            Days::OfWeek(DayOfWeek::Nth { weekday: w, nth }) => weekday(day) == w && (day - 1) / 7 + 1 == nth,
        }
    }
}

/// The weekday nearest day `n` (whose weekday is `w`, Sunday = 1) within a month of `last`
/// days: a Saturday moves to Friday, a Sunday to Monday, unless that leaves the month, in which
/// case it moves the other way (the 1st on a Saturday is Monday the 3rd).
fn nearest_weekday(n: u32, last: u32, w: u32) -> u32 {
    match w {
        7 if n == 1 => 3,
        7 => n - 1,
        1 if n == last => n - 2,
        1 => n + 1,
        _ => n,
    }
}

fn last_day(year: i32, month: u32) -> u32 {
    let (y, m) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    NaiveDate::from_ymd_opt(y, m, 1).and_then(|d| d.pred_opt()).map_or(28, |d| d.day())
}
