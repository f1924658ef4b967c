package io.moeflux.eplb.heat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class HeatConfigTest {
  /** A fresh builder with the required fields set (builders are mutable). */
  private static HeatConfig.Builder required() {
    return HeatConfig.builder().layers(2).localSlots(3).interval(4);
  }

  @Test
  void theDefaultsAreATumblingWindowOverAllStages() {
    HeatConfig c = required().build();
    assertThat(c.layers()).isEqualTo(2);
    assertThat(c.localSlots()).isEqualTo(3);
    assertThat(c.interval()).isEqualTo(4);
    assertThat(c.window()).isEqualTo(4);
    assertThat(c.stages()).isEqualTo(StageFilter.ALL);
    assertThat(c.queueCapacity()).isEqualTo(1024);
  }

  @Test
  void toBuilderKeepsEveryField() {
    HeatConfig c = required().window(12).stages(StageFilter.DECODE).queueCapacity(64).build();
    assertThat(c.toBuilder().build()).isEqualTo(c).hasSameHashCodeAs(c);
    assertThat(c.toBuilder().window(8).build().window()).isEqualTo(8);
  }

  @Test
  void buildNamesTheWrongField() {
    assertThatThrownBy(() -> HeatConfig.builder().localSlots(3).interval(4).build())
        .hasMessage("layers must be >= 1, got 0");
    assertThatThrownBy(() -> HeatConfig.builder().layers(2).interval(4).build())
        .hasMessage("localSlots must be >= 1, got 0");
    assertThatThrownBy(() -> HeatConfig.builder().layers(2).localSlots(3).build())
        .hasMessage("interval must be >= 1 step, got 0");
    assertThatThrownBy(() -> required().window(6).build())
        .hasMessage("window (6 steps) must be a multiple of the interval (4)");
    assertThatThrownBy(() -> required().queueCapacity(1).build())
        .hasMessage("queueCapacity must be >= 2, got 1");
  }
}
