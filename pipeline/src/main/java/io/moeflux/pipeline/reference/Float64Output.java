package io.moeflux.pipeline.reference;

/**
 * The float64 result of one MoE block for a batch: the block's output (routed weighted sum plus the
 * shared part; no residual, no norm) and the routing that produced it.
 */
public final class Float64Output {
  private final int hidden;
  private final double[] hiddenStates;
  private final Float64Routing routing;

  Float64Output(int hidden, double[] hiddenStates, Float64Routing routing) {
    this.hidden = hidden;
    this.hiddenStates = hiddenStates;
    this.routing = routing;
  }

  public int tokens() {
    return routing.tokens();
  }

  public int hidden() {
    return hidden;
  }

  /** {@code tokens × hidden} values, row-major; a copy. */
  public double[] hiddenStates() {
    return hiddenStates.clone();
  }

  /** Element {@code i} (row-major) of the output. */
  public double at(int i) {
    return hiddenStates[i];
  }

  public Float64Routing routing() {
    return routing;
  }

  /** The root mean square of the output's elements (0 for an empty batch). */
  public double rms() {
    if (hiddenStates.length == 0) {
      return 0;
    }
    double sum = 0;
    for (double v : hiddenStates) {
      sum += v * v;
    }
    return Math.sqrt(sum / hiddenStates.length);
  }
}
