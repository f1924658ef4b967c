package io.moeflux.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StepTimesTest {

  /** Without warm-up every step is measured, the first one from the start of the stream. */
  @Test
  void withoutWarmupTheFirstStepCountsFromTheStart() {
    StepTimes clock = new StepTimes(0, 3);
    clock.start(100);
    assertThat(clock.stepDone(110)).isFalse();
    assertThat(clock.stepDone(125)).isFalse();
    assertThat(clock.stepDone(160)).isFalse();
    assertThat(clock.measured()).isEqualTo(3);
    assertThat(clock.measuringSince()).isEqualTo(100);
    Percentiles p = clock.percentiles();
    assertThat(p.at(1)).isEqualTo(10);
    assertThat(p.at(50)).isEqualTo(15);
    assertThat(p.at(100)).isEqualTo(35);
  }

  @Test
  void warmupStepsAreNotMeasuredAndTheLastOneStartsTheClock() {
    StepTimes clock = new StepTimes(2, 2);
    clock.start(0);
    assertThat(clock.stepDone(1000)).isFalse();
    assertThat(clock.stepDone(1500)).as("the warm-up ends here").isTrue();
    assertThat(clock.measured()).isZero();
    clock.stepDone(1510);
    clock.stepDone(1530);
    clock.stepDone(9999); // beyond the measured steps: ignored
    assertThat(clock.measured()).isEqualTo(2);
    assertThat(clock.measuringSince()).isEqualTo(1500);
    assertThat(clock.percentiles().at(1)).isEqualTo(10);
    assertThat(clock.percentiles().at(100)).isEqualTo(20);
  }
}
