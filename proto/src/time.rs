//! Kazoo's clock: Gregorian seconds (seconds since 0000-01-01T00:00:00Z), and the
//! UTC calendar month that names a MODb and prefixes a `debug_id`.

/// Gregorian seconds at the Unix epoch (Kazoo's `?UNIX_EPOCH_IN_GREGORIAN`).
pub const UNIX_EPOCH_IN_GREGORIAN_S: i64 = 62_167_219_200;
/// The last second of year 9999: no debug record is later, and every calendar
/// computation here stays far from overflow below it.
pub const MAX_GREGORIAN_S: i64 = 315_569_519_999;
/// [`MAX_GREGORIAN_S`] as Unix milliseconds.
pub const MAX_UNIX_MS: i64 = (MAX_GREGORIAN_S - UNIX_EPOCH_IN_GREGORIAN_S) * 1000 + 999;

/// The wall clock as Unix milliseconds (0 before 1970, which no real clock reads).
pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

pub fn gregorian_s_to_unix_ms(gregorian_s: i64) -> i64 {
    (gregorian_s - UNIX_EPOCH_IN_GREGORIAN_S).saturating_mul(1000)
}

/// Rounds down to the second, as Kazoo's `kz_time:now_s()` does.
pub fn unix_ms_to_gregorian_s(unix_ms: i64) -> i64 {
    unix_ms.div_euclid(1000) + UNIX_EPOCH_IN_GREGORIAN_S
}

/// The UTC `(year, month)` of a Unix time in milliseconds.
pub fn year_month(unix_ms: i64) -> (i64, u32) {
    let (year, month, _) = civil_from_days(unix_ms.div_euclid(86_400_000));
    (year, month)
}

/// `YYYYMM` of a Unix time, the MODb suffix Kazoo uses in `debug_id`s.
pub fn modb_suffix(unix_ms: i64) -> String {
    let (year, month) = year_month(unix_ms);
    format!("{year:04}{month:02}")
}

/// ISO-8601 UTC with second precision, e.g. `2024-03-12T14:24:34Z`.
pub fn iso8601_utc(unix_ms: i64) -> String {
    let seconds = unix_ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let in_day = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

/// The HTTP `Date` form (RFC 1123) of a time in Gregorian seconds, e.g.
/// `Tue, 12 Mar 2024 14:24:34 GMT`. It takes seconds, as Kazoo's `kz_time:rfc1036/1` does,
/// so that no i64 time saturates on a detour through milliseconds.
pub fn http_date(gregorian_s: i64) -> String {
    const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let unix_s = gregorian_s.saturating_sub(UNIX_EPOCH_IN_GREGORIAN_S);
    let days = unix_s.div_euclid(86_400);
    let in_day = unix_s.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = WEEKDAYS[(days.rem_euclid(7) as usize + 4) % 7];
    let month = MONTHS[month as usize - 1];
    format!(
        "{weekday}, {day:02} {month} {year:04} {:02}:{:02}:{:02} GMT",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), after
/// Howard Hinnant's `civil_from_days`, valid for every i64 day count we can meet.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gregorian_round_trip_matches_kazoo_docs() {
        // 63877472674 = 2024-03-12T14:24:34Z (Kazoo reference).
        assert_eq!(gregorian_s_to_unix_ms(63_877_472_674), 1_710_253_474_000);
        assert_eq!(unix_ms_to_gregorian_s(1_710_253_474_999), 63_877_472_674);
        assert_eq!(unix_ms_to_gregorian_s(0), UNIX_EPOCH_IN_GREGORIAN_S);
        assert_eq!(unix_ms_to_gregorian_s(-1), UNIX_EPOCH_IN_GREGORIAN_S - 1);
    }

    #[test]
    fn months_follow_the_utc_calendar() {
        assert_eq!(modb_suffix(1_710_253_474_000), "202403");
        assert_eq!(modb_suffix(0), "197001");
        // Last millisecond of February in a leap year, then March.
        assert_eq!(modb_suffix(1_709_251_199_999), "202402");
        assert_eq!(modb_suffix(1_709_251_200_000), "202403");
        assert_eq!(modb_suffix(1_735_689_599_999), "202412");
        assert_eq!(modb_suffix(1_735_689_600_000), "202501");
        assert_eq!(year_month(-1), (1969, 12));
        assert_eq!(iso8601_utc(1_710_253_474_999), "2024-03-12T14:24:34Z");
    }

    #[test]
    fn http_dates_name_the_utc_day() {
        assert_eq!(http_date(63_877_472_674), "Tue, 12 Mar 2024 14:24:34 GMT");
        assert_eq!(
            http_date(UNIX_EPOCH_IN_GREGORIAN_S),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(
            http_date(UNIX_EPOCH_IN_GREGORIAN_S - 1),
            "Wed, 31 Dec 1969 23:59:59 GMT"
        );
        // 2024-03-01 follows a leap day.
        assert_eq!(
            http_date(UNIX_EPOCH_IN_GREGORIAN_S + 19_783 * 86_400),
            "Fri, 01 Mar 2024 00:00:00 GMT"
        );
        assert_eq!(
            http_date(UNIX_EPOCH_IN_GREGORIAN_S + 253_402_300_799),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
        assert!(http_date(i64::MIN).ends_with(" GMT") && http_date(i64::MAX).ends_with(" GMT"));
    }

    #[test]
    fn the_last_second_is_the_end_of_year_9999() {
        // Kazoo counts from year 0, a leap year: 366 days more than from year 1.
        assert_eq!(http_date(MAX_GREGORIAN_S), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(MAX_UNIX_MS, 253_402_300_799_999);
        assert_eq!(year_month(MAX_UNIX_MS), (9999, 12));
    }
}
