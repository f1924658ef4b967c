package io.moeflux.pipeline.sync;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.toggle.StepToggle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SyncDecisionTest {

  /**
   * The skip rule's truth table: only decode, no recompute, variable mode for the largest batch.
   */
  @ParameterizedTest(name = "{0} recompute={1} largest={2} cap=64 -> skip={3}")
  @CsvSource({
    "DECODE,  false, 0,   true",
    "DECODE,  false, 64,  true",
    "DECODE,  false, 65,  false",
    "DECODE,  true,  0,   false",
    "DECODE,  true,  65,  false",
    "MIXED,   false, 0,   false",
    "MIXED,   true,  0,   false",
    "MIXED,   false, 65,  false",
    "PREFILL, false, 0,   false",
    "PREFILL, true,  65,  false",
  })
  void skipsOnlyWhenEveryConditionHolds(
      RankRole role, boolean recompute, int largest, boolean skip) {
    SyncDecision decision =
        SyncDecision.decide(
            SyncOptions.builder()
                .role(role)
                .localRecompute(recompute)
                .maxBatchTokens(largest)
                .warmupSteps(0)
                .build(),
            64);
    assertThat(decision.skip()).isEqualTo(skip);
    assertThat(decision.reason()).isNotBlank();
    assertThat(decision.syncs(1_000)).isEqualTo(!skip);
  }

  @ParameterizedTest
  @CsvSource({"0, true", "2, true", "3, false", "100, false"})
  void warmupStepsAlwaysSync(long step, boolean syncs) {
    SyncDecision decision = SyncDecision.decide(SyncOptions.builder().warmupSteps(3).build(), 8);
    assertThat(decision.skip()).isTrue();
    assertThat(decision.syncs(step)).isEqualTo(syncs);
  }

  @ParameterizedTest
  @CsvSource({"0, 8, VARIABLE", "8, 8, VARIABLE", "9, 8, PADDED_ALLGATHER"})
  void modeFollowsTheCapacity(int tokens, int capacity, CommMode mode) {
    assertThat(CommMode.select(tokens, capacity)).isEqualTo(mode);
  }

  /** A rank that may skip skips only where the toggle is on; the warm-up still syncs. */
  @Test
  void theSkipToggleChoosesWhichSkippableStepsSkip() {
    SyncDecision decision =
        SyncDecision.decide(
            SyncOptions.builder().warmupSteps(2).skipSteps(StepToggle.abba(2)).build(), 8);
    assertThat(decision.skip()).isTrue();
    StringBuilder syncs = new StringBuilder();
    for (long step = 0; step < 16; step++) {
      syncs.append(decision.syncs(step) ? 'S' : '-');
    }
    // warm-up 0..1; then blocks of 2 in the order sync, skip, skip, sync
    assertThat(syncs).hasToString("SS----SSSS----SS");
  }

  /** The toggle can only add syncs: a rank that may not skip syncs at every step. */
  @Test
  void theSkipToggleNeverMakesARankSkipThatMayNot() {
    SyncDecision decision =
        SyncDecision.decide(
            SyncOptions.mixed().toBuilder().skipSteps(StepToggle.abba(1)).build(), 8);
    assertThat(decision.skip()).isFalse();
    for (long step = 0; step < 100; step++) {
      assertThat(decision.syncs(step)).as("step %d", step).isTrue();
    }
  }
}
