//! Quiet hours: when an org's window is on, and when it ends.
//!
//! A window is a daily span of local time in the org's zone (it may cross midnight), plus, if
//! asked, all of Saturday and Sunday. A message held in it is released at the first instant that
//! is not quiet. That instant is always a boundary — the window's daily end or a midnight (the
//! end of a weekend) — so only those are tried, never minute by minute.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use kolokol_proto::{ErrorCode, Millis, QuietHours};

use crate::Rejection;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// Quiet hours, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietWindow {
    /// Minutes after local midnight.
    start: u16,
    end: u16,
    weekends: bool,
}

impl QuietWindow {
    pub fn new(start: u16, end: u16, weekends: bool) -> Option<QuietWindow> {
        (start != end && start < MINUTES_PER_DAY && end < MINUTES_PER_DAY).then_some(QuietWindow {
            start,
            end,
            weekends,
        })
    }

    /// Refuses times not written `HH:MM` and empty windows (start equal to end).
    pub fn parse(hours: &QuietHours) -> Result<QuietWindow, Rejection> {
        let start = minutes_of(&hours.start)?;
        let end = minutes_of(&hours.end)?;
        QuietWindow::new(start, end, hours.weekends).ok_or_else(|| {
            Rejection::new(
                ErrorCode::InvalidPolicy,
                "quiet hours must start and end at different times",
            )
        })
    }

    /// Whether `local` is inside the window.
    pub fn contains(&self, local: &Zoned) -> bool {
        if self.weekends && matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday) {
            return true;
        }
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }

    /// When the quiet time that `at` falls into ends, or `None` when `at` is not quiet.
    pub fn release_at(&self, zone: &TimeZone, at: Millis) -> Option<Millis> {
        let local = Timestamp::from_millisecond(at).ok()?.to_zoned(zone.clone());
        if !self.contains(&local) {
            return None;
        }
        // A weekend plus the night before Monday's end is under four days; eight is plenty.
        let mut day = local.date();
        for _ in 0..8 {
            let mut boundaries = [self.local(zone, day, 0), self.local(zone, day, self.end)];
            boundaries.sort_by_key(|zoned| zoned.as_ref().map(Zoned::timestamp));
            for boundary in boundaries.into_iter().flatten() {
                let millis = boundary.timestamp().as_millisecond();
                if millis > at && !self.contains(&boundary) {
                    return Some(millis);
                }
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    fn local(&self, zone: &TimeZone, day: Date, minutes: u16) -> Option<Zoned> {
        day.at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0)
            .to_zoned(zone.clone())
            .ok()
    }
}

fn minutes_of(text: &str) -> Result<u16, Rejection> {
    let invalid = || {
        Rejection::new(
            ErrorCode::InvalidPolicy,
            format!("\"{text}\" is not a time of day: write HH:MM, e.g. 19:00"),
        )
    };
    let (hours, minutes) = text.split_once(':').ok_or_else(invalid)?;
    let two_digits = |part: &str| {
        (part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u16>().ok())
            .flatten()
    };
    match (two_digits(hours), two_digits(minutes)) {
        (Some(hours), Some(minutes)) if hours < 24 && minutes < 60 => Ok(hours * 60 + minutes),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn moscow() -> TimeZone {
        TimeZone::get("Europe/Moscow").unwrap()
    }

    fn millis(local: &str, zone: &TimeZone) -> Millis {
        local
            .parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(zone.clone())
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    fn evenings_and_weekends() -> QuietWindow {
        QuietWindow::parse(&QuietHours {
            start: "19:00".into(),
            end: "08:00".into(),
            weekends: true,
        })
        .unwrap()
    }

    #[test]
    fn a_tuesday_evening_is_released_on_wednesday_morning() {
        let zone = moscow();
        let window = evenings_and_weekends();
        // 2026-11-24 is a Tuesday.
        let at = millis("2026-11-24T23:10", &zone);
        assert_eq!(
            window.release_at(&zone, at),
            Some(millis("2026-11-25T08:00", &zone))
        );
        let early = millis("2026-11-25T06:59", &zone);
        assert_eq!(
            window.release_at(&zone, early),
            Some(millis("2026-11-25T08:00", &zone))
        );
        assert_eq!(
            window.release_at(&zone, millis("2026-11-25T12:00", &zone)),
            None
        );
        assert_eq!(
            window.release_at(&zone, millis("2026-11-25T08:00", &zone)),
            None
        );
    }

    #[test]
    fn a_friday_evening_waits_for_monday_morning() {
        let zone = moscow();
        let window = evenings_and_weekends();
        // 2026-11-27 is a Friday.
        let at = millis("2026-11-27T19:00", &zone);
        assert_eq!(
            window.release_at(&zone, at),
            Some(millis("2026-11-30T08:00", &zone))
        );
        let saturday_noon = millis("2026-11-28T12:00", &zone);
        assert_eq!(
            window.release_at(&zone, saturday_noon),
            Some(millis("2026-11-30T08:00", &zone))
        );
    }

    #[test]
    fn a_daytime_window_ends_with_the_weekend_at_midnight() {
        let zone = moscow();
        let window = QuietWindow::new(1, 5 * 60, true).unwrap();
        let sunday = millis("2026-11-29T15:00", &zone);
        assert_eq!(
            window.release_at(&zone, sunday),
            Some(millis("2026-11-30T00:00", &zone))
        );
    }

    #[test]
    fn times_must_be_written_hh_mm() {
        for bad in ["7:00", "24:00", "19:60", "19-00", "", "１９:00", "19:00:00"] {
            let hours = QuietHours {
                start: bad.into(),
                end: "08:00".into(),
                weekends: false,
            };
            assert_eq!(
                QuietWindow::parse(&hours).unwrap_err().code,
                ErrorCode::InvalidPolicy,
                "{bad}"
            );
        }
        let empty = QuietHours {
            start: "08:00".into(),
            end: "08:00".into(),
            weekends: false,
        };
        assert!(QuietWindow::parse(&empty).is_err());
    }

    proptest! {
        /// The release is the first instant after a quiet one that is not quiet: everything
        /// before it (checked at a sample of points) is quiet, and nothing is released early.
        #[test]
        fn release_is_the_end_of_the_quiet_run(
            start in 0u16..1440,
            end in 0u16..1440,
            weekends: bool,
            at in 1_700_000_000_000i64..1_900_000_000_000,
            zone_index in 0usize..4,
        ) {
            prop_assume!(start != end);
            let zone = TimeZone::get(["Europe/Moscow", "Asia/Vladivostok", "Europe/Berlin", "America/New_York"][zone_index]).unwrap();
            let window = QuietWindow::new(start, end, weekends).unwrap();
            let quiet = |millis: Millis| window.contains(&Timestamp::from_millisecond(millis).unwrap().to_zoned(zone.clone()));
            match window.release_at(&zone, at) {
                None => prop_assert!(!quiet(at)),
                Some(release) => {
                    prop_assert!(quiet(at));
                    prop_assert!(release > at);
                    prop_assert!(!quiet(release));
                    prop_assert!(release - at <= 4 * 86_400_000);
                    let step = ((release - at) / 64).max(1);
                    let mut probe = at;
                    while probe < release {
                        prop_assert!(quiet(probe), "not quiet at {probe} before release {release}");
                        probe += step;
                    }
                    prop_assert!(quiet(release - 1));
                }
            }
        }
    }
}
