package io.moeflux.pipeline.kernel;

import java.util.Objects;

/** The hidden and intermediate sizes of an expert, checked once against its three matrices. */
record SwigluShape(int hidden, int intermediate) {

  static SwigluShape of(WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
    int h = gate.inputs();
    int n = gate.outputs();
    if (up.outputs() != n || up.inputs() != h || down.outputs() != h || down.inputs() != n) {
      throw new IllegalArgumentException(
          "expert matrices disagree: gate " + gate + ", up " + up + ", down " + down);
    }
    if (gate.format() != up.format()) {
      throw new IllegalArgumentException(
          "gate and up differ in format: " + gate.format() + " and " + up.format());
    }
    return new SwigluShape(h, n);
  }

  /** Checks a {@code forward} call's arguments against this shape. */
  void check(float[] x, int xOffset, int rows, float[] y, int yOffset, float[] scratch, int need) {
    if (rows < 0) {
      throw new IllegalArgumentException("rows must be >= 0, got " + rows);
    }
    int length = Math.multiplyExact(rows, hidden);
    Objects.checkFromIndexSize(xOffset, length, x.length);
    Objects.checkFromIndexSize(yOffset, length, y.length);
    if (scratch.length < need) {
      throw new IllegalArgumentException(
          "scratch has " + scratch.length + " floats, needs " + need + " for " + rows + " rows");
    }
  }

  /** The weight of {@code matrix} from gate-and-up (outputs {@code [gate; up]}) and down. */
  float weight(
      PackedExpert.Matrix matrix, int output, int input, PackedMatrix gateUp, PackedMatrix down) {
    return switch (matrix) {
      case GATE -> gateUp.get(Objects.checkIndex(output, intermediate), input);
      case UP -> gateUp.get(intermediate + Objects.checkIndex(output, intermediate), input);
      case DOWN -> down.get(output, input);
    };
  }

  /** A matrix a kernel packed: its format, its bytes, and element (output, input) read back. */
  interface PackedMatrix {
    WeightFormat format();

    /** Bytes of weights held, padding included. */
    long bytes();

    /** Element (output, input), widened. */
    float get(int output, int input);
  }
}
