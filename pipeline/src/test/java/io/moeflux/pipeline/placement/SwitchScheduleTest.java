package io.moeflux.pipeline.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SwitchScheduleTest {
  @Test
  void switchStepsAreIntervalMultiplesPlusTheDelay() {
    SwitchSchedule s = SwitchSchedule.builder().interval(10).delay(4).build();
    assertThat(s.enabled()).isTrue();
    assertThat(s.isSwitchStep(4)).isFalse();
    assertThat(s.isSwitchStep(14)).isTrue();
    assertThat(s.isSwitchStep(24)).isTrue();
    assertThat(s.isSwitchStep(20)).isFalse();
    assertThat(s.nextSwitchStepAfter(0)).isEqualTo(14);
    assertThat(s.nextSwitchStepAfter(14)).isEqualTo(24);
    assertThat(s.toBuilder().build()).isEqualTo(s).hasSameHashCodeAs(s);
  }

  @Test
  void theDefaultIsOff() {
    SwitchSchedule off = SwitchSchedule.builder().build();
    assertThat(off).isEqualTo(SwitchSchedule.none());
    assertThat(off.enabled()).isFalse();
    assertThat(off.isSwitchStep(0)).isFalse();
    assertThatThrownBy(() -> off.nextSwitchStepAfter(0)).hasMessage("switching is disabled");
  }

  @Test
  void buildNamesTheWrongField() {
    assertThatThrownBy(() -> SwitchSchedule.builder().interval(-1).build())
        .hasMessage("interval must be >= 0, got -1");
    assertThatThrownBy(() -> SwitchSchedule.builder().interval(4).delay(-1).build())
        .hasMessage("delay must be >= 0, got -1");
  }
}
