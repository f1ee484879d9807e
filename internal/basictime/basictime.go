// Package basictime parses the ISO 8601 basic-format UTC timestamps that
// request signatures carry (X-Amz-Date, X-Sdk-Date), such as
// 20261126T071500Z, quickly and strictly.
package basictime

import "time"

// Layout is the form of the timestamps, as a time layout.
const Layout = "20060102T150405Z"

// Parse parses s in exactly the form of Layout, in UTC, refusing dates
// that do not exist.
func Parse(s string) (time.Time, bool) {
	if len(s) != len(Layout) || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[4:6])
	day, ok3 := digits(s[6:8])
	hour, ok4 := digits(s[9:11])
	minute, ok5 := digits(s[11:13])
	second, ok6 := digits(s[13:15])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || hour > 23 || minute > 59 || second > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC)
	if t.Year() != year || int(t.Month()) != month || t.Day() != day {
		return time.Time{}, false // such as month 13 or February 30
	}
	return t, true
}

// digits returns the value of s, a string of decimal digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
