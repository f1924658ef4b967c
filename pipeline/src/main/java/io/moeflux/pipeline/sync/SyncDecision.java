package io.moeflux.pipeline.sync;

import io.moeflux.pipeline.toggle.StepToggle;
import java.util.Objects;

/**
 * The checked decision to skip the DP metadata sync (DESIGN.md invariant 4). Skipping is valid only
 * when every batch this rank can see goes through variable-size dispatch within capacity and no
 * prefill can happen here: the role is decode, there is no local recompute, and the mode for the
 * largest batch the rank can be given is {@link CommMode#VARIABLE}. Warm-up steps always sync.
 *
 * <p>A rank that may skip skips at the steps {@link SyncOptions#skipSteps()} has on and syncs at
 * the others (a run-time A/B comparison); a rank that may not skip syncs at every step, whatever
 * that toggle says: the toggle can only add syncs, never remove a needed one.
 *
 * @param skip whether skipping is valid for this rank (steps after the warm-up may skip)
 * @param warmupSteps steps that sync regardless
 * @param skipSteps of the steps that may skip, those that do
 * @param reason why, in words, for logs and errors
 */
public record SyncDecision(boolean skip, int warmupSteps, StepToggle skipSteps, String reason) {

  public SyncDecision {
    Objects.requireNonNull(skipSteps, "skipSteps");
    Objects.requireNonNull(reason, "reason");
  }

  public static SyncDecision decide(SyncOptions options, int capacity) {
    StepToggle steps = options.skipSteps();
    int largest = options.maxBatchTokens() == 0 ? capacity : options.maxBatchTokens();
    if (options.role() != RankRole.DECODE) {
      return new SyncDecision(
          false,
          options.warmupSteps(),
          steps,
          "role " + options.role() + " can see prefill batches");
    }
    if (options.localRecompute()) {
      return new SyncDecision(
          false,
          options.warmupSteps(),
          steps,
          "local recompute re-prefills preempted requests here");
    }
    if (CommMode.select(largest, capacity) != CommMode.VARIABLE) {
      return new SyncDecision(
          false,
          options.warmupSteps(),
          steps,
          "the largest batch ("
              + largest
              + " tokens) exceeds the variable-dispatch capacity ("
              + capacity
              + ") and needs the padded all-gather");
    }
    return new SyncDecision(
        true,
        options.warmupSteps(),
        steps,
        "decode-only, no local recompute, largest batch "
            + largest
            + " within capacity "
            + capacity);
  }

  /** Whether {@code step} runs the sync. */
  public boolean syncs(long step) {
    return !skip || step < warmupSteps || !skipSteps.isOn(step);
  }
}
