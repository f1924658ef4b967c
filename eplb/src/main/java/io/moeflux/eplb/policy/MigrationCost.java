package io.moeflux.eplb.policy;

import java.util.Arrays;

/** What a placement change moves: an expert newly needed on a rank is sent there once. */
public final class MigrationCost {
  private MigrationCost() {}

  /** Expert copies that move from {@code from} to {@code to}, summed over layers. */
  public static long expertsToMove(int[][] from, int[][] to, int ranks) {
    long moved = 0;
    for (int l = 0; l < to.length; l++) {
      int fromPerRank = from[l].length / ranks;
      int toPerRank = to[l].length / ranks;
      for (int r = 0; r < ranks; r++) {
        int[] held = Arrays.copyOfRange(from[l], r * fromPerRank, (r + 1) * fromPerRank);
        int[] needed =
            Arrays.stream(to[l], r * toPerRank, (r + 1) * toPerRank).distinct().toArray();
        for (int e : needed) {
          if (Arrays.stream(held).noneMatch(h -> h == e)) {
            moved++;
          }
        }
      }
    }
    return moved;
  }

  /** Bytes that move, for experts of {@code expertBytes} each. */
  public static long bytesToMove(int[][] from, int[][] to, int ranks, long expertBytes) {
    return expertsToMove(from, to, ranks) * expertBytes;
  }
}
