package io.moeflux.pipeline.workload;

import io.moeflux.pipeline.TokenBatch;
import java.util.SplittableRandom;
import reactor.core.publisher.Flux;

/**
 * Seeded token batches for verification, benchmarks and demos. Every (rank, step) gets its own
 * token count and its own hidden values in [-1, 1); the same seed gives the same batches in any
 * process, so separate rank processes can check themselves against the reference.
 */
public final class SyntheticWorkload {
  /** How many tokens a rank brings to a step. */
  @FunctionalInterface
  private interface CountRule {
    int tokens(SplittableRandom random);
  }

  private final long seed;
  private final int hidden;
  private final CountRule counts;
  private final double idleStepProbability;
  private final double prefillProbability;

  private SyntheticWorkload(
      long seed,
      int hidden,
      CountRule counts,
      double idleStepProbability,
      double prefillProbability) {
    if (hidden < 1) {
      throw new IllegalArgumentException("hidden must be >= 1, got " + hidden);
    }
    checkProbability("idleStepProbability", idleStepProbability);
    checkProbability("prefillProbability", prefillProbability);
    this.seed = seed;
    this.hidden = hidden;
    this.counts = counts;
    this.idleStepProbability = idleStepProbability;
    this.prefillProbability = prefillProbability;
  }

  /**
   * Counts drawn uniformly from {@code 0..maxTokens} per rank and step; with probability {@code
   * idleStepProbability} a step is idle on every rank at once.
   */
  public static SyntheticWorkload random(
      long seed, int hidden, int maxTokens, double idleStepProbability) {
    checkTokens(maxTokens);
    return new SyntheticWorkload(
        seed, hidden, random -> random.nextInt(maxTokens + 1), idleStepProbability, 0);
  }

  /** Every rank brings exactly {@code tokens} tokens to every step (benchmarks). */
  public static SyntheticWorkload full(long seed, int hidden, int tokens) {
    checkTokens(tokens);
    return new SyntheticWorkload(seed, hidden, random -> tokens, 0, 0);
  }

  /**
   * Speculative decoding: {@code requests} requests per rank, each bringing 1 + its accepted draft
   * tokens (0..{@code draftTokens}, drawn per request, rank and step), so counts differ per rank
   * every step and never exceed {@code requests × (1 + draftTokens)}.
   */
  public static SyntheticWorkload speculative(
      long seed, int hidden, int requests, int draftTokens) {
    checkTokens(requests);
    checkTokens(draftTokens);
    return new SyntheticWorkload(
        seed,
        hidden,
        random -> {
          int tokens = 0;
          for (int i = 0; i < requests; i++) {
            tokens += 1 + random.nextInt(draftTokens + 1);
          }
          return tokens;
        },
        0,
        0);
  }

  /** The same counts, with each (rank, step) a prefill batch with the given probability. */
  public SyntheticWorkload withPrefillProbability(double probability) {
    return new SyntheticWorkload(seed, hidden, counts, idleStepProbability, probability);
  }

  public int tokens(int rank, long step) {
    if (idleStepProbability > 0
        && new SplittableRandom(mix(seed, -1, step)).nextDouble() < idleStepProbability) {
      return 0;
    }
    return counts.tokens(new SplittableRandom(mix(seed, rank, step)));
  }

  public boolean prefill(int rank, long step) {
    return prefillProbability > 0
        && new SplittableRandom(mix(seed ^ 0x7F4A7C15L, rank, step)).nextDouble()
            < prefillProbability;
  }

  public TokenBatch batch(int rank, long step) {
    int tokens = tokens(rank, step);
    SplittableRandom random = new SplittableRandom(mix(seed ^ 0x5DEECE66DL, rank, step));
    float[] data = new float[tokens * hidden];
    for (int i = 0; i < data.length; i++) {
      data[i] = (float) (random.nextDouble() * 2 - 1);
    }
    return TokenBatch.of(step, tokens, hidden, data, prefill(rank, step));
  }

  /** Steps {@code first .. first+steps-1} of one rank, made lazily. */
  public Flux<TokenBatch> batches(int rank, long first, int steps) {
    return Flux.range(0, steps).map(i -> batch(rank, first + i));
  }

  private static void checkTokens(int tokens) {
    if (tokens < 0) {
      throw new IllegalArgumentException("token counts must be >= 0, got " + tokens);
    }
  }

  private static void checkProbability(String name, double p) {
    if (!(p >= 0 && p <= 1)) {
      throw new IllegalArgumentException(name + " must be in [0, 1], got " + p);
    }
  }

  private static long mix(long seed, long rank, long step) {
    long z =
        seed * 0x9E3779B97F4A7C15L + (rank + 1) * 0xBF58476D1CE4E5B9L + step * 0x94D049BB133111EBL;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
