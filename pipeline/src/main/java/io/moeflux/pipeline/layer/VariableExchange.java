package io.moeflux.pipeline.layer;

import io.moeflux.pipeline.PipelineException;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.protocol.DispatchFrameCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.netty.buffer.ByteBuf;
import java.nio.FloatBuffer;

/**
 * The {@link io.moeflux.pipeline.sync.CommMode#VARIABLE} exchange: a token travels once to each
 * rank that holds one of its experts, in one DISPATCH frame per peer (count 0 allowed) that carries
 * the destination-local slot and weight of each pick. No global agreement on sizes: each frame
 * carries its count, bounded by the capacity, so the runner's buffers are sized once for {@code
 * maxTokensPerRank × ranks × min(slotsPerRank, topK)} received rows.
 */
final class VariableExchange implements ExchangeStrategy {
  private final RankMesh mesh;
  private final int maxTokens;

  VariableExchange(RankMesh mesh, int maxTokensPerRank) {
    this.mesh = mesh;
    this.maxTokens = maxTokensPerRank;
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
  public long send(LocalBatch batch) {
    DispatchPlan plan = batch.plan;
    int topK = batch.topK;
    int hidden = batch.hidden;
    long bytes = 0;
    for (int dest = 0; dest < batch.ranks; dest++) {
      if (dest == batch.rank) {
        continue;
      }
      int count = plan.destCount[dest];
      ByteBuf frame =
          DispatchFrameCodec.allocate(
              mesh.allocator(), batch.step, batch.layerId, batch.rank, count, topK, hidden);
      if (count > 0) {
        FloatBuffer rows = DispatchFrameCodec.hidden(frame, count, topK, hidden);
        for (int i = 0; i < count; i++) {
          int t = plan.token(dest, i);
          for (int k = 0; k < topK; k++) {
            DispatchFrameCodec.setPick(
                frame, count, i, k, topK, plan.localSlot(t, k, dest), plan.weights[t * topK + k]);
          }
          rows.put(i * hidden, batch.state, t * hidden, hidden);
        }
      }
      DispatchFrameCodec.finish(frame, count, topK, hidden);
      bytes += (long) count * hidden * Float.BYTES;
      mesh.send(dest, frame);
    }
    return bytes;
  }

  @Override
  public void check(PeerFrames frames, LocalBatch batch) {
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
  public FloatBuffer rows(ByteBuf frame, int count, LocalBatch batch) {
    return DispatchFrameCodec.hidden(frame, count, batch.topK, batch.hidden);
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
    int count = DispatchFrameCodec.checkBody(frame, batch.topK, batch.hidden);
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
