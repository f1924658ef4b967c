package io.moeflux.transport.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.test.scheduler.VirtualTimeScheduler;

class PhaseSweeperTest {
  private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
  private final AtomicInteger sweeps = new AtomicInteger();
  private final AtomicBoolean holdsPhases = new AtomicBoolean();
  private final PhaseSweeper sweeper =
      new PhaseSweeper(sweeps::incrementAndGet, holdsPhases::get, time, Duration.ofMillis(100));

  @Test
  void sweepsEveryIntervalWhilePhasesAreHeldAndNotAtAllWhenIdle() {
    time.advanceTimeBy(Duration.ofSeconds(10));
    assertThat(sweeps).hasValue(0);

    holdsPhases.set(true);
    sweeper.wake();
    sweeper.wake();
    time.advanceTimeBy(Duration.ofMillis(99));
    assertThat(sweeps).hasValue(0);
    time.advanceTimeBy(Duration.ofMillis(401));
    assertThat(sweeps).hasValue(5);

    // the last phase closed: one more sweep sees it, then the timer stops
    holdsPhases.set(false);
    time.advanceTimeBy(Duration.ofSeconds(10));
    assertThat(sweeps).hasValue(6);

    holdsPhases.set(true);
    sweeper.wake();
    time.advanceTimeBy(Duration.ofMillis(300));
    assertThat(sweeps).hasValue(9);
  }

  @Test
  void aPhaseOpenedWhileTheLastSweepStopsTheTimerIsStillSwept() {
    // the sweep itself sees no phase, and one opens right after the check (its wake finds the
    // timer still scheduled)
    PhaseSweeper racing =
        new PhaseSweeper(
            sweeps::incrementAndGet,
            () -> sweeps.get() > 1 || holdsPhases.getAndSet(true),
            time,
            Duration.ofMillis(100));
    racing.wake();
    time.advanceTimeBy(Duration.ofMillis(100));
    assertThat(sweeps).hasValue(1);
    time.advanceTimeBy(Duration.ofMillis(100));
    assertThat(sweeps).hasValue(2);
  }

  @Test
  void noSweepAfterDispose() {
    holdsPhases.set(true);
    sweeper.wake();
    time.advanceTimeBy(Duration.ofMillis(100));
    sweeper.dispose();
    sweeper.wake();
    time.advanceTimeBy(Duration.ofSeconds(1));
    assertThat(sweeps).hasValue(1);
    assertThat(sweeper.isDisposed()).isTrue();
  }
}
