package io.moeflux.pipeline;

import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Where expert math runs by default ({@link PipelineConfig#expertScheduler()}): one worker per
 * core, daemon threads named {@code moeflux-math}, shared by every rank of the JVM. Not Reactor's
 * {@link Schedulers#parallel()}: its workers also run RSocket's keep-alive timers and the mesh's
 * phase sweep, and a step of math longer than the keep-alive lifetime there left the keep-alives
 * unsent, so that a peer ended the connection ("No keep-alive acks") while nothing was wrong.
 */
public final class MathScheduler {
  private static final Scheduler SHARED =
      Schedulers.newParallel("moeflux-math", Runtime.getRuntime().availableProcessors(), true);

  private MathScheduler() {}

  /** The JVM's math scheduler; never disposed (its threads are daemons). */
  public static Scheduler shared() {
    return SHARED;
  }
}
