package io.moeflux.pipeline.toggle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class StepToggleTest {

  @Test
  void alwaysIsOnAtEveryStep() {
    for (long step = 0; step < 100; step++) {
      assertThat(StepToggle.always().isOn(step)).isTrue();
    }
    assertThat(StepToggle.always().isOn(Long.MAX_VALUE)).isTrue();
    assertThat(StepToggle.always().blockSteps()).isZero();
  }

  @Test
  void abbaRunsOffOnOnOffInBlocksFromStepZero() {
    StepToggle toggle = StepToggle.abba(3);
    StringBuilder pattern = new StringBuilder();
    for (long step = 0; step < 24; step++) {
      pattern.append(toggle.isOn(step) ? 'B' : 'A');
    }
    assertThat(pattern).hasToString("AAABBBBBBAAAAAABBBBBBAAA");
    assertThat(toggle.block(0)).isZero();
    assertThat(toggle.block(2)).isZero();
    assertThat(toggle.block(3)).isEqualTo(1);
    assertThat(toggle.block(23)).isEqualTo(7);
  }

  @Test
  void everyFourBlocksHoldTwoOfEachKind() {
    StepToggle toggle = StepToggle.abba(7);
    for (long first = 0; first < 1000; first += 4 * 7) {
      int on = 0;
      for (long step = first; step < first + 4 * 7; step++) {
        on += toggle.isOn(step) ? 1 : 0;
      }
      assertThat(on).isEqualTo(2 * 7);
    }
  }

  @Test
  void equalWhenTheySwitchAtTheSameStepsAndNamedStably() {
    assertThat(StepToggle.abba(5))
        .isEqualTo(StepToggle.abba(5))
        .hasSameHashCodeAs(StepToggle.abba(5));
    assertThat(StepToggle.abba(5))
        .isNotEqualTo(StepToggle.abba(6))
        .isNotEqualTo(StepToggle.always());
    assertThat(StepToggle.abba(5)).hasToString("abba/5");
    assertThat(StepToggle.always()).hasToString("always");
  }

  @Test
  void aBlockHasAtLeastOneStep() {
    assertThatThrownBy(() -> StepToggle.abba(0)).hasMessage("blockSteps must be >= 1, got 0");
  }
}
