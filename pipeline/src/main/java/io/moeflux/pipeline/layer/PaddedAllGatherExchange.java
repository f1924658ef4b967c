package io.moeflux.pipeline.layer;

import io.moeflux.pipeline.PipelineException;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.sync.DpMetadata;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.protocol.FrameKind;
import io.moeflux.transport.protocol.GatherFrameCodec;
import io.moeflux.transport.protocol.WirePrecision;
import io.moeflux.transport.protocol.WireRows;
import io.netty.buffer.ByteBuf;

/**
 * The {@link io.moeflux.pipeline.sync.CommMode#PADDED_ALLGATHER} exchange, for steps whose largest
 * batch is beyond the variable-dispatch capacity. Every rank pads its tokens to the step's largest
 * batch (known from the DP metadata sync) and sends them with their logical expert picks to every
 * peer in a GATHER frame; each rank finds the local slot of every pick from the placement, runs its
 * experts on every rank's tokens and sends each source one partial sum per token (zero where none
 * of its picks ran here): an all-to-all standing in for a reduce-scatter. The runner's buffers grow
 * to the largest step seen; this mode is the exception, not the hot path, and is never split into
 * micro-batches.
 */
final class PaddedAllGatherExchange implements ExchangeStrategy {
  private final RankMesh mesh;
  private final WirePrecision wire;
  private DpMetadata metadata;

  PaddedAllGatherExchange(RankMesh mesh, WirePrecision wire) {
    this.mesh = mesh;
    this.wire = wire;
    this.metadata = new DpMetadata(-1, new int[mesh.worldSize()], 0, false);
  }

  /** Prepares the exchange for the step {@code metadata} was synced for; returns this. */
  PaddedAllGatherExchange forStep(DpMetadata metadata) {
    this.metadata = metadata;
    return this;
  }

  @Override
  public FrameKind kind() {
    return FrameKind.GATHER;
  }

  @Override
  public int tokensPerRank() {
    return metadata.maxTokens();
  }

  @Override
  public boolean splits() {
    return false;
  }

  @Override
  public long send(LocalBatch batch, MicroBatch micro) {
    int padded = metadata.maxTokens();
    for (int peer = 0; peer < batch.ranks; peer++) {
      if (peer == batch.rank) {
        continue;
      }
      ByteBuf frame =
          OutOfDirectMemory.allocate(
              allocator ->
                  GatherFrameCodec.encode(
                      allocator,
                      batch.step,
                      batch.layerId,
                      batch.rank,
                      batch.tokens,
                      padded,
                      batch.topK,
                      batch.ids,
                      batch.weights,
                      batch.state,
                      micro.dispatchCoder()),
              mesh.allocator(),
              "rank "
                  + batch.rank
                  + ": the GATHER frame of step "
                  + batch.step
                  + " for rank "
                  + peer
                  + " ("
                  + GatherFrameCodec.bodyBytes(batch.tokens, padded, batch.topK, batch.hidden, wire)
                  + " bytes)");
      mesh.send(peer, frame);
    }
    micro.dispatchCoder().flushCopied();
    return (long) (batch.ranks - 1) * padded;
  }

  @Override
  public void check(PeerFrames frames, LocalBatch batch, MicroBatch micro) {
    for (int s = 0; s < batch.ranks; s++) {
      int count = s == batch.rank ? batch.tokens : frames.count(s);
      if (count != metadata.count(s)) {
        throw new PipelineException(
            "rank "
                + batch.rank
                + ": rank "
                + s
                + " gathered "
                + count
                + " tokens at step "
                + batch.step
                + " but the DP metadata sync said "
                + metadata.count(s));
      }
      if (s != batch.rank) {
        GatherFrameCodec.checkBody(
            frames.frame(s), metadata.maxTokens(), batch.topK, batch.hidden, wire);
      }
    }
  }

  /**
   * The slot that serves the pick's logical expert here: the replica its source's plan chose, which
   * this rank computes from the same (step, source, token, expert).
   */
  @Override
  public int slot(ByteBuf frame, int source, int i, int k, LocalBatch batch) {
    int id = GatherFrameCodec.expertId(frame, i, k, batch.topK);
    Placement placement = batch.placement;
    int slot = placement.slotFor(batch.layer, id, batch.step, source, i);
    int rank = batch.rank;
    return placement.rankOfSlot(slot) == rank ? slot - rank * batch.slotsPerRank : -1;
  }

  @Override
  public float weight(ByteBuf frame, int count, int i, int k, LocalBatch batch) {
    return GatherFrameCodec.weight(frame, count, i, k, batch.topK);
  }

  @Override
  public WireRows rows(ByteBuf frame, int count, LocalBatch batch) {
    return GatherFrameCodec.rows(
        frame, count, metadata.maxTokens(), batch.topK, batch.hidden, wire);
  }

  @Override
  public boolean gathersEveryToken() {
    return true;
  }

  @Override
  public int combineCount(DispatchPlan plan, int peer) {
    return plan.tokens();
  }

  @Override
  public int combinePosition(DispatchPlan plan, int t, int rank) {
    return plan.position(t, rank) >= 0 ? t : -1;
  }
}
