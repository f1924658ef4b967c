package io.moeflux.pipeline.placement;

/**
 * When ranks may switch to a new placement: at steps {@code k × interval + delay} for k >= 1. At
 * each such step every rank takes part in a small agreement (ready or not, which plan), whether or
 * not it has a plan, so a switch never depends on timing. The schedule is part of the handshake
 * fingerprint: ranks with different schedules refuse each other.
 *
 * @param interval steps between switch points; 0 disables switching
 * @param delay steps after each interval boundary, the time a plan has to migrate its weights
 */
public record SwitchSchedule(int interval, int delay) {

  public SwitchSchedule {
    if (interval < 0 || delay < 0) {
      throw new IllegalArgumentException(
          "interval and delay must be >= 0, got " + interval + " and " + delay);
    }
  }

  public static SwitchSchedule none() {
    return new SwitchSchedule(0, 0);
  }

  public boolean enabled() {
    return interval > 0;
  }

  public boolean isSwitchStep(long step) {
    return interval > 0 && step >= interval + delay && (step - delay) % interval == 0;
  }

  /** The first switch step strictly after {@code step}. */
  public long nextSwitchStepAfter(long step) {
    if (interval == 0) {
      throw new IllegalStateException("switching is disabled");
    }
    long k = Math.max(1, Math.floorDiv(step - delay, interval) + 1);
    return k * interval + delay;
  }
}
