package io.moeflux.pipeline.kernel;

import java.util.Objects;

/**
 * What every kernel's packed expert has alike: the kernel's name, the shape, gate and up stacked by
 * output in one packed matrix and down in another, in the layout of that kernel ({@code M}). The
 * kernels differ only in {@link #scratchLength} and {@link #forward}.
 */
abstract class PackedSwiglu<M extends SwigluShape.PackedMatrix> implements PackedExpert {
  private final String kernel;
  final SwigluShape shape;
  final M gateUp;
  final M down;

  PackedSwiglu(String kernel, SwigluShape shape, M gateUp, M down) {
    this.kernel = kernel;
    this.shape = shape;
    this.gateUp = gateUp;
    this.down = down;
  }

  @Override
  public final String kernel() {
    return kernel;
  }

  @Override
  public final int hidden() {
    return shape.hidden();
  }

  @Override
  public final int intermediate() {
    return shape.intermediate();
  }

  @Override
  public final WeightFormat format(Matrix matrix) {
    return matrix == Matrix.DOWN ? down.format() : gateUp.format();
  }

  @Override
  public final long weightBytes() {
    return gateUp.bytes() + down.bytes();
  }

  @Override
  public final float weight(Matrix matrix, int output, int input) {
    return shape.weight(matrix, output, input, gateUp, down);
  }

  /** Checks a {@link #forward} call's arguments against the shape and the scratch it needs. */
  final void checkForward(
      float[] x, int xOffset, int rows, float[] y, int yOffset, float[] scratch) {
    Objects.requireNonNull(x, "x");
    Objects.requireNonNull(y, "y");
    Objects.requireNonNull(scratch, "scratch");
    shape.check(x, xOffset, rows, y, yOffset, scratch, scratchLength(rows));
  }

  @Override
  public String toString() {
    return "PackedExpert{" + kernel + ", " + gateUp.format() + ", " + shape + "}";
  }
}
