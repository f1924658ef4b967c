package io.moeflux.pipeline.kernel;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A weight matrix as it arrives at load time, before a kernel packs it: {@code outputs x inputs}
 * weights in a {@link WeightFormat}, row-major in either orientation. Checkpoints store {@code
 * [out, in]} ({@link Layout#OUT_IN}); the synthetic model generates {@code [in, out]} ({@link
 * Layout#IN_OUT}). The arrays are read, never written, and not kept by the packed expert.
 */
public final class WeightMatrix {
  /** Which index runs fastest in memory. */
  public enum Layout {
    /** {@code [outputs][inputs]}: element (o, i) at {@code o * inputs + i}. */
    OUT_IN,
    /** {@code [inputs][outputs]}: element (o, i) at {@code i * outputs + o}. */
    IN_OUT
  }

  private final WeightFormat format;
  private final int outputs;
  private final int inputs;
  private final Layout layout;
  private final float @Nullable [] floats;
  private final short @Nullable [] halves;

  private WeightMatrix(
      WeightFormat format,
      int outputs,
      int inputs,
      Layout layout,
      float @Nullable [] floats,
      short @Nullable [] halves) {
    if (outputs < 1 || inputs < 1) {
      throw new IllegalArgumentException(
          "a weight matrix needs >= 1 outputs and inputs, got " + outputs + " x " + inputs);
    }
    int length = floats != null ? floats.length : Objects.requireNonNull(halves).length;
    if ((long) outputs * inputs != length) {
      throw new IllegalArgumentException(
          outputs
              + " x "
              + inputs
              + " weights need "
              + (long) outputs * inputs
              + ", got "
              + length);
    }
    this.format = format;
    this.outputs = outputs;
    this.inputs = inputs;
    this.layout = Objects.requireNonNull(layout, "layout");
    this.floats = floats;
    this.halves = halves;
  }

  /** Float32 weights. */
  public static WeightMatrix ofFloats(int outputs, int inputs, Layout layout, float[] values) {
    return new WeightMatrix(
        WeightFormat.F32, outputs, inputs, layout, Objects.requireNonNull(values, "values"), null);
  }

  /** 16-bit weights ({@link WeightFormat#BF16} or {@link WeightFormat#F16}) as bit patterns. */
  public static WeightMatrix ofHalves(
      WeightFormat format, int outputs, int inputs, Layout layout, short[] bits) {
    if (format == WeightFormat.F32) {
      throw new IllegalArgumentException("16-bit weights are BF16 or F16, not F32");
    }
    return new WeightMatrix(
        format, outputs, inputs, layout, null, Objects.requireNonNull(bits, "bits"));
  }

  public WeightFormat format() {
    return format;
  }

  public int outputs() {
    return outputs;
  }

  public int inputs() {
    return inputs;
  }

  /** Where element (output, input) lies in the array. */
  int index(int output, int input) {
    return layout == Layout.OUT_IN ? output * inputs + input : input * outputs + output;
  }

  /** The float32 weights; null for 16-bit matrices. */
  float @Nullable [] floats() {
    return floats;
  }

  /** The 16-bit patterns; null for float32 matrices. */
  short @Nullable [] halves() {
    return halves;
  }

  /** Element (output, input) widened to float32. */
  public float get(int output, int input) {
    Objects.checkIndex(output, outputs);
    Objects.checkIndex(input, inputs);
    int at = index(output, input);
    return floats != null ? floats[at] : format.widen(Objects.requireNonNull(halves)[at]);
  }

  @Override
  public String toString() {
    return "WeightMatrix{" + format + " " + outputs + "x" + inputs + ", " + layout + "}";
  }
}
