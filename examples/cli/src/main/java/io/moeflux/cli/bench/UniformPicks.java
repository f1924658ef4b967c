package io.moeflux.cli.bench;

/**
 * The routing of {@code bench experts} and of its torch peer ({@code
 * examples/baseline/experts_bench.py}), which must pick the same experts: a SplitMix64 stream from
 * the seed; per token, a partial Fisher-Yates shuffle of {@code 0 .. experts-1} picks {@code topK}
 * distinct experts ({@code j = k + next() mod (experts - k)}, unsigned), then {@code topK} weights
 * {@code ((next() >>> 40) + 1) / 2^24}, normalised to sum 1 in double precision.
 */
public final class UniformPicks {
  private final int tokens;
  private final int topK;
  private final int[] ids;
  private final float[] weights;

  public UniformPicks(long seed, int tokens, int experts, int topK) {
    if (tokens < 0 || experts < 1 || topK < 1 || topK > experts) {
      throw new IllegalArgumentException(
          "need tokens >= 0 and 1 <= topk <= experts, got tokens "
              + tokens
              + ", experts "
              + experts
              + ", topk "
              + topK);
    }
    this.tokens = tokens;
    this.topK = topK;
    this.ids = new int[tokens * topK];
    this.weights = new float[tokens * topK];
    long[] state = {seed};
    int[] order = new int[experts];
    double[] raw = new double[topK];
    for (int t = 0; t < tokens; t++) {
      for (int e = 0; e < experts; e++) {
        order[e] = e;
      }
      for (int k = 0; k < topK; k++) {
        int j = k + (int) Long.remainderUnsigned(next(state), experts - k);
        int swap = order[k];
        order[k] = order[j];
        order[j] = swap;
        ids[t * topK + k] = order[k];
      }
      double sum = 0;
      for (int k = 0; k < topK; k++) {
        raw[k] = ((next(state) >>> 40) + 1) / (double) (1 << 24);
        sum += raw[k];
      }
      for (int k = 0; k < topK; k++) {
        weights[t * topK + k] = (float) (raw[k] / sum);
      }
    }
  }

  /** SplitMix64: the state advances by the golden gamma, the output is its mixed value. */
  private static long next(long[] state) {
    long z = state[0] += 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  public int tokens() {
    return tokens;
  }

  public int topK() {
    return topK;
  }

  /**
   * {@code h = h * 31 + id} over every pick in order, modulo 2^32, unsigned: equal on both sides of
   * a comparison when both picked the same experts.
   */
  public long checksum() {
    int h = 0;
    for (int id : ids) {
      h = h * 31 + id;
    }
    return Integer.toUnsignedLong(h);
  }

  /** The expert of pick k of token t. */
  public int id(int t, int k) {
    return ids[t * topK + k];
  }

  /** The weight of pick k of token t. */
  public float weight(int t, int k) {
    return weights[t * topK + k];
  }
}
