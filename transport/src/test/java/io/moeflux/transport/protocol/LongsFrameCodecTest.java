package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.testkit.NoLeaks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoLeaks.class)
class LongsFrameCodecTest {
  private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;

  @Test
  void valuesRoundTripIntoTheirSlot() {
    long[] values = {-1, 0, Long.MAX_VALUE};
    ByteBuf frame = LongsFrameCodec.encode(alloc, FrameKind.SYNC, 9, 0, 2, values);
    try {
      assertThat(FrameHeaderCodec.count(frame)).isEqualTo(3);
      assertThat(FrameHeaderCodec.bodyLength(frame)).isEqualTo(24);
      assertThat(frame.getLongLE(FrameHeaderCodec.bodyIndex(frame))).isEqualTo(-1);
      long[] into = new long[9];
      LongsFrameCodec.decode(frame, 3, into, 6);
      assertThat(into).containsExactly(0, 0, 0, 0, 0, 0, -1, 0, Long.MAX_VALUE);
    } finally {
      frame.release();
    }
  }

  @Test
  void aFrameOfAnotherLengthIsRefused() {
    ByteBuf frame = LongsFrameCodec.encode(alloc, FrameKind.HEAT, 1, 0, 0, new long[2]);
    try {
      assertThatThrownBy(() -> LongsFrameCodec.decode(frame, 3, new long[3], 0))
          .isInstanceOf(MalformedFrameException.class)
          .hasMessageContaining("should carry 3 longs");
    } finally {
      frame.release();
    }
  }

  @Test
  void onlyControlKindsCarryLongs() {
    assertThatThrownBy(
            () -> LongsFrameCodec.encode(alloc, FrameKind.DISPATCH, 0, 0, 0, new long[1]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("DISPATCH is not a control kind");
  }
}
