package io.moeflux.cli;

import io.moeflux.pipeline.placement.PlacementHistory;
import java.util.List;

/**
 * Every rank's placement-switch history against rank 0's, each as the rank itself recorded it: the
 * same switch steps, and at each the same placement version and maps.
 *
 * @param differing ranks whose history differs from rank 0's
 * @param switches switches in rank 0's history
 * @param digest rank 0's {@link PlacementHistory#digest()}
 */
record HistoryCheck(int differing, int switches, String digest) {

  static HistoryCheck of(List<PlacementHistory> histories) {
    PlacementHistory first = histories.get(0);
    int differing = 0;
    for (PlacementHistory history : histories) {
      differing += history.sameAs(first) ? 0 : 1;
    }
    return new HistoryCheck(differing, first.switches(), first.digest());
  }

  JsonLine putInto(JsonLine json) {
    return json.put("switches", switches)
        .put("history_digest", digest)
        .put("histories_differing", differing);
  }
}
