package io.moeflux.pipeline.checkpoint;

import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A tensor in memory in the precision a checkpoint stores it: {@link TensorDtype#BF16} and {@link
 * TensorDtype#F16} as {@code short} bit patterns (never widened in memory), {@link TensorDtype#F32}
 * as floats. Row-major; a 2-D weight is {@code [out, in]}, as checkpoints store it, which is the
 * layout a dot-product kernel reads.
 *
 * <p>Immutable by contract: {@link #halves()} and {@link #floats()} expose the arrays so that
 * kernels read them without a copy, and nobody writes them.
 */
public final class StoredTensor {
  private final TensorDtype dtype;
  private final long[] shape;
  private final short @Nullable [] halves;
  private final float @Nullable [] floats;

  private StoredTensor(
      TensorDtype dtype, long[] shape, short @Nullable [] halves, float @Nullable [] floats) {
    this.dtype = dtype;
    this.shape = shape.clone();
    this.halves = halves;
    this.floats = floats;
    long elements = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
      }
      elements = Math.multiplyExact(elements, d);
    }
    int length = halves != null ? halves.length : Objects.requireNonNull(floats).length;
    if (elements != length) {
      throw new IllegalArgumentException(
          "shape " + Arrays.toString(shape) + " needs " + elements + " elements, got " + length);
    }
  }

  /** A float32 tensor; {@code values} becomes owned by the tensor. */
  public static StoredTensor ofFloats(long[] shape, float[] values) {
    return new StoredTensor(TensorDtype.F32, shape, null, Objects.requireNonNull(values, "values"));
  }

  /** A bf16 or f16 tensor of raw bit patterns; {@code bits} becomes owned by the tensor. */
  public static StoredTensor ofHalves(TensorDtype dtype, long[] shape, short[] bits) {
    if (!dtype.isHalf()) {
      throw new IllegalArgumentException("16-bit tensors are BF16 or F16, not " + dtype);
    }
    return new StoredTensor(dtype, shape, Objects.requireNonNull(bits, "bits"), null);
  }

  /** {@code values} rounded to {@code dtype} (F32, BF16 or F16), for writers and tests. */
  public static StoredTensor rounded(TensorDtype dtype, long[] shape, float[] values) {
    switch (dtype) {
      case F32:
        return ofFloats(shape, values.clone());
      case BF16:
      case F16:
        short[] bits = new short[values.length];
        for (int i = 0; i < bits.length; i++) {
          bits[i] =
              dtype == TensorDtype.BF16
                  ? NarrowFloats.floatToBf16(values[i])
                  : NarrowFloats.floatToF16(values[i]);
        }
        return ofHalves(dtype, shape, bits);
      default:
        throw new IllegalArgumentException("tensors in memory are F32, BF16 or F16, not " + dtype);
    }
  }

  public TensorDtype dtype() {
    return dtype;
  }

  /** The shape; a copy. */
  public long[] shape() {
    return shape.clone();
  }

  /** Rows of a 2-D tensor (the output dimension of a weight). */
  public int rows() {
    requireMatrix();
    return (int) shape[0];
  }

  /** Columns of a 2-D tensor (the input dimension of a weight). */
  public int cols() {
    requireMatrix();
    return (int) shape[1];
  }

  private void requireMatrix() {
    if (shape.length != 2) {
      throw new IllegalStateException("not a matrix: shape " + Arrays.toString(shape));
    }
  }

  public int elements() {
    return halves != null ? halves.length : Objects.requireNonNull(floats).length;
  }

  /** Bytes held in memory. */
  public long bytes() {
    return (long) elements() * dtype.bytes();
  }

  /** Element {@code i} (row-major), widened to float. */
  public float get(int i) {
    if (halves != null) {
      return dtype == TensorDtype.BF16
          ? NarrowFloats.bf16ToFloat(halves[i])
          : NarrowFloats.f16ToFloat(halves[i]);
    }
    return Objects.requireNonNull(floats)[i];
  }

  /** Every element widened to float, in a new array. */
  public float[] toFloats() {
    if (floats != null) {
      return floats.clone();
    }
    float[] out = new float[elements()];
    for (int i = 0; i < out.length; i++) {
      out[i] = get(i);
    }
    return out;
  }

  /** The 16-bit patterns of a BF16 or F16 tensor, shared (never write them); else null. */
  public short @Nullable [] halves() {
    return halves;
  }

  /** The values of an F32 tensor, shared (never write them); else null. */
  public float @Nullable [] floats() {
    return floats;
  }

  /** Same dtype, shape and bits. */
  public boolean sameBits(StoredTensor o) {
    if (dtype != o.dtype || !Arrays.equals(shape, o.shape)) {
      return false;
    }
    if (halves != null) {
      return Arrays.equals(halves, o.halves);
    }
    float[] mine = Objects.requireNonNull(floats);
    float[] theirs = o.floats;
    if (theirs == null || theirs.length != mine.length) {
      return false;
    }
    for (int i = 0; i < mine.length; i++) {
      if (Float.floatToRawIntBits(mine[i]) != Float.floatToRawIntBits(theirs[i])) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return "StoredTensor{" + dtype + Arrays.toString(shape) + "}";
  }
}
