package tagstore

// Exempt reports whether key starts with one of prefixes, which are in lower
// case, comparing ASCII letters without regard to case.
func Exempt(key string, prefixes []string) bool {
	for _, p := range prefixes {
		if len(key) < len(p) {
			continue
		}
		match := true
		for i := 0; i < len(p); i++ {
			c := key[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != p[i] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
