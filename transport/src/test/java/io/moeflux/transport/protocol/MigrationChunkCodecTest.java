package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.testkit.NoLeaks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoLeaks.class)
class MigrationChunkCodecTest {
  private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;

  @Test
  void aSliceOfTheStreamRoundTripsToItsOffset() {
    float[] stream = {1f, -2.5f, 3f, Float.MIN_VALUE, Float.NaN};
    ByteBuf frame = MigrationChunkCodec.encode(alloc, 77, 2, 1, stream, 1, 3);
    try {
      assertThat(FrameHeaderCodec.kind(frame)).isEqualTo(FrameKind.MIGRATION);
      assertThat(FrameHeaderCodec.step(frame)).isEqualTo(77);
      assertThat(FrameHeaderCodec.layer(frame)).isEqualTo(2);
      assertThat(FrameHeaderCodec.count(frame)).isEqualTo(3);
      assertThat(frame.getFloatLE(FrameHeaderCodec.bodyIndex(frame))).isEqualTo(-2.5f);
      float[] into = new float[5];
      assertThat(MigrationChunkCodec.decode(frame, into, 2)).isEqualTo(3);
      assertThat(into).containsExactly(0f, 0f, -2.5f, 3f, Float.MIN_VALUE);
    } finally {
      frame.release();
    }
  }

  @Test
  void anEmptyChunkIsValid() {
    ByteBuf frame = MigrationChunkCodec.encode(alloc, 1, 9, 0, new float[0], 0, 0);
    try {
      assertThat(MigrationChunkCodec.decode(frame, new float[0], 0)).isZero();
    } finally {
      frame.release();
    }
  }

  @Test
  void aChunkThatDoesNotFitOrLiesAboutItsCountIsRefused() {
    ByteBuf frame = MigrationChunkCodec.encode(alloc, 1, 0, 0, new float[4], 0, 4);
    ByteBuf lying = FrameHeaderCodec.allocate(alloc, FrameKind.MIGRATION, 1, 0, 0, 3, 4);
    lying.writeFloatLE(1f);
    try {
      assertThatThrownBy(() -> MigrationChunkCodec.decode(frame, new float[5], 2))
          .isInstanceOf(MalformedFrameException.class)
          .hasMessageContaining("carries 4 floats, only 3 are owed");
      assertThatThrownBy(() -> MigrationChunkCodec.decode(lying, new float[5], 0))
          .hasMessageContaining("3 floats in 12 body bytes");
    } finally {
      frame.release();
      lying.release();
    }
  }
}
