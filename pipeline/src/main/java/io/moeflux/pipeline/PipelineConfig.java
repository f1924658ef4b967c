package io.moeflux.pipeline;

import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.placement.SwitchSchedule;
import io.moeflux.pipeline.sync.SyncOptions;
import java.util.Objects;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * How one rank runs the MoE step.
 *
 * @param model the model every rank runs (its fingerprint is checked at handshake)
 * @param maxTokensPerRank capacity: the most tokens one rank may bring to one step; receive buffers
 *     are sized once for the worst case it implies
 * @param expertScheduler where expert math runs once a dispatch phase completes. {@link
 *     Schedulers#immediate()} runs it inline on the I/O thread that delivered the last frame (no
 *     thread hop: best for cheap experts); a parallel scheduler keeps heavy math off the I/O
 *     threads.
 * @param sync the rank's role and what decides whether it skips the per-step DP metadata sync
 * @param switches the steps at which ranks may switch to a new expert placement
 * @param redundantSlots physical expert slots beyond one per logical expert, spread evenly over the
 *     ranks (replicas for load balancing); see {@link Placement#withRedundancy}
 */
public record PipelineConfig(
    ModelConfig model,
    int maxTokensPerRank,
    Scheduler expertScheduler,
    SyncOptions sync,
    SwitchSchedule switches,
    int redundantSlots) {

  public PipelineConfig {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(expertScheduler, "expertScheduler");
    Objects.requireNonNull(sync, "sync");
    Objects.requireNonNull(switches, "switches");
    if (redundantSlots < 0) {
      throw new IllegalArgumentException("redundantSlots must be >= 0, got " + redundantSlots);
    }
    if (maxTokensPerRank < 1) {
      throw new IllegalArgumentException("maxTokensPerRank must be >= 1, got " + maxTokensPerRank);
    }
  }

  /**
   * Defaults: a decode-only rank without local recompute (the DP metadata sync is skipped); SwiGLU
   * experts run on {@link Schedulers#parallel()}, identity experts inline.
   */
  public static PipelineConfig of(ModelConfig model, int maxTokensPerRank) {
    Scheduler scheduler =
        model.expertKind() == ExpertKind.IDENTITY ? Schedulers.immediate() : Schedulers.parallel();
    return new PipelineConfig(
        model, maxTokensPerRank, scheduler, SyncOptions.decodeOnly(), SwitchSchedule.none(), 0);
  }

  public PipelineConfig withExpertScheduler(Scheduler scheduler) {
    return new PipelineConfig(model, maxTokensPerRank, scheduler, sync, switches, redundantSlots);
  }

  public PipelineConfig withSync(SyncOptions options) {
    return new PipelineConfig(
        model, maxTokensPerRank, expertScheduler, options, switches, redundantSlots);
  }

  public PipelineConfig withSwitches(SwitchSchedule schedule) {
    return new PipelineConfig(
        model, maxTokensPerRank, expertScheduler, sync, schedule, redundantSlots);
  }

  public PipelineConfig withRedundantSlots(int slots) {
    return new PipelineConfig(model, maxTokensPerRank, expertScheduler, sync, switches, slots);
  }

  /** The placement every rank starts from. */
  public Placement initialPlacement(int ranks) {
    return Placement.withRedundancy(model.layers(), model.experts(), ranks, redundantSlots);
  }
}
