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
 * <p>A batch for a checkpoint model, which runs one MoE layer per step, may name that layer ({@link
 * #atLayer}, a decoder-layer index); a batch that names another layer than the one its step runs is
 * refused. {@link #ANY_LAYER} (the default) takes the step's layer; outputs name the layer they
 * ran.
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
    float[] topkWeights,
    int layer) {
  /** The layer of a batch that names none: the step decides. */
  public static final int ANY_LAYER = -1;

  private static final int[] NO_IDS = new int[0];
  private static final float[] NO_WEIGHTS = new float[0];

  /**
   * A batch with every field given; a pipeline output ({@code topkIds} and {@code topkWeights} the
   * last layer's routing, {@code layer} the decoder layer it ran or {@link #ANY_LAYER}) is made
   * this way. The arrays become owned by the batch.
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
    if (layer < ANY_LAYER) {
      throw new IllegalArgumentException("layer must be >= 0 (or ANY_LAYER), got " + layer);
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

  /** A batch that names no layer ({@link #ANY_LAYER}), every other field given. */
  public TokenBatch(
      long step,
      int tokens,
      int hidden,
      float[] data,
      boolean prefill,
      int[] topkIds,
      float[] topkWeights) {
    this(step, tokens, hidden, data, prefill, topkIds, topkWeights, ANY_LAYER);
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

  /**
   * This batch naming decoder layer {@code layer} ({@link #ANY_LAYER}: none); the arrays are
   * shared, as the batch owns them and never writes them.
   */
  public TokenBatch atLayer(int layer) {
    return new TokenBatch(step, tokens, hidden, data, prefill, topkIds, topkWeights, layer);
  }

  @Override
  public String toString() {
    return "TokenBatch{step="
        + step
        + (layer == ANY_LAYER ? "" : ", layer=" + layer)
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
