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

class GatherFrameCodecTest {
  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  @Test
  void picksAndPaddedRowsRoundTrip() {
    int count = 2;
    int padded = 5;
    int topK = 3;
    int hidden = 4;
    int[] ids = {4, 0, 7, 1, 2, 3, 99};
    float[] weights = {0.5f, 0.25f, 0.125f, 1, 2, 3, 99};
    float[] rows = DispatchFrameCodecTest.rows(padded, hidden);
    ByteBuf frame =
        GatherFrameCodec.encode(
            alloc, 4, 1, 3, count, padded, topK, ids, weights, rows, coder(hidden));
    try {
      assertThat(FrameHeaderCodec.kind(frame)).isEqualTo(FrameKind.GATHER);
      assertThat(FrameHeaderCodec.step(frame)).isEqualTo(4);
      assertThat(FrameHeaderCodec.layer(frame)).isEqualTo(1);
      assertThat(FrameHeaderCodec.source(frame)).isEqualTo(3);
      assertThat(FrameHeaderCodec.bodyLength(frame))
          .isEqualTo(GatherFrameCodec.bodyBytes(count, padded, topK, hidden, WirePrecision.F32));
      assertThat(GatherFrameCodec.checkBody(frame, padded, topK, hidden, WirePrecision.F32))
          .isEqualTo(count);
      for (int i = 0; i < count; i++) {
        for (int k = 0; k < topK; k++) {
          assertThat(GatherFrameCodec.expertId(frame, i, k, topK)).isEqualTo(ids[i * topK + k]);
          assertThat(GatherFrameCodec.weight(frame, count, i, k, topK))
              .isEqualTo(weights[i * topK + k]);
        }
      }
      WireRows view = GatherFrameCodec.rows(frame, count, padded, topK, hidden, WirePrecision.F32);
      assertThat(view.count()).isEqualTo(count);
      float[] read = new float[count * hidden];
      for (int i = 0; i < count; i++) {
        coder(hidden).decode(view, i, read, i * hidden);
      }
      assertThat(read).containsExactly(Arrays.copyOf(rows, count * hidden));
      int paddingIndex = FrameHeaderCodec.bodyIndex(frame) + count * topK * 8 + count * hidden * 4;
      for (int b = paddingIndex; b < frame.writerIndex(); b++) {
        assertThat(frame.getByte(b)).as("padding byte %d", b).isZero();
      }
    } finally {
      frame.release();
    }
  }

  @Test
  void fp8RowsCarryTheirScalesAndThePaddingIsZero() {
    int hidden = 4;
    float[] rows = {1, -2, 4, 8, 0.5f, 0.25f, -1, 0};
    RowCoder fp8 = new RowCoder(WirePrecision.FP8, hidden);
    ByteBuf frame =
        GatherFrameCodec.encode(alloc, 1, 0, 2, 2, 3, 1, new int[2], new float[2], rows, fp8);
    try {
      assertThat(GatherFrameCodec.checkBody(frame, 3, 1, hidden, WirePrecision.FP8)).isEqualTo(2);
      assertThat(FrameHeaderCodec.bodyLength(frame)).isEqualTo(2 * 8 + 3 * (4 + hidden));
      WireRows view = GatherFrameCodec.rows(frame, 2, 3, 1, hidden, WirePrecision.FP8);
      float[] read = new float[8];
      fp8.decode(view, 0, read, 0);
      fp8.decode(view, 1, read, 4);
      // powers of two and their scale (max / 448) are exact in e4m3
      assertThat(read).containsExactly(rows);
    } finally {
      frame.release();
    }
  }

  private static RowCoder coder(int hidden) {
    return new RowCoder(WirePrecision.F32, hidden);
  }

  @Test
  void aRankWithNoTokensSendsOnlyPadding() {
    ByteBuf frame =
        GatherFrameCodec.encode(
            alloc, 0, 0, 0, 0, 2, 2, new int[0], new float[0], new float[0], coder(4));
    try {
      assertThat(GatherFrameCodec.checkBody(frame, 2, 2, 4, WirePrecision.F32)).isZero();
      assertThat(FrameHeaderCodec.bodyLength(frame)).isEqualTo(2 * 4 * Float.BYTES);
    } finally {
      frame.release();
    }
  }

  @Test
  void aCountBeyondThePaddedCountIsRefused() {
    assertThatThrownBy(
            () ->
                GatherFrameCodec.encode(
                    alloc, 0, 0, 0, 3, 2, 1, new int[3], new float[3], new float[3], coder(1)))
        .hasMessageContaining("count 3 exceeds the padded count 2");
    ByteBuf frame =
        GatherFrameCodec.encode(
            alloc, 0, 0, 0, 3, 3, 1, new int[3], new float[3], new float[3], coder(1));
    try {
      assertThatThrownBy(() -> GatherFrameCodec.checkBody(frame, 2, 1, 1, WirePrecision.F32))
          .hasMessageContaining("count exceeds the padded count 2");
    } finally {
      frame.release();
    }
  }

  @Test
  void aBodyPaddedToAnotherCountIsRefused() {
    ByteBuf frame =
        GatherFrameCodec.encode(
            alloc, 0, 0, 0, 1, 3, 1, new int[1], new float[1], new float[2], coder(2));
    try {
      assertThatThrownBy(() -> GatherFrameCodec.checkBody(frame, 2, 1, 2, WirePrecision.F32))
          .isInstanceOf(MalformedFrameException.class)
          .hasMessageContaining(
              "body is 32 bytes but count 1 × topK 1 picks + padded 2 × hidden 2 f32 values")
          .hasMessageContaining("implies 24");
    } finally {
      frame.release();
    }
  }
}
