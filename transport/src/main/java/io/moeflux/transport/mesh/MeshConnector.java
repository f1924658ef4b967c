package io.moeflux.transport.mesh;

import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.protocol.ChallengeCodec;
import io.moeflux.transport.protocol.Handshake;
import io.moeflux.transport.protocol.HandshakeCodec;
import io.moeflux.transport.protocol.HandshakeProofs;
import io.moeflux.transport.protocol.ProofCodec;
import io.moeflux.transport.protocol.SetupCodec;
import io.netty.buffer.ByteBufAllocator;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.core.RSocketConnector;
import io.rsocket.frame.decoder.PayloadDecoder;
import io.rsocket.util.ByteBufPayload;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

/**
 * This rank's client side of the handshake: connects to a peer (retrying until the peer is up or
 * this rank gives up), sends a SETUP with a fresh nonce, checks the peer's proof over it, proves
 * the secret over the peer's nonce, and then compares what both run ({@link Handshake}), so that
 * both sides refuse a stranger or a mismatch before any lane opens.
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
  private final byte[] groupTag;
  private final ByteBufAllocator allocator;
  private final Membership membership;
  private final Mono<Void> refusedHere;
  private final int maxInboundPayload;

  /**
   * @param refusedHere fails when this rank's server refused a peer: when that peer then hangs up
   *     mid-handshake, the refusal is the reason worth reporting
   */
  MeshConnector(
      MeshConfig config,
      Handshake self,
      ByteBufAllocator allocator,
      Membership membership,
      Mono<Void> refusedHere,
      int maxInboundPayload) {
    this.config = config;
    this.self = self;
    this.groupTag =
        HandshakeProofs.groupTag(config.secret(), config.worldSize(), config.fingerprint());
    this.allocator = allocator;
    this.membership = membership;
    this.refusedHere = refusedHere;
    this.maxInboundPayload = maxInboundPayload;
  }

  /** A connection to {@code peer} whose handshake passed on both sides. */
  Mono<RSocket> connect(int peer) {
    return Mono.defer(
        () -> {
          byte[] nonce = HandshakeProofs.nonce();
          return RSocketConnector.create()
              .setupPayload(
                  Mono.fromCallable(
                      () ->
                          ByteBufPayload.create(
                              SetupCodec.encode(allocator, config.rank(), nonce))))
              .payloadDecoder(PayloadDecoder.ZERO_COPY)
              .fragment(FRAGMENT_MTU)
              .maxInboundPayloadSize(maxInboundPayload)
              .keepAlive(config.keepAliveInterval(), config.keepAliveMaxLifetime())
              .connect(config.transport().clientTo(peer))
              .retryWhen(
                  Retry.fixedDelay(Long.MAX_VALUE, RETRY).filter(error -> !membership.isDisposed()))
              .flatMap(socket -> authenticate(peer, socket, nonce));
        });
  }

  private Mono<RSocket> authenticate(int peer, RSocket socket, byte[] ourNonce) {
    return request(socket, ChallengeCodec.encodeRequest(allocator), ChallengeCodec::decodeAnswer)
        .flatMap(
            challenge -> {
              byte[] expected =
                  HandshakeProofs.acceptingProof(
                      config.secret(), ourNonce, challenge.nonce(), peer, challenge.groupTag());
              if (!HandshakeProofs.matches(expected, challenge.proof())) {
                throw refusal(
                    peer,
                    "it did not prove the group secret (another secret, or not a rank of this"
                        + " group)");
              }
              byte[] proof =
                  HandshakeProofs.connectingProof(
                      config.secret(), challenge.nonce(), ourNonce, config.rank(), groupTag);
              return request(
                  socket,
                  ProofCodec.encode(allocator, groupTag, proof, self),
                  HandshakeCodec::decode);
            })
        .map(
            there -> {
              Optional<String> mismatch = self.mismatch(there);
              if (mismatch.isEmpty() && there.rank() != peer) {
                mismatch = Optional.of("it answered as rank " + there.rank());
              }
              if (mismatch.isPresent()) {
                throw refusal(peer, mismatch.get());
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
                                    + answerOf(error),
                                error)))
                    .then(Mono.empty()))
        .doOnError(error -> socket.dispose());
  }

  private <T> Mono<T> request(
      RSocket socket, io.netty.buffer.ByteBuf data, Function<io.netty.buffer.ByteBuf, T> decode) {
    return socket
        .requestResponse(ByteBufPayload.create(data))
        .map(
            (Payload answer) -> {
              try {
                return decode.apply(answer.data());
              } finally {
                answer.release();
              }
            });
  }

  private MeshException refusal(int peer, String why) {
    return new MeshException(
        "rank " + config.rank() + " refused " + membership.describe(peer) + ": " + why);
  }

  /** A peer that refuses this rank says only "refused": its own log says why. */
  private static String answerOf(Throwable error) {
    String message = error.getMessage();
    return "refused".equals(message)
        ? "refused by the peer (its log says why)"
        : String.valueOf(error);
  }
}
