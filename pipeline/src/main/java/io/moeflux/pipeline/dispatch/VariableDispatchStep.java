package io.moeflux.pipeline.dispatch;

import io.moeflux.pipeline.HeatTap;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.PipelineException;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.Router;
import io.moeflux.pipeline.model.RowMath;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.StepAbortedException;
import io.moeflux.transport.protocol.FrameKind;
import io.netty.buffer.ByteBuf;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Objects;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The {@link io.moeflux.pipeline.sync.CommMode#VARIABLE} step: for every layer, route, dispatch
 * (one frame to every peer, count 0 allowed), run the local experts on what arrived, combine (one
 * frame back to every peer), and add the gate-weighted sums to the hidden states. No global
 * agreement on sizes: each frame carries its count.
 *
 * <p>All working memory is allocated once, for the worst case {@code maxTokensPerRank × ranks ×
 * min(localSlots, topK)} received rows. A step runs one layer at a time and a rank runs one step at
 * a time, so the buffers are never shared between two phases in flight.
 */
final class VariableDispatchStep {
  private final RankMesh mesh;
  private final HeatTap heatTap;
  private final Scheduler expertScheduler;
  private final int rank;
  private final int ranks;
  private final int hidden;
  private final int topK;
  private final int maxTokens;

  private final float[] state;
  private final DispatchPlan plan;
  private final float[] routeScratch;

  private final int[] sourceCount;
  private final int[] sourceBase;
  private final int[] rowOf;
  private final ExpertRows expertRows;
  private final int rowsCapacity;
  private final float[] partialOut;
  private final float[] partialSelf;
  private final float[] row;
  private final float[] acc;

  /** Per-layer views of the COMBINE frames, one per peer; reused, set before every read. */
  private final FloatBuffer[] combineViews;

  private long step;
  private int tokens;
  private volatile long hiddenBytesSent;
  private boolean prefill;

  VariableDispatchStep(RankMesh mesh, PipelineConfig config, int slotsPerRank, HeatTap heatTap) {
    this.mesh = Objects.requireNonNull(mesh, "mesh");
    this.heatTap = Objects.requireNonNull(heatTap, "heatTap");
    this.expertScheduler = config.expertScheduler();
    this.rank = mesh.rank();
    this.ranks = mesh.worldSize();
    this.hidden = config.model().hidden();
    this.topK = config.model().topK();
    this.maxTokens = config.maxTokensPerRank();
    this.state = new float[maxTokens * hidden];
    this.plan = new DispatchPlan(ranks, topK, maxTokens);
    this.routeScratch = new float[Router.of(config.model(), 0).scratchLength()];
    this.sourceCount = new int[ranks];
    this.sourceBase = new int[ranks + 1];
    this.rowOf = new int[maxTokens * ranks * topK];
    int rowsCapacity = maxTokens * ranks * Math.min(slotsPerRank, topK);
    this.expertRows = new ExpertRows(hidden, rowsCapacity, slotsPerRank);
    this.partialOut = new float[maxTokens * hidden];
    this.partialSelf = new float[maxTokens * hidden];
    this.row = new float[hidden];
    this.acc = new float[hidden];
    this.combineViews = new FloatBuffer[ranks];
    this.rowsCapacity = rowsCapacity;
  }

  /**
   * Runs {@code in} through every layer. {@code experts[layer][localSlot]} are this rank's experts
   * under {@code placement}; {@code routers[layer]} the gates.
   */
  Mono<TokenBatch> run(
      TokenBatch in, Placement placement, ExpertFfn[][] experts, Router[] routers) {
    return Mono.defer(
        () -> {
          step = in.step();
          tokens = in.tokens();
          prefill = in.prefill();
          expertRows.reserve(rowsCapacity, placement.slotsPerRank());
          System.arraycopy(in.data(), 0, state, 0, tokens * hidden);
          Mono<Void> layers = Mono.empty();
          for (int l = 0; l < routers.length; l++) {
            int layer = l;
            layers =
                layers.then(
                    Mono.defer(() -> layer(layer, placement, experts[layer], routers[layer])));
          }
          return layers.then(
              Mono.fromSupplier(
                  () -> {
                    heatTap.onStepEnd(step);
                    return output(in);
                  }));
        });
  }

  /**
   * Hidden-vector bytes this rank has put on the wire in dispatch and combine frames (the payload a
   * benchmark counts; headers and top-k picks excluded).
   */
  long hiddenBytesSent() {
    return hiddenBytesSent;
  }

  /**
   * Tells every peer that this rank refuses {@code step}, so that they fail it at once with the
   * reason instead of waiting for frames that will never come.
   */
  void abort(long step, String reason) {
    mesh.abort(step, reason);
  }

  private TokenBatch output(TokenBatch in) {
    float[] data = Arrays.copyOf(state, tokens * hidden);
    int[] ids = Arrays.copyOf(plan.ids, tokens * topK);
    float[] weights = Arrays.copyOf(plan.weights, tokens * topK);
    return TokenBatch.routed(step, tokens, hidden, data, in.prefill(), ids, weights);
  }

  private Mono<Void> layer(int layer, Placement placement, ExpertFfn[] experts, Router router) {
    router.route(state, tokens, plan.ids, plan.weights, routeScratch);
    plan.build(placement, layer, rank, tokens);
    sendDispatch(layer);
    Mono<PeerFrames> dispatched = mesh.receive(FrameKind.DISPATCH, step, layer);
    if (expertScheduler != Schedulers.immediate()) {
      dispatched = dispatched.publishOn(expertScheduler);
    }
    return dispatched
        .flatMap(
            frames -> {
              try {
                runExperts(layer, frames, experts, placement.slotsPerRank());
              } finally {
                frames.release();
              }
              return mesh.receive(FrameKind.COMBINE, step, layer);
            })
        .doOnNext(
            frames -> {
              try {
                combine(frames);
              } finally {
                frames.release();
              }
            })
        .doOnDiscard(PeerFrames.class, PeerFrames::release)
        .onErrorMap(StepAbortedException.class, this::refusedByPeer)
        .then();
  }

  private PipelineException refusedByPeer(StepAbortedException aborted) {
    return new PipelineException(
        "rank "
            + rank
            + ": step "
            + aborted.step()
            + " refused by rank "
            + aborted.peer()
            + ": "
            + aborted.reason(),
        aborted);
  }

  private void sendDispatch(int layer) {
    for (int dest = 0; dest < ranks; dest++) {
      if (dest == rank) {
        continue;
      }
      int count = plan.destCount[dest];
      ByteBuf frame =
          DispatchFrameCodec.allocate(mesh.allocator(), step, layer, rank, count, topK, hidden);
      if (count > 0) {
        FloatBuffer rows = DispatchFrameCodec.hidden(frame, count, topK, hidden);
        for (int i = 0; i < count; i++) {
          int t = plan.token(dest, i);
          for (int k = 0; k < topK; k++) {
            DispatchFrameCodec.setPick(
                frame, count, i, k, topK, plan.localSlot(t, k, dest), plan.weights[t * topK + k]);
          }
          rows.put(i * hidden, state, t * hidden, hidden);
        }
      }
      DispatchFrameCodec.finish(frame, count, topK, hidden);
      hiddenBytesSent += (long) count * hidden * Float.BYTES;
      mesh.send(dest, frame);
    }
  }

  /** Groups received rows per local slot, runs the experts, and sends the partial sums home. */
  private void runExperts(int layer, PeerFrames frames, ExpertFfn[] experts, int slotsPerRank) {
    sourceBase[0] = 0;
    for (int s = 0; s < ranks; s++) {
      int count = s == rank ? plan.destCount[rank] : frames.count(s);
      if (count > maxTokens) {
        throw new PipelineException(
            "rank "
                + rank
                + ": rank "
                + s
                + " dispatched "
                + count
                + " tokens at step "
                + step
                + ", over the capacity of "
                + maxTokens
                + " per rank");
      }
      sourceCount[s] = count;
      sourceBase[s + 1] = sourceBase[s] + count;
    }

    expertRows.clear();
    for (int s = 0; s < ranks; s++) {
      ByteBuf frame = frames.frame(s);
      for (int i = 0; i < sourceCount[s]; i++) {
        for (int k = 0; k < topK; k++) {
          int local = pickSlot(frame, s, i, k);
          if (local >= slotsPerRank) {
            throw new PipelineException(
                "rank "
                    + rank
                    + ": rank "
                    + s
                    + " dispatched to local slot "
                    + local
                    + " of "
                    + slotsPerRank
                    + " at step "
                    + step
                    + ", layer "
                    + layer);
          }
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
      FloatBuffer rows = s == rank ? null : DispatchFrameCodec.hidden(frame, count, topK, hidden);
      for (int i = 0; i < count; i++) {
        int g = sourceBase[s] + i;
        for (int k = 0; k < topK; k++) {
          int local = pickSlot(frame, s, i, k);
          if (local < 0) {
            rowOf[g * topK + k] = -1;
            continue;
          }
          int r = expertRows.place(local);
          rowOf[g * topK + k] = r;
          if (rows == null) {
            System.arraycopy(state, plan.token(rank, i) * hidden, expertIn, r * hidden, hidden);
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

  private int pickSlot(ByteBuf frame, int source, int i, int k) {
    if (source == rank) {
      return plan.localSlot(plan.token(rank, i), k, rank);
    }
    return DispatchFrameCodec.localSlot(frame, i, k, topK);
  }

  private float pickWeight(ByteBuf frame, int source, int i, int k) {
    if (source == rank) {
      return plan.weights[plan.token(rank, i) * topK + k];
    }
    return DispatchFrameCodec.weight(frame, sourceCount[source], i, k, topK);
  }

  /** Adds, per token and in ascending rank order, the partial sums that came home. */
  private void combine(PeerFrames frames) {
    FloatBuffer[] partials = combineViews;
    for (int r = 0; r < ranks; r++) {
      if (r == rank) {
        continue;
      }
      int count = frames.count(r);
      if (count != plan.destCount[r]) {
        throw new PipelineException(
            "rank "
                + rank
                + ": rank "
                + r
                + " combined "
                + count
                + " tokens at step "
                + step
                + " but was sent "
                + plan.destCount[r]);
      }
      partials[r] = CombineFrameCodec.partials(frames.frame(r), count, hidden);
    }
    for (int t = 0; t < tokens; t++) {
      Arrays.fill(acc, 0f);
      for (int r = 0; r < ranks; r++) {
        int pos = plan.posInDest[t * ranks + r];
        if (pos < 0) {
          continue;
        }
        if (r == rank) {
          RowMath.addInto(acc, 0, partialSelf, pos * hidden, hidden);
        } else {
          partials[r].get(pos * hidden, row, 0, hidden);
          RowMath.addInto(acc, 0, row, 0, hidden);
        }
      }
      RowMath.addInto(state, t * hidden, acc, 0, hidden);
    }
  }
}
