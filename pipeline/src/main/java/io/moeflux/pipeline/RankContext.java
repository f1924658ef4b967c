package io.moeflux.pipeline;

import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.transport.RankMesh;

/**
 * What the extensions of a rank (its {@link HeatTap}, its placement source) see of it: given to the
 * factories of {@link RankExtensions} when the rank starts. A view, not the rank: it cannot run or
 * close steps, and it reads the placement in force at the moment it is asked.
 */
public interface RankContext {
  /** This rank's index in the mesh. */
  int rank();

  /** Ranks in the mesh. */
  int worldSize();

  /**
   * The mesh the rank runs on, for an extension's own exchanges on lanes the steps do not use (the
   * heat all-gather on CONTROL, weight migration on BULK).
   */
  RankMesh mesh();

  /** The rank's configuration. */
  PipelineConfig config();

  /** The expert placement in force; it changes only at a switch step. */
  Placement placement();

  /**
   * This rank's expert in {@code localSlot} of {@code layer} under the placement in force ({@code
   * localSlot} in {@code 0 .. placement().slotsPerRank() - 1}).
   */
  ExpertFfn localExpert(int layer, int localSlot);
}
