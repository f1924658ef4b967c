package io.moeflux.transport.mesh;

import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.RateLimitedLog;
import io.moeflux.transport.protocol.ChallengeCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.moeflux.transport.protocol.Handshake;
import io.moeflux.transport.protocol.HandshakeCodec;
import io.moeflux.transport.protocol.HandshakeProofs;
import io.moeflux.transport.protocol.ProofCodec;
import io.moeflux.transport.protocol.ProtocolVersion;
import io.moeflux.transport.protocol.SetupCodec;
import io.netty.buffer.ByteBufAllocator;
import io.rsocket.ConnectionSetupPayload;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.SocketAcceptor;
import io.rsocket.exceptions.RejectedSetupException;
import io.rsocket.util.ByteBufPayload;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * This rank's server side. A connection is a stranger until it has proven the group's secret
 * ({@link HandshakeProofs}): SETUP names the rank it claims and a nonce, a challenge request gets
 * this rank's nonce and proof, a proof request proves the secret and says what the peer runs
 * ({@link Handshake}). Only then may it open lanes ({@link InboundLane}).
 *
 * <p>A stranger learns nothing: whatever is wrong, it is told "refused", and the reason goes to
 * this rank's log (rate-limited). A connection that claims a rank already connected is refused, and
 * one that has not proven itself within the connect timeout is closed. No stranger can fail this
 * rank: a bad SETUP is refused and this rank keeps waiting for the real peer. A peer that proved
 * the secret but runs another configuration is a member: it gets this rank's handshake, so that it
 * can say what differs, and this rank's start fails with the same.
 */
final class InboundAcceptor implements SocketAcceptor {
  private static final RateLimitedLog LOG =
      new RateLimitedLog(
          LoggerFactory.getLogger(InboundAcceptor.class), 20, Duration.ofSeconds(10));

  /** How long a refused connection stays open, so that the refusal reaches it before the close. */
  private static final Duration REFUSAL_CLOSE = Duration.ofMillis(200);

  private final MeshConfig config;
  private final Handshake self;
  private final byte[] groupTag;
  private final ByteBufAllocator allocator;
  private final Inbox inbox;
  private final Membership membership;
  private final int lanesToOpen;
  private final AtomicInteger lanesOpened = new AtomicInteger();
  private final AtomicIntegerArray connected;
  private final Sinks.Empty<Void> ready = Sinks.empty();
  private final Sinks.Empty<Void> refused = Sinks.empty();
  private volatile @Nullable String lastRefusal;

  InboundAcceptor(
      MeshConfig config,
      Handshake self,
      ByteBufAllocator allocator,
      Inbox inbox,
      Membership membership) {
    this.config = config;
    this.self = self;
    this.groupTag =
        HandshakeProofs.groupTag(config.secret(), config.worldSize(), config.fingerprint());
    this.allocator = allocator;
    this.inbox = inbox;
    this.membership = membership;
    this.lanesToOpen = (self.worldSize() - 1) * FrameKind.Lane.count();
    this.connected = new AtomicIntegerArray(self.worldSize());
  }

  /** Completes when every peer has opened every lane to this rank. */
  Mono<Void> ready() {
    return ready.asMono();
  }

  /**
   * Fails when a peer that proved the secret runs another configuration, so that the refusal fails
   * this rank's start too: refused on both sides. Strangers never make it fail.
   */
  Mono<Void> refused() {
    return refused.asMono();
  }

  /** Why the last connection was refused, for a start that timed out; null if none was. */
  @Nullable String lastRefusal() {
    return lastRefusal;
  }

  @Override
  public Mono<RSocket> accept(ConnectionSetupPayload setup, RSocket sendingSocket) {
    SetupCodec.Setup hello;
    try {
      hello = SetupCodec.decode(setup.data());
    } catch (MeshException e) {
      return Mono.error(refusal(e.getMessage()));
    }
    if (hello.version() != ProtocolVersion.CURRENT) {
      return Mono.error(
          refusal(
              "protocol version "
                  + hello.version()
                  + " there, "
                  + ProtocolVersion.CURRENT
                  + " here"));
    }
    int claimed = hello.rank();
    if (claimed < 0 || claimed >= self.worldSize() || claimed == self.rank()) {
      return Mono.error(
          refusal("a SETUP claiming rank " + claimed + " in a world of " + self.worldSize()));
    }
    if (connected.get(claimed) != 0) {
      return Mono.error(refusal(secondConnection(claimed)));
    }
    Session session = new Session(claimed, hello.nonce(), sendingSocket);
    session.expireAfter(config.connectTimeout());
    return Mono.just(session);
  }

  private String secondConnection(int claimed) {
    return "a second connection claiming " + membership.describe(claimed) + ", already connected";
  }

  /** Logs why (locally) and returns what the stranger is told: nothing but "refused". */
  private RejectedSetupException refusal(String why) {
    String line = "rank " + self.rank() + " refused a connection: " + why;
    lastRefusal = line;
    LOG.warn(line);
    return new RejectedSetupException("refused");
  }

  /** One connection from a peer, from its SETUP on. */
  private final class Session implements RSocket {
    private final int claimed;
    private final byte[] theirNonce;
    private final RSocket connection;
    private byte @Nullable [] ourNonce;
    private State state = State.AWAIT_CHALLENGE;
    private @Nullable Disposable expiry;
    private int lanesOpen;

    Session(int claimed, byte[] theirNonce, RSocket connection) {
      this.claimed = claimed;
      this.theirNonce = theirNonce;
      this.connection = connection;
    }

    void expireAfter(Duration timeout) {
      expiry =
          Schedulers.parallel()
              .schedule(
                  () -> {
                    if (!isMember()) {
                      refuse("rank " + claimed + " did not prove the group secret in " + timeout);
                    }
                  },
                  timeout.toMillis(),
                  TimeUnit.MILLISECONDS);
      connection.onClose().subscribe(null, error -> cancelExpiry(), this::cancelExpiry);
    }

    private void cancelExpiry() {
      Disposable scheduled = expiry;
      if (scheduled != null) {
        scheduled.dispose();
      }
    }

    private synchronized boolean isMember() {
      return state == State.MEMBER;
    }

    @Override
    public Mono<Payload> requestResponse(Payload request) {
      try {
        return Mono.just(answer(request));
      } catch (MeshException e) {
        return Mono.error(refuse(e.getMessage()));
      } finally {
        request.release();
      }
    }

    private synchronized Payload answer(Payload request) {
      switch (state) {
        case AWAIT_CHALLENGE:
          if (!ChallengeCodec.isRequest(request.data())) {
            throw new MeshException("rank " + claimed + " sent something else than a challenge");
          }
          byte[] nonce = HandshakeProofs.nonce();
          ourNonce = nonce;
          state = State.AWAIT_PROOF;
          byte[] proof =
              HandshakeProofs.acceptingProof(
                  config.secret(), theirNonce, nonce, self.rank(), groupTag);
          return ByteBufPayload.create(
              ChallengeCodec.encodeAnswer(allocator, nonce, groupTag, proof));
        case AWAIT_PROOF:
          return proven(ProofCodec.decode(request.data()));
        default:
          throw new MeshException(
              "rank " + claimed + " sent a handshake request in state " + state);
      }
    }

    private Payload proven(ProofCodec.Proof proof) {
      byte[] expected =
          HandshakeProofs.connectingProof(
              config.secret(), ourNonce, theirNonce, claimed, proof.groupTag());
      if (!HandshakeProofs.matches(expected, proof.proof())) {
        state = State.REFUSED;
        throw new MeshException(
            "a connection claiming rank " + claimed + " did not prove the group secret");
      }
      Handshake there = proof.handshake();
      Optional<String> mismatch = self.mismatch(there);
      if (mismatch.isEmpty() && there.rank() != claimed) {
        mismatch =
            Optional.of("it claimed rank " + claimed + " in SETUP, " + there.rank() + " later");
      }
      if (mismatch.isPresent()) {
        // a member that runs another configuration: it gets our handshake, to say what differs
        state = State.REFUSED;
        String why =
            "rank "
                + self.rank()
                + " refused "
                + membership.describe(claimed)
                + ": "
                + mismatch.get();
        lastRefusal = why;
        LOG.warn(why);
        refused.tryEmitError(new MeshException(why));
        closeSoon();
        return ByteBufPayload.create(HandshakeCodec.encode(allocator, self));
      }
      if (!connected.compareAndSet(claimed, 0, 1)) {
        state = State.REFUSED;
        throw new MeshException(secondConnection(claimed));
      }
      state = State.MEMBER;
      cancelExpiry();
      connection
          .onClose()
          .subscribe(
              null,
              error -> membership.peerLost(claimed, error),
              () -> membership.peerLost(claimed, null));
      return ByteBufPayload.create(HandshakeCodec.encode(allocator, self));
    }

    @Override
    public Flux<Payload> requestChannel(Publisher<Payload> payloads) {
      synchronized (this) {
        if (state == State.MEMBER && lanesOpen < FrameKind.Lane.count()) {
          lanesOpen++;
          payloads.subscribe(
              new InboundLane(
                  self.rank(),
                  claimed,
                  inbox,
                  membership,
                  config.limits(),
                  config.wire(),
                  this::laneOpened));
          return Flux.never();
        }
      }
      refuse("rank " + claimed + " opened a lane before proving the secret");
      // its payloads are released as they come, and the connection closes
      Flux.from(payloads).subscribe(Payload::release, error -> {});
      return Flux.never();
    }

    private void laneOpened() {
      if (lanesOpened.incrementAndGet() == lanesToOpen) {
        ready.tryEmitEmpty();
      }
    }

    /** Logs why, closes the connection soon, and says nothing to the peer but "refused". */
    private MeshException refuse(String why) {
      synchronized (this) {
        if (state == State.MEMBER) {
          // a member's violation fails the mesh naming it, as any protocol error does
          membership.fail(
              new MeshException(
                  "rank " + self.rank() + ": " + membership.describe(claimed) + " sent " + why));
          return new MeshException("refused");
        }
        state = State.REFUSED;
      }
      String line = "rank " + self.rank() + " refused a connection: " + why;
      lastRefusal = line;
      LOG.warn(line);
      closeSoon();
      return new MeshException("refused");
    }

    private void closeSoon() {
      Schedulers.parallel()
          .schedule(connection::dispose, REFUSAL_CLOSE.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private enum State {
    AWAIT_CHALLENGE,
    AWAIT_PROOF,
    MEMBER,
    REFUSED
  }
}
