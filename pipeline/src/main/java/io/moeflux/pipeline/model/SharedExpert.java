package io.moeflux.pipeline.model;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A MoE layer's shared expert, which every token runs on its home rank besides its routed experts:
 * {@code shared(x) = ffn(x)} (DeepSeek-V3's {@code shared_experts}), or {@code sigmoid(gate . x) *
 * ffn(x)} with a per-token scalar gate (Qwen2-MoE's {@code shared_expert_gate}). Every rank holds a
 * copy. Immutable and thread-safe.
 */
public final class SharedExpert {
  private final ExpertFfn ffn;
  private final float @Nullable [] gate;

  private SharedExpert(ExpertFfn ffn, float @Nullable [] gate) {
    this.ffn = Objects.requireNonNull(ffn, "ffn");
    this.gate = gate;
    if (gate != null && gate.length != ffn.hidden()) {
      throw new IllegalArgumentException(
          "the shared expert's gate has " + gate.length + " weights, hidden is " + ffn.hidden());
    }
  }

  /** {@code shared(x) = ffn(x)}. */
  public static SharedExpert ungated(ExpertFfn ffn) {
    return new SharedExpert(ffn, null);
  }

  /** {@code shared(x) = sigmoid(gate . x) * ffn(x)}; {@code gate} is owned by the expert. */
  public static SharedExpert gated(ExpertFfn ffn, float[] gate) {
    return new SharedExpert(ffn, Objects.requireNonNull(gate, "gate"));
  }

  public int hidden() {
    return ffn.hidden();
  }

  /** Bytes of weights held: the FFN and the gate. */
  public long weightBytes() {
    return ffn.weightBytes() + (gate == null ? 0 : (long) gate.length * Float.BYTES);
  }

  /**
   * {@code y[t] = shared(x[t])} for {@code t < tokens}, row-major rows of {@code hidden()},
   * overwriting y: {@code ffn(x_t)} on {@code workers} (which may split the tokens among threads;
   * each row's bits are its own), then times {@code g_t} when gated (g_t in float32, its dot
   * product over ascending index). Callers add y to the routed sum with {@link RowMath#addInto}, so
   * the distributed and single-process paths add it the same way.
   */
  public void forward(float[] x, int tokens, float[] y, ExpertWorkers workers) {
    int h = ffn.hidden();
    Objects.checkFromIndexSize(0, Math.multiplyExact(tokens, h), x.length);
    Objects.checkFromIndexSize(0, Math.multiplyExact(tokens, h), y.length);
    workers.run(ffn, tokens, x, y);
    if (gate == null) {
      return;
    }
    for (int t = 0; t < tokens; t++) {
      int row = t * h;
      float g = sigmoid(dot(gate, x, row, h));
      for (int j = 0; j < h; j++) {
        y[row + j] *= g;
      }
    }
  }

  private static float dot(float[] w, float[] x, int xOffset, int h) {
    float sum = 0f;
    for (int i = 0; i < h; i++) {
      sum += w[i] * x[xOffset + i];
    }
    return sum;
  }

  private static float sigmoid(float z) {
    return 1f / (1f + (float) Math.exp(-z));
  }

  @Override
  public String toString() {
    return "SharedExpert{" + ffn + (gate != null ? ", gated" : "") + "}";
  }
}
