package io.moeflux.pipeline.model;

import java.util.Locale;
import java.util.Objects;

/**
 * The weight memory one rank holds under a placement, in the stored precision: its routed expert
 * slots (replicas included), a copy of every layer's shared expert, and every layer's router.
 * Computed from the model's shapes and the placement, before or without loading anything.
 *
 * @param rank the rank
 * @param layers MoE layers
 * @param routedSlots routed expert slots this rank holds over all layers
 * @param routedBytes their bytes
 * @param sharedBytes the shared experts' bytes (every rank holds a copy)
 * @param routerBytes the routers' bytes
 */
public record MemoryReport(
    int rank, int layers, int routedSlots, long routedBytes, long sharedBytes, long routerBytes) {

  /** What {@code rank} holds of {@code model} under {@code placement}. */
  public static MemoryReport of(MoeModel model, Placement placement, int rank) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(placement, "placement");
    Objects.checkIndex(rank, placement.ranks());
    long routed = 0;
    long shared = 0;
    long routers = 0;
    for (int layer = 0; layer < model.layers(); layer++) {
      routed += placement.slotsPerRank() * model.expertBytes(layer);
      shared += model.sharedExpertBytes(layer);
      routers += model.routerBytes(layer);
    }
    return new MemoryReport(
        rank, model.layers(), placement.slotsPerRank() * model.layers(), routed, shared, routers);
  }

  public long totalBytes() {
    return routedBytes + sharedBytes + routerBytes;
  }

  /**
   * {@code rank 1: 24 routed expert slots 36.0 MiB + shared experts 0 B + routers 1.0 MiB = 37.0
   * MiB}.
   */
  public String describe() {
    return "rank "
        + rank
        + ": "
        + routedSlots
        + " routed expert slots "
        + bytes(routedBytes)
        + " + shared experts "
        + bytes(sharedBytes)
        + " + routers "
        + bytes(routerBytes)
        + " = "
        + bytes(totalBytes());
  }

  /** {@code 512 B}, {@code 3.5 KiB}, {@code 1.2 GiB}. */
  public static String bytes(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double value = bytes;
    int unit = -1;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
  }
}
