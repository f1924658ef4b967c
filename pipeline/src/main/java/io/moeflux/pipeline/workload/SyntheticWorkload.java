package io.moeflux.pipeline.workload;

import io.moeflux.pipeline.TokenBatch;
import java.util.SplittableRandom;
import reactor.core.publisher.Flux;

/**
 * Seeded token batches for verification, benchmarks and demos: every (rank, step) gets its own
 * token count, drawn from {@code 0..maxTokens}, and its own hidden values in [-1, 1). With
 * probability {@code idleStepProbability} a step is idle on every rank at once. The same seed gives
 * the same batches in any process, so separate rank processes can check themselves against the
 * reference.
 */
public final class SyntheticWorkload {
  private final long seed;
  private final int hidden;
  private final int maxTokens;
  private final double idleStepProbability;
  private final boolean fullBatches;

  private SyntheticWorkload(
      long seed, int hidden, int maxTokens, double idleStepProbability, boolean fullBatches) {
    if (hidden < 1 || maxTokens < 0) {
      throw new IllegalArgumentException("hidden must be >= 1 and maxTokens >= 0");
    }
    if (idleStepProbability < 0 || idleStepProbability > 1) {
      throw new IllegalArgumentException("idleStepProbability must be in [0, 1]");
    }
    this.seed = seed;
    this.hidden = hidden;
    this.maxTokens = maxTokens;
    this.idleStepProbability = idleStepProbability;
    this.fullBatches = fullBatches;
  }

  /** Random counts in {@code 0..maxTokens} per rank and step, some steps idle everywhere. */
  public static SyntheticWorkload random(
      long seed, int hidden, int maxTokens, double idleStepProbability) {
    return new SyntheticWorkload(seed, hidden, maxTokens, idleStepProbability, false);
  }

  /** Every rank brings exactly {@code tokens} tokens to every step (benchmarks). */
  public static SyntheticWorkload full(long seed, int hidden, int tokens) {
    return new SyntheticWorkload(seed, hidden, tokens, 0, true);
  }

  public int tokens(int rank, long step) {
    if (fullBatches) {
      return maxTokens;
    }
    if (new SplittableRandom(mix(seed, -1, step)).nextDouble() < idleStepProbability) {
      return 0;
    }
    return new SplittableRandom(mix(seed, rank, step)).nextInt(maxTokens + 1);
  }

  public TokenBatch batch(int rank, long step) {
    int tokens = tokens(rank, step);
    SplittableRandom random = new SplittableRandom(mix(seed ^ 0x5DEECE66DL, rank, step));
    float[] data = new float[tokens * hidden];
    for (int i = 0; i < data.length; i++) {
      data[i] = (float) (random.nextDouble() * 2 - 1);
    }
    return TokenBatch.of(step, tokens, hidden, data);
  }

  /** Steps {@code first .. first+steps-1} of one rank, made lazily. */
  public Flux<TokenBatch> batches(int rank, long first, int steps) {
    return Flux.range(0, steps).map(i -> batch(rank, first + i));
  }

  private static long mix(long seed, long rank, long step) {
    long z = seed * 0x9E3779B97F4A7C15L + (rank + 1) * 0xBF58476D1CE4E5B9L + step * 0x94D049BB133111EBL;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
