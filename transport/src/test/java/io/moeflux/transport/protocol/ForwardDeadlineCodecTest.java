package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.testkit.NoLeaks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoLeaks.class)
class ForwardDeadlineCodecTest {
  private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;

  @Test
  void aDeadlineRoundTripsInWholeMilliseconds() {
    for (long millis : new long[] {1, 250, ForwardDeadlineCodec.MAX_MILLIS}) {
      ByteBuf entry = ForwardDeadlineCodec.encode(ALLOC, Duration.ofMillis(millis));
      try {
        assertThat(ForwardDeadlineCodec.decode(entry)).isEqualTo(Duration.ofMillis(millis));
      } finally {
        entry.release();
      }
    }
  }

  @Test
  void aDeadlineOutOfRangeOrOfTheWrongLengthIsRefusedSayingWhy() {
    assertThatThrownBy(() -> ForwardDeadlineCodec.encode(ALLOC, Duration.ZERO))
        .hasMessage("a deadline must be 1 to 3600000 ms, got 0 ms");
    ByteBuf negative = ALLOC.buffer(8).writeLong(-5);
    ByteBuf short4 = ALLOC.buffer(4).writeInt(5);
    try {
      assertThatThrownBy(() -> ForwardDeadlineCodec.decode(negative))
          .hasMessage("a deadline must be 1 to 3600000 ms, got -5 ms");
      assertThatThrownBy(() -> ForwardDeadlineCodec.decode(short4))
          .hasMessage(
              "a deadline entry (message/x.moeflux.deadline.v0) is 8 bytes, an int64 of"
                  + " milliseconds; got 4 bytes");
    } finally {
      negative.release();
      short4.release();
    }
  }
}
