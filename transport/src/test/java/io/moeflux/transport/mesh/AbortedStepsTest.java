package io.moeflux.transport.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.transport.StepAbortedException;
import org.junit.jupiter.api.Test;

class AbortedStepsTest {

  @Test
  void theFirstAbortOfAStepIsKeptWithItsRankAndReason() {
    AbortedSteps aborted = new AbortedSteps(0);
    assertThat(aborted.failureFor(3)).isNull();
    aborted.add(3, 2, "too many tokens");
    aborted.add(3, 1, "later");
    StepAbortedException failure = aborted.failureFor(3);
    assertThat(failure).isNotNull();
    assertThat(failure.peer()).isEqualTo(2);
    assertThat(failure.reason()).isEqualTo("too many tokens");
    assertThat(failure).hasMessage("rank 0: step 3 aborted by rank 2: too many tokens");
    assertThat(aborted.contains(4)).isFalse();
  }

  @Test
  void onlyTheLastAbortsAreRemembered() {
    AbortedSteps aborted = new AbortedSteps(0);
    for (long step = 0; step < AbortedSteps.CAPACITY + 10; step++) {
      aborted.add(step, 1, "r");
    }
    assertThat(aborted.contains(9)).isFalse();
    assertThat(aborted.contains(10)).isTrue();
    assertThat(aborted.contains(AbortedSteps.CAPACITY + 9)).isTrue();
  }
}
