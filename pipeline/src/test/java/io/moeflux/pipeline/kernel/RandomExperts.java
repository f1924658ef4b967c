package io.moeflux.pipeline.kernel;

import io.moeflux.pipeline.checkpoint.NarrowFloats;
import java.util.SplittableRandom;

/** Random experts and rows for the kernel tests, and the naive double-precision SwiGLU. */
final class RandomExperts {
  private RandomExperts() {}

  /** An {@code outputs x inputs} matrix of {@code format}, values in ±scale, either layout. */
  static WeightMatrix matrix(
      SplittableRandom random, WeightFormat format, int outputs, int inputs, double scale) {
    WeightMatrix.Layout layout =
        random.nextBoolean() ? WeightMatrix.Layout.OUT_IN : WeightMatrix.Layout.IN_OUT;
    int n = outputs * inputs;
    if (format == WeightFormat.F32) {
      return WeightMatrix.ofFloats(outputs, inputs, layout, floats(random, n, scale));
    }
    short[] bits = new short[n];
    for (int i = 0; i < n; i++) {
      float v = (float) ((random.nextDouble() * 2 - 1) * scale);
      bits[i] =
          format == WeightFormat.BF16 ? NarrowFloats.floatToBf16(v) : NarrowFloats.floatToF16(v);
    }
    return WeightMatrix.ofHalves(format, outputs, inputs, layout, bits);
  }

  static float[] floats(SplittableRandom random, int n, double scale) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
    }
    return v;
  }

  /** Gate, up and down of one expert, scaled so that activations stay of order one. */
  static WeightMatrix[] expert(
      SplittableRandom random, WeightFormat format, int hidden, int intermediate) {
    double in = 2 / Math.sqrt(hidden);
    return new WeightMatrix[] {
      matrix(random, format, intermediate, hidden, in),
      matrix(random, format, intermediate, hidden, in),
      matrix(random, format, hidden, intermediate, 1 / Math.sqrt(intermediate))
    };
  }

  static PackedExpert pack(ExpertKernel kernel, WeightMatrix[] w) {
    return kernel.pack(w[0], w[1], w[2]);
  }

  /** {@code down(silu(gate x) * (up x))} of row {@code row} in double precision. */
  static double[] naive(WeightMatrix[] w, float[] x, int row) {
    WeightMatrix gate = w[0];
    WeightMatrix up = w[1];
    WeightMatrix down = w[2];
    int h = gate.inputs();
    int n = gate.outputs();
    double[] act = new double[n];
    for (int j = 0; j < n; j++) {
      double g = 0;
      double u = 0;
      for (int i = 0; i < h; i++) {
        g += (double) gate.get(j, i) * x[row * h + i];
        u += (double) up.get(j, i) * x[row * h + i];
      }
      act[j] = g / (1 + Math.exp(-g)) * u;
    }
    double[] y = new double[h];
    for (int k = 0; k < h; k++) {
      for (int j = 0; j < n; j++) {
        y[k] += down.get(k, j) * act[j];
      }
    }
    return y;
  }

  static double rms(double[] v) {
    double sum = 0;
    for (double e : v) {
      sum += e * e;
    }
    return Math.sqrt(sum / v.length);
  }

  static float[] run(PackedExpert expert, float[] x, int rows) {
    float[] y = new float[rows * expert.hidden()];
    expert.forward(x, 0, rows, y, 0, new float[expert.scratchLength(rows)]);
    return y;
  }
}
