package io.moeflux.eplb.policy;

/**
 * The replicas of one node, searched together: how many replicas each expert gets and which rank
 * holds each. Every rank holds exactly {@code k} replicas, never two of one expert, and a replica
 * of expert e carries {@code load[e] / count[e]}.
 *
 * <p>The search starts from longest-processing-time packing (or from a given layout) and descends
 * on the most loaded rank with three kinds of step: a swap of two replicas between ranks; a move of
 * a slot on the top rank from an expert that has other replicas to another expert; and a move of a
 * slot on another rank to a new replica of an expert on the top rank, which lightens every replica
 * of that expert. A step is taken only when every rank it touches ends below the old peak, so the
 * sorted rank loads fall at every step. At a local optimum a seeded perturbation restarts the
 * descent from the best layout seen. Budgets count descent steps, so the result depends only on the
 * inputs and the seed.
 */
final class NodeSearch extends PeakDescent {
  private final double[] load;
  private final int experts;

  private final int[] count;
  private final int[] slot;
  private final int[] held;

  /** Per expert, its three most loaded holders (or -1), refreshed every descent step. */
  private final int[] top;

  private final int[] bestSlot;
  private double bestPeak = Double.MAX_VALUE;

  private NodeSearch(double[] load, int ranks, int k) {
    super(ranks, k);
    this.load = load;
    this.experts = load.length;
    this.count = new int[experts];
    this.slot = new int[ranks * k];
    this.held = new int[ranks * experts];
    this.top = new int[3 * experts];
    this.bestSlot = new int[ranks * k];
  }

  /**
   * Replica counts by DeepSeek's rule (one at a time to the highest load per replica, at most one
   * per rank), packed largest first onto the least loaded rank that has room and lacks the expert.
   */
  static NodeSearch greedy(double[] load, int ranks, int k) {
    NodeSearch search = new NodeSearch(load, ranks, k);
    int n = load.length;
    int[] count = new int[n];
    java.util.Arrays.fill(count, 1);
    for (int extra = n; extra < ranks * k; extra++) {
      int best = -1;
      for (int e = 0; e < n; e++) {
        if (count[e] < ranks && (best < 0 || load[e] * count[best] > load[best] * count[e])) {
          best = e;
        }
      }
      count[best]++;
    }
    int items = ranks * k;
    int[] expertOf = new int[items];
    double[] weight = new double[items];
    int item = 0;
    for (int e = 0; e < n; e++) {
      for (int c = 0; c < count[e]; c++) {
        expertOf[item] = e;
        weight[item] = load[e] / count[e];
        item++;
      }
    }
    Integer[] order = DeepSeekPolicy.descending(weight);
    int[] filled = new int[ranks];
    int[] layout = new int[items];
    double[] packed = new double[ranks];
    boolean[] holds = new boolean[ranks * n];
    for (int it : order) {
      int e = expertOf[it];
      int pick = -1;
      boolean pickClashes = true;
      for (int r = 0; r < ranks; r++) {
        if (filled[r] == k) {
          continue;
        }
        boolean clashes = holds[r * n + e];
        if (pick < 0
            || (pickClashes && !clashes)
            || (clashes == pickClashes && packed[r] < packed[pick])) {
          pick = r;
          pickClashes = clashes;
        }
      }
      layout[pick * k + filled[pick]++] = e;
      packed[pick] += weight[it];
      holds[pick * n + e] = true;
    }
    search.load(layout);
    return search;
  }

  /** Starts from {@code layout} ({@code [rank * k + i]} = node-local expert). */
  static NodeSearch from(double[] load, int ranks, int k, int[] layout) {
    NodeSearch search = new NodeSearch(load, ranks, k);
    search.load(layout);
    return search;
  }

  private void load(int[] layout) {
    java.util.Arrays.fill(count, 0);
    java.util.Arrays.fill(held, 0);
    System.arraycopy(layout, 0, slot, 0, slot.length);
    for (int e : layout) {
      count[e]++;
    }
    for (int r = 0; r < ranks; r++) {
      for (int i = 0; i < k; i++) {
        held[r * experts + slot[r * k + i]]++;
      }
    }
    for (int e = 0; e < experts; e++) {
      if (count[e] == 0) {
        throw new IllegalArgumentException("layout has no replica of node expert " + e);
      }
    }
    recomputeLoads();
    resolveDuplicates();
    keepIfBest();
  }

  private double weight(int e) {
    return load[e] / count[e];
  }

  private void recomputeLoads() {
    for (int r = 0; r < ranks; r++) {
      double sum = 0;
      for (int i = 0; i < k; i++) {
        sum += weight(slot[r * k + i]);
      }
      rankLoad[r] = sum;
    }
  }

  double bestPeak() {
    return bestPeak;
  }

  /** The best layout seen, {@code [rank * k + i]} = node-local expert; a copy. */
  int[] bestLayout() {
    return bestSlot.clone();
  }

  /** The layout now; a copy. */
  int[] layout() {
    return slot.clone();
  }

  @Override
  void keepIfBest() {
    recomputeLoads();
    double p = peak();
    if (p < bestPeak) {
      bestPeak = p;
      System.arraycopy(slot, 0, bestSlot, 0, slot.length);
    }
  }

  @Override
  void backToBest() {
    load(bestSlot.clone());
  }

  @Override
  boolean step() {
    int t = topRank();
    double peak = rankLoad[t];
    if (peak <= 0) {
      return false;
    }
    refreshTopHolders();
    double best = peak * STRICT;
    int kind = -1;
    int bi = -1;
    int br = -1;
    int bj = -1;
    int bx = -1;
    // swaps: a on t for a lighter b on r
    for (int i = 0; i < k; i++) {
      int a = slot[t * k + i];
      double wa = weight(a);
      for (int r = 0; r < ranks; r++) {
        if (r == t || held[r * experts + a] > 0) {
          continue;
        }
        for (int j = 0; j < k; j++) {
          int b = slot[r * k + j];
          double wb = weight(b);
          if (wb >= wa || held[t * experts + b] > 0) {
            continue;
          }
          double m = Math.max(peak - wa + wb, rankLoad[r] + wa - wb);
          if (m < best) {
            best = m;
            kind = 0;
            bi = i;
            br = r;
            bj = j;
          }
        }
      }
    }
    // the top rank gives a slot of a (which has other replicas) to a new replica of x
    for (int i = 0; i < k; i++) {
      int a = slot[t * k + i];
      if (count[a] < 2) {
        continue;
      }
      double gain = load[a] / (count[a] - 1) - weight(a);
      int other = topHolderExcept(a, t, t);
      double othersMax = other < 0 ? 0 : rankLoad[other] + gain;
      if (othersMax >= best) {
        continue;
      }
      double base = peak - weight(a);
      for (int x = 0; x < experts; x++) {
        if (held[t * experts + x] > 0 || count[x] >= ranks) {
          continue;
        }
        double m = Math.max(base + load[x] / (count[x] + 1), othersMax);
        if (m < best) {
          best = m;
          kind = 1;
          bi = i;
          bx = x;
        }
      }
    }
    // another rank gives a slot of g (which has other replicas) to a new replica of a, on top
    for (int i = 0; i < k; i++) {
      int a = slot[t * k + i];
      if (count[a] >= ranks) {
        continue;
      }
      double newWeight = load[a] / (count[a] + 1);
      double drop = weight(a) - newWeight;
      for (int r = 0; r < ranks; r++) {
        if (r == t || held[r * experts + a] > 0) {
          continue;
        }
        for (int j = 0; j < k; j++) {
          int g = slot[r * k + j];
          if (count[g] < 2) {
            continue;
          }
          double gain = load[g] / (count[g] - 1) - weight(g);
          double onTop = peak - drop + (held[t * experts + g] > 0 ? gain : 0);
          double onR = rankLoad[r] - weight(g) + newWeight;
          int other = topHolderExcept(g, r, t);
          double m = Math.max(onTop, onR);
          if (other >= 0) {
            m = Math.max(m, rankLoad[other] + gain);
          }
          if (m < best) {
            best = m;
            kind = 2;
            bi = i;
            br = r;
            bj = j;
          }
        }
      }
    }
    switch (kind) {
      case 0 -> swap(t, bi, br, bj);
      case 1 -> replace(t, bi, bx);
      case 2 -> replace(br, bj, slot[t * k + bi]);
      default -> {
        return false;
      }
    }
    return true;
  }

  /** The most loaded holder of {@code e} other than {@code x1} and {@code x2}, or -1. */
  private int topHolderExcept(int e, int x1, int x2) {
    for (int n = 0; n < 3; n++) {
      int r = top[3 * e + n];
      if (r < 0) {
        return -1;
      }
      if (r != x1 && r != x2) {
        return r;
      }
    }
    return -1;
  }

  private void refreshTopHolders() {
    java.util.Arrays.fill(top, -1);
    for (int r = 0; r < ranks; r++) {
      double v = rankLoad[r];
      for (int i = 0; i < k; i++) {
        int e = slot[r * k + i];
        int base = 3 * e;
        if (top[base] < 0 || v > rankLoad[top[base]]) {
          top[base + 2] = top[base + 1];
          top[base + 1] = top[base];
          top[base] = r;
        } else if (top[base + 1] < 0 || v > rankLoad[top[base + 1]]) {
          top[base + 2] = top[base + 1];
          top[base + 1] = r;
        } else if (top[base + 2] < 0 || v > rankLoad[top[base + 2]]) {
          top[base + 2] = r;
        }
      }
    }
  }

  private void swap(int r1, int i1, int r2, int i2) {
    int a = slot[r1 * k + i1];
    int b = slot[r2 * k + i2];
    double wa = weight(a);
    double wb = weight(b);
    slot[r1 * k + i1] = b;
    slot[r2 * k + i2] = a;
    held[r1 * experts + a]--;
    held[r1 * experts + b]++;
    held[r2 * experts + b]--;
    held[r2 * experts + a]++;
    rankLoad[r1] += wb - wa;
    rankLoad[r2] += wa - wb;
  }

  /** Rank {@code r}'s slot {@code i} becomes a replica of {@code x}; every replica reweighs. */
  private void replace(int r, int i, int x) {
    int g = slot[r * k + i];
    double oldG = weight(g);
    double oldX = weight(x);
    count[g]--;
    count[x]++;
    slot[r * k + i] = x;
    held[r * experts + g]--;
    held[r * experts + x]++;
    double newG = weight(g);
    double newX = weight(x);
    rankLoad[r] += newX - oldG;
    for (int q = 0; q < ranks; q++) {
      int h = held[q * experts + g];
      if (h > 0) {
        rankLoad[q] += h * (newG - oldG);
      }
      int hx = held[q * experts + x] - (q == r ? 1 : 0);
      if (hx > 0) {
        rankLoad[q] += hx * (newX - oldX);
      }
    }
  }

  /**
   * A rank holding two replicas of one expert swaps one with another rank's replica (the pair whose
   * larger load is smallest); when no swap can, the spare replica becomes one of an expert the rank
   * lacks.
   */
  private void resolveDuplicates() {
    boolean changed = true;
    while (changed) {
      changed = false;
      for (int r = 0; r < ranks && !changed; r++) {
        for (int i = 0; i < k && !changed; i++) {
          int a = slot[r * k + i];
          if (held[r * experts + a] < 2) {
            continue;
          }
          changed = true;
          int br = -1;
          int bj = -1;
          double best = Double.MAX_VALUE;
          for (int q = 0; q < ranks; q++) {
            if (q == r || held[q * experts + a] > 0) {
              continue;
            }
            for (int j = 0; j < k; j++) {
              int b = slot[q * k + j];
              if (held[r * experts + b] > 0) {
                continue;
              }
              double m =
                  Math.max(
                      rankLoad[r] - weight(a) + weight(b), rankLoad[q] - weight(b) + weight(a));
              if (m < best) {
                best = m;
                br = q;
                bj = j;
              }
            }
          }
          if (br >= 0) {
            swap(r, i, br, bj);
          } else {
            // a rank with two replicas of one expert lacks another expert: take it instead
            int x = -1;
            for (int e = 0; e < experts; e++) {
              if (held[r * experts + e] == 0
                  && (x < 0 || load[e] * (count[x] + 1) < load[x] * (count[e] + 1))) {
                x = e;
              }
            }
            replace(r, i, x);
          }
        }
      }
    }
  }

  /** Random valid swaps and slot moves, then the descent repairs what they broke. */
  @Override
  void perturb(SplitMix random, int strength) {
    for (int n = 0; n < strength; n++) {
      int r1 = random.nextInt(ranks);
      int i1 = random.nextInt(k);
      if (random.nextInt(4) == 0) {
        int g = slot[r1 * k + i1];
        int x = random.nextInt(experts);
        if (count[g] >= 2 && held[r1 * experts + x] == 0 && count[x] < ranks) {
          replace(r1, i1, x);
        }
        continue;
      }
      if (ranks < 2) {
        return;
      }
      int r2 = (r1 + 1 + random.nextInt(ranks - 1)) % ranks;
      int i2 = random.nextInt(k);
      int a = slot[r1 * k + i1];
      int b = slot[r2 * k + i2];
      if (a != b && held[r2 * experts + a] == 0 && held[r1 * experts + b] == 0) {
        swap(r1, i1, r2, i2);
      }
    }
  }
}
