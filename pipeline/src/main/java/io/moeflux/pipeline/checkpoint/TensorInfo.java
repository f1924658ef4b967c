package io.moeflux.pipeline.checkpoint;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor of a safetensors header: its name, dtype (as the header spells it), shape, and byte
 * range {@code [begin, end)} relative to the start of the file's data section.
 */
public record TensorInfo(String name, String dtype, long[] shape, long begin, long end) {

  public TensorInfo {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(dtype, "dtype");
    shape = shape.clone();
  }

  /** The shape; a copy. */
  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Number of dimensions. */
  public int rank() {
    return shape.length;
  }

  /** Size of dimension {@code d}. */
  public long dim(int d) {
    return shape[d];
  }

  /** The product of the shape (1 for a scalar). */
  public long elements() {
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  /** Bytes of data. */
  public long length() {
    return end - begin;
  }

  /** {@code [2048, 768]}. */
  public String shapeText() {
    return Arrays.toString(shape);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo t
        && name.equals(t.name)
        && dtype.equals(t.dtype)
        && Arrays.equals(shape, t.shape)
        && begin == t.begin
        && end == t.end;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
  }

  @Override
  public String toString() {
    return name + " " + dtype + shapeText() + " @" + begin + ".." + end;
  }
}
