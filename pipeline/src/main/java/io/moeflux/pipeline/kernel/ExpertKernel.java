package io.moeflux.pipeline.kernel;

import io.moeflux.pipeline.checkpoint.ExpertTensors;

/**
 * Computes SwiGLU experts, {@code y = down(silu(gate x) * (up x))}, from matrices in their stored
 * precision. An implementation fixes the summation order of every output element independently of
 * how many rows a call carries, so the distributed pipeline (rows batched per slot) and the
 * single-process path (rows batched per expert) get the same bits. Two kernels may differ in those
 * bits, so ranks compare {@link #name()} at handshake.
 */
public interface ExpertKernel {
  /** Names the arithmetic (summation order, widening); equal names, equal bits. */
  String name();

  /** Floats of scratch {@link #swiglu} needs for {@code rows} rows; non-decreasing in rows. */
  int scratchLength(int intermediate, int rows);

  /**
   * For {@code r < rows}: {@code y[yOffset + r*H ..+H] = expert(x[xOffset + r*H ..+H])},
   * overwriting y; writes only the first {@link #scratchLength} floats of {@code scratch}.
   */
  void swiglu(
      ExpertTensors weights,
      float[] x,
      int xOffset,
      int rows,
      float[] y,
      int yOffset,
      float[] scratch);
}
