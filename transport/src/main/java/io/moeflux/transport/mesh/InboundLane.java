package io.moeflux.transport.mesh;

import io.moeflux.transport.InboundLimits;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.protocol.FrameValidator;
import io.moeflux.transport.protocol.LaneOpenCodec;
import io.moeflux.transport.protocol.WireFormat;
import io.netty.buffer.ByteBuf;
import io.rsocket.Payload;
import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;

/**
 * One proven peer's lane into this rank: the first payload opens it, every later one is a frame,
 * delivered into the {@link Inbox} on the connection's event loop without a copy. A frame that
 * fails {@link FrameValidator} is released before it is held, and fails the mesh naming the peer.
 */
final class InboundLane extends BaseSubscriber<Payload> {
  private final int self;
  private final int source;
  private final Inbox inbox;
  private final Membership membership;
  private final InboundLimits limits;
  private final WireFormat wire;
  private final Runnable onOpen;
  private boolean opened;

  InboundLane(
      int self,
      int source,
      Inbox inbox,
      Membership membership,
      InboundLimits limits,
      WireFormat wire,
      Runnable onOpen) {
    this.self = self;
    this.source = source;
    this.inbox = inbox;
    this.membership = membership;
    this.limits = limits;
    this.wire = wire;
    this.onOpen = onOpen;
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
      onOpen.run();
      return;
    }
    ByteBuf frame;
    try {
      // checked before it is held: nothing of a bad frame outlives this call
      ByteBuf data = payload.sliceData();
      FrameValidator.validate(data, source, limits, wire);
      frame = data.retain();
    } catch (MeshException e) {
      violation(e);
      return;
    } finally {
      payload.release();
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
    dispose();
    membership.fail(
        new MeshException(
            "rank " + self + ": " + membership.describe(source) + " sent " + e.getMessage(), e));
  }
}
