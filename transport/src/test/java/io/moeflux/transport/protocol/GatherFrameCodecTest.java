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
        GatherFrameCodec.encode(alloc, 4, 1, 3, count, padded, topK, hidden, ids, weights, rows);
    try {
      assertThat(FrameHeaderCodec.kind(frame)).isEqualTo(FrameKind.GATHER);
      assertThat(FrameHeaderCodec.step(frame)).isEqualTo(4);
      assertThat(FrameHeaderCodec.layer(frame)).isEqualTo(1);
      assertThat(FrameHeaderCodec.source(frame)).isEqualTo(3);
      assertThat(FrameHeaderCodec.bodyLength(frame))
          .isEqualTo(GatherFrameCodec.bodyBytes(count, padded, topK, hidden));
      assertThat(GatherFrameCodec.checkBody(frame, padded, topK, hidden)).isEqualTo(count);
      for (int i = 0; i < count; i++) {
        for (int k = 0; k < topK; k++) {
          assertThat(GatherFrameCodec.expertId(frame, i, k, topK)).isEqualTo(ids[i * topK + k]);
          assertThat(GatherFrameCodec.weight(frame, count, i, k, topK))
              .isEqualTo(weights[i * topK + k]);
        }
      }
      assertThat(DispatchFrameCodecTest.read(GatherFrameCodec.rows(frame, count, topK, hidden)))
          .containsExactly(Arrays.copyOf(rows, count * hidden));
      int paddingIndex = FrameHeaderCodec.bodyIndex(frame) + count * topK * 8 + count * hidden * 4;
      for (int b = paddingIndex; b < frame.writerIndex(); b++) {
        assertThat(frame.getByte(b)).as("padding byte %d", b).isZero();
      }
    } finally {
      frame.release();
    }
  }

  @Test
  void aRankWithNoTokensSendsOnlyPadding() {
    ByteBuf frame =
        GatherFrameCodec.encode(alloc, 0, 0, 0, 0, 2, 2, 4, new int[0], new float[0], new float[0]);
    try {
      assertThat(GatherFrameCodec.checkBody(frame, 2, 2, 4)).isZero();
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
                    alloc, 0, 0, 0, 3, 2, 1, 1, new int[3], new float[3], new float[3]))
        .hasMessageContaining("count 3 exceeds the padded count 2");
    ByteBuf frame =
        GatherFrameCodec.encode(alloc, 0, 0, 0, 3, 3, 1, 1, new int[3], new float[3], new float[3]);
    try {
      assertThatThrownBy(() -> GatherFrameCodec.checkBody(frame, 2, 1, 1))
          .hasMessageContaining("count exceeds the padded count 2");
    } finally {
      frame.release();
    }
  }

  @Test
  void aBodyPaddedToAnotherCountIsRefused() {
    ByteBuf frame =
        GatherFrameCodec.encode(alloc, 0, 0, 0, 1, 3, 1, 2, new int[1], new float[1], new float[2]);
    try {
      assertThatThrownBy(() -> GatherFrameCodec.checkBody(frame, 2, 1, 2))
          .isInstanceOf(MalformedFrameException.class)
          .hasMessageContaining("body is 32 bytes but count 1 × topK 1 picks + padded 2 × hidden 2")
          .hasMessageContaining("implies 24");
    } finally {
      frame.release();
    }
  }
}
