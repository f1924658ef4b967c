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

class DispatchFrameCodecTest {
  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  @ParameterizedTest
  @EnumSource(WirePrecision.class)
  void picksAndHiddenRowsRoundTripInEveryPrecision(WirePrecision wire) {
    int count = 3;
    int topK = 2;
    int hidden = 4;
    ByteBuf frame = DispatchFrameCodec.allocate(alloc, 7, 1, 1, 2, count, topK, hidden, wire);
    RowCoder coder = new RowCoder(wire, hidden);
    float[] rows = rows(count, hidden);
    try {
      WireRows view = DispatchFrameCodec.rows(frame, count, topK, hidden, wire);
      for (int i = 0; i < count; i++) {
        for (int k = 0; k < topK; k++) {
          DispatchFrameCodec.setPick(frame, count, i, k, topK, k == 0 ? i : -1, i + k / 10f);
        }
        coder.encode(rows, i * hidden, view, i);
      }
      DispatchFrameCodec.finish(frame, count, topK, hidden, wire);

      assertThat(FrameHeaderCodec.kind(frame)).isEqualTo(FrameKind.DISPATCH);
      assertThat(FrameHeaderCodec.wire(frame)).isEqualTo(wire);
      assertThat(FrameHeaderCodec.micro(frame)).isEqualTo(1);
      assertThat(FrameHeaderCodec.step(frame)).isEqualTo(7);
      assertThat(FrameHeaderCodec.layer(frame)).isEqualTo(1);
      assertThat(FrameHeaderCodec.source(frame)).isEqualTo(2);
      assertThat(DispatchFrameCodec.checkBody(frame, topK, hidden, wire)).isEqualTo(count);
      for (int i = 0; i < count; i++) {
        for (int k = 0; k < topK; k++) {
          assertThat(DispatchFrameCodec.localSlot(frame, i, k, topK)).isEqualTo(k == 0 ? i : -1);
          assertThat(DispatchFrameCodec.weight(frame, count, i, k, topK)).isEqualTo(i + k / 10f);
        }
      }
      float[] read = new float[count * hidden];
      float[] expected = new float[count * hidden];
      WireRows received = DispatchFrameCodec.rows(frame, count, topK, hidden, wire);
      for (int i = 0; i < count; i++) {
        coder.decode(received, i, read, i * hidden);
        coder.roundTrip(rows, i * hidden, expected, i * hidden);
      }
      assertThat(read).containsExactly(expected);
      if (wire == WirePrecision.F32) {
        assertThat(read).containsExactly(rows);
      }
    } finally {
      frame.release();
    }
  }

  @ParameterizedTest
  @EnumSource(WirePrecision.class)
  void anEmptyFrameHasAnEmptyBody(WirePrecision wire) {
    ByteBuf frame = DispatchFrameCodec.allocate(alloc, 0, 0, 0, 1, 0, 8, 1024, wire);
    try {
      DispatchFrameCodec.finish(frame, 0, 8, 1024, wire);
      assertThat(FrameHeaderCodec.bodyLength(frame)).isZero();
      assertThat(DispatchFrameCodec.checkBody(frame, 8, 1024, wire)).isZero();
      assertThat(DispatchFrameCodec.rows(frame, 0, 8, 1024, wire).count()).isZero();
    } finally {
      frame.release();
    }
  }

  @Test
  void aRowTakesWhatItsPrecisionSays() {
    assertThat(DispatchFrameCodec.bodyBytes(2, 8, 1024, WirePrecision.F32))
        .isEqualTo(2 * (8 * 8 + 1024 * 4));
    assertThat(DispatchFrameCodec.bodyBytes(2, 8, 1024, WirePrecision.BF16))
        .isEqualTo(2 * (8 * 8 + 1024 * 2));
    assertThat(DispatchFrameCodec.bodyBytes(2, 8, 1024, WirePrecision.FP8))
        .isEqualTo(2 * (8 * 8 + 4 + 1024));
  }

  @Test
  void aBodyShorterThanItsCountImpliesIsRefused() {
    ByteBuf frame =
        FrameHeaderCodec.allocate(alloc, FrameKind.DISPATCH, 1, 0, 2, 2, 10).writeZero(10);
    try {
      assertThatThrownBy(() -> DispatchFrameCodec.checkBody(frame, 1, 4, WirePrecision.F32))
          .isInstanceOf(MalformedFrameException.class)
          .hasMessageContaining("body is 10 bytes")
          .hasMessageContaining("count 2 × (topK 1 picks + hidden 4 f32 values) implies 48");
    } finally {
      frame.release();
    }
  }

  @Test
  void aFrameInAnotherPrecisionIsRefused() {
    ByteBuf frame = DispatchFrameCodec.allocate(alloc, 1, 0, 0, 2, 0, 1, 4, WirePrecision.BF16);
    try {
      assertThatThrownBy(() -> DispatchFrameCodec.checkBody(frame, 1, 4, WirePrecision.FP8))
          .isInstanceOf(MalformedFrameException.class)
          .hasMessageContaining("hidden values in bf16, expected fp8");
    } finally {
      frame.release();
    }
  }

  @Test
  void aNegativeCountIsRefused() {
    ByteBuf frame = FrameHeaderCodec.allocate(alloc, FrameKind.DISPATCH, 1, 0, 2, -2, 0);
    try {
      assertThatThrownBy(() -> DispatchFrameCodec.checkBody(frame, 1, 4, WirePrecision.F32))
          .isInstanceOf(MalformedFrameException.class)
          .hasMessageContaining("count must be >= 0, got -2");
    } finally {
      frame.release();
    }
  }

  static float[] rows(int count, int hidden) {
    float[] rows = new float[count * hidden];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = i * 0.25f - 1;
    }
    return rows;
  }
}
