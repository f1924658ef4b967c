package io.moeflux.pipeline.model;

import io.moeflux.pipeline.kernel.ExpertKernel;
import org.jspecify.annotations.Nullable;

/**
 * One expert's function over rows of {@code hidden} floats: SwiGLU {@code down(silu(gate x) * (up
 * x))}, or the identity.
 *
 * <p>Bitwise deterministic per row: every output element is summed in one fixed order, whatever the
 * number of rows in the call and whichever other rows share it. The distributed pipeline batches
 * rows differently from the single-process path, and both must agree to the bit.
 *
 * <p>Implementations are immutable and thread-safe; {@link #forward} allocates nothing and writes
 * only {@code y} and the caller's {@code scratch}.
 */
public interface ExpertFfn {

  /** {@code expert(x) = x}. */
  static ExpertFfn identity(int hidden) {
    return new IdentityExpert(hidden);
  }

  /** The synthetic SwiGLU expert with these float32 weights, packed by {@code kernel}. */
  static ExpertFfn swiglu(ExpertWeights w, ExpertKernel kernel) {
    return new SwigluExpert(w, kernel);
  }

  int hidden();

  ExpertKind kind();

  /** Bytes of weights this expert holds in memory (0 for the identity). */
  long weightBytes();

  /**
   * The float32 weights behind a synthetic SwiGLU expert, which migration sends over the mesh;
   * {@code null} for the identity and for checkpoint experts.
   */
  @Nullable ExpertWeights weights();

  /**
   * Floats of scratch that {@link #forward} needs for {@code rows} rows. Non-decreasing in rows, so
   * a buffer sized for the largest batch serves every smaller one.
   */
  int scratchLength(int rows);

  /**
   * For {@code r < rows}: {@code y[yOffset + r*H ..+H] = expert(x[xOffset + r*H ..+H])},
   * overwriting y. {@code y} must not overlap the rows of {@code x} (except for the identity, which
   * copies).
   *
   * @param scratch at least {@link #scratchLength(int) scratchLength(rows)} floats, contents
   *     ignored; only those first floats are written, so the rest may hold {@code y}
   */
  void forward(float[] x, int xOffset, int rows, float[] y, int yOffset, float[] scratch);
}
