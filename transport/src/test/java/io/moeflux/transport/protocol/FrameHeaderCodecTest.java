package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.testkit.NoLeaks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoLeaks.class)
class FrameHeaderCodecTest {
  private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;

  @Test
  void theHeaderRoundTripsAtAnyReaderIndex() {
    ByteBuf frame = FrameHeaderCodec.allocate(alloc, FrameKind.GATHER, 1L << 40, 7, 3, 5, 8);
    frame.writeLong(42);
    try {
      assertThat(FrameHeaderCodec.HEADER_BYTES).isEqualTo(24);
      assertThat(frame.readableBytes()).isEqualTo(32);
      assertThat(FrameHeaderCodec.kind(frame)).isEqualTo(FrameKind.GATHER);
      assertThat(FrameHeaderCodec.step(frame)).isEqualTo(1L << 40);
      assertThat(FrameHeaderCodec.layer(frame)).isEqualTo(7);
      assertThat(FrameHeaderCodec.source(frame)).isEqualTo(3);
      assertThat(FrameHeaderCodec.count(frame)).isEqualTo(5);
      assertThat(FrameHeaderCodec.bodyLength(frame)).isEqualTo(8);
      assertThat(frame.getLong(FrameHeaderCodec.bodyIndex(frame))).isEqualTo(42);

      ByteBuf slice = alloc.buffer().writeZero(5).writeBytes(frame, 0, 32);
      slice.skipBytes(5);
      assertThat(FrameHeaderCodec.describe(slice)).isEqualTo(FrameHeaderCodec.describe(frame));
      slice.release();
    } finally {
      frame.release();
    }
  }

  @Test
  void dataFramesCarryTheirPrecisionAndMicroBatch() {
    ByteBuf frame =
        FrameHeaderCodec.allocate(
            alloc, FrameKind.COMBINE, WirePrecision.BF16, 30000, 3, 1, 2, 0, 0);
    try {
      assertThat(FrameHeaderCodec.wire(frame)).isEqualTo(WirePrecision.BF16);
      assertThat(FrameHeaderCodec.micro(frame)).isEqualTo(30000);
      assertThat(FrameHeaderCodec.describe(frame))
          .isEqualTo(
              "COMBINE(step=3, micro=30000, layer=1, source=2, count=0, wire=bf16, body=0B)");
    } finally {
      frame.release();
    }
    assertThatThrownBy(
            () ->
                FrameHeaderCodec.allocate(
                    alloc, FrameKind.DISPATCH, WirePrecision.F32, 1 << 16, 0, 0, 0, 0, 0))
        .hasMessageContaining("micro-batch must be in [0, 32768)");
  }

  @Test
  void abortTravelsOnTheDataLane() {
    assertThat(FrameKind.ABORT.lane()).isEqualTo(FrameKind.Lane.DATA);
    assertThatThrownBy(() -> FrameKind.of(FrameKind.values().length))
        .hasMessageContaining("unknown frame kind");
  }
}
