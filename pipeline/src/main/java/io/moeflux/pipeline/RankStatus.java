package io.moeflux.pipeline;

import io.moeflux.pipeline.model.MemoryReport;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.sync.CommMode;
import io.moeflux.pipeline.sync.SyncDecision;

/**
 * What a rank reports about itself at one moment ({@link MoeRank#status()}): for status pages,
 * meters, benchmarks and reference checks. Counters count since the rank started.
 *
 * @param rank this rank's index in the mesh
 * @param worldSize ranks in the mesh
 * @param syncDecision whether steps after the warm-up skip the DP metadata sync, and why
 * @param commMode the comm mode of the last step ({@link CommMode#VARIABLE} before the first)
 * @param syncedSteps steps that ran the DP metadata sync
 * @param skippedSteps steps that skipped it
 * @param paddedSteps steps that ran in {@link CommMode#PADDED_ALLGATHER}
 * @param hiddenBytesSent hidden-vector bytes this rank sent to peers in dispatch and combine, in
 *     the wire precision (fp8 scales included)
 * @param hiddenRowsSent hidden rows (tokens' vectors, partial sums) this rank sent to peers in
 *     dispatch and combine
 * @param placement the expert placement in force (its {@link Placement#version()} tells successive
 *     placements apart)
 * @param model the model this rank runs, for reference checks
 * @param memory the weight memory this rank holds under the placement in force
 */
public record RankStatus(
    int rank,
    int worldSize,
    SyncDecision syncDecision,
    CommMode commMode,
    long syncedSteps,
    long skippedSteps,
    long paddedSteps,
    long hiddenBytesSent,
    long hiddenRowsSent,
    Placement placement,
    MoeModel model,
    MemoryReport memory) {

  /** The version of the placement in force. */
  public long placementVersion() {
    return placement.version();
  }
}
