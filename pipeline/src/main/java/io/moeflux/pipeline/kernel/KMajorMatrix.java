package io.moeflux.pipeline.kernel;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A matrix repacked input-major, {@code [inputs][outputs]}, for the scalar kernel: for each input
 * index the weights of every output lie side by side, so the innermost loop runs over outputs and
 * each output's sum grows by one fma per input, in ascending input order. Each input's row of
 * weights is an array of its own, so that no weight array is a humongous object to G1 ({@link
 * PanelMatrix} says why).
 */
final class KMajorMatrix implements SwigluShape.PackedMatrix {
  private final WeightFormat format;
  private final int outputs;
  private final int inputs;
  private final float @Nullable [][] floats;
  private final short @Nullable [][] halves;

  private KMajorMatrix(WeightFormat format, int outputs, int inputs) {
    this.format = format;
    this.outputs = outputs;
    this.inputs = inputs;
    this.floats = format == WeightFormat.F32 ? new float[inputs][outputs] : null;
    this.halves = format == WeightFormat.F32 ? null : new short[inputs][outputs];
  }

  /** The matrices stacked by output ({@code parts[0]}'s outputs first), all of one format. */
  static KMajorMatrix of(WeightMatrix... parts) {
    int outputs = 0;
    for (WeightMatrix part : parts) {
      outputs += part.outputs();
    }
    KMajorMatrix packed = new KMajorMatrix(parts[0].format(), outputs, parts[0].inputs());
    int first = 0;
    for (WeightMatrix part : parts) {
      float[] f = part.floats();
      short[] h = part.halves();
      for (int i = 0; i < part.inputs(); i++) {
        for (int o = 0; o < part.outputs(); o++) {
          int from = part.index(o, i);
          if (f != null) {
            Objects.requireNonNull(packed.floats)[i][first + o] = f[from];
          } else {
            Objects.requireNonNull(packed.halves)[i][first + o] = Objects.requireNonNull(h)[from];
          }
        }
      }
      first += part.outputs();
    }
    return packed;
  }

  @Override
  public WeightFormat format() {
    return format;
  }

  @Override
  public long bytes() {
    return (long) outputs * inputs * format.bytes();
  }

  @Override
  public float get(int output, int input) {
    int i = Objects.checkIndex(input, inputs);
    int o = Objects.checkIndex(output, outputs);
    return floats != null ? floats[i][o] : format.widen(Objects.requireNonNull(halves)[i][o]);
  }

  /**
   * {@code out[outOffset + q*outStride + o] = sum over i ascending of fma(w(o, i), in[inOffset +
   * q*inStride + i], .)} for {@code q < rows}, {@code o < outputs}, starting from zero.
   */
  void project(
      float[] in, int inOffset, int inStride, int rows, float[] out, int outOffset, int outStride) {
    for (int q = 0; q < rows; q++) {
      java.util.Arrays.fill(
          out, outOffset + q * outStride, outOffset + q * outStride + outputs, 0f);
    }
    for (int i = 0; i < inputs; i++) {
      for (int q = 0; q < rows; q++) {
        float xi = in[inOffset + q * inStride + i];
        int o = outOffset + q * outStride;
        if (floats != null) {
          accumulate(floats[i], xi, out, o);
        } else if (format == WeightFormat.BF16) {
          accumulateBf16(Objects.requireNonNull(halves)[i], xi, out, o);
        } else {
          accumulateF16(Objects.requireNonNull(halves)[i], xi, out, o);
        }
      }
    }
  }

  private void accumulate(float[] w, float xi, float[] out, int o) {
    for (int k = 0; k < outputs; k++) {
      out[o + k] = Math.fma(w[k], xi, out[o + k]);
    }
  }

  private void accumulateBf16(short[] w, float xi, float[] out, int o) {
    for (int k = 0; k < outputs; k++) {
      out[o + k] = Math.fma(WeightFormat.bf16ToFloat(w[k]), xi, out[o + k]);
    }
  }

  private void accumulateF16(short[] w, float xi, float[] out, int o) {
    for (int k = 0; k < outputs; k++) {
      out[o + k] = Math.fma(WeightFormat.f16ToFloat(w[k]), xi, out[o + k]);
    }
  }
}
