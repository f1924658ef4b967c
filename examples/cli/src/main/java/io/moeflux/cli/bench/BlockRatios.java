package io.moeflux.cli.bench;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The median of per-block ratios (B over A, one per pair of adjacent blocks with the same work),
 * with a percentile-bootstrap confidence interval: the blocks are resampled with replacement, and
 * the interval holds the middle {@code confidence} of the resampled medians. The resampling is
 * seeded, so the same ratios give the same interval.
 */
public final class BlockRatios {
  private static final int RESAMPLES = 4000;

  private final double median;
  private final double low;
  private final double high;
  private final int blocks;

  private BlockRatios(double median, double low, double high, int blocks) {
    this.median = median;
    this.low = low;
    this.high = high;
    this.blocks = blocks;
  }

  /**
   * @param ratios one ratio per pair of blocks, at least one
   * @param confidence the interval's coverage, in (0, 1), for example 0.95
   */
  public static BlockRatios of(double[] ratios, double confidence) {
    if (ratios.length == 0) {
      throw new IllegalArgumentException("no block ratio to summarise");
    }
    if (!(confidence > 0 && confidence < 1)) {
      throw new IllegalArgumentException("confidence must be in (0, 1), got " + confidence);
    }
    SplittableRandom random = new SplittableRandom(ratios.length);
    double[] medians = new double[RESAMPLES];
    double[] resample = new double[ratios.length];
    for (int i = 0; i < RESAMPLES; i++) {
      for (int j = 0; j < resample.length; j++) {
        resample[j] = ratios[random.nextInt(ratios.length)];
      }
      medians[i] = median(resample);
    }
    Arrays.sort(medians);
    double tail = (1 - confidence) / 2;
    int lowIndex = (int) Math.floor(tail * (RESAMPLES - 1));
    int highIndex = (int) Math.ceil((1 - tail) * (RESAMPLES - 1));
    return new BlockRatios(
        median(ratios.clone()), medians[lowIndex], medians[highIndex], ratios.length);
  }

  /**
   * Sorts {@code values} and returns their median (the mean of the middle two for an even count).
   */
  private static double median(double[] values) {
    Arrays.sort(values);
    int n = values.length;
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  }

  /** The median of the per-block ratios. */
  public double median() {
    return median;
  }

  /** The interval's lower end. */
  public double low() {
    return low;
  }

  /** The interval's upper end. */
  public double high() {
    return high;
  }

  /** How many block ratios there were. */
  public int blocks() {
    return blocks;
  }
}
