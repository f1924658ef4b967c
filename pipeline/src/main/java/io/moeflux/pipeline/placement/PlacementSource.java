package io.moeflux.pipeline.placement;

import org.jspecify.annotations.Nullable;

/**
 * Where a rank's new placements come from (the EPLB loop); given to a rank at start through {@link
 * io.moeflux.pipeline.RankExtensions}. Called on the main path at switch steps: implementations
 * answer from what they already have and never block.
 */
public interface PlacementSource {
  /** A source that never proposes anything. */
  PlacementSource NONE =
      new PlacementSource() {
        @Override
        public @Nullable PreparedPlacement preparedFor(long switchStep) {
          return null;
        }
      };

  /** The placement this rank is ready to switch to at {@code switchStep}, or null. */
  @Nullable PreparedPlacement preparedFor(long switchStep);

  /**
   * The outcome at a switch step: {@code applied} is the placement now in force, or null when the
   * old one stays (some rank was not ready, or ranks proposed different plans); {@code why} says
   * which.
   */
  default void switched(long step, @Nullable PreparedPlacement applied, String why) {}
}
