package io.moeflux.cli.forward;

import java.util.Arrays;

/**
 * How {@code moeflux forward} splits {@code T} tokens over {@code R} ranks: contiguous chunks in
 * rank order, of unequal sizes, rank {@code r} getting a share proportional to {@code r}. Rank 0
 * gets no tokens when {@code R > 1} (it still runs its experts for the others), so every run with
 * more than one rank also checks a rank that joins a step with an empty batch. One rank gets all.
 *
 * <p>Rank r holds tokens {@code [start(r), start(r+1))} with {@code start(r) = floor(T · r(r−1) /
 * (R(R−1)))}; for 13 tokens on 3 ranks the chunks are 0, 4 and 9 tokens.
 */
public final class TokenSplit {
  private final int[] starts;

  private TokenSplit(int[] starts) {
    this.starts = starts;
  }

  /** The split of {@code tokens} over {@code ranks}. */
  public static TokenSplit of(int tokens, int ranks) {
    if (tokens < 0 || ranks < 1) {
      throw new IllegalArgumentException(
          "cannot split " + tokens + " tokens over " + ranks + " ranks");
    }
    int[] starts = new int[ranks + 1];
    starts[ranks] = tokens;
    if (ranks > 1) {
      long whole = (long) ranks * (ranks - 1);
      for (int r = 1; r < ranks; r++) {
        starts[r] = (int) ((long) tokens * r * (r - 1) / whole);
      }
    }
    return new TokenSplit(starts);
  }

  public int ranks() {
    return starts.length - 1;
  }

  /** The first token of rank {@code rank}'s chunk. */
  public int start(int rank) {
    return starts[rank];
  }

  /** The tokens of rank {@code rank}. */
  public int tokens(int rank) {
    return starts[rank + 1] - starts[rank];
  }

  /** The largest chunk. */
  public int largest() {
    int largest = 0;
    for (int r = 0; r < ranks(); r++) {
      largest = Math.max(largest, tokens(r));
    }
    return largest;
  }

  @Override
  public String toString() {
    int[] sizes = new int[ranks()];
    for (int r = 0; r < sizes.length; r++) {
      sizes[r] = tokens(r);
    }
    return Arrays.toString(sizes);
  }
}
