package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.testkit.LeakRecorder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CombineFrameCodecTest {
  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  @ParameterizedTest
  @EnumSource(WirePrecision.class)
  void partialSumsRoundTripInEveryPrecision(WirePrecision wire) {
    RowCoder coder = new RowCoder(wire, 8);
    float[] partials = DispatchFrameCodecTest.rows(5, 8);
    ByteBuf frame = CombineFrameCodec.encode(alloc, 9, 2, 1, partials, 3, coder);
    try {
      assertThat(FrameHeaderCodec.kind(frame)).isEqualTo(FrameKind.COMBINE);
      assertThat(FrameHeaderCodec.wire(frame)).isEqualTo(wire);
      assertThat(FrameHeaderCodec.step(frame)).isEqualTo(9);
      assertThat(FrameHeaderCodec.layer(frame)).isEqualTo(2);
      assertThat(FrameHeaderCodec.source(frame)).isEqualTo(1);
      assertThat(CombineFrameCodec.checkBody(frame, 8, wire)).isEqualTo(3);
      WireRows rows = CombineFrameCodec.rows(frame, 3, 8, wire);
      float[] read = new float[3 * 8];
      float[] expected = new float[3 * 8];
      for (int i = 0; i < 3; i++) {
        coder.decode(rows, i, read, i * 8);
        coder.roundTrip(partials, i * 8, expected, i * 8);
      }
      assertThat(read).containsExactly(expected);
    } finally {
      frame.release();
    }
  }

  @Test
  void anEmptyFrameHasAnEmptyBody() {
    ByteBuf frame =
        CombineFrameCodec.encode(
            alloc, 0, 0, 0, new float[0], 0, new RowCoder(WirePrecision.FP8, 16));
    try {
      assertThat(FrameHeaderCodec.bodyLength(frame)).isZero();
      assertThat(CombineFrameCodec.checkBody(frame, 16, WirePrecision.FP8)).isZero();
    } finally {
      frame.release();
    }
  }

  @Test
  void aBodyLongerThanItsCountImpliesIsRefused() {
    ByteBuf frame =
        FrameHeaderCodec.allocate(alloc, FrameKind.COMBINE, 1, 0, 2, 1, 20).writeZero(20);
    try {
      assertThatThrownBy(() -> CombineFrameCodec.checkBody(frame, 4, WirePrecision.F32))
          .isInstanceOf(MalformedFrameException.class)
          .hasMessageContaining("body is 20 bytes but count 1 × hidden 4 f32 values implies 16");
    } finally {
      frame.release();
    }
  }
}
