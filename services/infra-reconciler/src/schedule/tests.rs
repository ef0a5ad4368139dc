//! The examples of AWS's "Schedule expressions for rules" page, plus `L`, `W`, `#` and years,
//! with next runs worked out by hand from a calendar; and expressions AWS refuses.

use chrono::{DateTime, Utc};

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The next run of `expr` after `after`, as RFC 3339 text (or "none").
fn next(expr: &str, after: &str) -> String {
    let schedule = parse(expr).unwrap_or_else(|e| panic!("{expr} should parse: {e}"));
    schedule.next_after(at(after)).map_or("none".into(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Friday 4 December 2026, 10:37:20 UTC.
const NOW: &str = "2026-12-04T10:37:20Z";

#[test]
fn the_examples_of_aws_documentation() {
    // 10:00 every day: today's has passed.
    assert_eq!(next("cron(0 10 * * ? *)", NOW), "2026-12-05T10:00:00Z");
    // 12:15 every day.
    assert_eq!(next("cron(15 12 * * ? *)", NOW), "2026-12-04T12:15:00Z");
    // 18:00 Monday to Friday: tonight, then after it the weekend is skipped.
    assert_eq!(next("cron(0 18 ? * MON-FRI *)", NOW), "2026-12-04T18:00:00Z");
    assert_eq!(next("cron(0 18 ? * MON-FRI *)", "2026-12-04T18:00:00Z"), "2026-12-07T18:00:00Z");
    // 08:00 on the first day of every month.
    assert_eq!(next("cron(0 8 1 * ? *)", NOW), "2027-01-01T08:00:00Z");
    // Every 15 minutes.
    assert_eq!(next("cron(0/15 * * * ? *)", NOW), "2026-12-04T10:45:00Z");
    // Every 10 minutes, Monday to Friday: Friday's last is 23:50, then Monday midnight.
    assert_eq!(next("cron(0/10 * ? * MON-FRI *)", NOW), "2026-12-04T10:40:00Z");
    assert_eq!(next("cron(0/10 * ? * MON-FRI *)", "2026-12-04T23:50:00Z"), "2026-12-07T00:00:00Z");
    // Every 5 minutes from 08:00 to 17:55, Monday to Friday.
    assert_eq!(next("cron(0/5 8-17 ? * MON-FRI *)", NOW), "2026-12-04T10:40:00Z");
    assert_eq!(next("cron(0/5 8-17 ? * MON-FRI *)", "2026-12-04T17:50:00Z"), "2026-12-04T17:55:00Z");
    assert_eq!(next("cron(0/5 8-17 ? * MON-FRI *)", "2026-12-04T17:55:00Z"), "2026-12-07T08:00:00Z");
    // 09:00 on the first Monday of every month (2 is Monday: Sunday is 1).
    assert_eq!(next("cron(0 9 ? * 2#1 *)", NOW), "2026-12-07T09:00:00Z");
    assert_eq!(next("cron(0 9 ? * 2#1 *)", "2026-12-07T09:00:00Z"), "2027-01-04T09:00:00Z");
}

#[test]
fn the_stacks_digest_schedules() {
    assert_eq!(next("cron(0 13 * * ? *)", NOW), "2026-12-04T13:00:00Z");
    assert_eq!(next("cron(0 13 * * ? *)", "2026-12-04T13:00:00Z"), "2026-12-05T13:00:00Z");
    assert_eq!(next("cron(0 13 ? * MON *)", NOW), "2026-12-07T13:00:00Z");
}

#[test]
fn last_days() {
    // L: the month's last day, leap years included.
    assert_eq!(next("cron(0 0 L * ? *)", NOW), "2026-12-31T00:00:00Z");
    assert_eq!(next("cron(0 0 L * ? *)", "2027-02-01T00:00:00Z"), "2027-02-28T00:00:00Z");
    assert_eq!(next("cron(0 0 L 2 ? *)", "2027-03-01T00:00:00Z"), "2028-02-29T00:00:00Z");
    // 6L: the month's last Friday (6 is Friday).
    assert_eq!(next("cron(0 12 ? * 6L *)", NOW), "2026-12-25T12:00:00Z");
    assert_eq!(next("cron(0 12 ? * FRIL *)", "2026-12-25T12:00:00Z"), "2027-01-29T12:00:00Z");
    // L alone in day-of-week: the week's last day, Saturday.
    assert_eq!(next("cron(0 12 ? * L *)", NOW), "2026-12-05T12:00:00Z");
}

#[test]
fn nearest_weekdays() {
    // 15W: 15 December 2026 is a Tuesday, itself; 15 May 2027 a Saturday, so Friday the 14th.
    assert_eq!(next("cron(0 9 15W * ? *)", NOW), "2026-12-15T09:00:00Z");
    assert_eq!(next("cron(0 9 15W * ? *)", "2027-05-01T00:00:00Z"), "2027-05-14T09:00:00Z");
    // 1W never leaves the month: 1 May 2027 is a Saturday, so Monday the 3rd (not 30 April).
    assert_eq!(next("cron(0 9 1W * ? *)", "2027-04-02T00:00:00Z"), "2027-05-03T09:00:00Z");
    // 31W on a Sunday the 31st goes back to Friday the 29th (January 2027 ends on a Sunday).
    assert_eq!(next("cron(0 9 31W * ? *)", "2027-01-01T00:00:00Z"), "2027-01-29T09:00:00Z");
    // LW: the last weekday; February 2027 ends on a Sunday, so Friday the 26th.
    assert_eq!(next("cron(0 9 LW * ? *)", NOW), "2026-12-31T09:00:00Z");
    assert_eq!(next("cron(0 9 LW * ? *)", "2027-02-01T00:00:00Z"), "2027-02-26T09:00:00Z");
}

#[test]
fn months_weekdays_and_years() {
    // Names in either case; a list of months.
    assert_eq!(next("cron(30 6 ? jan,JUL mon *)", NOW), "2027-01-04T06:30:00Z");
    // A range mixing a number and a name, with an increment over months.
    assert_eq!(next("cron(0 0 1 1/6 ? *)", NOW), "2027-01-01T00:00:00Z");
    assert_eq!(next("cron(0 0 1 1/6 ? *)", "2027-01-01T00:00:00Z"), "2027-07-01T00:00:00Z");
    assert_eq!(next("cron(0 9 ? * 2-FRI *)", "2026-12-05T00:00:00Z"), "2026-12-07T09:00:00Z");
    // Years: a later one waits for it; a past one never comes.
    assert_eq!(next("cron(0 9 * * ? 2028-2030)", NOW), "2028-01-01T09:00:00Z");
    assert_eq!(next("cron(0 9 * * ? 2020)", NOW), "none");
    // The calendar's end: nothing after 2199.
    assert_eq!(next("cron(* * * * ? *)", "2199-12-31T23:59:00Z"), "none");
    // A day no month has.
    assert_eq!(next("cron(0 9 30 FEB ? *)", NOW), "none");
    // Every minute rolls over the year.
    assert_eq!(next("cron(* * * * ? *)", "2026-12-31T23:59:59Z"), "2027-01-01T00:00:00Z");
}

#[test]
fn rates() {
    assert_eq!(parse("rate(1 minute)").unwrap(), Schedule::Rate(Rate { value: 1, unit: RateUnit::Minute }));
    assert_eq!(parse("rate(5 minutes)").unwrap(), Schedule::Rate(Rate { value: 5, unit: RateUnit::Minute }));
    assert_eq!(parse("rate(1 day)").unwrap(), Schedule::Rate(Rate { value: 1, unit: RateUnit::Day }));
    assert_eq!(next("rate(2 hours)", NOW), "2026-12-04T12:37:20Z");
    let Schedule::Rate(rate) = parse("rate(12 hours)").unwrap() else { panic!("a rate") };
    assert_eq!(rate.to_string(), "every 12 hours");
}

/// `(expression, the field blamed, words the message has)`.
const REFUSED: &[(&str, Option<Field>, &str)] = &[
    ("cron(0 10 * * * *)", None, "one of them must be ?"),
    ("cron(0 10 ? * ? *)", None, "both ?"),
    ("cron(0 10 * * ?)", None, "5 cron fields; EventBridge needs 6"),
    ("cron(0 0 10 * * ? *)", None, "7 cron fields"),
    ("cron(0 10-8 * * ? *)", Some(Field::Hours), "range 10-8 runs backwards"),
    ("cron(0 0 ? * FRI-MON *)", Some(Field::DayOfWeek), "runs backwards"),
    ("cron(60 * * * ? *)", Some(Field::Minutes), "60 is outside 0-59"),
    ("cron(0 24 * * ? *)", Some(Field::Hours), "outside 0-23"),
    ("cron(0 0 32 * ? *)", Some(Field::DayOfMonth), "outside 1-31"),
    ("cron(0 0 * 13 ? *)", Some(Field::Month), "outside 1-12"),
    ("cron(0 0 * FOO ? *)", Some(Field::Month), "JAN-DEC"),
    ("cron(0 0 ? * 8 *)", Some(Field::DayOfWeek), "outside 1-7"),
    ("cron(0 0 ? * 0 *)", Some(Field::DayOfWeek), "outside 1-7"),
    ("cron(0 0 * * ? 2200)", Some(Field::Year), "outside 1970-2199"),
    ("cron(0 0 * * ? 1969)", Some(Field::Year), "outside 1970-2199"),
    ("cron(0/0 * * * ? *)", Some(Field::Minutes), "above 0"),
    ("cron(0 0 ? * */2 *)", Some(Field::DayOfWeek), "/ is not allowed"),
    ("cron(0 0 ? * 2#6 *)", Some(Field::DayOfWeek), "1-5"),
    ("cron(0 0 ? * 2#1,3 *)", Some(Field::DayOfWeek), "stand alone"),
    ("cron(0 0 1,L * ? *)", Some(Field::DayOfMonth), "stand alone"),
    ("cron(0 0 1-5W * ? *)", Some(Field::DayOfMonth), "W takes one day"),
    ("cron(0 0 L-3 * ? *)", Some(Field::DayOfMonth), "L is the last day"),
    ("cron(? 0 * * ? *)", Some(Field::Minutes), "? is only for"),
    ("cron(0 0 1,,2 * ? *)", Some(Field::DayOfMonth), "empty item"),
    ("rate(1 minutes)", None, "must be singular: rate(1 minute)"),
    ("rate(5 minute)", None, "must be plural: rate(5 minutes)"),
    ("rate(0 minutes)", None, "above 0"),
    ("rate(-1 minutes)", None, "above 0"),
    ("rate(5 weeks)", None, "minute(s), hour(s) or day(s)"),
    ("rate(5)", None, "rate(VALUE UNIT)"),
    ("every day", None, "must be cron(...) or rate(...)"),
    ("cron 0 10 * * ? *", None, "must be cron(...) or rate(...)"),
];

#[test]
fn what_aws_refuses_is_refused_naming_the_field() {
    for (expr, field, words) in REFUSED {
        let err = parse(expr).expect_err(expr);
        assert_eq!(err.field, *field, "{expr}: {err}");
        assert!(err.message.contains(words), "{expr}: {:?} should say {words:?}", err.message);
        assert_eq!(err.expr, *expr);
    }
}

#[test]
fn errors_read_as_one_line_naming_expression_and_field() {
    let err = parse("cron(0 10-8 * * ? *)").unwrap_err();
    assert_eq!(err.to_string(), r#"schedule "cron(0 10-8 * * ? *)": hours: range 10-8 runs backwards (ranges do not wrap)"#);
    let err = parse("cron(0 10 * * ?)").unwrap_err();
    assert!(err.to_string().starts_with(r#"schedule "cron(0 10 * * ?)": 5 cron fields"#), "{err}");
}
