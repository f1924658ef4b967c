package io.moeflux.pipeline.kernel;

import static io.moeflux.pipeline.kernel.VectorLanes.FLOATS;
import static io.moeflux.pipeline.kernel.VectorLanes.LANES;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The kernel written with the JDK Vector API ({@code jdk.incubator.vector}, which the JVM must be
 * started with: {@code --add-modules jdk.incubator.vector}). Weights are repacked at load into
 * panels ({@link PanelMatrix}); a batch of rows runs as two matrix products of register tiles, up
 * to 6 rows x 4 vectors for prefill batches, 1 to 4 rows for decode, where the product streams the
 * weights once from memory. Each output element is an fma chain over ascending input index in every
 * tile, and the activation is {@link Silu}'s lane by lane, so results have the scalar kernel's bits
 * however rows are batched.
 *
 * <p>Load this class only when the module is present ({@link ExpertKernels} does it by name).
 */
public final class VectorExpertKernel implements ExpertKernel {
  /**
   * Rows per pass over the weights. Bounds the scratch (a few MiB for large experts) while each
   * weight still serves hundreds of rows once loaded.
   */
  static final int ROW_CHUNK = 256;

  private final String name;

  private VectorExpertKernel() {
    this.name = "vector" + FLOATS.vectorBitSize() + "-fma-v1";
  }

  /**
   * The kernel, or null when this machine's vectors are too narrow to pay off (fewer than four
   * float lanes).
   */
  public static @org.jspecify.annotations.Nullable VectorExpertKernel create() {
    return FloatVector.SPECIES_PREFERRED.length() >= 4 ? new VectorExpertKernel() : null;
  }

  @Override
  public String name() {
    return name;
  }

  /** Float lanes of a vector on this machine. */
  public int lanes() {
    return LANES;
  }

  @Override
  public PackedExpert pack(WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
    SwigluShape shape = SwigluShape.of(gate, up, down);
    PanelMatrix gateUp = PanelMatrix.of(gate, up);
    PanelMatrix downPanels = PanelMatrix.of(down);
    if (gateUp.hasNonFinite() || downPanels.hasNonFinite()) {
      return ScalarExpertKernel.INSTANCE.pack(gate, up, down);
    }
    return new Packed(name, shape, gateUp, downPanels);
  }

  @Override
  public String toString() {
    return name;
  }

  /** {@code silu(g) * u} over {@link LANES} lanes: {@link Silu#silu} step by step. */
  static FloatVector siluTimes(FloatVector g, FloatVector u) {
    FloatVector x = g.neg().max(Silu.MIN_ARGUMENT).min(Silu.MAX_ARGUMENT);
    FloatVector rounded = x.fma(Silu.LOG2_E, Silu.ROUNDER);
    FloatVector n = rounded.sub(Silu.ROUNDER);
    FloatVector r = n.fma(FloatVector.broadcast(FLOATS, -Silu.LN2_HIGH), x);
    r = n.fma(FloatVector.broadcast(FLOATS, -Silu.LN2_LOW), r);
    FloatVector p = FloatVector.broadcast(FLOATS, Silu.C7).fma(r, constant(Silu.C6));
    p = p.fma(r, constant(Silu.C5));
    p = p.fma(r, constant(Silu.C4));
    p = p.fma(r, constant(Silu.C3));
    p = p.fma(r, constant(Silu.C2));
    p = p.fma(r, constant(1f));
    p = p.fma(r, constant(1f));
    FloatVector scale =
        rounded
            .reinterpretAsInts()
            .sub(Silu.ROUNDER_BITS_MINUS_BIAS)
            .lanewise(VectorOperators.LSHL, 23)
            .reinterpretAsFloats();
    return g.div(p.mul(scale).add(1f)).mul(u);
  }

  private static FloatVector constant(float value) {
    return FloatVector.broadcast(FLOATS, value);
  }

  private static final class Packed extends PackedSwiglu<PanelMatrix> {
    Packed(String kernel, SwigluShape shape, PanelMatrix gateUp, PanelMatrix down) {
      super(kernel, shape, gateUp, down);
    }

    /**
     * Per chunk of rows: the rows packed for the tiles, the activations packed likewise, and the
     * products' sums (gate and up side by side, then, when hidden is not a whole number of panels,
     * the down projection before it is copied to y).
     */
    @Override
    public int scratchLength(int rows) {
      if (rows < 0) {
        throw new IllegalArgumentException("rows must be >= 0, got " + rows);
      }
      int m = Math.min(rows, ROW_CHUNK);
      int sums = Math.max(gateUp.paddedOutputs(), down.paddedOutputs());
      return Math.multiplyExact(m, shape.hidden() + shape.intermediate() + sums);
    }

    @Override
    public void forward(float[] x, int xOffset, int rows, float[] y, int yOffset, float[] scratch) {
      checkForward(x, xOffset, rows, y, yOffset, scratch);
      int h = shape.hidden();
      int n = shape.intermediate();
      int m = Math.min(rows, ROW_CHUNK);
      int activations = m * h;
      int sums = activations + m * n;
      int gateUpStride = gateUp.paddedOutputs();
      boolean downIntoY = down.paddedOutputs() == h;
      for (int first = 0; first < rows; first += ROW_CHUNK) {
        int block = Math.min(ROW_CHUNK, rows - first);
        PanelMatrix.packRows(x, xOffset + first * h, h, block, h, gateUp.maxTileRows(), scratch, 0);
        gateUp.multiply(scratch, 0, block, scratch, sums, gateUpStride);
        activate(scratch, sums, gateUpStride, block, n);
        PanelMatrix.packRows(
            scratch, sums, gateUpStride, block, n, down.maxTileRows(), scratch, activations);
        if (downIntoY) {
          down.multiply(scratch, activations, block, y, yOffset + first * h, h);
        } else {
          int stride = down.paddedOutputs();
          down.multiply(scratch, activations, block, scratch, sums, stride);
          for (int r = 0; r < block; r++) {
            System.arraycopy(scratch, sums + r * stride, y, yOffset + (first + r) * h, h);
          }
        }
      }
    }

    /** In each row of {@code c}: the gate sums {@code [0, n)} become {@code silu(g) * u}. */
    private static void activate(float[] c, int offset, int stride, int rows, int n) {
      int bound = FLOATS.loopBound(n);
      for (int r = 0; r < rows; r++) {
        int g = offset + r * stride;
        int j = 0;
        for (; j < bound; j += LANES) {
          FloatVector gate = FloatVector.fromArray(FLOATS, c, g + j);
          FloatVector up = FloatVector.fromArray(FLOATS, c, g + n + j);
          siluTimes(gate, up).intoArray(c, g + j);
        }
        for (; j < n; j++) {
          c[g + j] = Silu.silu(c[g + j]) * c[g + n + j];
        }
      }
    }
  }
}
