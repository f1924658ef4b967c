package io.moeflux.pipeline.sync;

/**
 * The checked decision to skip the DP metadata sync (DESIGN.md invariant 4). Skipping is valid only
 * when every batch this rank can see goes through variable-size dispatch within capacity and no
 * prefill can happen here: the role is decode, there is no local recompute, and the mode for the
 * largest batch the rank can be given is {@link CommMode#VARIABLE}. Warm-up steps always sync.
 *
 * @param skip whether steps after the warm-up skip the sync
 * @param warmupSteps steps that sync regardless
 * @param reason why, in words, for logs and errors
 */
public record SyncDecision(boolean skip, int warmupSteps, String reason) {

  public static SyncDecision decide(SyncOptions options, int capacity) {
    int largest = options.maxBatchTokens() == 0 ? capacity : options.maxBatchTokens();
    if (options.role() != RankRole.DECODE) {
      return new SyncDecision(
          false, options.warmupSteps(), "role " + options.role() + " can see prefill batches");
    }
    if (options.localRecompute()) {
      return new SyncDecision(
          false, options.warmupSteps(), "local recompute re-prefills preempted requests here");
    }
    if (CommMode.select(largest, capacity) != CommMode.VARIABLE) {
      return new SyncDecision(
          false,
          options.warmupSteps(),
          "the largest batch ("
              + largest
              + " tokens) exceeds the variable-dispatch capacity ("
              + capacity
              + ") and needs the padded all-gather");
    }
    return new SyncDecision(
        true,
        options.warmupSteps(),
        "decode-only, no local recompute, largest batch "
            + largest
            + " within capacity "
            + capacity);
  }

  /** Whether {@code step} runs the sync. */
  public boolean syncs(long step) {
    return !skip || step < warmupSteps;
  }
}
