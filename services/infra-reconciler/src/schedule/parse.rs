//! Text to [`Schedule`], field by field, each error naming its field.

use super::{Bits, Cron, DayOfMonth, DayOfWeek, Days, Field, Rate, RateUnit, Schedule, ScheduleError};

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
/// AWS numbers the week from Sunday = 1.
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Parse `rate(...)` or `cron(...)`.
pub fn parse(expr: &str) -> Result<Schedule, ScheduleError> {
    let fail = |field: Option<Field>, message: String| ScheduleError { expr: expr.to_owned(), field, message };
    let trimmed = expr.trim();
    if let Some(body) = trimmed.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        return parse_rate(body).map(Schedule::Rate).map_err(|m| fail(None, m));
    }
    if let Some(body) = trimmed.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) {
        let fields: Vec<&str> = body.split_whitespace().collect();
        if fields.len() != 6 {
            return Err(fail(
                None,
                format!("{} cron fields; EventBridge needs 6 (minutes hours day-of-month month day-of-week year)", fields.len()),
            ));
        }
        let [min, hour, dom, month, dow, year] = [fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]];
        let list = |field: Field, text: &str| parse_list(field, text).map_err(|m| fail(Some(field), m));
        let minutes = list(Field::Minutes, min)?;
        let hours = list(Field::Hours, hour)?;
        let months = list(Field::Month, month)?;
        let years = list(Field::Year, year)?;
        let days = match (dom, dow) {
            ("?", "?") => return Err(fail(None, "day-of-month and day-of-week are both ?; one of them must name the days".into())),
            ("?", dow) => Days::OfWeek(parse_day_of_week(dow).map_err(|m| fail(Some(Field::DayOfWeek), m))?),
            (dom, "?") => Days::OfMonth(parse_day_of_month(dom).map_err(|m| fail(Some(Field::DayOfMonth), m))?),
            _ => {
                return Err(fail(
                    None,
                    format!(
                        "day-of-month ({dom}) and day-of-week ({dow}) are both given; one of them must be ? (AWS allows one, not both)"
                    ),
                ));
            }
        };
        return Ok(Schedule::Cron(Box::new(Cron { minutes, hours, days, months, years })));
    }
    Err(fail(None, "must be cron(...) or rate(...)".into()))
}

fn parse_rate(body: &str) -> Result<Rate, String> {
    let parts: Vec<&str> = body.split_whitespace().collect();
    let [value, unit] = parts[..] else {
        return Err("not rate(VALUE UNIT), e.g. rate(5 minutes)".into());
    };
    let value: u32 = match value.parse() {
        Ok(v) if v > 0 => v,
        _ => return Err(format!("rate value {value:?} must be a whole number above 0")),
    };
    let text = unit;
    let (unit, plural) = match text {
        "minute" => (RateUnit::Minute, false),
        "minutes" => (RateUnit::Minute, true),
        "hour" => (RateUnit::Hour, false),
        "hours" => (RateUnit::Hour, true),
        "day" => (RateUnit::Day, false),
        "days" => (RateUnit::Day, true),
        _ => return Err(format!("rate unit {unit:?} must be minute(s), hour(s) or day(s)")),
    };
    match (value == 1, plural) {
        (true, true) => Err(format!("rate(1 {text}) must be singular: rate(1 {})", text.trim_end_matches('s'))),
        (false, false) => Err(format!("rate({value} {text}) must be plural: rate({value} {text}s)")),
        _ => Ok(Rate { value, unit }),
    }
}

/// A number, or a month or weekday name in those fields.
fn value(field: Field, text: &str) -> Result<u32, String> {
    let (lo, hi) = field.range();
    let upper = text.to_ascii_uppercase();
    let named = match field {
        Field::Month => MONTHS.iter().position(|m| *m == upper),
        Field::DayOfWeek => WEEKDAYS.iter().position(|d| *d == upper),
        _ => None,
    };
    if let Some(i) = named {
        return Ok(i as u32 + 1);
    }
    let names = match field {
        Field::Month => " or JAN-DEC",
        Field::DayOfWeek => " or SUN-SAT (SUN is 1)",
        _ => "",
    };
    match text.parse::<u32>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        Ok(n) => Err(format!("{n} is outside {lo}-{hi}")),
        Err(_) => Err(format!("{text:?} is not a value ({lo}-{hi}{names})")),
    }
}

/// `*`, `a`, `a-b`, `a/n`, `*/n`, `a-b/n`, joined by commas. Years are kept as offsets from
/// 1970, so that every field fits a [`Bits`].
fn parse_list(field: Field, text: &str) -> Result<Bits, String> {
    if text == "?" {
        return Err("? is only for day-of-month or day-of-week".into());
    }
    let (lo, hi) = field.range();
    let mut bits = Bits::default();
    for item in text.split(',') {
        if item.is_empty() {
            return Err(format!("empty item in list {text:?}"));
        }
        let (span, step) = match item.split_once('/') {
            Some(_) if field == Field::DayOfWeek => return Err("/ is not allowed in day-of-week (AWS allows , - * ? L #)".into()),
            Some((span, step)) => match step.parse::<u32>() {
                Ok(s) if s > 0 => (span, Some(s)),
                _ => return Err(format!("increment {step:?} in {item:?} must be a whole number above 0")),
            },
            None => (item, None),
        };
        let (start, end) = if span == "*" {
            (lo, hi)
        } else if let Some((a, b)) = span.split_once('-') {
            let (a, b) = (value(field, a)?, value(field, b)?);
            if a > b {
                return Err(format!("range {span} runs backwards (ranges do not wrap)"));
            }
            (a, b)
        } else {
            let a = value(field, span)?;
            // `a/n` runs from a to the end of the field; a bare `a` is a itself.
            (a, if step.is_some() { hi } else { a })
        };
        let step = step.unwrap_or(1);
        let mut n = start;
        let offset = if field == Field::Year { lo } else { 0 };
        while n <= end {
            bits.insert(n - offset);
            n += step;
        }
    }
    Ok(bits)
}

fn parse_day_of_month(text: &str) -> Result<DayOfMonth, String> {
    let upper = text.to_ascii_uppercase();
    if upper.contains(['L', 'W']) && text.contains(',') {
        return Err(format!("{text:?}: L and W stand alone, not in a list"));
    }
    match upper.as_str() {
        "L" => return Ok(DayOfMonth::Last),
        "LW" => return Ok(DayOfMonth::LastWeekday),
        _ => {}
    }
    if let Some(day) = upper.strip_suffix('W') {
        let day = day.parse::<u32>().map_err(|_| format!("{text:?}: W takes one day, as in 15W"))?;
        return if (1..=31).contains(&day) { Ok(DayOfMonth::NearestWeekday(day)) } else { Err(format!("{day}W: {day} is outside 1-31")) };
    }
    if upper.contains('L') {
        return Err(format!("{text:?}: L is the last day alone (L) or with W (LW)"));
    }
    parse_list(Field::DayOfMonth, text).map(DayOfMonth::Days)
}

fn parse_day_of_week(text: &str) -> Result<DayOfWeek, String> {
    let upper = text.to_ascii_uppercase();
    // No weekday name ends in L, so a trailing L is always the wildcard.
    let special = upper.contains('#') || upper.ends_with('L');
    if special && text.contains([',', '-']) {
        return Err(format!("{text:?}: L and # stand alone, not in a list or range"));
    }
    if upper == "L" {
        // The last day of the week: Saturday.
        return Ok(DayOfWeek::Days({
            let mut b = Bits::default();
            b.insert(7);
            b
        }));
    }
    if let Some((day, nth)) = upper.split_once('#') {
        let weekday = value(Field::DayOfWeek, day)?;
        return match nth.parse::<u32>() {
            Ok(k) if (1..=5).contains(&k) => Ok(DayOfWeek::Nth { weekday, nth: k }),
            _ => Err(format!("{text:?}: the week after # must be 1-5")),
        };
    }
    if let Some(day) = upper.strip_suffix('L') {
        return Ok(DayOfWeek::Last(value(Field::DayOfWeek, day)?));
    }
    parse_list(Field::DayOfWeek, text).map(DayOfWeek::Days)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn every_field_has_its_range() {
        for field in Field::ALL {
            let (lo, hi) = field.range();
            assert!(value(field, &lo.to_string()).is_ok());
            assert!(value(field, &hi.to_string()).is_ok());
            assert!(value(field, &(hi + 1).to_string()).unwrap_err().contains("outside"));
        }
    }
}
