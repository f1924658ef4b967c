package io.moeflux.pipeline.layer;

import io.moeflux.pipeline.PipelineException;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.protocol.DispatchFrameCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.moeflux.transport.protocol.RowCoder;
import io.moeflux.transport.protocol.WirePrecision;
import io.moeflux.transport.protocol.WireRows;
import io.netty.buffer.ByteBuf;
import org.jspecify.annotations.Nullable;

/**
 * The {@link io.moeflux.pipeline.sync.CommMode#VARIABLE} exchange: a token travels once to each
 * rank that holds one of its experts, in one DISPATCH frame per peer and micro-batch (count 0
 * allowed) that carries the destination-local slot and weight of each pick. No global agreement on
 * sizes: each frame carries its count, bounded by the capacity. A token's row is rounded to the
 * dispatch precision once and stored into every frame it travels in.
 */
final class VariableExchange implements ExchangeStrategy {
  private final RankMesh mesh;
  private final int maxTokens;
  private final WirePrecision wire;
  private final @Nullable ByteBuf[] frames;
  private final @Nullable WireRows[] rows;

  VariableExchange(RankMesh mesh, int maxTokensPerRank, WirePrecision wire) {
    this.mesh = mesh;
    this.maxTokens = maxTokensPerRank;
    this.wire = wire;
    this.frames = new ByteBuf[mesh.worldSize()];
    this.rows = new WireRows[mesh.worldSize()];
  }

  @Override
  public FrameKind kind() {
    return FrameKind.DISPATCH;
  }

  @Override
  public int tokensPerRank() {
    return maxTokens;
  }

  @Override
  public boolean splits() {
    return true;
  }

  @Override
  public long send(LocalBatch batch, MicroBatch micro) {
    DispatchPlan plan = micro.plan;
    int topK = batch.topK;
    int hidden = batch.hidden;
    RowCoder coder = micro.dispatchCoder();
    long sent = 0;
    try {
      for (int dest = 0; dest < batch.ranks; dest++) {
        if (dest != batch.rank) {
          allocate(batch, micro, dest);
        }
      }
      int end = plan.first() + plan.tokens();
      for (int t = plan.first(); t < end; t++) {
        boolean quantized = false;
        for (int dest = 0; dest < batch.ranks; dest++) {
          int pos = dest == batch.rank ? -1 : plan.position(t, dest);
          if (pos < 0) {
            continue;
          }
          ByteBuf frame = frames[dest];
          int count = plan.destCount[dest];
          for (int k = 0; k < topK; k++) {
            DispatchFrameCodec.setPick(
                frame,
                count,
                pos,
                k,
                topK,
                plan.localSlot(t, k, dest),
                batch.weights[t * topK + k]);
          }
          if (!quantized) {
            coder.quantize(batch.state, t * hidden);
            quantized = true;
          }
          coder.store(rows[dest], pos);
        }
      }
      for (int dest = 0; dest < batch.ranks; dest++) {
        ByteBuf frame = frames[dest];
        if (frame == null) {
          continue;
        }
        frames[dest] = null;
        rows[dest] = null;
        int count = plan.destCount[dest];
        DispatchFrameCodec.finish(frame, count, topK, hidden, wire);
        mesh.send(dest, frame);
        sent += count;
      }
      return sent;
    } finally {
      coder.flushCopied();
      for (int dest = 0; dest < batch.ranks; dest++) {
        ByteBuf frame = frames[dest];
        if (frame != null) {
          frames[dest] = null;
          rows[dest] = null;
          frame.release();
        }
      }
    }
  }

  private void allocate(LocalBatch batch, MicroBatch micro, int dest) {
    int count = micro.plan.destCount[dest];
    ByteBuf frame =
        OutOfDirectMemory.allocate(
            allocator ->
                DispatchFrameCodec.allocate(
                    allocator,
                    batch.step,
                    batch.layerId,
                    micro.index,
                    batch.rank,
                    count,
                    batch.topK,
                    batch.hidden,
                    wire),
            mesh.allocator(),
            "rank "
                + batch.rank
                + ": the DISPATCH frame of step "
                + batch.step
                + " for rank "
                + dest
                + " ("
                + DispatchFrameCodec.bodyBytes(count, batch.topK, batch.hidden, wire)
                + " bytes)");
    frames[dest] = frame;
    rows[dest] = DispatchFrameCodec.rows(frame, count, batch.topK, batch.hidden, wire);
  }

  @Override
  public void check(PeerFrames frames, LocalBatch batch, MicroBatch micro) {
    for (int s = 0; s < batch.ranks; s++) {
      if (s != batch.rank) {
        checkFrame(batch, s, frames.frame(s));
      }
    }
  }

  @Override
  public boolean gathersEveryToken() {
    return false;
  }

  @Override
  public WireRows rows(ByteBuf frame, int count, LocalBatch batch) {
    return DispatchFrameCodec.rows(frame, count, batch.topK, batch.hidden, wire);
  }

  @Override
  public int slot(ByteBuf frame, int source, int i, int k, LocalBatch batch) {
    int local = DispatchFrameCodec.localSlot(frame, i, k, batch.topK);
    if (local >= batch.slotsPerRank) {
      throw new PipelineException(
          "rank "
              + batch.rank
              + ": rank "
              + source
              + " dispatched to local slot "
              + local
              + " of "
              + batch.slotsPerRank
              + " at step "
              + batch.step
              + ", layer "
              + batch.layerId);
    }
    return local;
  }

  @Override
  public float weight(ByteBuf frame, int count, int i, int k, LocalBatch batch) {
    return DispatchFrameCodec.weight(frame, count, i, k, batch.topK);
  }

  private void checkFrame(LocalBatch batch, int source, ByteBuf frame) {
    int count = DispatchFrameCodec.checkBody(frame, batch.topK, batch.hidden, wire);
    if (count > maxTokens) {
      throw new PipelineException(
          "rank "
              + batch.rank
              + ": rank "
              + source
              + " dispatched "
              + count
              + " tokens at step "
              + batch.step
              + ", over the capacity of "
              + maxTokens
              + " per rank");
    }
  }

  @Override
  public int combineCount(DispatchPlan plan, int peer) {
    return plan.destCount[peer];
  }

  @Override
  public int combinePosition(DispatchPlan plan, int t, int rank) {
    return plan.position(t, rank);
  }
}
