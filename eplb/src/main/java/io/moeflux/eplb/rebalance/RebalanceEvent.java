package io.moeflux.eplb.rebalance;

import io.moeflux.pipeline.model.Placement;
import org.jspecify.annotations.Nullable;

/**
 * What the online balancer did, for logs, metrics and tests.
 *
 * @param kind what happened
 * @param step the step it refers to (the snapshot's end, or the switch step)
 * @param detail a human sentence
 * @param placement for {@link Kind#SWITCHED}, the placement now in force; otherwise null
 */
public record RebalanceEvent(Kind kind, long step, String detail, @Nullable Placement placement) {
  public enum Kind {
    /** A snapshot was not planned on (already balanced, a switch in its window, a plan pending). */
    SKIPPED,
    /** A plan was rejected by validation; the placement in force stays. */
    REJECTED,
    /** Weights for a plan started to move. */
    MIGRATING,
    /** Weights for a plan are in place; it waits for its switch step. */
    READY,
    /** Every rank switched to the plan at this step. */
    SWITCHED,
    /** The ranks did not switch at this step; the placement in force stays. */
    KEPT,
    /** Planning or migration failed; the placement in force stays. */
    FAILED
  }
}
