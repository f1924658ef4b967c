package io.moeflux.eplb.policy;

/** Bytes a placement change moves: an expert newly needed on a rank is sent there once. */
public final class MigrationCost {
  private MigrationCost() {}

  public static long bytesToMove(int[][] from, int[][] to, int ranks, long expertBytes) {
    long moved = 0;
    for (int l = 0; l < to.length; l++) {
      int fromPerRank = from[l].length / ranks;
      int toPerRank = to[l].length / ranks;
      for (int r = 0; r < ranks; r++) {
        java.util.Set<Integer> held = new java.util.HashSet<>();
        for (int i = 0; i < fromPerRank; i++) {
          held.add(from[l][r * fromPerRank + i]);
        }
        java.util.Set<Integer> needed = new java.util.HashSet<>();
        for (int i = 0; i < toPerRank; i++) {
          needed.add(to[l][r * toPerRank + i]);
        }
        needed.removeAll(held);
        moved += needed.size() * expertBytes;
      }
    }
    return moved;
  }
}
