package io.moeflux.pipeline.layer;

import io.moeflux.pipeline.HeatTap;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.PipelineException;
import io.moeflux.pipeline.StepMemory;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.ExpertWorkers;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.SharedExpert;
import io.moeflux.pipeline.model.TokenRouter;
import io.moeflux.pipeline.sync.CommMode;
import io.moeflux.pipeline.sync.DpMetadata;
import io.moeflux.pipeline.sync.DpMetadataSync;
import io.moeflux.pipeline.sync.SyncDecision;
import io.moeflux.transport.RankMesh;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * One rank's MoE step with its comm mode. A step that syncs all-reduces the DP metadata first and
 * picks {@link CommMode#VARIABLE} while the largest batch is within capacity, {@link
 * CommMode#PADDED_ALLGATHER} beyond; every rank sees the same metadata, so every rank picks the
 * same mode. A step that skips the sync (the checked {@link SyncDecision}) always runs {@link
 * CommMode#VARIABLE}, and a batch that would need the sync there is refused on every rank with the
 * reason, never run in a different mode.
 */
public final class StepRunner {
  private final RankMesh mesh;
  private final int rank;
  private final int capacity;
  private final int maxPadded;
  private final SyncDecision decision;
  private final DpMetadataSync sync;
  private final LayerRunner layers;
  private final VariableExchange variable;
  private final PaddedAllGatherExchange padded;
  private volatile CommMode lastMode = CommMode.VARIABLE;
  private volatile long syncedSteps;
  private volatile long skippedSteps;
  private volatile long paddedSteps;

  /**
   * A runner for {@code mesh}'s rank; its buffers are sized for the capacity of {@code config} and
   * the slots per rank of {@code placement}; its experts run on {@code workers}.
   */
  public StepRunner(
      RankMesh mesh,
      PipelineConfig config,
      SyncDecision decision,
      Placement placement,
      HeatTap heatTap,
      ExpertWorkers workers) {
    Objects.requireNonNull(mesh, "mesh");
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(placement, "placement");
    Objects.requireNonNull(heatTap, "heatTap");
    this.mesh = mesh;
    this.rank = mesh.rank();
    this.capacity = config.maxTokensPerRank();
    this.maxPadded = StepMemory.maxPaddedTokens(config);
    this.decision = Objects.requireNonNull(decision, "decision");
    this.sync = new DpMetadataSync(mesh);
    this.layers =
        new LayerRunner(
            mesh, config, placement, heatTap, Objects.requireNonNull(workers, "workers"));
    this.variable = new VariableExchange(mesh, capacity, config.wire().dispatch());
    this.padded = new PaddedAllGatherExchange(mesh, config.wire().dispatch());
  }

  /**
   * Runs {@code in} through the step's layers. {@code refusal}, when present, is why this rank
   * cannot run the batch (checked by the caller); the step then fails on every rank with that
   * reason. {@code experts[layer][localSlot]} are this rank's experts under {@code placement},
   * {@code routers[layer]} the gates, {@code shared[layer]} the shared experts (null: none).
   */
  public Mono<TokenBatch> run(
      TokenBatch in,
      Optional<Refusal> refusal,
      Placement placement,
      ExpertFfn[][] experts,
      TokenRouter[] routers,
      @Nullable SharedExpert[] shared) {
    long step = in.step();
    if (decision.syncs(step)) {
      int reported = refusal.isPresent() ? -1 : in.tokens();
      return sync.sync(step, reported, in.prefill())
          .flatMap(
              metadata -> {
                syncedSteps++;
                Optional<Refusal> refused =
                    refusal.isPresent()
                        ? refusal
                        : refusedBy(metadata).or(() -> overPadded(metadata));
                if (refused.isPresent()) {
                  return Mono.error(new PipelineException(refused.get().reason()));
                }
                CommMode mode = CommMode.select(metadata.maxTokens(), capacity);
                lastMode = mode;
                if (mode == CommMode.VARIABLE) {
                  return layers.run(in, variable, placement, experts, routers, shared);
                }
                paddedSteps++;
                return layers.run(
                    in, padded.forStep(metadata), placement, experts, routers, shared);
              });
    }
    Optional<Refusal> skipRefusal = refusal.isPresent() ? refusal : refusalWithoutSync(in);
    if (skipRefusal.isPresent()) {
      String reason = skipRefusal.get().reason();
      // Peers wait for this step's frames: the abort fails their step at once, with the reason.
      mesh.abort(step, reason);
      return Mono.error(new PipelineException(reason));
    }
    skippedSteps++;
    lastMode = CommMode.VARIABLE;
    return layers.run(in, variable, placement, experts, routers, shared);
  }

  private Optional<Refusal> refusedBy(DpMetadata metadata) {
    for (int r = 0; r < metadata.counts().length; r++) {
      if (metadata.count(r) < 0) {
        return Optional.of(
            new Refusal(
                "rank "
                    + rank
                    + ": step "
                    + metadata.step()
                    + " refused by rank "
                    + r
                    + " (its error says why)"));
      }
    }
    return Optional.empty();
  }

  /** A step whose largest batch is over what the padded all-gather may carry, on every rank. */
  private Optional<Refusal> overPadded(DpMetadata metadata) {
    if (metadata.maxTokens() <= maxPadded) {
      return Optional.empty();
    }
    return Optional.of(
        new Refusal(
            "rank "
                + rank
                + ": step "
                + metadata.step()
                + " has a batch of "
                + metadata.maxTokens()
                + " tokens, over the "
                + maxPadded
                + " the padded all-gather carries (StepMemory.maxPaddedTokens)"));
  }

  /** What a step that skips the sync cannot run: it would need the sync. */
  private Optional<Refusal> refusalWithoutSync(TokenBatch in) {
    String where = "rank " + rank + ", step " + in.step() + ": ";
    if (in.tokens() > capacity) {
      return Optional.of(
          new Refusal(
              where
                  + in.tokens()
                  + " tokens exceed the capacity of "
                  + capacity
                  + " tokens per rank, and this rank skips the DP metadata sync ("
                  + decision.reason()
                  + "), so the padded all-gather mode is not available"));
    }
    if (in.prefill()) {
      return Optional.of(
          new Refusal(
              where
                  + "a prefill batch on a rank that skips the DP metadata sync ("
                  + decision.reason()
                  + ")"));
    }
    return Optional.empty();
  }

  /** Hidden-vector bytes this rank sent to peers in exchange and combine frames, since start. */
  public long hiddenBytesSent() {
    return layers.hiddenBytesSent();
  }

  /** Hidden rows this rank sent to peers in exchange and combine frames, since start. */
  public long hiddenRowsSent() {
    return layers.hiddenRowsSent();
  }

  /** The comm mode of the last step that ran. */
  public CommMode lastMode() {
    return lastMode;
  }

  public long syncedSteps() {
    return syncedSteps;
  }

  public long skippedSteps() {
    return skippedSteps;
  }

  /** Steps that ran in {@link CommMode#PADDED_ALLGATHER}. */
  public long paddedSteps() {
    return paddedSteps;
  }

  public SyncDecision decision() {
    return decision;
  }
}
