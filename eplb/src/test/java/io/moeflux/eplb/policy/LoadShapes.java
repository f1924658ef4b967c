package io.moeflux.eplb.policy;

import java.util.SplittableRandom;

/** Load matrices for the policy tests: random, Zipf-skewed, a few hot experts, and flat. */
enum LoadShapes {
  /** Uniform in [0, 100), one expert in five idle. */
  RANDOM {
    @Override
    double load(SplittableRandom random, int rank, int experts, double skew) {
      return random.nextInt(5) == 0 ? 0 : random.nextDouble() * 100;
    }
  },
  /** Zipf over a random order of the experts, exponent 0.5 to 1.5. */
  ZIPF {
    @Override
    double load(SplittableRandom random, int rank, int experts, double skew) {
      return 1000 / Math.pow(1 + rank, skew);
    }
  },
  /** Near-even loads with three experts 10 to 30 times hotter. */
  HOT {
    @Override
    double load(SplittableRandom random, int rank, int experts, double skew) {
      double base = 10 + random.nextDouble() * 10;
      return rank < 3 ? base * (10 + random.nextInt(21)) : base;
    }
  };

  abstract double load(SplittableRandom random, int rank, int experts, double skew);

  /** {@code [layers × experts]}, each layer with its own order of the experts. */
  double[][] matrix(long seed, int layers, int experts) {
    SplittableRandom random = new SplittableRandom(seed);
    double[][] load = new double[layers][experts];
    for (double[] layer : load) {
      double skew = 0.5 + random.nextDouble();
      int[] order = new int[experts];
      for (int e = 0; e < experts; e++) {
        order[e] = e;
      }
      for (int e = experts - 1; e > 0; e--) {
        int j = random.nextInt(e + 1);
        int t = order[e];
        order[e] = order[j];
        order[j] = t;
      }
      for (int e = 0; e < experts; e++) {
        layer[order[e]] = load(random, e, experts, skew);
      }
    }
    return load;
  }
}
