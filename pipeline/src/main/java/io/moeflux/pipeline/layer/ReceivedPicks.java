package io.moeflux.pipeline.layer;

import java.nio.FloatBuffer;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * What one layer's exchange brought to this rank, from every source rank in ascending order (this
 * rank included): how many tokens each source sent, the local slot and gate weight of each of their
 * top-k picks, and where each token's hidden row lives. The {@link LayerRunner} fills it with what
 * the {@link ExchangeStrategy} reads out of each frame, and groups its rows per slot. Arrays are
 * reused every layer and grow only for a padded step.
 *
 * <p>Received tokens are numbered across sources: source {@code s}'s i-th token is token {@code
 * base[s] + i}, its pick k is pick {@code token × topK + k}.
 */
final class ReceivedPicks {
  private final int ranks;
  private final int topK;
  private final int hidden;

  /** Tokens from each source. */
  final int[] count;

  /** {@code base[s]}: the first token of source s; {@code base[ranks]} is the total. */
  final int[] base;

  /** Each source's rows: a frame body, or this rank's own hidden states. */
  private final @Nullable FloatBuffer[] rows;

  /** Per token: the float index of its row in its source's {@link #rows}. */
  private int[] rowIndex = new int[0];

  /** Per pick: the local slot it runs on, or a negative value when it runs elsewhere. */
  int[] slot = new int[0];

  /** Per pick: its gate weight. */
  float[] weight = new float[0];

  ReceivedPicks(int ranks, int topK, int hidden, int tokens) {
    this.ranks = ranks;
    this.topK = topK;
    this.hidden = hidden;
    this.count = new int[ranks];
    this.base = new int[ranks + 1];
    this.rows = new FloatBuffer[ranks];
    reserve(tokens);
  }

  /** Makes room for {@code tokens} received tokens over all sources (grows, never shrinks). */
  void reserve(int tokens) {
    if (rowIndex.length < tokens) {
      rowIndex = new int[tokens];
      slot = new int[tokens * topK];
      weight = new float[tokens * topK];
    }
  }

  /**
   * Adds {@code source}'s {@code count} tokens whose rows lie one after the other in {@code
   * rowsOf}, as in a frame body. Sources are added in ascending order. Returns the first token.
   */
  int addSource(int source, int count, FloatBuffer rowsOf) {
    int first = open(source, count, rowsOf);
    for (int i = 0; i < count; i++) {
      rowIndex[first + i] = i * hidden;
    }
    return first;
  }

  /**
   * Adds this rank's own tokens as its source: those of {@code batch}'s plan that have a pick here,
   * or, when {@code everyToken}, all of them (the padded all-gather runs every token's partial sum
   * on every rank). Rows are read from the batch's hidden states, picks from its plan.
   */
  void addOwn(LocalBatch batch, boolean everyToken) {
    int rank = batch.rank;
    DispatchPlan plan = batch.plan;
    int own = everyToken ? batch.tokens : plan.destCount[rank];
    int first = open(rank, own, batch.stateRows);
    for (int i = 0; i < own; i++) {
      int t = everyToken ? i : plan.token(rank, i);
      rowIndex[first + i] = t * hidden;
      for (int k = 0; k < topK; k++) {
        setPick(first + i, k, plan.localSlot(t, k, rank), plan.weights[t * topK + k]);
      }
    }
  }

  private int open(int source, int tokens, FloatBuffer rowsOf) {
    count[source] = tokens;
    base[source + 1] = base[source] + tokens;
    rows[source] = rowsOf;
    return base[source];
  }

  void setPick(int token, int k, int localSlot, float pickWeight) {
    slot[token * topK + k] = localSlot;
    weight[token * topK + k] = pickWeight;
  }

  /** Received tokens over all sources. */
  int tokens() {
    return base[ranks];
  }

  /** Copies the row of {@code token} (from {@code source}) to {@code dst} at {@code offset}. */
  void copyRow(int source, int token, float[] dst, int offset) {
    FloatBuffer from = rows[source];
    if (from == null) {
      throw new IllegalStateException("rows of source " + source + " already dropped");
    }
    from.get(rowIndex[token], dst, offset, hidden);
  }

  /** Forgets the rows: frame bodies are released once the experts' inputs are copied out. */
  void dropRows() {
    Arrays.fill(rows, null);
  }
}
