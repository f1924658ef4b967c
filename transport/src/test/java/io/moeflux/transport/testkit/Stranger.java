package io.moeflux.transport.testkit;

import io.moeflux.transport.MeshTransport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.core.RSocketConnector;
import io.rsocket.util.ByteBufPayload;
import java.time.Duration;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A connection to a rank's server from someone who is not a rank of its group (or is a rank that
 * the test plays by hand): any SETUP bytes, then any requests. Answers are copied out and released.
 */
public final class Stranger implements AutoCloseable {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final RSocket socket;

  private Stranger(RSocket socket) {
    this.socket = socket;
  }

  /**
   * Connects to {@code rank}'s server with {@code setup} as the SETUP payload (ownership moves).
   */
  public static Stranger connect(MeshTransport transport, int rank, ByteBuf setup) {
    RSocket socket =
        RSocketConnector.create()
            .setupPayload(ByteBufPayload.create(setup))
            .connect(transport.clientTo(rank))
            .block(WAIT);
    return new Stranger(socket);
  }

  /** The answer's bytes, or the error (its message is all a stranger may learn). */
  public Mono<byte[]> request(ByteBuf data) {
    return socket
        .requestResponse(ByteBufPayload.create(data))
        .map(
            (Payload answer) -> {
              try {
                return ByteBufUtil.getBytes(answer.data());
              } finally {
                answer.release();
              }
            })
        .timeout(WAIT);
  }

  /** Opens a lane and sends {@code payloads} on it; completes or fails as the rank answers. */
  public Mono<Void> lane(ByteBuf... payloads) {
    return socket
        .requestChannel(Flux.fromArray(payloads).map(ByteBufPayload::create))
        .doOnNext(Payload::release)
        .then()
        .timeout(WAIT)
        .doFinally(
            signal -> {
              // payloads the rank never asked for are still ours
              for (ByteBuf payload : payloads) {
                if (payload.refCnt() > 0) {
                  payload.release(payload.refCnt());
                }
              }
            });
  }

  public static ByteBufAllocator allocator() {
    return ByteBufAllocator.DEFAULT;
  }

  /** Completes when the rank closed this connection. */
  public Mono<Void> onClose() {
    return socket.onClose().timeout(WAIT);
  }

  @Override
  public void close() {
    socket.dispose();
  }
}
