package io.moeflux.transport.mesh;

import io.moeflux.transport.protocol.FrameKind;
import java.util.concurrent.atomic.AtomicLong;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * The steps peers opened, for a rank that steps on demand: it learns from the first frame of a step
 * it has not started that a peer runs that step, and joins it with whatever it has. A frame opens
 * step s when it is one a rank sends first in a step ({@link #opens}); each step id is emitted
 * once, in increasing order, and a late subscriber gets the highest opened so far at once.
 */
final class StepOpenings {
  private static final long NONE = -1;

  private final AtomicLong highest = new AtomicLong(NONE);
  private final Sinks.Many<Long> opened = Sinks.many().replay().latest();

  /**
   * Whether a frame of {@code kind} for ({@code step}, {@code layer}) says its sender runs step
   * {@code step}: any DATA-lane frame (DISPATCH, COMBINE, GATHER, ABORT), a SYNC frame of a step
   * (the DP metadata sync, the first phase of a step that syncs) or a PLAN frame of a step's switch
   * agreement (layer 0, the first phase of a switch step). The start-up agreement (SYNC of step
   * -1), barriers (PLAN of layer -1), heat windows and migration chunks carry tags, not steps.
   */
  static boolean opens(FrameKind kind, long step, int layer) {
    if (step < 0 || step == Long.MAX_VALUE) {
      return false;
    }
    return switch (kind) {
      case DISPATCH, COMBINE, GATHER, ABORT, SYNC -> true;
      case PLAN -> layer >= 0;
      case HEAT, MIGRATION, FAILURE -> false;
    };
  }

  /**
   * A frame of ({@code kind}, {@code step}, {@code layer}) arrived: emits its step if it opens one.
   */
  void arrived(FrameKind kind, long step, int layer) {
    if (step <= highest.get() || !opens(kind, step, layer)) {
      return;
    }
    // frames arrive on several event loops: one emission at a time, in increasing order
    synchronized (this) {
      if (step > highest.get()) {
        highest.set(step);
        opened.tryEmitNext(step);
      }
    }
  }

  Flux<Long> steps() {
    return opened.asFlux();
  }

  void close() {
    synchronized (this) {
      opened.tryEmitComplete();
    }
  }
}
