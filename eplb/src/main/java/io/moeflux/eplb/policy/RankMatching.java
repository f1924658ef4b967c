package io.moeflux.eplb.policy;

import java.util.Arrays;

/**
 * Puts a new layout's ranks where the old layout's ranks are, so that as few expert copies as
 * possible move: new rank i goes to old rank {@code match[i]}, the assignment that keeps the most
 * (rank, expert) pairs (Hungarian method); within a rank, an expert it keeps stays in its old slot.
 * Ranks are interchangeable within a node, so the plan's balance is unchanged.
 */
final class RankMatching {
  private RankMatching() {}

  /** Experts held by new rank i and old rank j, for every pair; layouts are {@code [r * k + i]}. */
  static int[][] overlap(int[] next, int[] old, int ranks, int k) {
    int experts = 0;
    for (int e : old) {
      experts = Math.max(experts, e + 1);
    }
    // old ranks holding each expert, as lists in one array
    int[] start = new int[experts + 1];
    for (int e : old) {
      start[e + 1]++;
    }
    for (int e = 0; e < experts; e++) {
      start[e + 1] += start[e];
    }
    int[] holders = new int[old.length];
    int[] fill = Arrays.copyOf(start, experts);
    for (int s = 0; s < old.length; s++) {
      holders[fill[old[s]]++] = s / k;
    }
    int[][] kept = new int[ranks][ranks];
    for (int s = 0; s < next.length; s++) {
      int e = next[s];
      if (e >= experts) {
        continue;
      }
      int last = -1;
      for (int h = start[e]; h < start[e + 1]; h++) {
        if (holders[h] != last) {
          kept[s / k][holders[h]]++;
          last = holders[h];
        }
      }
    }
    return kept;
  }

  /** {@code match[i]}: the old rank new rank i takes the place of, keeping the most pairs. */
  static int[] match(int[][] kept) {
    int n = kept.length;
    double[][] cost = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        cost[i][j] = -kept[i][j];
      }
    }
    return hungarian(cost);
  }

  /** Expert copies that move when new rank i takes old rank match[i]'s place. */
  static int moves(int[][] kept, int[] match, int k) {
    int moves = 0;
    for (int i = 0; i < match.length; i++) {
      moves += k - kept[i][match[i]];
    }
    return moves;
  }

  /**
   * {@code next} (layout and units) rearranged into the old ranks' places: rank {@code match[i]}
   * receives new rank i's slots, experts it already held in their old slots.
   */
  static int[][] align(int[] next, int[] units, int[] old, int[] match, int k) {
    int ranks = match.length;
    int[] layout = new int[next.length];
    int[] shares = new int[next.length];
    for (int i = 0; i < ranks; i++) {
      int j = match[i];
      boolean[] placed = new boolean[k];
      boolean[] filled = new boolean[k];
      for (int a = 0; a < k; a++) {
        int e = next[i * k + a];
        for (int b = 0; b < k; b++) {
          if (!filled[b] && old[j * k + b] == e) {
            layout[j * k + b] = e;
            shares[j * k + b] = units[i * k + a];
            filled[b] = true;
            placed[a] = true;
            break;
          }
        }
      }
      int b = 0;
      for (int a = 0; a < k; a++) {
        if (placed[a]) {
          continue;
        }
        while (filled[b]) {
          b++;
        }
        layout[j * k + b] = next[i * k + a];
        shares[j * k + b] = units[i * k + a];
        filled[b] = true;
      }
    }
    return new int[][] {layout, shares};
  }

  /** The assignment of rows to columns with the least total cost (square matrix). */
  static int[] hungarian(double[][] cost) {
    int n = cost.length;
    double[] u = new double[n + 1];
    double[] v = new double[n + 1];
    int[] p = new int[n + 1];
    int[] way = new int[n + 1];
    for (int i = 1; i <= n; i++) {
      p[0] = i;
      int j0 = 0;
      double[] minv = new double[n + 1];
      Arrays.fill(minv, Double.MAX_VALUE);
      boolean[] used = new boolean[n + 1];
      do {
        used[j0] = true;
        int i0 = p[j0];
        double delta = Double.MAX_VALUE;
        int j1 = 0;
        for (int j = 1; j <= n; j++) {
          if (!used[j]) {
            double cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
            if (cur < minv[j]) {
              minv[j] = cur;
              way[j] = j0;
            }
            if (minv[j] < delta) {
              delta = minv[j];
              j1 = j;
            }
          }
        }
        for (int j = 0; j <= n; j++) {
          if (used[j]) {
            u[p[j]] += delta;
            v[j] -= delta;
          } else {
            minv[j] -= delta;
          }
        }
        j0 = j1;
      } while (p[j0] != 0);
      do {
        int j1 = way[j0];
        p[j0] = p[j1];
        j0 = j1;
      } while (j0 != 0);
    }
    int[] match = new int[n];
    for (int j = 1; j <= n; j++) {
      match[p[j] - 1] = j - 1;
    }
    return match;
  }
}
