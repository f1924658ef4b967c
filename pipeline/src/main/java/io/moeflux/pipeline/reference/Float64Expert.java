package io.moeflux.pipeline.reference;

import io.moeflux.pipeline.checkpoint.ExpertTensors;
import io.moeflux.pipeline.checkpoint.StoredTensor;

/**
 * A SwiGLU expert in double precision: {@code down · (silu(gate · x) ⊙ (up · x))}, with {@code
 * silu(z) = z / (1 + e^-z)}. Each weight is widened from its stored precision as it is read, one
 * row at a time, so an expert costs no more memory than its stored tensors plus one row.
 */
final class Float64Expert {
  private final StoredTensor gate;
  private final StoredTensor up;
  private final StoredTensor down;
  private final int hidden;
  private final int intermediate;

  Float64Expert(ExpertTensors tensors) {
    this.gate = tensors.gate();
    this.up = tensors.up();
    this.down = tensors.down();
    this.hidden = gate.cols();
    this.intermediate = gate.rows();
    if (up.rows() != intermediate
        || up.cols() != hidden
        || down.rows() != hidden
        || down.cols() != intermediate) {
      throw new IllegalArgumentException(
          "not one SwiGLU expert: gate " + gate + ", up " + up + ", down " + down);
    }
  }

  /**
   * The expert applied to {@code n} rows of {@code x} (row-major, {@code hidden} each): {@code n ×
   * hidden} values.
   */
  double[] apply(double[] x, int n) {
    double[] g = project(gate, x, n, hidden, intermediate);
    double[] u = project(up, x, n, hidden, intermediate);
    double[] act = new double[g.length];
    for (int i = 0; i < act.length; i++) {
      act[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
    }
    return project(down, act, n, intermediate, hidden);
  }

  /**
   * {@code n} rows of {@code w · row}: w is {@code [rowsOut, cols]}, each input row {@code cols}.
   */
  private static double[] project(StoredTensor w, double[] in, int n, int cols, int rowsOut) {
    double[] out = new double[n * rowsOut];
    double[] row = new double[cols];
    for (int o = 0; o < rowsOut; o++) {
      int base = o * cols;
      for (int j = 0; j < cols; j++) {
        row[j] = w.get(base + j);
      }
      for (int t = 0; t < n; t++) {
        double sum = 0;
        int offset = t * cols;
        for (int j = 0; j < cols; j++) {
          sum += row[j] * in[offset + j];
        }
        out[t * rowsOut + o] = sum;
      }
    }
    return out;
  }
}
