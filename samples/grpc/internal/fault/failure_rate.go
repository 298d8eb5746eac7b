package fault

import (
	"fmt"
	"strconv"
)

// FailureRate is the fraction of calls answered UNAVAILABLE, from 0 to 1. It is
// a flag.Value.
type FailureRate float64

// ParseFailureRate reads a number from 0 to 1.
func ParseFailureRate(text string) (FailureRate, error) {
	rate, err := strconv.ParseFloat(text, 64)
	if err != nil || rate < 0 || rate > 1 {
		return 0, fmt.Errorf("failure rate %q: not a number from 0 to 1", text)
	}
	return FailureRate(rate), nil
}

// Fails says whether a call fails, given uniform, a number in [0, 1).
func (r FailureRate) Fails(uniform float64) bool { return uniform < float64(r) }

func (r FailureRate) String() string { return strconv.FormatFloat(float64(r), 'g', -1, 64) }

// Set implements flag.Value.
func (r *FailureRate) Set(text string) error {
	parsed, err := ParseFailureRate(text)
	if err != nil {
		return err
	}
	*r = parsed
	return nil
}
