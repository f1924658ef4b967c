package io.moeflux.pipeline.model;

import io.moeflux.pipeline.kernel.PackedExpert;
import java.util.Objects;

/**
 * The three SwiGLU matrices of one (layer, logical expert), float32, row-major: {@code gate} and
 * {@code up} are {@code hidden x intermediate}, {@code down} is {@code intermediate x hidden}.
 * Immutable once built, so any number of ranks and threads may share one instance.
 */
public final class ExpertWeights {
  private static final long WEIGHTS_DOMAIN = 0x5745494748545331L;
  private static final int GATE = 0;
  private static final int UP = 1;
  private static final int DOWN = 2;

  private final int hidden;
  private final int intermediate;
  private final float[] gate;
  private final float[] up;
  private final float[] down;

  private ExpertWeights(int hidden, int intermediate, float[] gate, float[] up, float[] down) {
    this.hidden = hidden;
    this.intermediate = intermediate;
    this.gate = gate;
    this.up = up;
    this.down = down;
  }

  /**
   * The weights of {@code logicalExpert} in {@code layer}: a pure function of (seed, layer,
   * expert), uniform in {@code (-a, a)} with {@code a = 1/sqrt(fan_in)} so activations stay of
   * order one.
   */
  public static ExpertWeights generate(ModelConfig c, int layer, int logicalExpert) {
    Objects.requireNonNull(c, "c");
    Objects.checkIndex(layer, c.layers());
    Objects.checkIndex(logicalExpert, c.experts());
    int h = c.hidden();
    int i = c.intermediate();
    long expertKey =
        CounterBasedRandom.key(
            CounterBasedRandom.key(CounterBasedRandom.key(c.seed(), WEIGHTS_DOMAIN), layer),
            logicalExpert);
    float inScale = (float) (1.0 / Math.sqrt(h));
    float outScale = (float) (1.0 / Math.sqrt(i));
    return new ExpertWeights(
        h,
        i,
        fill(CounterBasedRandom.key(expertKey, GATE), h * i, inScale),
        fill(CounterBasedRandom.key(expertKey, UP), h * i, inScale),
        fill(CounterBasedRandom.key(expertKey, DOWN), i * h, outScale));
  }

  private static float[] fill(long key, int length, float amplitude) {
    float[] values = new float[length];
    for (int n = 0; n < length; n++) {
      values[n] = CounterBasedRandom.symmetric(key, n, amplitude);
    }
    return values;
  }

  /** The float32 weights a kernel packed, read back (exact: nothing was rounded). */
  static ExpertWeights of(PackedExpert packed) {
    int h = packed.hidden();
    int n = packed.intermediate();
    float[] gate = new float[h * n];
    float[] up = new float[h * n];
    float[] down = new float[n * h];
    for (int i = 0; i < h; i++) {
      for (int j = 0; j < n; j++) {
        gate[i * n + j] = packed.weight(PackedExpert.Matrix.GATE, j, i);
        up[i * n + j] = packed.weight(PackedExpert.Matrix.UP, j, i);
        down[j * h + i] = packed.weight(PackedExpert.Matrix.DOWN, i, j);
      }
    }
    return new ExpertWeights(h, n, gate, up, down);
  }

  /**
   * Weights read back from {@code src} as written by {@link #copyTo}: gate, up, down concatenated.
   * Used to receive migrated weights bit for bit.
   */
  public static ExpertWeights copyOf(int hidden, int intermediate, float[] src, int offset) {
    Objects.requireNonNull(src, "src");
    if (hidden < 1 || intermediate < 1) {
      throw new IllegalArgumentException(
          "hidden and intermediate must be >= 1, got " + hidden + " and " + intermediate);
    }
    long count = 3L * hidden * intermediate;
    if (count > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("3 * hidden * intermediate does not fit in an array");
    }
    Objects.checkFromIndexSize(offset, (int) count, src.length);
    int n = hidden * intermediate;
    float[] gate = new float[n];
    float[] up = new float[n];
    float[] down = new float[n];
    System.arraycopy(src, offset, gate, 0, n);
    System.arraycopy(src, offset + n, up, 0, n);
    System.arraycopy(src, offset + 2 * n, down, 0, n);
    return new ExpertWeights(hidden, intermediate, gate, up, down);
  }

  public int hidden() {
    return hidden;
  }

  public int intermediate() {
    return intermediate;
  }

  /** {@code 3 * hidden * intermediate}: the length {@link #copyTo} writes. */
  public int floatCount() {
    return gate.length + up.length + down.length;
  }

  /** Writes gate, up and down, concatenated, into {@code dst} from {@code offset}. */
  public void copyTo(float[] dst, int offset) {
    Objects.requireNonNull(dst, "dst");
    Objects.checkFromIndexSize(offset, floatCount(), dst.length);
    System.arraycopy(gate, 0, dst, offset, gate.length);
    System.arraycopy(up, 0, dst, offset + gate.length, up.length);
    System.arraycopy(down, 0, dst, offset + gate.length + up.length, down.length);
  }

  /** Same shape and the same bits in every weight (NaN payloads included). */
  public boolean sameBits(ExpertWeights o) {
    Objects.requireNonNull(o, "o");
    return hidden == o.hidden
        && intermediate == o.intermediate
        && sameBits(gate, o.gate)
        && sameBits(up, o.up)
        && sameBits(down, o.down);
  }

  private static boolean sameBits(float[] a, float[] b) {
    for (int n = 0; n < a.length; n++) {
      if (Float.floatToRawIntBits(a[n]) != Float.floatToRawIntBits(b[n])) {
        return false;
      }
    }
    return true;
  }

  /** Row-major {@code hidden x intermediate}; shared, never written. */
  float[] gate() {
    return gate;
  }

  /** Row-major {@code hidden x intermediate}; shared, never written. */
  float[] up() {
    return up;
  }

  /** Row-major {@code intermediate x hidden}; shared, never written. */
  float[] down() {
    return down;
  }

  @Override
  public String toString() {
    return "ExpertWeights{hidden=" + hidden + ", intermediate=" + intermediate + "}";
  }
}
