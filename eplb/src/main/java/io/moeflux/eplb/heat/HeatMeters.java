package io.moeflux.eplb.heat;

/**
 * The heat stream's meters, tagged with {@code rank} (and {@code layer} for the per-layer ones).
 */
public enum HeatMeters {
  /** Counter: (step, layer) samples accepted from the main path. */
  SAMPLES("moeflux.heat.samples"),
  /** Counter: samples the main path coalesced because the heat scheduler was behind. */
  COALESCED("moeflux.heat.coalesced"),
  /** Counter: samples left out by the stage filter. */
  FILTERED("moeflux.heat.filtered"),
  /** Counter: tokens counted (rows received per expert slot, this rank). */
  TOKENS("moeflux.heat.tokens"),
  /** Counter: snapshots aggregated over the mesh. */
  SNAPSHOTS("moeflux.heat.snapshots"),
  /** Gauge per layer: mean/max of per-rank load in the latest snapshot. */
  BALANCEDNESS("moeflux.heat.balancedness"),
  /** Gauge per layer: max/mean of per-rank load in the latest snapshot. */
  PEAK_TO_AVERAGE("moeflux.heat.peak.to.average");

  private final String meterName;

  HeatMeters(String meterName) {
    this.meterName = meterName;
  }

  public String meterName() {
    return meterName;
  }
}
