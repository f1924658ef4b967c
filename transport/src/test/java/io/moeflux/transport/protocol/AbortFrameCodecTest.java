package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.testkit.NoLeaks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoLeaks.class)
class AbortFrameCodecTest {
  private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;

  @Test
  void theReasonRoundTrips() {
    ByteBuf frame = AbortFrameCodec.encode(alloc, 12, 3, "rank 3, step 12: 9 tokens – too many");
    try {
      assertThat(FrameHeaderCodec.kind(frame)).isEqualTo(FrameKind.ABORT);
      assertThat(FrameHeaderCodec.step(frame)).isEqualTo(12);
      assertThat(FrameHeaderCodec.source(frame)).isEqualTo(3);
      assertThat(AbortFrameCodec.reason(frame)).isEqualTo("rank 3, step 12: 9 tokens – too many");
    } finally {
      frame.release();
    }
  }

  @Test
  void aLongReasonIsCutOnACharacterBoundary() {
    // one ASCII byte, then two-byte characters: byte 4096 is the middle of a character
    String reason = "a" + "é".repeat(AbortFrameCodec.MAX_REASON_BYTES);
    ByteBuf frame = AbortFrameCodec.encode(alloc, 1, 0, reason);
    try {
      String decoded = AbortFrameCodec.reason(frame);
      assertThat(decoded.getBytes(StandardCharsets.UTF_8).length)
          .isEqualTo(AbortFrameCodec.MAX_REASON_BYTES - 1);
      assertThat(reason).startsWith(decoded);
    } finally {
      frame.release();
    }
  }

  @Test
  void aCountThatIsNotTheBodyLengthIsRefused() {
    ByteBuf frame = FrameHeaderCodec.allocate(alloc, FrameKind.ABORT, 1, -1, 0, 10, 4);
    frame.writeInt(0);
    ByteBuf dispatch = FrameHeaderCodec.allocate(alloc, FrameKind.DISPATCH, 1, 0, 0, 0, 0);
    try {
      assertThatThrownBy(() -> AbortFrameCodec.reason(frame))
          .isInstanceOf(MalformedFrameException.class)
          .hasMessageContaining("in 10 body bytes");
      assertThatThrownBy(() -> AbortFrameCodec.reason(dispatch))
          .hasMessageContaining("expected a ABORT frame");
    } finally {
      frame.release();
      dispatch.release();
    }
  }
}
