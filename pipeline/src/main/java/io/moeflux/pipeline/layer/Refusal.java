package io.moeflux.pipeline.layer;

import java.util.Objects;

/**
 * Why this rank cannot run a step's batch, in words for the error every rank fails the step with.
 *
 * @param reason what is wrong, starting with the rank and step
 */
public record Refusal(String reason) {

  public Refusal {
    Objects.requireNonNull(reason, "reason");
  }
}
