//! `date-time` (INTERNALDATE, APPEND) and `date` (SEARCH) of RFC 3501 §9.

use crate::error::ValidationError;

pub(crate) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// A calendar date as SEARCH BEFORE/ON/SINCE take it: `d-Mon-yyyy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// Validates a date (year 0–9999, month 1–12, day within the month).
    ///
    /// # Errors
    /// [`ValidationError::InvalidDateTime`] when a field is out of range.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, ValidationError> {
        if year > 9999 {
            return Err(ValidationError::InvalidDateTime("year"));
        }
        if !(1..=12).contains(&month) {
            return Err(ValidationError::InvalidDateTime("month"));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(ValidationError::InvalidDateTime("day"));
        }
        Ok(Self { year, month, day })
    }

    /// The year.
    #[must_use]
    pub fn year(self) -> u16 {
        self.year
    }
    /// The month, 1–12.
    #[must_use]
    pub fn month(self) -> u8 {
        self.month
    }
    /// The day of the month, from 1.
    #[must_use]
    pub fn day(self) -> u8 {
        self.day
    }

    /// The wire form, `1-Feb-1994`.
    #[must_use]
    pub fn to_wire(self) -> String {
        format!(
            "{}-{}-{:04}",
            self.day,
            MONTHS[usize::from(self.month - 1)],
            self.year
        )
    }
}

/// A date and time with zone, as INTERNALDATE and APPEND carry it:
/// `"17-Jul-1996 02:44:25 -0700"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
    /// Offset from UTC in minutes, -5999..=5999 (`±hhmm`).
    zone: i16,
}

impl DateTime {
    /// Validates a date-time; `zone_minutes` is the offset from UTC (`-0700` is -420).
    ///
    /// # Errors
    /// [`ValidationError::InvalidDateTime`] when a field is out of range.
    pub fn new(
        date: Date,
        hour: u8,
        minute: u8,
        second: u8,
        zone_minutes: i16,
    ) -> Result<Self, ValidationError> {
        if hour > 23 || minute > 59 || second > 60 {
            return Err(ValidationError::InvalidDateTime("time"));
        }
        if zone_minutes.unsigned_abs() > 99 * 60 + 59 {
            return Err(ValidationError::InvalidDateTime("zone"));
        }
        Ok(Self {
            date,
            hour,
            minute,
            second,
            zone: zone_minutes,
        })
    }

    /// The date part.
    #[must_use]
    pub fn date(self) -> Date {
        self.date
    }
    /// Hour, minute, second.
    #[must_use]
    pub fn time(self) -> (u8, u8, u8) {
        (self.hour, self.minute, self.second)
    }
    /// Offset from UTC in minutes.
    #[must_use]
    pub fn zone_minutes(self) -> i16 {
        self.zone
    }

    /// Seconds since 1970-01-01T00:00:00Z (negative before), for comparisons.
    #[must_use]
    pub fn unix_timestamp(self) -> i64 {
        // Days from civil, Howard Hinnant's algorithm.
        let (y, m, d) = (
            i64::from(self.date.year),
            i64::from(self.date.month),
            i64::from(self.date.day),
        );
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.zone) * 60
    }

    /// The wire form without quotes: `17-Jul-1996 02:44:25 -0700` (day padded with a space).
    #[must_use]
    pub fn to_wire(self) -> String {
        let z = self.zone.unsigned_abs();
        format!(
            "{:>2}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}",
            self.date.day,
            MONTHS[usize::from(self.date.month - 1)],
            self.date.year,
            self.hour,
            self.minute,
            self.second,
            if self.zone < 0 { '-' } else { '+' },
            z / 60,
            z % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_formats() {
        assert!(Date::new(2023, 2, 29).is_err());
        assert!(Date::new(2024, 2, 29).is_ok());
        let d = DateTime::new(Date::new(1996, 7, 7).unwrap(), 2, 44, 25, -420).unwrap();
        assert_eq!(d.to_wire(), " 7-Jul-1996 02:44:25 -0700");
        assert_eq!(Date::new(1994, 2, 1).unwrap().to_wire(), "1-Feb-1994");
        let epoch = DateTime::new(Date::new(1970, 1, 1).unwrap(), 1, 0, 0, 60).unwrap();
        assert_eq!(epoch.unix_timestamp(), 0);
        assert!(DateTime::new(Date::new(1970, 1, 1).unwrap(), 24, 0, 0, 0).is_err());
    }
}
