package io.moeflux.transport.mesh;

import io.moeflux.transport.StepAbortedException;
import org.jspecify.annotations.Nullable;

/**
 * The steps this rank knows were aborted, with who aborted each and why. Bounded: it keeps the last
 * {@link #CAPACITY} aborts, enough for every step still in flight (ranks run in lockstep, so a
 * frame of an aborted step arrives within a few steps of its abort), and forgets older ones.
 *
 * <p>{@link #failureFor} is on every DATA frame's path: while nothing was aborted it is one
 * volatile read.
 */
final class AbortedSteps {
  static final int CAPACITY = 64;

  private final int self;
  private final long[] steps = new long[CAPACITY];
  private final int[] peers = new int[CAPACITY];
  private final String[] reasons = new String[CAPACITY];
  private int next;
  private volatile int size;

  AbortedSteps(int self) {
    this.self = self;
  }

  /** Remembers that {@code peer} aborted {@code step}; the first abort of a step is kept. */
  synchronized void add(long step, int peer, String reason) {
    if (indexOf(step) >= 0) {
      return;
    }
    steps[next] = step;
    peers[next] = peer;
    reasons[next] = reason;
    next = (next + 1) % CAPACITY;
    if (size < CAPACITY) {
      size++;
    }
  }

  /** The failure for a receive of {@code step}, or null when the step was not aborted. */
  @Nullable StepAbortedException failureFor(long step) {
    if (size == 0) {
      return null;
    }
    synchronized (this) {
      int i = indexOf(step);
      return i < 0 ? null : new StepAbortedException(self, step, peers[i], reasons[i]);
    }
  }

  boolean contains(long step) {
    if (size == 0) {
      return false;
    }
    synchronized (this) {
      return indexOf(step) >= 0;
    }
  }

  private int indexOf(long step) {
    for (int i = 0; i < size; i++) {
      if (steps[i] == step) {
        return i;
      }
    }
    return -1;
  }
}
