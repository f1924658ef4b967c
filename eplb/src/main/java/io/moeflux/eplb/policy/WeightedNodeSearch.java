package io.moeflux.eplb.policy;

/**
 * The replicas of one node when each replica may take its own part of its expert's load: the search
 * of {@link NodeSearch}, with the weight of every replica a variable of its own. Every rank holds
 * exactly {@code k} replicas, never two of one expert; the weights of an expert's replicas sum to
 * its load.
 *
 * <p>It descends on the most loaded rank with four kinds of step: shift part of an expert's load
 * from the top rank to another replica of it; swap two replicas (with their loads) between ranks;
 * turn a slot on another rank into a new replica of an expert on the top rank and hand it part of
 * that expert's load (the slot's old expert passes its load to its least loaded other replica); and
 * free a slot on the top rank by passing an expert's load to its least loaded other replica, the
 * slot becoming an empty replica of another expert (a path for later shifts). A step is taken only
 * when every rank it touches ends below the old peak. Seeded perturbations restart the descent from
 * the best layout seen; budgets count steps.
 */
final class WeightedNodeSearch extends PeakDescent {
  private final double[] load;
  private final int experts;

  private final int[] count;
  private final int[] slot;
  private final double[] weight;
  private final int[] held;

  /** Per expert, the slot of its least loaded holder and of the next one (or -1). */
  private final int[] lightest;

  private final int[] bestSlot;
  private final double[] bestWeight;
  private double bestPeak = Double.MAX_VALUE;

  WeightedNodeSearch(double[] load, int ranks, int k, int[] layout, double[] weights) {
    super(ranks, k);
    this.load = load;
    this.experts = load.length;
    this.count = new int[experts];
    this.slot = new int[ranks * k];
    this.weight = new double[ranks * k];
    this.held = new int[ranks * experts];
    this.lightest = new int[2 * experts];
    this.bestSlot = new int[ranks * k];
    this.bestWeight = new double[ranks * k];
    restore(layout, weights);
    keepIfBest();
  }

  private void restore(int[] layout, double[] weights) {
    System.arraycopy(layout, 0, slot, 0, slot.length);
    System.arraycopy(weights, 0, weight, 0, weight.length);
    java.util.Arrays.fill(count, 0);
    java.util.Arrays.fill(held, 0);
    java.util.Arrays.fill(rankLoad, 0);
    for (int s = 0; s < slot.length; s++) {
      count[slot[s]]++;
      held[(s / k) * experts + slot[s]]++;
      rankLoad[s / k] += weight[s];
    }
  }

  @Override
  void keepIfBest() {
    double p = peak();
    if (p < bestPeak) {
      bestPeak = p;
      System.arraycopy(slot, 0, bestSlot, 0, slot.length);
      System.arraycopy(weight, 0, bestWeight, 0, weight.length);
    }
  }

  /** The best layout seen; a copy. */
  int[] bestLayout() {
    return bestSlot.clone();
  }

  /** The weights of the best layout seen; a copy. */
  double[] bestWeights() {
    return bestWeight.clone();
  }

  @Override
  void backToBest() {
    restore(bestSlot, bestWeight);
  }

  @Override
  boolean step() {
    int t = topRank();
    double peak = rankLoad[t];
    if (peak <= 0) {
      return false;
    }
    refreshLightest();
    int newcomer = newcomerFor(t);
    double best = peak * STRICT;
    int kind = -1;
    int bs = -1;
    int bq = -1;
    double bd = 0;
    for (int i = 0; i < k; i++) {
      int s = t * k + i;
      int a = slot[s];
      double xa = weight[s];
      // shift part of a's load to another of its replicas
      if (xa > 0 && count[a] > 1) {
        for (int q = 0; q < slot.length; q++) {
          if (slot[q] != a || q / k == t) {
            continue;
          }
          double other = rankLoad[q / k];
          double d = Math.min(xa, (peak - other) / 2);
          if (d <= 0) {
            continue;
          }
          double m = Math.max(peak - d, other + d);
          if (m < best) {
            best = m;
            kind = 0;
            bs = s;
            bq = q;
            bd = d;
          }
        }
      }
      for (int r = 0; r < ranks; r++) {
        if (r == t || held[r * experts + a] > 0) {
          continue;
        }
        for (int j = 0; j < k; j++) {
          int q = r * k + j;
          int b = slot[q];
          // swap a (with its load) for b
          if (weight[q] < xa && held[t * experts + b] == 0) {
            double m = Math.max(peak - xa + weight[q], rankLoad[r] + xa - weight[q]);
            if (m < best) {
              best = m;
              kind = 1;
              bs = s;
              bq = q;
            }
          }
          // slot q leaves b (its load to b's lightest other holder) for a new replica of a
          if (xa > 0 && count[b] > 1 && count[a] < ranks && held[t * experts + b] == 0) {
            int h = lightestExcept(b, r);
            double onR = rankLoad[r] - weight[q];
            double d = Math.min(xa, Math.max(0, (peak - onR) / 2));
            double m = Math.max(Math.max(peak - d, onR + d), rankLoad[h / k] + weight[q]);
            if (d > 0 && m < best) {
              best = m;
              kind = 2;
              bs = s;
              bq = q;
              bd = d;
            }
          }
        }
      }
      // free slot s: a's load to its lightest other holder, the slot an empty replica
      if (count[a] > 1) {
        int h = lightestExcept(a, t);
        double m = Math.max(peak - xa, rankLoad[h / k] + xa);
        if (m < best && newcomer >= 0) {
          best = m;
          kind = 3;
          bs = s;
          bq = h;
        }
      }
    }
    switch (kind) {
      case 0 -> shift(bs, bq, bd);
      case 1 -> swap(bs, bq);
      case 2 -> {
        int q = bq;
        int h = lightestExcept(slot[q], q / k);
        shift(q, h, weight[q]);
        reassign(q, slot[bs]);
        shift(bs, q, bd);
      }
      case 3 -> {
        shift(bs, bq, weight[bs]);
        reassign(bs, newcomer);
      }
      default -> {
        return false;
      }
    }
    return true;
  }

  /**
   * An expert rank {@code t} lacks, with room for a replica: the heaviest replica's expert on the
   * most loaded other rank, so a later shift can bring load to {@code t}; -1 when none.
   */
  private int newcomerFor(int t) {
    int pick = -1;
    double pickLoad = -1;
    double pickWeight = -1;
    for (int q = 0; q < slot.length; q++) {
      int r = q / k;
      int e = slot[q];
      if (r == t || held[t * experts + e] > 0 || count[e] >= ranks) {
        continue;
      }
      if (rankLoad[r] > pickLoad || (rankLoad[r] == pickLoad && weight[q] > pickWeight)) {
        pick = e;
        pickLoad = rankLoad[r];
        pickWeight = weight[q];
      }
    }
    return pick;
  }

  /** The slot of {@code e}'s least loaded holder other than rank {@code r}. */
  private int lightestExcept(int e, int r) {
    int first = lightest[2 * e];
    return first / k != r ? first : lightest[2 * e + 1];
  }

  private void refreshLightest() {
    java.util.Arrays.fill(lightest, -1);
    for (int q = 0; q < slot.length; q++) {
      int e = slot[q];
      double v = rankLoad[q / k];
      int first = lightest[2 * e];
      if (first < 0 || v < rankLoad[first / k]) {
        lightest[2 * e + 1] = first;
        lightest[2 * e] = q;
      } else if (lightest[2 * e + 1] < 0 || v < rankLoad[lightest[2 * e + 1] / k]) {
        lightest[2 * e + 1] = q;
      }
    }
  }

  private void shift(int from, int to, double amount) {
    weight[from] -= amount;
    weight[to] += amount;
    rankLoad[from / k] -= amount;
    rankLoad[to / k] += amount;
  }

  private void swap(int s, int q) {
    int a = slot[s];
    int b = slot[q];
    double xa = weight[s];
    double xb = weight[q];
    int rs = s / k;
    int rq = q / k;
    slot[s] = b;
    slot[q] = a;
    weight[s] = xb;
    weight[q] = xa;
    held[rs * experts + a]--;
    held[rs * experts + b]++;
    held[rq * experts + b]--;
    held[rq * experts + a]++;
    rankLoad[rs] += xb - xa;
    rankLoad[rq] += xa - xb;
  }

  /** Slot {@code q}, whose load is already 0, becomes an empty replica of {@code e}. */
  private void reassign(int q, int e) {
    int old = slot[q];
    int r = q / k;
    count[old]--;
    held[r * experts + old]--;
    count[e]++;
    held[r * experts + e]++;
    slot[q] = e;
  }

  @Override
  void perturb(SplitMix random, int strength) {
    if (ranks < 2) {
      return;
    }
    for (int n = 0; n < strength; n++) {
      int s = random.nextInt(slot.length);
      int q = random.nextInt(slot.length);
      int rs = s / k;
      int rq = q / k;
      int a = slot[s];
      int b = slot[q];
      if (rs != rq && a != b && held[rq * experts + a] == 0 && held[rs * experts + b] == 0) {
        swap(s, q);
      }
    }
  }
}
