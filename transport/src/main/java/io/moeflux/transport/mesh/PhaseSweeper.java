package io.moeflux.transport.mesh;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.scheduler.Scheduler;

/**
 * Runs {@link Inbox#sweep} every interval while the inbox holds phases, and not at all while it
 * holds none: an idle rank (no step in flight) then has no timer waking it, only its keep-alives.
 * Every phase opened calls {@link #wake} once it is in the inbox (a read when the timer runs), so
 * no phase is left unswept; a phase is swept at most one interval late, as with a fixed-rate timer.
 */
final class PhaseSweeper implements Disposable {
  private final Runnable sweep;
  private final BooleanSupplier holdsPhases;
  private final Scheduler scheduler;
  private final long intervalNanos;
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private volatile boolean disposed;
  private volatile Disposable next = Disposables.disposed();

  PhaseSweeper(
      Runnable sweep, BooleanSupplier holdsPhases, Scheduler scheduler, Duration interval) {
    this.sweep = sweep;
    this.holdsPhases = holdsPhases;
    this.scheduler = scheduler;
    this.intervalNanos = interval.toNanos();
  }

  /** A phase was opened: sweeps start again within one interval if they had stopped. */
  void wake() {
    if (!disposed && !scheduled.get() && scheduled.compareAndSet(false, true)) {
      schedule();
    }
  }

  private void schedule() {
    try {
      next = scheduler.schedule(this::tick, intervalNanos, TimeUnit.NANOSECONDS);
    } catch (RuntimeException rejected) {
      // the scheduler shut down with the JVM: nothing left to sweep for
      scheduled.set(false);
    }
  }

  private void tick() {
    if (disposed) {
      return;
    }
    sweep.run();
    if (holdsPhases.getAsBoolean()) {
      schedule();
      return;
    }
    scheduled.set(false);
    // a phase opened between the check and the reset found the timer still scheduled
    if (holdsPhases.getAsBoolean()) {
      wake();
    }
  }

  @Override
  public void dispose() {
    disposed = true;
    next.dispose();
  }

  @Override
  public boolean isDisposed() {
    return disposed;
  }
}
