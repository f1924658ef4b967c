package io.moeflux.pipeline.kernel;

import static io.moeflux.pipeline.kernel.VectorLanes.PANEL;

import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A matrix repacked for the vector tiles: outputs in panels of {@link VectorLanes#PANEL} (the last
 * one padded with zero weights), each panel input-major, {@code [input][PANEL]}, so a tile reads
 * one contiguous stream per panel and its vectors run across outputs. 16-bit weights stay 16 bits.
 * Each panel is an array of its own: a whole expert in one array would be a humongous object to G1
 * once it passes half a heap region, and such an object wastes the rest of its last region (a third
 * of the memory of a small expert). The product runs panel by panel, inputs in chunks that stay in
 * cache while every tile of rows uses them; a chunk's sums are stored and reloaded by the next,
 * which changes no bit.
 */
final class PanelMatrix implements SwigluShape.PackedMatrix {
  /** Inputs per chunk: a float32 chunk of a panel is 256 KiB with 16 lanes, within L2. */
  private static final int CHUNK = 1024;

  private static final float[] NO_FLOATS = new float[0];
  private static final short[] NO_HALVES = new short[0];

  private final WeightFormat format;
  private final int outputs;
  private final int inputs;
  private final int panels;
  private final int maxTileRows;
  private final float @Nullable [][] floats;
  private final short @Nullable [][] halves;

  private PanelMatrix(WeightFormat format, int outputs, int inputs) {
    this.format = format;
    this.outputs = outputs;
    this.inputs = inputs;
    this.panels = (outputs + PANEL - 1) / PANEL;
    this.maxTileRows = maxTileRows(format);
    int length = Math.multiplyExact(PANEL, inputs);
    this.floats = format == WeightFormat.F32 ? new float[panels][length] : null;
    this.halves = format == WeightFormat.F32 ? null : new short[panels][length];
  }

  /**
   * The most rows a tile takes: 6 x 4 sums fill 24 of the 32 registers of a 512-bit machine, 4 x 4
   * leave room for decoding half-precision, 2 x 4 fit the 16 registers of narrower ones.
   */
  private static int maxTileRows(WeightFormat format) {
    if (VectorLanes.FLOATS.vectorBitSize() < 512) {
      return 2;
    }
    return format == WeightFormat.F16 ? 4 : 6;
  }

  /** The matrices stacked by output ({@code parts[0]}'s outputs first), all of one format. */
  static PanelMatrix of(WeightMatrix... parts) {
    int outputs = 0;
    for (WeightMatrix part : parts) {
      outputs += part.outputs();
    }
    PanelMatrix packed = new PanelMatrix(parts[0].format(), outputs, parts[0].inputs());
    int first = 0;
    for (WeightMatrix part : parts) {
      float[] f = part.floats();
      short[] h = part.halves();
      for (int o = 0; o < part.outputs(); o++) {
        for (int i = 0; i < part.inputs(); i++) {
          int panel = (first + o) / PANEL;
          int to = packed.at(first + o, i);
          int from = part.index(o, i);
          if (f != null) {
            Objects.requireNonNull(packed.floats)[panel][to] = f[from];
          } else {
            Objects.requireNonNull(packed.halves)[panel][to] = Objects.requireNonNull(h)[from];
          }
        }
      }
      first += part.outputs();
    }
    return packed;
  }

  /** Where weight {@code (output, input)} lies in its panel's array. */
  private static int at(int output, int input) {
    return input * PANEL + output % PANEL;
  }

  @Override
  public WeightFormat format() {
    return format;
  }

  int outputs() {
    return outputs;
  }

  /** Outputs rounded up to whole panels: the row stride a product's sums need. */
  int paddedOutputs() {
    return panels * PANEL;
  }

  int maxTileRows() {
    return maxTileRows;
  }

  /** Whether some weight is an infinity or a NaN, which the half-precision tiles do not decode. */
  boolean hasNonFinite() {
    if (halves == null || format != WeightFormat.F16) {
      return false;
    }
    for (short[] panel : halves) {
      for (short h : panel) {
        if ((h & 0x7C00) == 0x7C00) {
          return true;
        }
      }
    }
    return false;
  }

  @Override
  public long bytes() {
    return (long) paddedOutputs() * inputs * format.bytes();
  }

  @Override
  public float get(int output, int input) {
    int panel = Objects.checkIndex(output, outputs) / PANEL;
    int at = at(output, Objects.checkIndex(input, inputs));
    return floats != null
        ? floats[panel][at]
        : format.widen(Objects.requireNonNull(halves)[panel][at]);
  }

  /**
   * {@code c[cOffset + r*ldc + o] = sum over i of w(o, i) * x_r[i]} for {@code r < rows} and {@code
   * o < paddedOutputs()}, the rows packed by {@link #packRows} with this matrix's tile rows.
   */
  void multiply(float[] xp, int xpOffset, int rows, float[] c, int cOffset, int ldc) {
    int width = paddedOutputs();
    for (int r = 0; r < rows; r++) {
      Arrays.fill(c, cOffset + r * ldc, cOffset + r * ldc + width, 0f);
    }
    for (int p = 0; p < panels; p++) {
      float[] wf = floats == null ? NO_FLOATS : floats[p];
      short[] wh = halves == null ? NO_HALVES : halves[p];
      for (int k0 = 0; k0 < inputs; k0 += CHUNK) {
        int kc = Math.min(CHUNK, inputs - k0);
        int wo = k0 * PANEL;
        for (int r = 0; r < rows; ) {
          int t = tileRows(rows - r, maxTileRows);
          int xo = xpOffset + r * inputs + k0 * t;
          int co = cOffset + r * ldc + p * PANEL;
          switch (format) {
            case F32 -> F32Tiles.tile(t, xp, xo, wf, wo, kc, c, co, ldc);
            case BF16 -> Bf16Tiles.tile(t, xp, xo, wh, wo, kc, c, co, ldc);
            case F16 -> F16Tiles.tile(t, xp, xo, wh, wo, kc, c, co, ldc);
          }
          r += t;
        }
      }
    }
  }

  /**
   * Copies {@code rows} rows of {@code cols} floats ({@code src[srcOffset + r*srcStride + i]}) into
   * the layout the tiles read: tile by tile (the rows {@link #tileRows} gives), each tile's rows
   * interleaved input by input, {@code dst[dstOffset + r0*cols + i*t + q]} for the tile of t rows
   * from row r0. The tiles then broadcast a row's input from one place, not from t rows far apart.
   */
  static void packRows(
      float[] src,
      int srcOffset,
      int srcStride,
      int rows,
      int cols,
      int maxTileRows,
      float[] dst,
      int dstOffset) {
    for (int r = 0; r < rows; ) {
      int t = tileRows(rows - r, maxTileRows);
      int base = dstOffset + r * cols;
      for (int q = 0; q < t; q++) {
        int s = srcOffset + (r + q) * srcStride;
        for (int i = 0, d = base + q; i < cols; i++, d += t) {
          dst[d] = src[s + i];
        }
      }
      r += t;
    }
  }

  /** The rows of the next tile when {@code remaining} rows are left: the largest tile that fits. */
  static int tileRows(int remaining, int max) {
    if (remaining >= max) {
      return max;
    }
    return remaining >= 4 ? 4 : remaining >= 2 ? 2 : 1;
  }
}
