package io.moeflux.pipeline.model;

/**
 * A counter-based generator: the value at any index of a stream is a pure function of (key, index),
 * so weights can be generated in any order, in parallel, on any rank, and always agree to the bit.
 * The mixing function is the SplitMix64 finaliser.
 */
public final class CounterBasedRandom {
  private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;
  private static final float UNIT_24 = 0x1.0p-24f;

  private CounterBasedRandom() {}

  /** SplitMix64's finaliser: a bijective 64-bit avalanche mix. */
  public static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  /** A stream key derived from a parent key and one more coordinate. */
  public static long key(long parent, long coordinate) {
    return mix(parent + GOLDEN_GAMMA * (coordinate + 1));
  }

  /** The 64 random bits at {@code index} of the stream {@code key}: SplitMix64 seeked to index. */
  public static long bits(long key, long index) {
    return mix(key + GOLDEN_GAMMA * (index + 1));
  }

  /** Uniform in {@code [0, 1)} with 24 random bits: exact in float. */
  public static float unit(long key, long index) {
    return (bits(key, index) >>> 40) * UNIT_24;
  }

  /** Uniform in {@code [-amplitude, amplitude)}. */
  public static float symmetric(long key, long index, float amplitude) {
    return (2f * unit(key, index) - 1f) * amplitude;
  }

  /**
   * Uniform in {@code [0, bound)}, by the multiply-shift method (bias below 2^-32 for small
   * bounds).
   */
  public static int below(long key, long index, int bound) {
    return (int) (((bits(key, index) >>> 32) * bound) >>> 32);
  }
}
