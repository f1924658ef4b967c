package io.moeflux.transport.mesh;

import io.moeflux.transport.MeshException;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.moeflux.transport.protocol.Handshake;
import io.moeflux.transport.protocol.HandshakeCodec;
import io.moeflux.transport.protocol.LaneOpenCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.rsocket.ConnectionSetupPayload;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.SocketAcceptor;
import io.rsocket.exceptions.RejectedSetupException;
import io.rsocket.util.ByteBufPayload;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * This rank's server side: checks each connecting peer's handshake (SETUP payload), answers its
 * hello with this rank's own, and delivers the frames of its lanes into the {@link Inbox} as they
 * arrive, on the connection's event loop and without copying them.
 */
final class InboundAcceptor implements SocketAcceptor {
  private final Handshake self;
  private final ByteBufAllocator allocator;
  private final Inbox inbox;
  private final Membership membership;
  private final int lanesToOpen;
  private final AtomicInteger lanesOpened = new AtomicInteger();
  private final Sinks.Empty<Void> ready = Sinks.empty();
  private final Sinks.Empty<Void> refused = Sinks.empty();

  InboundAcceptor(Handshake self, ByteBufAllocator allocator, Inbox inbox, Membership membership) {
    this.self = self;
    this.allocator = allocator;
    this.inbox = inbox;
    this.membership = membership;
    this.lanesToOpen = (self.worldSize() - 1) * FrameKind.Lane.count();
  }

  /** Completes when every peer has opened every lane to this rank. */
  Mono<Void> ready() {
    return ready.asMono();
  }

  /**
   * Fails when this rank refused a peer's handshake, so that the refusal fails this rank's start
   * too: refused on both sides.
   */
  Mono<Void> refused() {
    return refused.asMono();
  }

  @Override
  public Mono<RSocket> accept(ConnectionSetupPayload setup, RSocket sendingSocket) {
    Handshake peer;
    try {
      peer = HandshakeCodec.decode(setup.data());
    } catch (MeshException e) {
      return Mono.error(new RejectedSetupException("rank " + self.rank() + ": " + e.getMessage()));
    }
    Optional<String> mismatch = self.mismatch(peer);
    if (mismatch.isPresent()) {
      String refusal =
          "rank " + self.rank() + " refused rank " + peer.rank() + ": " + mismatch.get();
      refused.tryEmitError(new MeshException(refusal));
      return Mono.error(new RejectedSetupException(refusal));
    }
    int source = peer.rank();
    sendingSocket
        .onClose()
        .subscribe(
            null,
            error -> membership.peerLost(source, error),
            () -> membership.peerLost(source, null));
    return Mono.just(new Responder(source));
  }

  /** What a peer's connection may ask of this rank: the hello, and its lanes. */
  private final class Responder implements RSocket {
    private final int source;

    Responder(int source) {
      this.source = source;
    }

    @Override
    public Mono<Payload> requestResponse(Payload hello) {
      hello.release();
      return Mono.just(ByteBufPayload.create(HandshakeCodec.encode(allocator, self)));
    }

    @Override
    public Flux<Payload> requestChannel(Publisher<Payload> payloads) {
      payloads.subscribe(new Lane(source));
      return Flux.never();
    }
  }

  /** One peer's lane into this rank: the first payload opens it, every later one is a frame. */
  private final class Lane extends BaseSubscriber<Payload> {
    private final int source;
    private boolean opened;

    Lane(int source) {
      this.source = source;
    }

    @Override
    protected void hookOnSubscribe(Subscription subscription) {
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    protected void hookOnNext(Payload payload) {
      if (!opened) {
        opened = true;
        try {
          LaneOpenCodec.decode(payload.data(), source);
        } catch (MeshException e) {
          violation(e);
          return;
        } finally {
          payload.release();
        }
        if (lanesOpened.incrementAndGet() == lanesToOpen) {
          ready.tryEmitEmpty();
        }
        return;
      }
      ByteBuf frame = payload.sliceData().retain();
      payload.release();
      try {
        FrameHeaderCodec.validate(frame, source);
      } catch (MeshException e) {
        frame.release();
        violation(e);
        return;
      }
      inbox.deliver(source, frame);
    }

    @Override
    protected void hookOnError(Throwable error) {
      membership.peerLost(source, error);
    }

    @Override
    protected void hookOnComplete() {
      membership.goodbye(source);
    }

    private void violation(MeshException e) {
      membership.fail(
          new MeshException(
              "rank "
                  + self.rank()
                  + ": "
                  + membership.describe(source)
                  + " sent "
                  + e.getMessage(),
              e));
    }
  }
}
