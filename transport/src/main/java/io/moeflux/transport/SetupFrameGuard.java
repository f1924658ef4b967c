package io.moeflux.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.rsocket.DuplexConnection;
import io.rsocket.RSocketErrorException;
import io.rsocket.frame.FrameType;
import io.rsocket.plugins.DuplexConnectionInterceptor;
import java.net.SocketAddress;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Checks the first frame of every connection a server accepts before RSocket reads it: it must be a
 * whole SETUP frame of RSocket 1.0, on stream 0, without lease or resume (which moeflux servers do
 * not offer), every length within the frame. Anything else is released and the connection closed:
 * rsocket-java 1.1.5 loses the buffer of some malformed first frames, so a stranger could otherwise
 * leak memory with each connection. Install with {@code RSocketServer.interceptors(registry ->
 * registry.forConnection(new SetupFrameGuard()))}.
 */
public final class SetupFrameGuard implements DuplexConnectionInterceptor {
  private static final int HEADER = 6;
  private static final int FLAG_METADATA = 0x100;
  private static final int FLAG_RESUME = 0x80;
  private static final int FLAG_LEASE = 0x40;

  @Override
  public DuplexConnection apply(Type type, DuplexConnection connection) {
    return type == Type.SOURCE ? new Guarded(connection) : connection;
  }

  /** Whether {@code frame} (without its length prefix) is a whole SETUP frame moeflux accepts. */
  public static boolean isAcceptableSetup(ByteBuf frame) {
    int at = frame.readerIndex();
    int end = frame.writerIndex();
    if (end - at < HEADER + 12 + 2 || frame.getInt(at) != 0) {
      return false;
    }
    int typeAndFlags = frame.getUnsignedShort(at + 4);
    if (typeAndFlags >> 10 != FrameType.SETUP.getEncodedType()
        || (typeAndFlags & (FLAG_RESUME | FLAG_LEASE)) != 0) {
      return false;
    }
    int cursor = at + HEADER;
    if (frame.getUnsignedShort(cursor) != 1 || frame.getUnsignedShort(cursor + 2) != 0) {
      return false;
    }
    if (frame.getInt(cursor + 4) <= 0 || frame.getInt(cursor + 8) <= 0) {
      return false;
    }
    cursor += 12;
    for (int mime = 0; mime < 2; mime++) {
      if (cursor >= end) {
        return false;
      }
      cursor += 1 + frame.getUnsignedByte(cursor);
    }
    if ((typeAndFlags & FLAG_METADATA) != 0) {
      if (end - cursor < 3) {
        return false;
      }
      cursor += 3 + frame.getUnsignedMedium(cursor);
    }
    return cursor <= end;
  }

  /** A connection whose first inbound frame must pass {@link #isAcceptableSetup}. */
  private static final class Guarded implements DuplexConnection {
    private final DuplexConnection connection;

    Guarded(DuplexConnection connection) {
      this.connection = connection;
    }

    @Override
    public Flux<ByteBuf> receive() {
      return Flux.defer(
          () -> {
            boolean[] checked = {false};
            return connection
                .receive()
                .<ByteBuf>handle(
                    (frame, sink) -> {
                      if (!checked[0]) {
                        checked[0] = true;
                        if (!isAcceptableSetup(frame)) {
                          // not passed on: the connection releases what it delivered
                          connection.dispose();
                          sink.complete();
                          return;
                        }
                      }
                      sink.next(frame);
                    });
          });
    }

    @Override
    public void sendFrame(int streamId, ByteBuf frame) {
      connection.sendFrame(streamId, frame);
    }

    @Override
    public void sendErrorAndClose(RSocketErrorException e) {
      connection.sendErrorAndClose(e);
    }

    @Override
    public ByteBufAllocator alloc() {
      return connection.alloc();
    }

    @Override
    public SocketAddress remoteAddress() {
      return connection.remoteAddress();
    }

    @Override
    public Mono<Void> onClose() {
      return connection.onClose();
    }

    @Override
    public void dispose() {
      connection.dispose();
    }

    @Override
    public boolean isDisposed() {
      return connection.isDisposed();
    }
  }
}
