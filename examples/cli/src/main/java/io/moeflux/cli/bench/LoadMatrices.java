package io.moeflux.cli.bench;

import java.util.SplittableRandom;

/**
 * Synthetic per-layer expert loads shaped like the routing statistics of real MoE models: every
 * expert's load is log-normal (most experts near the median, a long tail of hot ones), drawn
 * independently per layer from a seed.
 */
public final class LoadMatrices {
  private LoadMatrices() {}

  /**
   * {@code [layers × experts]} tokens per expert: {@code round(1000 × exp(sigma × z))} with z
   * standard normal.
   */
  public static double[][] logNormal(long seed, int layers, int experts, double sigma) {
    SplittableRandom random = new SplittableRandom(seed);
    double[][] load = new double[layers][experts];
    for (double[] layer : load) {
      for (int e = 0; e < experts; e++) {
        layer[e] = Math.round(1000 * Math.exp(sigma * gaussian(random)));
      }
    }
    return load;
  }

  /** A standard normal draw (Box-Muller), from two uniform draws. */
  private static double gaussian(SplittableRandom random) {
    double u = 1.0 - random.nextDouble();
    double v = random.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
