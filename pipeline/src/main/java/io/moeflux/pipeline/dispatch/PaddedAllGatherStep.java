package io.moeflux.pipeline.dispatch;

import io.moeflux.pipeline.HeatTap;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.PipelineException;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.Router;
import io.moeflux.pipeline.model.RowMath;
import io.moeflux.pipeline.sync.DpMetadata;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.netty.buffer.ByteBuf;
import java.nio.FloatBuffer;
import java.util.Arrays;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The {@link io.moeflux.pipeline.sync.CommMode#PADDED_ALLGATHER} step, for batches beyond the
 * variable-dispatch capacity. Every rank pads its tokens to the step's largest batch (known from
 * the DP metadata sync) and sends them, with their routing, to every peer; each rank runs its local
 * experts on every rank's tokens and sends each source its partial sums (an all-to-all standing in
 * for a reduce-scatter). The arithmetic, and so the result, is the same as the variable step.
 *
 * <p>GATHER frame body: {@code count × topK} int logical expert ids, {@code count × topK} float
 * weights, then {@code paddedCount × hidden} floats, rows past {@code count} zero. Buffers grow to
 * the largest step seen; this mode is the exception, not the hot path.
 */
final class PaddedAllGatherStep {
  private final RankMesh mesh;
  private final HeatTap heatTap;
  private final Scheduler expertScheduler;
  private final int rank;
  private final int ranks;
  private final int hidden;
  private final int topK;
  private final float[] routeScratch;
  private final int[] sourceCount;
  private final int[] sourceBase;
  private final float[] row;
  private final float[] acc;

  /** Per-layer views of the COMBINE frames, one per peer; reused, set before every read. */
  private final FloatBuffer[] combineViews;

  private float[] state = new float[0];
  private int[] ids = new int[0];
  private float[] weights = new float[0];
  private int[] rowOf = new int[0];
  private float[] partialOut = new float[0];
  private float[] partialSelf = new float[0];
  private final ExpertRows expertRows;

  private long step;
  private int tokens;
  private int padded;
  private boolean prefill;
  private volatile long hiddenBytesSent;

  PaddedAllGatherStep(RankMesh mesh, PipelineConfig config, HeatTap heatTap) {
    this.mesh = mesh;
    this.heatTap = heatTap;
    this.expertScheduler = config.expertScheduler();
    this.rank = mesh.rank();
    this.ranks = mesh.worldSize();
    this.hidden = config.model().hidden();
    this.topK = config.model().topK();
    this.routeScratch = new float[Router.of(config.model(), 0).scratchLength()];
    this.sourceCount = new int[ranks];
    this.sourceBase = new int[ranks + 1];
    this.row = new float[hidden];
    this.acc = new float[hidden];
    this.combineViews = new FloatBuffer[ranks];
    this.expertRows = new ExpertRows(hidden, 0, 0);
  }

  long hiddenBytesSent() {
    return hiddenBytesSent;
  }

  Mono<TokenBatch> run(
      TokenBatch in,
      DpMetadata metadata,
      Placement placement,
      ExpertFfn[][] experts,
      Router[] routers) {
    return Mono.defer(
        () -> {
          step = in.step();
          tokens = in.tokens();
          prefill = in.prefill();
          padded = metadata.maxTokens();
          grow(placement.slotsPerRank());
          System.arraycopy(in.data(), 0, state, 0, tokens * hidden);
          Mono<Void> layers = Mono.empty();
          for (int l = 0; l < routers.length; l++) {
            int layer = l;
            layers =
                layers.then(
                    Mono.defer(
                        () -> layer(layer, metadata, placement, experts[layer], routers[layer])));
          }
          return layers.then(
              Mono.fromSupplier(
                  () -> {
                    heatTap.onStepEnd(step);
                    return TokenBatch.routed(
                        step,
                        tokens,
                        hidden,
                        Arrays.copyOf(state, tokens * hidden),
                        prefill,
                        Arrays.copyOf(ids, tokens * topK),
                        Arrays.copyOf(weights, tokens * topK));
                  }));
        });
  }

  private void grow(int slotsPerRank) {
    int gathered = ranks * padded;
    if (state.length < padded * hidden) {
      state = new float[padded * hidden];
      ids = new int[padded * topK];
      weights = new float[padded * topK];
      partialSelf = new float[padded * hidden];
      partialOut = new float[padded * hidden];
    }
    if (rowOf.length < gathered * topK) {
      rowOf = new int[gathered * topK];
    }
    expertRows.reserve(gathered * Math.min(slotsPerRank, topK), slotsPerRank);
  }

  private Mono<Void> layer(
      int layer, DpMetadata metadata, Placement placement, ExpertFfn[] experts, Router router) {
    router.route(state, tokens, ids, weights, routeScratch);
    for (int peer = 0; peer < ranks; peer++) {
      if (peer != rank) {
        mesh.send(peer, gatherFrame(layer));
      }
    }
    Mono<PeerFrames> gathered = mesh.receive(FrameKind.GATHER, step, layer);
    if (expertScheduler != Schedulers.immediate()) {
      gathered = gathered.publishOn(expertScheduler);
    }
    return gathered
        .flatMap(
            frames -> {
              try {
                runExperts(layer, metadata, frames, placement, experts);
              } finally {
                frames.release();
              }
              return mesh.receive(FrameKind.COMBINE, step, layer);
            })
        .doOnNext(
            frames -> {
              try {
                combine(layer, placement, frames);
              } finally {
                frames.release();
              }
            })
        .doOnDiscard(PeerFrames.class, PeerFrames::release)
        .then();
  }

  private ByteBuf gatherFrame(int layer) {
    int picks = tokens * topK;
    int bodyBytes = picks * (Integer.BYTES + Float.BYTES) + padded * hidden * Float.BYTES;
    ByteBuf frame =
        FrameHeaderCodec.allocate(
            mesh.allocator(), FrameKind.GATHER, step, layer, rank, tokens, bodyBytes);
    int base = FrameHeaderCodec.bodyIndex(frame);
    for (int i = 0; i < picks; i++) {
      frame.setIntLE(base + i * Integer.BYTES, ids[i]);
      frame.setFloatLE(base + (picks + i) * Float.BYTES, weights[i]);
    }
    int rowsIndex = base + picks * (Integer.BYTES + Float.BYTES);
    if (padded > 0) {
      FloatBuffer rows = FloatViews.of(frame, rowsIndex, padded * hidden);
      rows.put(0, state, 0, tokens * hidden);
      frame.setZero(
          rowsIndex + tokens * hidden * Float.BYTES, (padded - tokens) * hidden * Float.BYTES);
    }
    frame.writerIndex(FrameHeaderCodec.HEADER_BYTES + bodyBytes);
    hiddenBytesSent += (long) padded * hidden * Float.BYTES;
    return frame;
  }

  private int pickId(ByteBuf frame, int source, int i, int k) {
    if (source == rank) {
      return ids[i * topK + k];
    }
    return frame.getIntLE(FrameHeaderCodec.bodyIndex(frame) + (i * topK + k) * Integer.BYTES);
  }

  private float pickWeight(ByteBuf frame, int source, int i, int k) {
    if (source == rank) {
      return weights[i * topK + k];
    }
    int picks = sourceCount[source] * topK;
    return frame.getFloatLE(
        FrameHeaderCodec.bodyIndex(frame) + (picks + i * topK + k) * Float.BYTES);
  }

  private int localSlot(Placement placement, int layer, int source, int token, int id) {
    int slot = placement.physical(layer, id, token + source);
    return placement.rankOfSlot(slot) == rank ? slot - rank * placement.slotsPerRank() : -1;
  }

  private void runExperts(
      int layer, DpMetadata metadata, PeerFrames frames, Placement placement, ExpertFfn[] experts) {
    sourceBase[0] = 0;
    for (int s = 0; s < ranks; s++) {
      int count = s == rank ? tokens : frames.count(s);
      if (count != metadata.count(s)) {
        throw new PipelineException(
            "rank "
                + rank
                + ": rank "
                + s
                + " gathered "
                + count
                + " tokens at step "
                + step
                + " but the DP metadata sync said "
                + metadata.count(s));
      }
      sourceCount[s] = count;
      sourceBase[s + 1] = sourceBase[s] + count;
    }
    expertRows.clear();
    for (int s = 0; s < ranks; s++) {
      ByteBuf frame = frames.frame(s);
      for (int i = 0; i < sourceCount[s]; i++) {
        for (int k = 0; k < topK; k++) {
          int local = localSlot(placement, layer, s, i, pickId(frame, s, i, k));
          rowOf[(sourceBase[s] + i) * topK + k] = local;
          if (local >= 0) {
            expertRows.count(local);
          }
        }
      }
    }
    expertRows.layout();
    if (heatTap != HeatTap.NONE) {
      heatTap.onDispatch(step, layer, prefill, expertRows.counts().clone());
    }
    float[] expertIn = expertRows.input();
    for (int s = 0; s < ranks; s++) {
      ByteBuf frame = frames.frame(s);
      int count = sourceCount[s];
      FloatBuffer rows = null;
      if (s != rank && count > 0) {
        rows =
            FloatViews.of(
                frame, FrameHeaderCodec.bodyIndex(frame) + count * topK * 8, count * hidden);
      }
      for (int i = 0; i < count; i++) {
        int g = sourceBase[s] + i;
        for (int k = 0; k < topK; k++) {
          int local = rowOf[g * topK + k];
          if (local < 0) {
            continue;
          }
          int r = expertRows.place(local);
          rowOf[g * topK + k] = r;
          if (rows == null) {
            System.arraycopy(state, i * hidden, expertIn, r * hidden, hidden);
          } else {
            rows.get(i * hidden, expertIn, r * hidden, hidden);
          }
        }
      }
    }
    expertRows.run(experts);
    float[] expertOut = expertRows.output();
    for (int s = 0; s < ranks; s++) {
      int count = sourceCount[s];
      float[] partials = s == rank ? partialSelf : partialOut;
      ByteBuf frame = frames.frame(s);
      for (int i = 0; i < count; i++) {
        int g = sourceBase[s] + i;
        int off = i * hidden;
        Arrays.fill(partials, off, off + hidden, 0f);
        for (int k = 0; k < topK; k++) {
          int r = rowOf[g * topK + k];
          if (r >= 0) {
            RowMath.accumulateWeighted(
                partials, off, pickWeight(frame, s, i, k), expertOut, r * hidden, hidden);
          }
        }
      }
      if (s != rank) {
        hiddenBytesSent += ExpertRows.sendPartials(mesh, step, layer, s, partialOut, count, hidden);
      }
    }
  }

  private void combine(int layer, Placement placement, PeerFrames frames) {
    FloatBuffer[] partials = combineViews;
    for (int r = 0; r < ranks; r++) {
      if (r != rank) {
        if (frames.count(r) != tokens) {
          throw new PipelineException(
              "rank "
                  + rank
                  + ": rank "
                  + r
                  + " combined "
                  + frames.count(r)
                  + " tokens at step "
                  + step
                  + " but was sent "
                  + tokens);
        }
        partials[r] = CombineFrameCodec.partials(frames.frame(r), tokens, hidden);
      }
    }
    for (int t = 0; t < tokens; t++) {
      Arrays.fill(acc, 0f);
      for (int r = 0; r < ranks; r++) {
        if (!hasPickOn(placement, layer, t, r)) {
          continue;
        }
        if (r == rank) {
          RowMath.addInto(acc, 0, partialSelf, t * hidden, hidden);
        } else {
          partials[r].get(t * hidden, row, 0, hidden);
          RowMath.addInto(acc, 0, row, 0, hidden);
        }
      }
      RowMath.addInto(state, t * hidden, acc, 0, hidden);
    }
  }

  private boolean hasPickOn(Placement placement, int layer, int token, int dest) {
    for (int k = 0; k < topK; k++) {
      int slot = placement.physical(layer, ids[token * topK + k], token + rank);
      if (placement.rankOfSlot(slot) == dest) {
        return true;
      }
    }
    return false;
  }
}
