package io.moeflux.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
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

  /**
   * A warm-up by time ends when rank 0 asks for a step after the time has passed: that step is the
   * last of the warm-up, and every rank then runs exactly the measured steps after it. Another rank
   * asking does not decide: it may ask for a step whose outputs are already out.
   */
  @Test
  void aWarmupByTimeEndsAtTheStepRankZeroAsksForOnceTheTimeHasPassed() throws Exception {
    StepTimes clock = new StepTimes(1, Duration.ofMillis(50), 3);
    clock.start(System.nanoTime());
    for (int step = 0; step <= 1; step++) {
      assertThat(clock.wants(0, step)).isTrue();
      assertThat(clock.wants(1, step)).isTrue();
    }
    assertThat(clock.stepDone(10)).isFalse();
    assertThat(clock.stepDone(20)).isFalse();
    Thread.sleep(60);
    assertThat(clock.wants(1, 2)).isTrue();
    assertThat(clock.warmupSteps()).as("rank 1 does not decide").isEqualTo(-1);
    assertThat(clock.wants(0, 2)).isTrue();
    assertThat(clock.warmupSteps()).as("steps 0 .. 2 are the warm-up").isEqualTo(3);
    assertThat(clock.stepDone(30)).as("the warm-up ends here").isTrue();
    for (int step = 3; step <= 5; step++) {
      assertThat(clock.wants(0, step)).isTrue();
      assertThat(clock.wants(1, step)).isTrue();
      clock.stepDone(10L * step + (step == 5 ? 10 : 0));
    }
    assertThat(clock.wants(0, 6)).isFalse();
    assertThat(clock.wants(1, 6)).isFalse();
    assertThat(clock.measured()).isEqualTo(3);
    assertThat(clock.measuringSince()).isEqualTo(30);
    assertThat(clock.percentiles().at(50)).isEqualTo(10);
    assertThat(clock.percentiles().at(100)).isEqualTo(20);
  }

  @Test
  void aWarmupByTimeLastsUntilRankZeroAsksAfterTheTime() {
    StepTimes clock = new StepTimes(1, Duration.ofMinutes(10), 3);
    clock.start(System.nanoTime());
    for (int step = 0; step < 100; step++) {
      assertThat(clock.wants(0, step)).isTrue();
      assertThat(clock.stepDone(step)).isFalse();
    }
    assertThat(clock.measured()).isZero();
  }
}
