package io.moeflux.pipeline.placement;

import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.Placement;
import java.util.Objects;

/**
 * A placement whose expert weights this rank already holds: {@code localExperts[layer][slot]} for
 * this rank's slots under {@code placement}. Ready to switch to in one step.
 */
public record PreparedPlacement(Placement placement, ExpertFfn[][] localExperts) {

  public PreparedPlacement {
    Objects.requireNonNull(placement, "placement");
    Objects.requireNonNull(localExperts, "localExperts");
    if (localExperts.length != placement.layers()) {
      throw new IllegalArgumentException(
          "experts for " + localExperts.length + " layers, placement has " + placement.layers());
    }
    for (ExpertFfn[] layer : localExperts) {
      if (layer.length != placement.slotsPerRank()) {
        throw new IllegalArgumentException(
            "experts for " + layer.length + " slots, placement has " + placement.slotsPerRank());
      }
      for (ExpertFfn ffn : layer) {
        Objects.requireNonNull(ffn, "local expert");
      }
    }
  }
}
