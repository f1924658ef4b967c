package io.moeflux.pipeline.kernel;

/**
 * The kernel that needs nothing but the JDK: weights repacked input-major ({@link KMajorMatrix}),
 * plain loops over them, each output element an {@link Math#fma} chain over ascending input index,
 * the activation of {@link Silu}. The fallback when {@code jdk.incubator.vector} is not enabled;
 * its results have the vector kernel's bits, at a fraction of its speed.
 */
public final class ScalarExpertKernel implements ExpertKernel {
  /** The shared instance: the kernel holds no state. */
  public static final ScalarExpertKernel INSTANCE = new ScalarExpertKernel();

  static final String NAME = "scalar-fma-v1";

  /** Rows that share one pass over the weights, so that a weight is loaded once per block. */
  private static final int ROW_BLOCK = 4;

  private ScalarExpertKernel() {}

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public PackedExpert pack(WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
    SwigluShape shape = SwigluShape.of(gate, up, down);
    return new Packed(shape, KMajorMatrix.of(gate, up), KMajorMatrix.of(down));
  }

  @Override
  public String toString() {
    return NAME;
  }

  private static final class Packed extends PackedSwiglu<KMajorMatrix> {
    Packed(SwigluShape shape, KMajorMatrix gateUp, KMajorMatrix down) {
      super(NAME, shape, gateUp, down);
    }

    @Override
    public int scratchLength(int rows) {
      if (rows < 0) {
        throw new IllegalArgumentException("rows must be >= 0, got " + rows);
      }
      return Math.min(rows, ROW_BLOCK) * 2 * shape.intermediate();
    }

    /**
     * Per block of rows: gate and up sums side by side in the scratch ({@code [g | u]} per row),
     * the activation written over g, then the down projection straight into y.
     */
    @Override
    public void forward(float[] x, int xOffset, int rows, float[] y, int yOffset, float[] scratch) {
      checkForward(x, xOffset, rows, y, yOffset, scratch);
      int h = shape.hidden();
      int n = shape.intermediate();
      for (int first = 0; first < rows; first += ROW_BLOCK) {
        int block = Math.min(ROW_BLOCK, rows - first);
        gateUp.project(x, xOffset + first * h, h, block, scratch, 0, 2 * n);
        for (int q = 0; q < block; q++) {
          int g = q * 2 * n;
          for (int j = 0; j < n; j++) {
            scratch[g + j] = Silu.silu(scratch[g + j]) * scratch[g + n + j];
          }
        }
        down.project(scratch, 0, 2 * n, block, y, yOffset + first * h, h);
      }
    }
  }
}
