package io.moeflux.transport.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * The read buffers of one connection: while its {@link FrameDecoder} assembles a large frame, the
 * socket reads straight into the rest of that frame's buffer; otherwise ordinary adaptive read
 * buffers. Plain TCP only: a transport that transforms the bytes it reads (TLS) must read into
 * buffers of its own.
 */
final class InPlaceReadAllocator implements RecvByteBufAllocator {
  /**
   * The largest ordinary read. The start of a large frame arrives in an ordinary read and is copied
   * out of it, so a small one bounds that copy; control frames are far smaller.
   */
  static final int MAX_ORDINARY_READ = 16 * 1024;

  private final RecvByteBufAllocator ordinary =
      new AdaptiveRecvByteBufAllocator(64, 2048, MAX_ORDINARY_READ);
  private final FrameDecoder decoder;

  InPlaceReadAllocator(FrameDecoder decoder) {
    this.decoder = decoder;
  }

  @Override
  public Handle newHandle() {
    return new InPlaceHandle((ExtendedHandle) ordinary.newHandle());
  }

  /** The adaptive handle, except where a frame in progress says where the bytes go. */
  private final class InPlaceHandle implements ExtendedHandle {
    private final ExtendedHandle adaptive;

    InPlaceHandle(ExtendedHandle adaptive) {
      this.adaptive = adaptive;
    }

    @Override
    public ByteBuf allocate(ByteBufAllocator alloc) {
      ByteBuf rest = decoder.inPlaceRead();
      return rest != null ? rest : adaptive.allocate(alloc);
    }

    @Override
    public int guess() {
      return adaptive.guess();
    }

    @Override
    public void reset(ChannelConfig config) {
      adaptive.reset(config);
    }

    @Override
    public void incMessagesRead(int numMessages) {
      adaptive.incMessagesRead(numMessages);
    }

    @Override
    public void lastBytesRead(int bytes) {
      adaptive.lastBytesRead(bytes);
    }

    @Override
    public int lastBytesRead() {
      return adaptive.lastBytesRead();
    }

    @Override
    public void attemptedBytesRead(int bytes) {
      adaptive.attemptedBytesRead(bytes);
    }

    @Override
    public int attemptedBytesRead() {
      return adaptive.attemptedBytesRead();
    }

    @Override
    public boolean continueReading() {
      return adaptive.continueReading();
    }

    @Override
    public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
      return adaptive.continueReading(maybeMoreDataSupplier);
    }

    @Override
    public void readComplete() {
      adaptive.readComplete();
    }
  }
}
