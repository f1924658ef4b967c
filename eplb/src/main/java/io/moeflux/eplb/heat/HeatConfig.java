package io.moeflux.eplb.heat;

import java.util.Objects;

/**
 * How heat is collected on one rank.
 *
 * <p>Immutable; made by {@link #builder()} (layers, local slots and the interval have no default;
 * the other defaults are listed on {@link Builder}) and changed through {@link #toBuilder()}. Two
 * configurations are equal when every field is.
 */
public final class HeatConfig {
  private final int layers;
  private final int localSlots;
  private final int interval;
  private final int window;
  private final StageFilter stages;
  private final int queueCapacity;

  private HeatConfig(Builder b, int window) {
    this.layers = b.layers;
    this.localSlots = b.localSlots;
    this.interval = b.interval;
    this.window = window;
    this.stages = b.stages;
    this.queueCapacity = b.queueCapacity;
  }

  /** A builder holding the defaults listed on {@link Builder}. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this configuration's values. */
  public Builder toBuilder() {
    return new Builder()
        .layers(layers)
        .localSlots(localSlots)
        .interval(interval)
        .window(window)
        .stages(stages)
        .queueCapacity(queueCapacity);
  }

  /** MoE layers. */
  public int layers() {
    return layers;
  }

  /** Physical expert slots on this rank. */
  public int localSlots() {
    return localSlots;
  }

  /**
   * A snapshot every {@code interval} steps, at steps {@code k × interval - 1} (vllm-ascend's
   * expert_heat_collection_interval).
   */
  public int interval() {
    return interval;
  }

  /**
   * Steps a snapshot sums over, a multiple of {@link #interval()}; {@code window == interval} is a
   * tumbling window, larger ones slide (vLLM's window_size).
   */
  public int window() {
    return window;
  }

  /** Which steps count. */
  public StageFilter stages() {
    return stages;
  }

  /**
   * Samples in flight from the main path to the heat scheduler before the main path starts
   * coalescing them.
   */
  public int queueCapacity() {
    return queueCapacity;
  }

  /** The window a step belongs to. */
  long windowOf(long step) {
    return step / interval;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HeatConfig c
        && layers == c.layers
        && localSlots == c.localSlots
        && interval == c.interval
        && window == c.window
        && stages == c.stages
        && queueCapacity == c.queueCapacity;
  }

  @Override
  public int hashCode() {
    return Objects.hash(layers, localSlots, interval, window, stages, queueCapacity);
  }

  @Override
  public String toString() {
    return "HeatConfig[layers="
        + layers
        + ", localSlots="
        + localSlots
        + ", interval="
        + interval
        + ", window="
        + window
        + ", stages="
        + stages
        + ", queueCapacity="
        + queueCapacity
        + "]";
  }

  /**
   * Collects a {@link HeatConfig}. {@code layers}, {@code localSlots} and {@code interval} must be
   * set. Defaults: a tumbling window (the interval), {@link StageFilter#ALL}, a queue of 1024
   * samples.
   */
  public static final class Builder {
    private int layers;
    private int localSlots;
    private int interval;
    private int window;
    private StageFilter stages = StageFilter.ALL;
    private int queueCapacity = 1024;

    private Builder() {}

    /** MoE layers, {@code >= 1}; required. */
    public Builder layers(int layers) {
      this.layers = layers;
      return this;
    }

    /** Physical expert slots on this rank, {@code >= 1}; required. */
    public Builder localSlots(int localSlots) {
      this.localSlots = localSlots;
      return this;
    }

    /** Steps between snapshots, {@code >= 1}; required. */
    public Builder interval(int interval) {
      this.interval = interval;
      return this;
    }

    /**
     * Steps a snapshot sums over, a multiple of the interval; 0 (the default) means the interval
     * itself, a tumbling window.
     */
    public Builder window(int window) {
      this.window = window;
      return this;
    }

    /** Which steps count; default {@link StageFilter#ALL}. */
    public Builder stages(StageFilter stages) {
      this.stages = Objects.requireNonNull(stages, "stages");
      return this;
    }

    /** Samples in flight to the heat scheduler, {@code >= 2}; default 1024. */
    public Builder queueCapacity(int queueCapacity) {
      this.queueCapacity = queueCapacity;
      return this;
    }

    /**
     * @throws IllegalArgumentException naming the field that is unset or out of range
     */
    public HeatConfig build() {
      if (layers < 1) {
        throw new IllegalArgumentException("layers must be >= 1, got " + layers);
      }
      if (localSlots < 1) {
        throw new IllegalArgumentException("localSlots must be >= 1, got " + localSlots);
      }
      if (interval < 1) {
        throw new IllegalArgumentException("interval must be >= 1 step, got " + interval);
      }
      int steps = window == 0 ? interval : window;
      if (steps < interval || steps % interval != 0) {
        throw new IllegalArgumentException(
            "window (" + steps + " steps) must be a multiple of the interval (" + interval + ")");
      }
      if (queueCapacity < 2) {
        throw new IllegalArgumentException("queueCapacity must be >= 2, got " + queueCapacity);
      }
      return new HeatConfig(this, steps);
    }
  }
}
