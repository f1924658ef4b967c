package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.testkit.NoLeaks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoLeaks.class)
class LaneOpenCodecTest {
  private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;

  @Test
  void everyLaneRoundTrips() {
    for (FrameKind.Lane lane : FrameKind.Lane.values()) {
      ByteBuf payload = LaneOpenCodec.encode(alloc, 4, lane);
      try {
        assertThat(payload.readableBytes()).isEqualTo(LaneOpenCodec.BYTES);
        assertThat(LaneOpenCodec.decode(payload, 4)).isEqualTo(lane);
      } finally {
        payload.release();
      }
    }
  }

  @Test
  void anOpeningForAnotherSourceOrLaneIsRefused() {
    ByteBuf payload = LaneOpenCodec.encode(alloc, 4, FrameKind.Lane.BULK);
    ByteBuf unknown = alloc.buffer().writeInt(4).writeInt(7);
    ByteBuf shortOne = alloc.buffer().writeInt(4);
    try {
      assertThatThrownBy(() -> LaneOpenCodec.decode(payload, 2))
          .isInstanceOf(MalformedFrameException.class)
          .hasMessageContaining("claiming source 4");
      assertThatThrownBy(() -> LaneOpenCodec.decode(unknown, 4))
          .hasMessageContaining("unknown lane 7");
      assertThatThrownBy(() -> LaneOpenCodec.decode(shortOne, 4))
          .hasMessageContaining("of 4 bytes, expected 8");
    } finally {
      payload.release();
      unknown.release();
      shortOne.release();
    }
  }
}
