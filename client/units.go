package client

import (
	"fmt"
	"strings"

	sdkmath "cosmossdk.io/math"
)

// ParseBytes reads a size such as 500GiB, 1.5MiB or 4096 (bytes).
func ParseBytes(s string) (uint64, error) {
	units := []struct {
		suffix string
		mult   uint64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			v, err := sdkmath.LegacyNewDecFromStr(strings.TrimSuffix(s, u.suffix))
			if err != nil || v.IsNegative() {
				return 0, fmt.Errorf("%q is not a size", s)
			}
			return v.MulInt64(int64(u.mult)).TruncateInt().Uint64(), nil
		}
	}
	var n uint64
	if _, err := fmt.Sscan(s, &n); err != nil {
		return 0, fmt.Errorf("%q is not a size (e.g. 500GiB)", s)
	}
	return n, nil
}

// HumanBytes writes n for a person: "512 B", "1.5 MiB".
func HumanBytes(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v := sdkmath.LegacyNewDec(int64(n))
	i := 0
	for i < len(units)-1 && v.GTE(sdkmath.LegacyNewDec(1024)) {
		v = v.QuoInt64(1024)
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	f, _ := v.Float64()
	return fmt.Sprintf("%.1f %s", f, units[i])
}
