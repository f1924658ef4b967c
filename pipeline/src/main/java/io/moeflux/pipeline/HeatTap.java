package io.moeflux.pipeline;

/**
 * Where dispatch hands expert heat; given to a rank at start through {@link RankExtensions}. Called
 * on the main path once per (step, layer), right after the dispatch phase has grouped this rank's
 * received rows per local physical expert slot.
 *
 * <p>Implementations must not block and must not keep the caller waiting: the main path never waits
 * for the heat stream (DESIGN.md invariant 5).
 *
 * <p><b>Ownership.</b> {@code countsPerLocalSlot} is lent for the duration of the call only: the
 * pipeline reuses the array for the next layer as soon as the call returns. A tap that keeps the
 * counts copies them (into a buffer of its own, or an immutable value) before it returns; nothing
 * it hands elsewhere may refer to the caller's array.
 *
 * <p>{@link #onDispatch} is called at the steps {@link PipelineConfig#heatSteps()} has on; {@link
 * #onStepEnd} at every step, so windows cut by step id stay the same on every rank.
 */
public interface HeatTap {
  /** A tap that records nothing. */
  HeatTap NONE =
      new HeatTap() {
        @Override
        public void onDispatch(long step, int layer, boolean prefill, int[] countsPerLocalSlot) {}
      };

  /**
   * @param step the step id
   * @param layer the MoE layer
   * @param prefill whether the step is a prefill step (for the stage filter)
   * @param countsPerLocalSlot rows received by each of this rank's physical expert slots, index =
   *     local slot (0 .. slotsPerRank-1); valid only during the call
   */
  void onDispatch(long step, int layer, boolean prefill, int[] countsPerLocalSlot);

  /** Called once per step after its last layer, on the main path; must not block. */
  default void onStepEnd(long step) {}
}
