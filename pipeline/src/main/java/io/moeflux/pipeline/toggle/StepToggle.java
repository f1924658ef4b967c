package io.moeflux.pipeline.toggle;

/**
 * Whether something is on at a step, decided from the step id alone: every rank computes the same
 * answer for the same step, so all ranks switch together without exchanging a frame (as placement
 * switches do). Used for run-time A/B comparisons within one running group: the DP metadata skip
 * ({@link io.moeflux.pipeline.sync.SyncOptions.Builder#skipSteps}) and the heat tap ({@link
 * io.moeflux.pipeline.PipelineConfig.Builder#heatSteps}).
 *
 * <p>{@link #always()} is on at every step. {@link #abba(int)} cuts the steps into blocks of {@code
 * blockSteps} from step 0 and turns the thing off in blocks 0, 3, 4, 7, 8, … and on in blocks 1, 2,
 * 5, 6, …: the order A B B A A B B A, so that a drift over time falls on both sides alike.
 *
 * <p>Immutable; two toggles are equal when they switch at the same steps. {@link #toString()} is
 * stable: the handshake compares it.
 */
public final class StepToggle {
  private static final StepToggle ALWAYS = new StepToggle(0);

  /** Block length in steps; 0 for {@link #always()}. */
  private final int blockSteps;

  private StepToggle(int blockSteps) {
    this.blockSteps = blockSteps;
  }

  /** On at every step. */
  public static StepToggle always() {
    return ALWAYS;
  }

  /**
   * Off and on in blocks of {@code blockSteps} steps, in the order A B B A (off, on, on, off),
   * repeated from step 0.
   *
   * @throws IllegalArgumentException when {@code blockSteps < 1}
   */
  public static StepToggle abba(int blockSteps) {
    if (blockSteps < 1) {
      throw new IllegalArgumentException("blockSteps must be >= 1, got " + blockSteps);
    }
    return new StepToggle(blockSteps);
  }

  /** Whether the thing is on at {@code step}. */
  public boolean isOn(long step) {
    if (blockSteps == 0) {
      return true;
    }
    long position = Math.floorMod(block(step), 4L);
    return position == 1 || position == 2;
  }

  /** The block {@code step} falls in (0 for {@link #always()}). */
  public long block(long step) {
    return blockSteps == 0 ? 0 : Math.floorDiv(step, blockSteps);
  }

  /** Steps per block; 0 for {@link #always()}. */
  public int blockSteps() {
    return blockSteps;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StepToggle t && blockSteps == t.blockSteps;
  }

  @Override
  public int hashCode() {
    return blockSteps;
  }

  @Override
  public String toString() {
    return blockSteps == 0 ? "always" : "abba/" + blockSteps;
  }
}
