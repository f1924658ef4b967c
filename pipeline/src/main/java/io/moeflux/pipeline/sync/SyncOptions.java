package io.moeflux.pipeline.sync;

import java.util.Objects;

/**
 * What decides whether a rank may skip the per-step DP metadata sync.
 *
 * @param role what the rank serves
 * @param localRecompute whether a preempted request is re-prefilled on this rank (instead of being
 *     sent back to a prefill node): a decode rank that recomputes can see prefill batches
 * @param maxBatchTokens the largest batch this rank can be given (requests × (1 + speculative
 *     tokens)); 0 means "the capacity"
 * @param warmupSteps the first steps are warm-up/profiling steps, which always sync
 */
public record SyncOptions(
    RankRole role, boolean localRecompute, int maxBatchTokens, int warmupSteps) {

  public SyncOptions {
    Objects.requireNonNull(role, "role");
    if (maxBatchTokens < 0) {
      throw new IllegalArgumentException("maxBatchTokens must be >= 0, got " + maxBatchTokens);
    }
    if (warmupSteps < 0) {
      throw new IllegalArgumentException("warmupSteps must be >= 0, got " + warmupSteps);
    }
  }

  /** A decode-only rank without local recompute: the case the sync can be skipped for. */
  public static SyncOptions decodeOnly() {
    return new SyncOptions(RankRole.DECODE, false, 0, 0);
  }

  /** A rank that serves prefill and decode: it always syncs. */
  public static SyncOptions mixed() {
    return new SyncOptions(RankRole.MIXED, false, 0, 0);
  }

  public SyncOptions withWarmupSteps(int steps) {
    return new SyncOptions(role, localRecompute, maxBatchTokens, steps);
  }

  public SyncOptions withMaxBatchTokens(int tokens) {
    return new SyncOptions(role, localRecompute, tokens, warmupSteps);
  }
}
