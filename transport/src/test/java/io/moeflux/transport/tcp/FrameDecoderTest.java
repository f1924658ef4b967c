package io.moeflux.transport.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.transport.InboundFailures;
import io.moeflux.transport.testkit.NoLeaks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoLeaks.class)
class FrameDecoderTest {
  private static final int MAX = (1 << 24) - 1;

  @Test
  void framesBeyondTheReservationBudgetGrowWithTheBytesThatArriveAndComeOutWhole() {
    FrameReservations reservations = new FrameReservations(1 << 20);
    EmbeddedChannel first = new EmbeddedChannel();
    EmbeddedChannel second = new EmbeddedChannel();
    FrameDecoder firstDecoder = decoder(first, reservations);
    FrameDecoder secondDecoder = decoder(second, reservations);
    byte[] a = randomFrame(600 * 1024, 1);
    byte[] b = randomFrame(600 * 1024, 2);

    // only the lengths and heads arrive: the first frame fits the budget, the second does not
    first.writeInbound(Unpooled.wrappedBuffer(a, 0, 100));
    second.writeInbound(Unpooled.wrappedBuffer(b, 0, 100));
    assertThat(reservations.reserved()).isEqualTo(a.length);
    assertThat(firstDecoder.assemblingCapacity()).isEqualTo(a.length);
    assertThat(secondDecoder.assemblingCapacity()).isEqualTo(FrameDecoder.GROWING_START);

    feed(first, a, 100);
    feed(second, b, 100);
    assertWhole(first, a);
    assertWhole(second, b);
    assertThat(reservations.reserved()).isZero();
    assertThat(first.finishAndReleaseAll()).isFalse();
    assertThat(second.finishAndReleaseAll()).isFalse();
  }

  @Test
  void aClosedConnectionGivesBackWhatItsFrameReserved() {
    FrameReservations reservations = new FrameReservations(1 << 20);
    EmbeddedChannel channel = new EmbeddedChannel();
    decoder(channel, reservations);
    byte[] frame = randomFrame(300 * 1024, 3);
    channel.writeInbound(Unpooled.wrappedBuffer(frame, 0, 100));
    assertThat(reservations.reserved()).isEqualTo(frame.length);
    channel.finishAndReleaseAll();
    assertThat(reservations.reserved()).isZero();
  }

  private static FrameDecoder decoder(EmbeddedChannel channel, FrameReservations reservations) {
    FrameDecoder decoder = new FrameDecoder(MAX, InboundFailures.NONE, channel, reservations);
    channel.pipeline().addLast(decoder);
    return decoder;
  }

  /** A 3-byte length, then {@code length} random bytes. */
  private static byte[] randomFrame(int length, long seed) {
    byte[] frame = new byte[FrameDecoder.LENGTH_BYTES + length];
    new Random(seed).nextBytes(frame);
    frame[0] = (byte) (length >>> 16);
    frame[1] = (byte) (length >>> 8);
    frame[2] = (byte) length;
    return frame;
  }

  /** The rest of {@code frame} from {@code from}, in reads of a few KiB. */
  private static void feed(EmbeddedChannel channel, byte[] frame, int from) {
    Random sizes = new Random(from);
    for (int at = from; at < frame.length; ) {
      int n = Math.min(frame.length - at, 1 + sizes.nextInt(8 * 1024));
      channel.writeInbound(Unpooled.copiedBuffer(frame, at, n));
      at += n;
    }
  }

  private static void assertWhole(EmbeddedChannel channel, byte[] frame) {
    ByteBuf out = channel.readInbound();
    try {
      assertThat(ByteBufUtil.getBytes(out)).isEqualTo(frame);
    } finally {
      out.release();
    }
    assertThat((Object) channel.readInbound()).isNull();
  }
}
