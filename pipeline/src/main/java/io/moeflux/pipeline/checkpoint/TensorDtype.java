package io.moeflux.pipeline.checkpoint;

import org.jspecify.annotations.Nullable;

/**
 * The element types a safetensors header may name, with their sizes, so that every tensor's byte
 * range can be checked against its shape. Only {@link #BF16}, {@link #F16} and {@link #F32} (and
 * {@link #F8_E4M3} with block scales, for DeepSeek-V3) are loaded as weights; {@link #I32} is
 * written for routing outputs. Anything else is refused when a tensor of that type is read.
 */
public enum TensorDtype {
  BOOL(1),
  U8(1),
  I8(1),
  F8_E4M3(1),
  F8_E5M2(1),
  I16(2),
  U16(2),
  F16(2),
  BF16(2),
  I32(4),
  U32(4),
  F32(4),
  I64(8),
  U64(8),
  F64(8);

  private final int bytes;

  TensorDtype(int bytes) {
    this.bytes = bytes;
  }

  /** Bytes per element. */
  public int bytes() {
    return bytes;
  }

  /** Whether weights of this type stay 16-bit in memory. */
  public boolean isHalf() {
    return this == BF16 || this == F16;
  }

  /** The type a header names, or {@code null} for a name safetensors does not define. */
  public static @Nullable TensorDtype parse(String name) {
    for (TensorDtype dtype : values()) {
      if (dtype.name().equals(name)) {
        return dtype;
      }
    }
    return null;
  }
}
