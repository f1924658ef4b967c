package io.moeflux.eplb.heat;

import java.util.Objects;

/**
 * How heat is collected on one rank.
 *
 * @param layers MoE layers
 * @param localSlots physical expert slots on this rank
 * @param interval a snapshot every {@code interval} steps, at steps {@code k × interval - 1}
 *     (vllm-ascend's expert_heat_collection_interval)
 * @param window steps a snapshot sums over, a multiple of {@code interval}; {@code window ==
 *     interval} is a tumbling window, larger ones slide (vLLM's window_size)
 * @param stages which steps count
 * @param queueCapacity samples in flight from the main path to the heat scheduler before the main
 *     path starts coalescing them
 */
public record HeatConfig(
    int layers, int localSlots, int interval, int window, StageFilter stages, int queueCapacity) {

  public HeatConfig {
    Objects.requireNonNull(stages, "stages");
    if (layers < 1 || localSlots < 1) {
      throw new IllegalArgumentException(
          "layers and localSlots must be >= 1, got " + layers + " and " + localSlots);
    }
    if (interval < 1) {
      throw new IllegalArgumentException("interval must be >= 1 step, got " + interval);
    }
    if (window < interval || window % interval != 0) {
      throw new IllegalArgumentException(
          "window (" + window + " steps) must be a multiple of the interval (" + interval + ")");
    }
    if (queueCapacity < 2) {
      throw new IllegalArgumentException("queueCapacity must be >= 2, got " + queueCapacity);
    }
  }

  /** A tumbling window of {@code interval} steps, all stages, a queue of 1024 samples. */
  public static HeatConfig every(int layers, int localSlots, int interval) {
    return new HeatConfig(layers, localSlots, interval, interval, StageFilter.ALL, 1024);
  }

  public HeatConfig withWindow(int steps) {
    return new HeatConfig(layers, localSlots, interval, steps, stages, queueCapacity);
  }

  public HeatConfig withStages(StageFilter filter) {
    return new HeatConfig(layers, localSlots, interval, window, filter, queueCapacity);
  }

  public HeatConfig withQueueCapacity(int capacity) {
    return new HeatConfig(layers, localSlots, interval, window, stages, capacity);
  }

  /** The window a step belongs to. */
  long windowOf(long step) {
    return step / interval;
  }
}
