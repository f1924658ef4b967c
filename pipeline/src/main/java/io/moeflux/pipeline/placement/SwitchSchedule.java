package io.moeflux.pipeline.placement;

/**
 * When ranks may switch to a new placement: at steps {@code k × interval + delay} for k >= 1. At
 * each such step every rank takes part in a small agreement (ready or not, which plan), whether or
 * not it has a plan, so a switch never depends on timing. The schedule is part of the handshake
 * fingerprint: ranks with different schedules refuse each other.
 *
 * <p>Immutable; made by {@link #builder()} or {@link #none()}. Two schedules are equal when their
 * interval and delay are.
 */
public final class SwitchSchedule {
  private static final SwitchSchedule NONE = new SwitchSchedule(0, 0);

  private final int interval;
  private final int delay;

  private SwitchSchedule(int interval, int delay) {
    this.interval = interval;
    this.delay = delay;
  }

  /** A builder holding the defaults listed on {@link Builder}: switching off. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this schedule's values. */
  public Builder toBuilder() {
    return new Builder().interval(interval).delay(delay);
  }

  /** Switching off. */
  public static SwitchSchedule none() {
    return NONE;
  }

  /** Steps between switch points; 0 disables switching. */
  public int interval() {
    return interval;
  }

  /** Steps after each interval boundary, the time a plan has to migrate its weights. */
  public int delay() {
    return delay;
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

  @Override
  public boolean equals(Object o) {
    return o instanceof SwitchSchedule s && interval == s.interval && delay == s.delay;
  }

  @Override
  public int hashCode() {
    return 31 * interval + delay;
  }

  @Override
  public String toString() {
    return "SwitchSchedule[interval=" + interval + ", delay=" + delay + "]";
  }

  /** Collects a {@link SwitchSchedule}. Defaults: interval 0 (switching off), delay 0. */
  public static final class Builder {
    private int interval;
    private int delay;

    private Builder() {}

    /** Steps between switch points, {@code >= 0}; 0 (the default) disables switching. */
    public Builder interval(int interval) {
      this.interval = interval;
      return this;
    }

    /** Steps after each interval boundary before the switch, {@code >= 0}; default 0. */
    public Builder delay(int delay) {
      this.delay = delay;
      return this;
    }

    /**
     * @throws IllegalArgumentException naming the field that is negative
     */
    public SwitchSchedule build() {
      if (interval < 0) {
        throw new IllegalArgumentException("interval must be >= 0, got " + interval);
      }
      if (delay < 0) {
        throw new IllegalArgumentException("delay must be >= 0, got " + delay);
      }
      return new SwitchSchedule(interval, delay);
    }
  }
}
