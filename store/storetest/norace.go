//go:build !race

package storetest

// RaceEnabled reports whether the race detector is on (go test -race): code runs several
// times slower, so tests choose smaller sizes (see Sized).
const RaceEnabled = false
