package io.moeflux.pipeline;

import java.util.Arrays;
import java.util.Objects;

/**
 * One rank's tokens for one step: {@code tokens} rows of {@code hidden} float32 values, row-major.
 * A batch may be empty (0 tokens): the rank still takes part in the step.
 *
 * <p>{@link #data()} holds the hidden states, row-major; readers do not modify it. After the
 * pipeline, {@link #topkIds()} and {@link #topkWeights()} hold the last MoE layer's routing ({@code
 * tokens × topK}, logical expert ids and gate weights); on input they are empty.
 *
 * <p>The arrays are owned by the batch: the pipeline never writes into a batch it was given and
 * never keeps a reference to one it returned. Two batches are equal when they hold the same arrays
 * (a record compares arrays by reference); {@link #sameHiddenAs} compares contents.
 */
public record TokenBatch(
    long step,
    int tokens,
    int hidden,
    float[] data,
    boolean prefill,
    int[] topkIds,
    float[] topkWeights) {
  private static final int[] NO_IDS = new int[0];
  private static final float[] NO_WEIGHTS = new float[0];

  /**
   * A batch with every field given; a pipeline output ({@code topkIds} and {@code topkWeights} the
   * last layer's routing) is made this way. The arrays become owned by the batch.
   *
   * @throws IllegalArgumentException naming the field that is out of range or the wrong length
   */
  public TokenBatch {
    if (step < 0) {
      throw new IllegalArgumentException("step must be >= 0, got " + step);
    }
    if (tokens < 0) {
      throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
    }
    if (hidden < 1) {
      throw new IllegalArgumentException("hidden must be >= 1, got " + hidden);
    }
    Objects.requireNonNull(data, "data");
    if ((long) tokens * hidden != data.length) {
      throw new IllegalArgumentException(
          "data has " + data.length + " floats, expected tokens*hidden = " + tokens + "*" + hidden);
    }
    if (topkIds.length != topkWeights.length) {
      throw new IllegalArgumentException("topkIds and topkWeights differ in length");
    }
  }

  /** A decode batch; {@code data} becomes owned by the batch. */
  public static TokenBatch of(long step, int tokens, int hidden, float[] data) {
    return new TokenBatch(step, tokens, hidden, data, false, NO_IDS, NO_WEIGHTS);
  }

  /** A batch with an explicit stage; {@code data} becomes owned by the batch. */
  public static TokenBatch of(long step, int tokens, int hidden, float[] data, boolean prefill) {
    return new TokenBatch(step, tokens, hidden, data, prefill, NO_IDS, NO_WEIGHTS);
  }

  /** An empty batch: this rank has no tokens this step but still takes part. */
  public static TokenBatch empty(long step, int hidden) {
    return of(step, 0, hidden, NO_WEIGHTS);
  }

  @Override
  public String toString() {
    return "TokenBatch{step="
        + step
        + ", tokens="
        + tokens
        + ", hidden="
        + hidden
        + (prefill ? ", prefill" : "")
        + "}";
  }

  /** Same step, shape and bitwise-identical hidden states. */
  public boolean sameHiddenAs(TokenBatch other) {
    return step == other.step
        && tokens == other.tokens
        && hidden == other.hidden
        && Arrays.equals(data, other.data);
  }
}
