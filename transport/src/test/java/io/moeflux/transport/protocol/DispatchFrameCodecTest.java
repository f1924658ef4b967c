package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.testkit.LeakRecorder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.FloatBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DispatchFrameCodecTest {
  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  @Test
  void picksAndHiddenRowsRoundTrip() {
    int count = 3;
    int topK = 2;
    int hidden = 4;
    ByteBuf frame = DispatchFrameCodec.allocate(alloc, 7, 1, 2, count, topK, hidden);
    try {
      for (int i = 0; i < count; i++) {
        for (int k = 0; k < topK; k++) {
          DispatchFrameCodec.setPick(frame, count, i, k, topK, k == 0 ? i : -1, i + k / 10f);
        }
      }
      DispatchFrameCodec.hidden(frame, count, topK, hidden).put(0, rows(count, hidden));
      DispatchFrameCodec.finish(frame, count, topK, hidden);

      assertThat(FrameHeaderCodec.kind(frame)).isEqualTo(FrameKind.DISPATCH);
      assertThat(FrameHeaderCodec.step(frame)).isEqualTo(7);
      assertThat(FrameHeaderCodec.layer(frame)).isEqualTo(1);
      assertThat(FrameHeaderCodec.source(frame)).isEqualTo(2);
      assertThat(DispatchFrameCodec.checkBody(frame, topK, hidden)).isEqualTo(count);
      for (int i = 0; i < count; i++) {
        for (int k = 0; k < topK; k++) {
          assertThat(DispatchFrameCodec.localSlot(frame, i, k, topK)).isEqualTo(k == 0 ? i : -1);
          assertThat(DispatchFrameCodec.weight(frame, count, i, k, topK)).isEqualTo(i + k / 10f);
        }
      }
      float[] read = new float[count * hidden];
      DispatchFrameCodec.hidden(frame, count, topK, hidden).get(0, read);
      assertThat(read).containsExactly(rows(count, hidden));
    } finally {
      frame.release();
    }
  }

  @Test
  void anEmptyFrameHasAnEmptyBody() {
    ByteBuf frame = DispatchFrameCodec.allocate(alloc, 0, 0, 1, 0, 8, 1024);
    try {
      DispatchFrameCodec.finish(frame, 0, 8, 1024);
      assertThat(FrameHeaderCodec.bodyLength(frame)).isZero();
      assertThat(DispatchFrameCodec.checkBody(frame, 8, 1024)).isZero();
      assertThat(DispatchFrameCodec.hidden(frame, 0, 8, 1024).capacity()).isZero();
    } finally {
      frame.release();
    }
  }

  @Test
  void aBodyShorterThanItsCountImpliesIsRefused() {
    ByteBuf frame =
        FrameHeaderCodec.allocate(alloc, FrameKind.DISPATCH, 1, 0, 2, 2, 10).writeZero(10);
    try {
      assertThatThrownBy(() -> DispatchFrameCodec.checkBody(frame, 1, 4))
          .isInstanceOf(MalformedFrameException.class)
          .hasMessageContaining("body is 10 bytes")
          .hasMessageContaining("count 2 × (topK 1 picks + hidden 4) implies 48");
    } finally {
      frame.release();
    }
  }

  @Test
  void aNegativeCountIsRefused() {
    ByteBuf frame = FrameHeaderCodec.allocate(alloc, FrameKind.DISPATCH, 1, 0, 2, -2, 0);
    try {
      assertThatThrownBy(() -> DispatchFrameCodec.checkBody(frame, 1, 4))
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

  static float[] read(FloatBuffer view) {
    float[] out = new float[view.capacity()];
    view.get(0, out);
    return out;
  }
}
