package io.moeflux.pipeline.layer;

import io.moeflux.pipeline.PipelineException;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.model.ExpertWorkers;
import io.moeflux.pipeline.model.RowMath;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.protocol.CombineFrameCodec;
import io.moeflux.transport.protocol.RowCoder;
import io.moeflux.transport.protocol.WireFormat;
import io.moeflux.transport.protocol.WireRows;
import io.netty.buffer.ByteBuf;
import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One micro-batch of this rank's batch in one layer, and all the working memory it needs, so that
 * two micro-batches can be in flight at once (one's experts run while the other's frames travel):
 * its tokens' plan, what it received, the experts' chunk buffers, its own partial sums, and the
 * coders of the wire precision. A micro-batch goes through three stages per layer:
 *
 * <ol>
 *   <li>its tokens are sent (the exchange strategy, with {@link #plan});
 *   <li>{@link #experts}: the frames from every peer are read in place, the experts run over the
 *       rows that landed on each local slot, and every source gets one gate-weighted partial sum
 *       per token, written straight into its COMBINE frame (sent as soon as that source's tokens
 *       are done);
 *   <li>{@link #combine}: the partial sums that come home are summed in ascending rank order.
 * </ol>
 *
 * A token's partial sum adds its picks' weighted outputs in ascending local slot order, starting
 * from zero; the combine adds the partial sums in ascending rank order, starting from zero ({@link
 * RowMath}, the order the single-process reference uses too).
 */
final class MicroBatch {
  final int index;
  final DispatchPlan plan;
  private final int rank;
  private final int ranks;
  private final int hidden;
  private final int topK;
  private final ReceivedPicks picks;
  private final ExpertRows expertRows;
  private final RowCoder dispatchCoder;
  private final RowCoder combineCoder;
  private final float[] row;
  private final float[] acc;

  /**
   * The rank's expert workers, shared by its micro-batches and its shared expert: one phase at a
   * time runs on them (they are not reentrant), so a micro-batch whose frames arrive while the
   * other's experts run waits for them; its exchange still overlaps the other's compute.
   */
  private final ExpertWorkers workers;

  /** Where the row {@link #inputRow} returned last starts. */
  private int inputOffset;

  /** Per pick of a chunk (token-major, ascending slots): its row in the chunk's buffers. */
  private int[] rowOfPick = new int[0];

  /** Partial sums of this rank's own tokens that ran here, float32, never on the wire. */
  private float[] ownPartials = new float[0];

  /** The COMBINE frame being filled for each peer during {@link #experts}. */
  private final @Nullable ByteBuf[] combineFrames;

  /** The rows of each peer's COMBINE frame during {@link #combine}. */
  private final @Nullable WireRows[] partials;

  MicroBatch(
      int index,
      int rank,
      int ranks,
      int topK,
      int hidden,
      int maxTokens,
      WireFormat wire,
      ExpertWorkers workers) {
    this.index = index;
    this.rank = rank;
    this.ranks = ranks;
    this.hidden = hidden;
    this.topK = topK;
    this.plan = new DispatchPlan(ranks, topK, maxTokens);
    this.picks = new ReceivedPicks(ranks, topK, hidden);
    this.expertRows = new ExpertRows(hidden);
    this.dispatchCoder = new RowCoder(wire.dispatch(), hidden);
    this.combineCoder = new RowCoder(wire.combine(), hidden);
    this.row = new float[hidden];
    this.acc = new float[hidden];
    this.workers = workers;
    this.combineFrames = new ByteBuf[ranks];
    this.partials = new WireRows[ranks];
  }

  /** The coder of the dispatch precision, for the exchange strategy's frames. */
  RowCoder dispatchCoder() {
    return dispatchCoder;
  }

  /** Room for {@code tokensPerRank} tokens from every rank (grows, never shrinks). */
  void reserve(int tokensPerRank) {
    plan.reserve(tokensPerRank);
    picks.reserve(ranks * tokensPerRank);
    if (ownPartials.length < tokensPerRank * hidden) {
      ownPartials = new float[tokensPerRank * hidden];
    }
  }

  /** Rows received per local slot in the last {@link #experts} pass. */
  int[] heat() {
    return expertRows.heat();
  }

  /**
   * Stage 2: reads the frames every peer sent for this micro-batch (and this rank's own tokens),
   * runs the experts, and sends every peer its COMBINE frame. Returns the hidden rows sent.
   *
   * @throws OutOfDirectMemory when a COMBINE frame cannot be allocated (none is sent then)
   */
  long experts(
      LocalBatch batch,
      ExchangeStrategy exchange,
      PeerFrames frames,
      ExpertFfn[] experts,
      RankMesh mesh) {
    exchange.check(frames, batch, this);
    collectPicks(batch, exchange, frames);
    long rowsSent = 0;
    try {
      allocateCombineFrames(batch, mesh);
      expertRows.beginLayer(batch.slotsPerRank);
      boolean identity = allIdentity(experts);
      int chunkTokens = Math.max(1, expertRows.chunkRows() / Math.max(1, topK));
      for (int s = 0; s < ranks; s++) {
        int end = picks.base[s + 1];
        WireRows out = s == rank ? null : combineRows(s);
        for (int g = picks.base[s]; g < end; g += chunkTokens) {
          int to = Math.min(end, g + chunkTokens);
          if (identity) {
            identityChunk(s, g, to, out);
          } else {
            expertChunk(s, g, to, experts, out);
          }
        }
        if (s != rank) {
          rowsSent += sendCombine(s, mesh);
        }
      }
    } finally {
      picks.dropRows();
      releaseCombineFrames();
      dispatchCoder.flushCopied();
      combineCoder.flushCopied();
    }
    return rowsSent;
  }

  private void collectPicks(LocalBatch batch, ExchangeStrategy exchange, PeerFrames frames) {
    for (int s = 0; s < ranks; s++) {
      if (s == rank) {
        picks.addOwn(rank, plan, batch.weights, batch.state, exchange.gathersEveryToken());
        continue;
      }
      ByteBuf frame = frames.frame(s);
      int count = frames.count(s);
      int first = picks.addSource(s, count, exchange.rows(frame, count, batch));
      for (int i = 0; i < count; i++) {
        for (int k = 0; k < topK; k++) {
          picks.addPick(
              first + i,
              exchange.slot(frame, s, i, k, batch),
              exchange.weight(frame, count, i, k, batch));
        }
      }
    }
  }

  private void allocateCombineFrames(LocalBatch batch, RankMesh mesh) {
    for (int s = 0; s < ranks; s++) {
      if (s == rank) {
        continue;
      }
      int count = picks.count[s];
      combineFrames[s] =
          OutOfDirectMemory.allocate(
              allocator ->
                  CombineFrameCodec.allocate(
                      allocator,
                      batch.step,
                      batch.layerId,
                      index,
                      rank,
                      count,
                      hidden,
                      combineCoder.wire()),
              mesh.allocator(),
              "rank "
                  + rank
                  + ": the COMBINE frame of step "
                  + batch.step
                  + " for rank "
                  + s
                  + " ("
                  + CombineFrameCodec.bodyBytes(count, hidden, combineCoder.wire())
                  + " bytes)");
    }
  }

  private WireRows combineRows(int source) {
    ByteBuf frame = combineFrames[source];
    if (frame == null) {
      throw new IllegalStateException("no COMBINE frame for rank " + source);
    }
    return CombineFrameCodec.rows(frame, picks.count[source], hidden, combineCoder.wire());
  }

  /** Sends {@code peer} its COMBINE frame, now complete; returns its rows. */
  private int sendCombine(int peer, RankMesh mesh) {
    ByteBuf frame = combineFrames[peer];
    combineFrames[peer] = null;
    if (frame == null) {
      throw new IllegalStateException("no COMBINE frame for rank " + peer);
    }
    int count = picks.count[peer];
    CombineFrameCodec.finish(frame, count, hidden, combineCoder.wire());
    mesh.send(peer, frame);
    return count;
  }

  private void releaseCombineFrames() {
    for (int s = 0; s < ranks; s++) {
      ByteBuf frame = combineFrames[s];
      if (frame != null) {
        combineFrames[s] = null;
        frame.release();
      }
    }
  }

  private static boolean allIdentity(ExpertFfn[] experts) {
    for (ExpertFfn expert : experts) {
      if (expert.kind() != ExpertKind.IDENTITY) {
        return false;
      }
    }
    return true;
  }

  /**
   * Identity experts: a token's partial sum is its row times the sum of its weights, summed pick by
   * pick, so the row is read once, in place (this rank's own) or decoded from the frame once.
   */
  private void identityChunk(int source, int from, int to, @Nullable WireRows out) {
    boolean own = source == rank;
    for (int g = from; g < to; g++) {
      int n = picks.picks(g);
      for (int j = 0; j < n; j++) {
        expertRows.countHeat(picks.slot(g, j));
      }
      float[] x = inputRow(source, g);
      int xOff = inputOffset;
      float[] target = own ? ownPartials : acc;
      int off = own ? (g - picks.base[source]) * hidden : 0;
      if (n == 0) {
        Arrays.fill(target, off, off + hidden, 0f);
      } else {
        RowMath.startWeighted(target, off, picks.weight(g, 0), x, xOff, hidden);
      }
      for (int j = 1; j < n; j++) {
        RowMath.accumulateWeighted(target, off, picks.weight(g, j), x, xOff, hidden);
      }
      if (out != null) {
        combineCoder.encode(acc, 0, out, g - picks.base[source]);
      }
    }
  }

  /**
   * Token {@code g}'s row from {@code source}: this rank's own read in place, another's decoded
   * once from its frame into {@link #row}; it starts at {@link #inputOffset}.
   */
  private float[] inputRow(int source, int g) {
    if (source == rank) {
      inputOffset = picks.ownOffset(g);
      return picks.ownRows();
    }
    picks.readRow(source, g, dispatchCoder, row, 0);
    inputOffset = 0;
    return row;
  }

  /** Any other experts: the chunk's rows grouped per slot, each slot's expert run once. */
  private void expertChunk(
      int source, int from, int to, ExpertFfn[] experts, @Nullable WireRows out) {
    boolean own = source == rank;
    if (rowOfPick.length < (to - from) * topK) {
      rowOfPick = new int[(to - from) * topK];
    }
    expertRows.beginChunk();
    for (int g = from; g < to; g++) {
      for (int j = 0; j < picks.picks(g); j++) {
        expertRows.count(picks.slot(g, j));
      }
    }
    expertRows.layout();
    float[] input = expertRows.input();
    for (int g = from; g < to; g++) {
      int n = picks.picks(g);
      if (n == 0) {
        continue;
      }
      float[] x = inputRow(source, g);
      int xOff = inputOffset;
      int p = (g - from) * topK;
      for (int j = 0; j < n; j++) {
        int r = expertRows.place(picks.slot(g, j));
        rowOfPick[p + j] = r;
        System.arraycopy(x, xOff, input, r * hidden, hidden);
      }
    }
    synchronized (workers) {
      expertRows.run(experts, workers);
    }
    float[] output = expertRows.output();
    for (int g = from; g < to; g++) {
      float[] target = own ? ownPartials : acc;
      int off = own ? (g - picks.base[source]) * hidden : 0;
      int p = (g - from) * topK;
      int n = picks.picks(g);
      if (n == 0) {
        Arrays.fill(target, off, off + hidden, 0f);
      } else {
        RowMath.startWeighted(
            target, off, picks.weight(g, 0), output, rowOfPick[p] * hidden, hidden);
      }
      for (int j = 1; j < n; j++) {
        RowMath.accumulateWeighted(
            target, off, picks.weight(g, j), output, rowOfPick[p + j] * hidden, hidden);
      }
      if (out != null) {
        combineCoder.encode(acc, 0, out, g - picks.base[source]);
      }
    }
  }

  /**
   * Stage 3: sums, per token of this micro-batch and in ascending rank order, the partial sums that
   * came home; adds the sum to the hidden states (residual), or makes it the output and adds the
   * shared expert's.
   */
  void combine(LocalBatch batch, ExchangeStrategy exchange, PeerFrames frames, boolean sharedRan) {
    for (int r = 0; r < ranks; r++) {
      if (r == rank) {
        continue;
      }
      ByteBuf frame = frames.frame(r);
      int count = CombineFrameCodec.checkBody(frame, hidden, combineCoder.wire());
      int expected = exchange.combineCount(plan, r);
      if (count != expected) {
        throw new PipelineException(
            "rank "
                + rank
                + ": rank "
                + r
                + " combined "
                + count
                + " tokens at step "
                + batch.step
                + (index > 0 ? ", micro-batch " + index : "")
                + " but was sent "
                + expected);
      }
      partials[r] = CombineFrameCodec.rows(frame, count, hidden, combineCoder.wire());
    }
    float[] state = batch.state;
    int end = plan.first() + plan.tokens();
    for (int t = plan.first(); t < end; t++) {
      boolean started = false;
      for (int r = 0; r < ranks; r++) {
        int pos = exchange.combinePosition(plan, t, r);
        if (pos < 0) {
          continue;
        }
        float[] partial = ownPartials;
        int at = pos * hidden;
        if (r != rank) {
          combineCoder.decode(Objects.requireNonNull(partials[r]), pos, row, 0);
          partial = row;
          at = 0;
        }
        if (started) {
          RowMath.addInto(acc, 0, partial, at, hidden);
        } else {
          RowMath.startWith(acc, 0, partial, at, hidden);
          started = true;
        }
      }
      if (!started) {
        Arrays.fill(acc, 0f);
      }
      if (batch.residual) {
        RowMath.addInto(state, t * hidden, acc, 0, hidden);
      } else {
        System.arraycopy(acc, 0, batch.output, t * hidden, hidden);
        if (sharedRan) {
          RowMath.addInto(batch.output, t * hidden, batch.shared, t * hidden, hidden);
        }
      }
    }
    Arrays.fill(partials, null);
    combineCoder.flushCopied();
  }
}
