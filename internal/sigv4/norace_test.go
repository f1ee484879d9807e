//go:build !race

package sigv4

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
