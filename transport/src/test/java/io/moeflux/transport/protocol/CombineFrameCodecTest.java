package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.testkit.LeakRecorder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CombineFrameCodecTest {
  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  @Test
  void partialSumsRoundTrip() {
    float[] partials = DispatchFrameCodecTest.rows(5, 8);
    ByteBuf frame = CombineFrameCodec.encode(alloc, 9, 2, 1, partials, 3, 8);
    try {
      assertThat(FrameHeaderCodec.kind(frame)).isEqualTo(FrameKind.COMBINE);
      assertThat(FrameHeaderCodec.step(frame)).isEqualTo(9);
      assertThat(FrameHeaderCodec.layer(frame)).isEqualTo(2);
      assertThat(FrameHeaderCodec.source(frame)).isEqualTo(1);
      assertThat(CombineFrameCodec.checkBody(frame, 8)).isEqualTo(3);
      assertThat(DispatchFrameCodecTest.read(CombineFrameCodec.partials(frame, 3, 8)))
          .containsExactly(Arrays.copyOf(partials, 3 * 8));
    } finally {
      frame.release();
    }
  }

  @Test
  void anEmptyFrameHasAnEmptyBody() {
    ByteBuf frame = CombineFrameCodec.encode(alloc, 0, 0, 0, new float[0], 0, 16);
    try {
      assertThat(FrameHeaderCodec.bodyLength(frame)).isZero();
      assertThat(CombineFrameCodec.checkBody(frame, 16)).isZero();
    } finally {
      frame.release();
    }
  }

  @Test
  void aBodyLongerThanItsCountImpliesIsRefused() {
    ByteBuf frame =
        FrameHeaderCodec.allocate(alloc, FrameKind.COMBINE, 1, 0, 2, 1, 20).writeZero(20);
    try {
      assertThatThrownBy(() -> CombineFrameCodec.checkBody(frame, 4))
          .isInstanceOf(MalformedFrameException.class)
          .hasMessageContaining("body is 20 bytes but count 1 × hidden 4 implies 16");
    } finally {
      frame.release();
    }
  }
}
