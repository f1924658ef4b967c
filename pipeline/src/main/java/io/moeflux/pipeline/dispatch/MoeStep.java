package io.moeflux.pipeline.dispatch;

import io.moeflux.pipeline.HeatTap;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.PipelineException;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.Router;
import io.moeflux.pipeline.sync.CommMode;
import io.moeflux.pipeline.sync.DpMetadata;
import io.moeflux.pipeline.sync.DpMetadataSync;
import io.moeflux.pipeline.sync.SyncDecision;
import io.moeflux.transport.RankMesh;
import java.util.Objects;
import reactor.core.publisher.Mono;

/**
 * One rank's MoE step with its comm mode. A step that syncs all-reduces the DP metadata first and
 * picks {@link CommMode#VARIABLE} while the largest batch is within capacity, {@link
 * CommMode#PADDED_ALLGATHER} beyond; every rank sees the same metadata, so every rank picks the
 * same mode. A step that skips the sync (the checked {@link SyncDecision}) always runs {@link
 * CommMode#VARIABLE}, and a batch that would need the sync there is refused on every rank with the
 * reason, never run in a different mode.
 */
public final class MoeStep {
  private final int rank;
  private final int capacity;
  private final SyncDecision decision;
  private final DpMetadataSync sync;
  private final VariableDispatchStep variable;
  private final PaddedAllGatherStep padded;
  private volatile CommMode lastMode = CommMode.VARIABLE;
  private volatile long syncedSteps;
  private volatile long skippedSteps;
  private volatile long paddedSteps;

  public MoeStep(
      RankMesh mesh,
      PipelineConfig config,
      SyncDecision decision,
      int slotsPerRank,
      HeatTap heatTap) {
    this.rank = mesh.rank();
    this.capacity = config.maxTokensPerRank();
    this.decision = Objects.requireNonNull(decision, "decision");
    this.sync = new DpMetadataSync(mesh);
    this.variable = new VariableDispatchStep(mesh, config, slotsPerRank, heatTap);
    this.padded = new PaddedAllGatherStep(mesh, config, heatTap);
  }

  /**
   * Runs {@code in} through every layer. {@code refusal}, when not null, is why this rank cannot
   * run the batch (checked by the caller); the step then fails on every rank with that reason.
   */
  public Mono<TokenBatch> run(
      TokenBatch in, String refusal, Placement placement, ExpertFfn[][] experts, Router[] routers) {
    long step = in.step();
    if (decision.syncs(step)) {
      int reported = refusal == null ? in.tokens() : -1;
      return sync.sync(step, reported, in.prefill())
          .flatMap(
              metadata -> {
                syncedSteps++;
                if (refusal != null) {
                  return Mono.error(new PipelineException(refusal));
                }
                String refused = refusedBy(metadata);
                if (refused != null) {
                  return Mono.error(new PipelineException(refused));
                }
                CommMode mode = CommMode.select(metadata.maxTokens(), capacity);
                lastMode = mode;
                if (mode == CommMode.VARIABLE) {
                  return variable.run(in, placement, experts, routers);
                }
                paddedSteps++;
                return padded.run(in, metadata, placement, experts, routers);
              });
    }
    String skipRefusal = refusal != null ? refusal : refusalWithoutSync(in);
    if (skipRefusal != null) {
      variable.abort(step, skipRefusal);
      return Mono.error(new PipelineException(skipRefusal));
    }
    skippedSteps++;
    lastMode = CommMode.VARIABLE;
    return variable.run(in, placement, experts, routers);
  }

  private String refusedBy(DpMetadata metadata) {
    for (int r = 0; r < metadata.counts().length; r++) {
      if (metadata.count(r) < 0) {
        return "rank "
            + rank
            + ": step "
            + metadata.step()
            + " refused by rank "
            + r
            + " (its error says why)";
      }
    }
    return null;
  }

  /** What a step that skips the sync cannot run: it would need the sync. */
  private String refusalWithoutSync(TokenBatch in) {
    String where = "rank " + rank + ", step " + in.step() + ": ";
    if (in.tokens() > capacity) {
      return where
          + in.tokens()
          + " tokens exceed the capacity of "
          + capacity
          + " tokens per rank, and this rank skips the DP metadata sync ("
          + decision.reason()
          + "), so the padded all-gather mode is not available";
    }
    if (in.prefill()) {
      return where
          + "a prefill batch on a rank that skips the DP metadata sync ("
          + decision.reason()
          + ")";
    }
    return null;
  }

  public long hiddenBytesSent() {
    return variable.hiddenBytesSent() + padded.hiddenBytesSent();
  }

  public CommMode lastMode() {
    return lastMode;
  }

  public long syncedSteps() {
    return syncedSteps;
  }

  public long skippedSteps() {
    return skippedSteps;
  }

  public long paddedSteps() {
    return paddedSteps;
  }

  public SyncDecision decision() {
    return decision;
  }
}
