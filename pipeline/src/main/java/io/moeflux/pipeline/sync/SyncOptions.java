package io.moeflux.pipeline.sync;

import io.moeflux.pipeline.toggle.StepToggle;
import java.util.Objects;

/**
 * What decides whether a rank may skip the per-step DP metadata sync.
 *
 * <p>Immutable; made by {@link #builder()} (defaults listed on {@link Builder}), {@link
 * #decodeOnly()} or {@link #mixed()}, and changed through {@link #toBuilder()}. Two options are
 * equal when every field is.
 */
public final class SyncOptions {
  private static final SyncOptions DECODE_ONLY = builder().build();
  private static final SyncOptions MIXED = builder().role(RankRole.MIXED).build();

  private final RankRole role;
  private final boolean localRecompute;
  private final int maxBatchTokens;
  private final int warmupSteps;
  private final StepToggle skipSteps;

  private SyncOptions(Builder b) {
    this.role = b.role;
    this.localRecompute = b.localRecompute;
    this.maxBatchTokens = b.maxBatchTokens;
    this.warmupSteps = b.warmupSteps;
    this.skipSteps = b.skipSteps;
  }

  /** A builder holding the defaults listed on {@link Builder}: a decode-only rank. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these options' values. */
  public Builder toBuilder() {
    return new Builder()
        .role(role)
        .localRecompute(localRecompute)
        .maxBatchTokens(maxBatchTokens)
        .warmupSteps(warmupSteps)
        .skipSteps(skipSteps);
  }

  /** A decode-only rank without local recompute: the case the sync can be skipped for. */
  public static SyncOptions decodeOnly() {
    return DECODE_ONLY;
  }

  /** A rank that serves prefill and decode: it always syncs. */
  public static SyncOptions mixed() {
    return MIXED;
  }

  /** What the rank serves. */
  public RankRole role() {
    return role;
  }

  /**
   * Whether a preempted request is re-prefilled on this rank (instead of being sent back to a
   * prefill node): a decode rank that recomputes can see prefill batches.
   */
  public boolean localRecompute() {
    return localRecompute;
  }

  /**
   * The largest batch this rank can be given (requests × (1 + speculative tokens)); 0 means "the
   * capacity".
   */
  public int maxBatchTokens() {
    return maxBatchTokens;
  }

  /** The first steps are warm-up/profiling steps, which always sync. */
  public int warmupSteps() {
    return warmupSteps;
  }

  /**
   * Of the steps that may skip the sync (skipping is valid and the warm-up is over), those that do;
   * the others sync. For run-time comparisons of syncing against skipping in one running group.
   * Every rank must use the same toggle (the handshake compares it).
   */
  public StepToggle skipSteps() {
    return skipSteps;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SyncOptions s
        && role == s.role
        && localRecompute == s.localRecompute
        && maxBatchTokens == s.maxBatchTokens
        && warmupSteps == s.warmupSteps
        && skipSteps.equals(s.skipSteps);
  }

  @Override
  public int hashCode() {
    return Objects.hash(role, localRecompute, maxBatchTokens, warmupSteps, skipSteps);
  }

  @Override
  public String toString() {
    return "SyncOptions[role="
        + role
        + ", localRecompute="
        + localRecompute
        + ", maxBatchTokens="
        + maxBatchTokens
        + ", warmupSteps="
        + warmupSteps
        + ", skipSteps="
        + skipSteps
        + "]";
  }

  /**
   * Collects {@link SyncOptions}. Defaults: role {@link RankRole#DECODE}, no local recompute,
   * maxBatchTokens 0 (the capacity), no warm-up steps, skip at every step that may ({@link
   * StepToggle#always()}).
   */
  public static final class Builder {
    private RankRole role = RankRole.DECODE;
    private boolean localRecompute;
    private int maxBatchTokens;
    private int warmupSteps;
    private StepToggle skipSteps = StepToggle.always();

    private Builder() {}

    /** What the rank serves; default {@link RankRole#DECODE}. */
    public Builder role(RankRole role) {
      this.role = Objects.requireNonNull(role, "role");
      return this;
    }

    /** Whether preempted requests are re-prefilled on this rank; default false. */
    public Builder localRecompute(boolean localRecompute) {
      this.localRecompute = localRecompute;
      return this;
    }

    /** The largest batch this rank can be given, {@code >= 0}; 0 (the default) is the capacity. */
    public Builder maxBatchTokens(int maxBatchTokens) {
      this.maxBatchTokens = maxBatchTokens;
      return this;
    }

    /** Warm-up steps that always sync, {@code >= 0}; default 0. */
    public Builder warmupSteps(int warmupSteps) {
      this.warmupSteps = warmupSteps;
      return this;
    }

    /**
     * Of the steps that may skip the sync, those that do; the others sync (a run-time switch
     * between syncing and skipping that every rank applies at the same step). It never makes a rank
     * skip that may not. Default {@link StepToggle#always()}.
     */
    public Builder skipSteps(StepToggle skipSteps) {
      this.skipSteps = Objects.requireNonNull(skipSteps, "skipSteps");
      return this;
    }

    /**
     * @throws IllegalArgumentException naming the field that is negative
     */
    public SyncOptions build() {
      if (maxBatchTokens < 0) {
        throw new IllegalArgumentException("maxBatchTokens must be >= 0, got " + maxBatchTokens);
      }
      if (warmupSteps < 0) {
        throw new IllegalArgumentException("warmupSteps must be >= 0, got " + warmupSteps);
      }
      return new SyncOptions(this);
    }
  }
}
