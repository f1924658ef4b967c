package io.moeflux.eplb.policy;

/**
 * Iterated local search on the most loaded rank of one node, the part {@link NodeSearch} and {@link
 * WeightedNodeSearch} share: descend until no step lowers the top rank, then, while steps remain,
 * go back to the best layout seen, perturb it from a seeded generator and descend again. Budgets
 * count steps, so a search depends only on its inputs and its seed.
 */
abstract class PeakDescent {
  /** A step must bring every rank it touches below the old peak by at least this factor. */
  static final double STRICT = 1 - 1e-12;

  final int ranks;
  final int k;
  final double[] rankLoad;
  private long steps;

  PeakDescent(int ranks, int k) {
    this.ranks = ranks;
    this.k = k;
    this.rankLoad = new double[ranks];
  }

  /** Descends, then up to {@code restarts} perturbed restarts, within {@code maxSteps} steps. */
  final void run(long maxSteps, int restarts, long seed) {
    SplitMix random = new SplitMix(seed);
    long limit = steps + maxSteps;
    descend(limit);
    keepIfBest();
    for (int restart = 0; restart < restarts && steps < limit; restart++) {
      backToBest();
      perturb(random, 1 + restart % Math.max(1, k));
      descend(limit);
      keepIfBest();
    }
    backToBest();
  }

  private void descend(long limit) {
    while (steps < limit && step()) {
      steps++;
    }
  }

  /** The most loaded rank (the lowest index among equals). */
  final int topRank() {
    int t = 0;
    for (int r = 1; r < ranks; r++) {
      if (rankLoad[r] > rankLoad[t]) {
        t = r;
      }
    }
    return t;
  }

  final double peak() {
    return rankLoad[topRank()];
  }

  /** Takes the best step off the most loaded rank; false at a local optimum. */
  abstract boolean step();

  /** Remembers the layout now when it is the best seen. */
  abstract void keepIfBest();

  /** Puts the best layout seen back in place. */
  abstract void backToBest();

  /** Random changes that keep every rank free of two replicas of one expert. */
  abstract void perturb(SplitMix random, int strength);
}
