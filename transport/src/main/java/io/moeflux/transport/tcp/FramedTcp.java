package io.moeflux.transport.tcp;

import io.moeflux.transport.InboundFailures;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import io.rsocket.Closeable;
import io.rsocket.DuplexConnection;
import io.rsocket.frame.FrameLengthCodec;
import io.rsocket.transport.ClientTransport;
import io.rsocket.transport.ServerTransport;
import io.rsocket.transport.netty.TcpDuplexConnection;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;
import reactor.netty.DisposableServer;
import reactor.netty.tcp.TcpClient;
import reactor.netty.tcp.TcpServer;

/**
 * RSocket's TCP transports with moeflux's {@link FrameDecoder} in place of RSocket's length codec,
 * and socket reads into the frame being assembled ({@link InPlaceReadAllocator}): the same bytes on
 * the wire, without the cumulation copies on arrival.
 */
final class FramedTcp {
  private static final AttributeKey<FrameDecoder> DECODER =
      AttributeKey.valueOf(FramedTcp.class, "decoder");

  private FramedTcp() {}

  static ClientTransport client(TcpClient client) {
    TcpClient framed =
        client
            .doOnChannelInit((observer, channel, remote) -> install(channel, InboundFailures.NONE))
            .doOnConnected(FramedTcp::addDecoder);
    return () ->
        framed.connect().map(connection -> (DuplexConnection) duplex("client", connection));
  }

  static ServerTransport<Closeable> server(TcpServer server, InboundFailures failures) {
    return acceptor ->
        server
            .doOnChannelInit((observer, channel, remote) -> install(channel, failures))
            .doOnConnection(
                connection -> {
                  addDecoder(connection);
                  acceptor
                      .apply(duplex("server", connection))
                      .then(Mono.<Void>never())
                      .subscribe(connection.disposeSubscriber());
                })
            .bind()
            .map(Bound::new);
  }

  /** Before the channel is registered: its decoder, and reads into the frame being assembled. */
  private static void install(Channel channel, InboundFailures failures) {
    FrameDecoder decoder = new FrameDecoder(FrameLengthCodec.FRAME_LENGTH_MASK, failures, channel);
    channel.attr(DECODER).set(decoder);
    channel.config().setRecvByteBufAllocator(new InPlaceReadAllocator(decoder));
  }

  private static void addDecoder(Connection connection) {
    connection.addHandlerLast(
        FrameDecoder.class.getSimpleName(), connection.channel().attr(DECODER).get());
  }

  private static TcpDuplexConnection duplex(String side, Connection connection) {
    return new TcpDuplexConnection(side, connection);
  }

  /** A bound server as RSocket's {@link Closeable}. */
  private static final class Bound implements Closeable {
    private final DisposableServer server;

    Bound(DisposableServer server) {
      this.server = server;
    }

    @Override
    public Mono<Void> onClose() {
      return server.onDispose();
    }

    @Override
    public void dispose() {
      server.dispose();
    }

    @Override
    public boolean isDisposed() {
      return server.isDisposed();
    }
  }
}
