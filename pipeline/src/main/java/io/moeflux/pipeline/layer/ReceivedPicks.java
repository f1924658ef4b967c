package io.moeflux.pipeline.layer;

import io.moeflux.transport.protocol.RowCoder;
import io.moeflux.transport.protocol.WireRows;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * What one micro-batch's exchange brought to this rank, from every source rank in ascending order
 * (this rank included): how many tokens each source sent, each token's picks that run here (local
 * slot and gate weight, in ascending slot order: the order their weighted outputs are summed in),
 * and where each token's hidden row lies. Rows stay where they arrived, in the source's frame, and
 * are read from there; this rank's own tokens are read from its hidden states. Arrays are reused
 * every layer and grow only for a padded step.
 *
 * <p>Received tokens are numbered across sources: source {@code s}'s i-th token is token {@code
 * base[s] + i}.
 */
final class ReceivedPicks {
  private final int ranks;
  private final int topK;
  private final int hidden;

  /** Tokens from each source. */
  final int[] count;

  /** {@code base[s]}: the first token of source s; {@code base[ranks]} is the total. */
  final int[] base;

  /** Each peer's rows, as they arrived; null for this rank, whose rows are {@link #ownRows}. */
  private final @Nullable WireRows[] rows;

  private static final float[] NO_ROWS = new float[0];

  private float[] ownRows = NO_ROWS;

  /** Per token: its row in its source's rows (a frame's row, or a token of this rank's batch). */
  private int[] rowIndex = new int[0];

  /** Per token: how many of its picks run here. */
  private int[] picks = new int[0];

  /** Per token, {@code topK} entries: local slots of its picks here, ascending, then unused. */
  private int[] slot = new int[0];

  /** Per token, {@code topK} entries: the gate weight of each pick in {@link #slot}. */
  private float[] weight = new float[0];

  ReceivedPicks(int ranks, int topK, int hidden) {
    this.ranks = ranks;
    this.topK = topK;
    this.hidden = hidden;
    this.count = new int[ranks];
    this.base = new int[ranks + 1];
    this.rows = new WireRows[ranks];
  }

  /** Makes room for {@code tokens} received tokens over all sources (grows, never shrinks). */
  void reserve(int tokens) {
    if (rowIndex.length < tokens) {
      rowIndex = new int[tokens];
      picks = new int[tokens];
      slot = new int[tokens * topK];
      weight = new float[tokens * topK];
    }
  }

  /**
   * Adds {@code source}'s {@code count} tokens, whose rows are {@code rowsOf} in order. Sources are
   * added in ascending order. Returns the first token; add each token's picks with {@link
   * #addPick}.
   */
  int addSource(int source, int count, WireRows rowsOf) {
    int first = open(source, count);
    rows[source] = rowsOf;
    for (int i = 0; i < count; i++) {
      rowIndex[first + i] = i;
    }
    return first;
  }

  /**
   * Adds this rank's own tokens of {@code plan} as its source: those that have a pick here, or,
   * when {@code everyToken}, all of them (the padded all-gather runs every token's partial sum on
   * every rank). Rows are read from {@code state}, the batch's hidden states.
   */
  void addOwn(int rank, DispatchPlan plan, float[] weights, float[] state, boolean everyToken) {
    int own = everyToken ? plan.tokens() : plan.destCount[rank];
    int first = open(rank, own);
    ownRows = state;
    rows[rank] = null;
    for (int i = 0; i < own; i++) {
      int t = everyToken ? plan.first() + i : plan.token(rank, i);
      rowIndex[first + i] = t;
      for (int k = 0; k < topK; k++) {
        addPick(first + i, plan.localSlot(t, k, rank), weights[t * topK + k]);
      }
    }
  }

  private int open(int source, int tokens) {
    if (source == 0) {
      base[0] = 0;
    }
    count[source] = tokens;
    base[source + 1] = base[source] + tokens;
    Arrays.fill(picks, base[source], base[source + 1], 0);
    return base[source];
  }

  /**
   * Adds a pick of {@code token} on {@code localSlot} (ignored when negative: it runs elsewhere),
   * keeping the token's picks in ascending slot order.
   */
  void addPick(int token, int localSlot, float pickWeight) {
    if (localSlot < 0) {
      return;
    }
    int at = token * topK;
    int n = picks[token]++;
    int i = n;
    while (i > 0 && slot[at + i - 1] > localSlot) {
      slot[at + i] = slot[at + i - 1];
      weight[at + i] = weight[at + i - 1];
      i--;
    }
    slot[at + i] = localSlot;
    weight[at + i] = pickWeight;
  }

  /** Picks of {@code token} that run here. */
  int picks(int token) {
    return picks[token];
  }

  /** The local slot of the {@code j}-th pick (ascending slots) of {@code token}. */
  int slot(int token, int j) {
    return slot[token * topK + j];
  }

  /** The gate weight of the {@code j}-th pick of {@code token}. */
  float weight(int token, int j) {
    return weight[token * topK + j];
  }

  /** This rank's hidden states, where its own tokens' rows are. */
  float[] ownRows() {
    return ownRows;
  }

  /** Where the row of {@code token} starts in {@link #ownRows()}; only for own tokens. */
  int ownOffset(int token) {
    return rowIndex[token] * hidden;
  }

  /**
   * Reads the row of {@code token} (from peer {@code source}) as float32 into {@code dst} at {@code
   * offset}, through {@code coder}, which knows the precision it arrived in.
   */
  void readRow(int source, int token, RowCoder coder, float[] dst, int offset) {
    WireRows from = rows[source];
    if (from == null) {
      throw new IllegalStateException("rows of source " + source + " already dropped");
    }
    coder.decode(from, rowIndex[token], dst, offset);
  }

  /** Forgets the rows: frame bodies are released once the experts have read them. */
  void dropRows() {
    Arrays.fill(rows, null);
    ownRows = NO_ROWS;
  }
}
