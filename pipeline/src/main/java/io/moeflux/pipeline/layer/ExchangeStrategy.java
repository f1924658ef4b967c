package io.moeflux.pipeline.layer;

import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.protocol.FrameKind;
import io.moeflux.transport.protocol.WireRows;
import io.netty.buffer.ByteBuf;

/**
 * What one comm mode supplies to the {@link LayerRunner}: how a micro-batch of this rank's tokens
 * travels to the ranks that hold their experts, how a received pick finds its local slot, its
 * weight and its row, and which of this rank's tokens each peer's COMBINE frame holds. Everything
 * else (routing, grouping rows per slot, experts, partial sums, combine order, the wire precision
 * of rows) is the runner's, so both modes do the same arithmetic in the same order.
 *
 * <p>Implementations keep no state beyond the step they were prepared for and allocate nothing per
 * token; a per-pick answer reads the frame (and the placement), nothing more.
 */
interface ExchangeStrategy {

  /** The frame kind the tokens travel in. */
  FrameKind kind();

  /** The most tokens a rank can bring to this step: every buffer is sized for it. */
  int tokensPerRank();

  /** Whether a step of this mode may be split into micro-batches. */
  boolean splits();

  /**
   * Sends {@code micro}'s tokens for the batch's current layer (plan built) to every peer, one
   * frame each, their rows in the dispatch precision. Returns the hidden rows put on the wire.
   *
   * @throws OutOfDirectMemory when a frame cannot be allocated (none is sent then)
   */
  long send(LocalBatch batch, MicroBatch micro);

  /**
   * Checks the frames that arrived from every peer for {@code micro} of the current layer against
   * what this step allows (counts, body lengths, precision), all of them before any is read.
   */
  void check(PeerFrames frames, LocalBatch batch, MicroBatch micro);

  /**
   * Whether every token travels to every rank and gets a partial sum from each (padded), or only to
   * the ranks that hold its picks. Says which of this rank's own tokens it sends itself.
   */
  boolean gathersEveryToken();

  /** The rows of the {@code count} tokens of a checked frame. */
  WireRows rows(ByteBuf frame, int count, LocalBatch batch);

  /**
   * The local slot that pick {@code k} of token {@code i} of {@code source}'s checked frame runs
   * on, or a negative value when it runs elsewhere.
   */
  int slot(ByteBuf frame, int source, int i, int k, LocalBatch batch);

  /** The gate weight of pick {@code k} of token {@code i} of a checked frame of {@code count}. */
  float weight(ByteBuf frame, int count, int i, int k, LocalBatch batch);

  /** How many partial sums {@code peer}'s COMBINE frame must hold for this rank. */
  int combineCount(DispatchPlan plan, int peer);

  /**
   * Where token {@code t}'s partial sum sits in {@code rank}'s COMBINE frame (or this rank's own
   * partial sums), or -1 when none of its picks ran there.
   */
  int combinePosition(DispatchPlan plan, int t, int rank);
}
