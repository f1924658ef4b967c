package io.moeflux.pipeline.reference;

import io.moeflux.pipeline.checkpoint.Checkpoint;
import io.moeflux.pipeline.checkpoint.ExpertTensors;
import io.moeflux.pipeline.checkpoint.HfModelConfig;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One MoE block of a checkpoint computed in double precision, from the family's formulas:
 *
 * <ul>
 *   <li>mixtral: softmax router, top-k, renormalised; routed SwiGLU experts;
 *   <li>qwen3_moe: softmax router, top-k, renormalised only if {@code norm_topk_prob};
 *   <li>qwen2_moe: as qwen3_moe, plus the shared expert times {@code sigmoid(shared_expert_gate ·
 *       x)} per token;
 *   <li>deepseek_v3: the group-limited sigmoid router with correction bias and scaling ({@link
 *       Float64GroupLimitedRouter}); the shared experts added without a gate.
 * </ul>
 *
 * The output is {@code sum_k weight_k · expert_k(x) + shared(x)}: no residual, no norm.
 *
 * <p>It loads only the layer it computes: the router and the shared expert at {@link #load}, each
 * routed expert while it is needed (from the checkpoint, one at a time, dropped after use), so it
 * works on a layer of any size. The checkpoint must stay open while the block is used. Not
 * thread-safe (one caller at a time).
 */
public final class Float64MoeBlock {
  private final Checkpoint checkpoint;
  private final int layer;
  private final int hidden;
  private final int experts;
  private final Float64Router router;
  private final @Nullable Float64Expert shared;
  private final float @Nullable [] sharedGate;

  private Float64MoeBlock(
      Checkpoint checkpoint,
      int layer,
      Float64Router router,
      @Nullable Float64Expert shared,
      float @Nullable [] sharedGate) {
    this.checkpoint = checkpoint;
    this.layer = layer;
    this.hidden = checkpoint.config().hidden();
    this.experts = checkpoint.config().experts();
    this.router = router;
    this.shared = shared;
    this.sharedGate = sharedGate;
  }

  /**
   * Loads the router and the shared expert of decoder layer {@code layer}.
   *
   * @throws io.moeflux.pipeline.checkpoint.CheckpointException when the layer is out of range or
   *     dense, or a tensor is missing or malformed
   */
  public static Float64MoeBlock load(Checkpoint checkpoint, int layer) {
    Objects.requireNonNull(checkpoint, "checkpoint");
    checkpoint.moeIndex(layer);
    HfModelConfig c = checkpoint.config();
    float[] weight = checkpoint.routerWeight(layer);
    Float64Router router;
    @Nullable Float64Expert shared = null;
    float @Nullable [] sharedGate = null;
    switch (checkpoint.family()) {
      case MIXTRAL:
        router = new Float64SoftmaxRouter(c.hidden(), c.experts(), c.topK(), weight, true);
        break;
      case QWEN3_MOE:
        router =
            new Float64SoftmaxRouter(c.hidden(), c.experts(), c.topK(), weight, c.normTopkProb());
        break;
      case QWEN2_MOE:
        router =
            new Float64SoftmaxRouter(c.hidden(), c.experts(), c.topK(), weight, c.normTopkProb());
        ExpertTensors qwenShared = checkpoint.sharedExpert(layer);
        if (qwenShared != null) {
          shared = new Float64Expert(qwenShared);
          sharedGate = Objects.requireNonNull(checkpoint.sharedExpertGate(layer));
        }
        break;
      default:
        router =
            new Float64GroupLimitedRouter(
                c.hidden(),
                c.experts(),
                c.topK(),
                weight,
                Objects.requireNonNull(checkpoint.correctionBias(layer)),
                c.groups(),
                c.topkGroups(),
                c.normTopkProb(),
                c.routedScalingFactor());
        ExpertTensors deepseekShared = checkpoint.sharedExpert(layer);
        shared = deepseekShared == null ? null : new Float64Expert(deepseekShared);
        break;
    }
    return new Float64MoeBlock(checkpoint, layer, router, shared, sharedGate);
  }

  /** The decoder-layer index of this block. */
  public int layer() {
    return layer;
  }

  public ModelFamily family() {
    return checkpoint.family();
  }

  public int hidden() {
    return hidden;
  }

  public int topK() {
    return router.topK();
  }

  /** Routes {@code tokens} rows of {@code x} ({@code hidden} floats each, row-major). */
  public Float64Routing route(float[] x, int tokens) {
    return route(widen(x, tokens), tokens);
  }

  private Float64Routing route(double[] x, int tokens) {
    int k = router.topK();
    int[] ids = new int[tokens * k];
    double[] weights = new double[tokens * k];
    double[] gaps = new double[tokens];
    for (int t = 0; t < tokens; t++) {
      gaps[t] = router.route(x, t * hidden, ids, weights, t * k);
    }
    return new Float64Routing(tokens, k, ids, weights, gaps);
  }

  /**
   * The block's output for {@code tokens} rows of {@code x} ({@code hidden} floats each,
   * row-major), with the routing.
   */
  public Float64Output forward(float[] x, int tokens) {
    double[] in = widen(x, tokens);
    Float64Routing routing = route(in, tokens);
    int k = routing.topK();
    double[] out = new double[tokens * hidden];
    int[] rowsOf = new int[tokens];
    double[] weightOf = new double[tokens];
    for (int e = 0; e < experts; e++) {
      int n = 0;
      for (int t = 0; t < tokens; t++) {
        for (int slot = 0; slot < k; slot++) {
          if (routing.id(t, slot) == e) {
            rowsOf[n] = t;
            weightOf[n] = routing.weight(t, slot);
            n++;
          }
        }
      }
      if (n == 0) {
        continue;
      }
      double[] rows = new double[n * hidden];
      for (int i = 0; i < n; i++) {
        System.arraycopy(in, rowsOf[i] * hidden, rows, i * hidden, hidden);
      }
      double[] y = new Float64Expert(checkpoint.expert(layer, e)).apply(rows, n);
      for (int i = 0; i < n; i++) {
        int to = rowsOf[i] * hidden;
        for (int h = 0; h < hidden; h++) {
          out[to + h] += weightOf[i] * y[i * hidden + h];
        }
      }
    }
    if (shared != null) {
      addShared(in, tokens, out);
    }
    return new Float64Output(hidden, out, routing);
  }

  private void addShared(double[] in, int tokens, double[] out) {
    Float64Expert expert = Objects.requireNonNull(shared);
    double[] y = expert.apply(in, tokens);
    float[] gate = sharedGate;
    for (int t = 0; t < tokens; t++) {
      double scale = 1;
      if (gate != null) {
        scale = 1 / (1 + Math.exp(-Float64Router.dot(gate, 0, hidden, in, t * hidden)));
      }
      for (int h = 0; h < hidden; h++) {
        out[t * hidden + h] += scale * y[t * hidden + h];
      }
    }
  }

  private double[] widen(float[] x, int tokens) {
    Objects.requireNonNull(x, "x");
    if (tokens < 0 || x.length != (long) tokens * hidden) {
      throw new IllegalArgumentException(
          "expected " + tokens + " x " + hidden + " values, got " + x.length);
    }
    double[] in = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      in[i] = x[i];
    }
    return in;
  }

  @Override
  public String toString() {
    return "Float64MoeBlock{" + family().modelType() + ", layer " + layer + "}";
  }
}
