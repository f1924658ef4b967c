package io.moeflux.pipeline.kernel;

/**
 * One SwiGLU expert, {@code y = down(silu(gate x) * (up x))}, with its weights repacked once into
 * the layout of the {@link ExpertKernel} that made it, in their original precision.
 *
 * <p>Every output element is the same float32 sum whatever the rows of the call: an {@link
 * Math#fma} chain over ascending input index, starting from zero, and the activation of {@link
 * Silu}. A row alone, or among any others, gives the same bits; so do the kernels this package has,
 * which differ only in speed.
 *
 * <p>Immutable and thread-safe; {@link #forward} allocates nothing and writes only {@code y} and
 * the caller's scratch.
 */
public interface PackedExpert {
  /** The three matrices of an expert. */
  enum Matrix {
    /** {@code intermediate x hidden}. */
    GATE,
    /** {@code intermediate x hidden}. */
    UP,
    /** {@code hidden x intermediate}. */
    DOWN
  }

  /** The name of the kernel that packed and computes it. */
  String kernel();

  int hidden();

  int intermediate();

  /** The format of {@code matrix}'s weights. */
  WeightFormat format(Matrix matrix);

  /** Bytes of weights held, padding included. */
  long weightBytes();

  /** Floats of scratch {@link #forward} needs for {@code rows} rows; non-decreasing in rows. */
  int scratchLength(int rows);

  /**
   * For {@code r < rows}: {@code y[yOffset + r*H ..+H] = expert(x[xOffset + r*H ..+H])},
   * overwriting y, which must not overlap those rows of x.
   *
   * @param scratch at least {@link #scratchLength(int) scratchLength(rows)} floats, contents
   *     ignored; only those first floats are written
   */
  void forward(float[] x, int xOffset, int rows, float[] y, int yOffset, float[] scratch);

  /** Weight (output, input) of {@code matrix}, widened to float32 (to read weights back). */
  float weight(Matrix matrix, int output, int input);
}
