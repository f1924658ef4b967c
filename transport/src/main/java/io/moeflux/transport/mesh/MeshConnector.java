package io.moeflux.transport.mesh;

import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.protocol.Handshake;
import io.moeflux.transport.protocol.HandshakeCodec;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.rsocket.RSocket;
import io.rsocket.core.RSocketConnector;
import io.rsocket.exceptions.RejectedSetupException;
import io.rsocket.frame.decoder.PayloadDecoder;
import io.rsocket.util.ByteBufPayload;
import java.time.Duration;
import java.util.Optional;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

/**
 * This rank's client side of the handshake: connects to a peer (retrying until the peer is up or
 * this rank gives up), sends this rank's handshake as the SETUP payload (the peer checks it), then
 * asks for the peer's with a hello and checks it here, so that both sides refuse a mismatch.
 */
final class MeshConnector {
  /**
   * RSocket frames carry at most 16 MiB; a larger payload is sent in fragments of this size (1 KiB
   * left for RSocket's own headers) and put together again on arrival.
   */
  static final int FRAGMENT_MTU = 16 * 1024 * 1024 - 1024;

  private static final Duration RETRY = Duration.ofMillis(100);
  private static final Duration REFUSAL_GRACE = Duration.ofSeconds(1);

  private final MeshConfig config;
  private final Handshake self;
  private final ByteBufAllocator allocator;
  private final Membership membership;
  private final Mono<Void> refusedHere;

  /**
   * @param refusedHere fails when this rank's server refused a peer: when that peer then hangs up
   *     mid-handshake, the refusal is the reason worth reporting
   */
  MeshConnector(
      MeshConfig config,
      Handshake self,
      ByteBufAllocator allocator,
      Membership membership,
      Mono<Void> refusedHere) {
    this.config = config;
    this.self = self;
    this.allocator = allocator;
    this.membership = membership;
    this.refusedHere = refusedHere;
  }

  /** A connection to {@code peer} whose handshake passed on both sides. */
  Mono<RSocket> connect(int peer) {
    return Mono.defer(
            () ->
                RSocketConnector.create()
                    .setupPayload(
                        Mono.fromCallable(
                            () -> ByteBufPayload.create(HandshakeCodec.encode(allocator, self))))
                    .payloadDecoder(PayloadDecoder.ZERO_COPY)
                    .fragment(FRAGMENT_MTU)
                    .keepAlive(config.keepAliveInterval(), config.keepAliveMaxLifetime())
                    .connect(config.transport().clientTo(peer)))
        .retryWhen(
            Retry.fixedDelay(Long.MAX_VALUE, RETRY).filter(error -> !membership.isDisposed()))
        .flatMap(socket -> hello(peer, socket));
  }

  private Mono<RSocket> hello(int peer, RSocket socket) {
    return socket
        .requestResponse(ByteBufPayload.create(Unpooled.EMPTY_BUFFER))
        .onErrorMap(
            RejectedSetupException.class, error -> new MeshException(error.getMessage(), error))
        .map(
            answer -> {
              Handshake there;
              try {
                there = HandshakeCodec.decode(answer.data());
              } finally {
                answer.release();
              }
              Optional<String> mismatch = self.mismatch(there);
              if (mismatch.isEmpty() && there.rank() != peer) {
                mismatch =
                    Optional.of(membership.describe(peer) + " answered as rank " + there.rank());
              }
              if (mismatch.isPresent()) {
                socket.dispose();
                throw new MeshException(
                    "rank "
                        + config.rank()
                        + " refused "
                        + membership.describe(peer)
                        + ": "
                        + mismatch.get());
              }
              return socket;
            })
        .onErrorResume(
            error -> !(error instanceof MeshException),
            error ->
                refusedHere
                    .timeout(
                        REFUSAL_GRACE,
                        Mono.error(
                            new MeshException(
                                "rank "
                                    + config.rank()
                                    + ": handshake with "
                                    + membership.describe(peer)
                                    + " failed: "
                                    + error,
                                error)))
                    .then(Mono.empty()))
        .doOnError(error -> socket.dispose());
  }
}
