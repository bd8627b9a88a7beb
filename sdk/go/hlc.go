package tideline

import (
	"fmt"
	"strconv"
	"strings"
)

// nextHLC is the stamp after last (tl_meta hlc, "" for none) at wall-clock time nowMs, for
// the node: "<wall ms, 13 digits>-<counter, 5 digits>-<node>"; wall = max(now, last.wall),
// counter = last.counter+1 when the wall did not move, else 0; a counter past 99999 moves
// the wall on by 1 ms. The caller reads last and stores the result in the transaction
// that writes the mutation, so that processes sharing a cache never issue one stamp twice
// (docs/sdk-core.md "HLC").
func nextHLC(last string, nowMs int64, node string) string {
	wall, counter := int64(0), 0
	if parts := strings.SplitN(last, "-", 3); len(parts) >= 2 {
		w, err1 := strconv.ParseInt(parts[0], 10, 64)
		n, err2 := strconv.Atoi(parts[1])
		if err1 == nil && err2 == nil {
			wall, counter = w, n
		}
	}
	if nowMs > wall {
		wall, counter = nowMs, 0
	} else {
		counter++
		if counter > 99999 {
			wall, counter = wall+1, 0
		}
	}
	return fmt.Sprintf("%013d-%05d-%s", wall, counter, node)
}
