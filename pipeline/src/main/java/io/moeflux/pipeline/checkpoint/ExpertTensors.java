package io.moeflux.pipeline.checkpoint;

import java.util.Objects;

/**
 * One SwiGLU expert's three matrices in their stored precision, {@code [out, in]} each: {@code
 * gate} and {@code up} are {@code [intermediate, hidden]}, {@code down} is {@code [hidden,
 * intermediate]}.
 */
public record ExpertTensors(StoredTensor gate, StoredTensor up, StoredTensor down) {

  public ExpertTensors {
    Objects.requireNonNull(gate, "gate");
    Objects.requireNonNull(up, "up");
    Objects.requireNonNull(down, "down");
  }

  public int hidden() {
    return gate.cols();
  }

  public int intermediate() {
    return gate.rows();
  }

  /** Bytes held in memory. */
  public long bytes() {
    return gate.bytes() + up.bytes() + down.bytes();
  }

  /** The same dtype, shapes and bits in all three matrices. */
  public boolean sameBits(ExpertTensors o) {
    return gate.sameBits(o.gate) && up.sameBits(o.up) && down.sameBits(o.down);
  }
}
