package io.moeflux.transport.mesh;

import io.moeflux.transport.MeshException;
import io.moeflux.transport.protocol.FailureFrameCodec;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.moeflux.transport.protocol.LaneOpenCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.util.ByteBufPayload;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Sinks;

/**
 * This rank's frames on their way out: over its client connection to each peer, one long-lived
 * request-channel per {@link FrameKind.Lane}. A frame is wrapped as it is (no copy) and queued on
 * its lane from whichever thread sends it.
 */
final class OutboundLanes {
  private final int self;
  private final ByteBufAllocator allocator;
  private final Membership membership;
  private final @Nullable Lane[][] lanes;
  private final @Nullable RSocket[] clients;

  OutboundLanes(int self, int worldSize, ByteBufAllocator allocator, Membership membership) {
    this.self = self;
    this.allocator = allocator;
    this.membership = membership;
    this.lanes = new Lane[worldSize][FrameKind.Lane.count()];
    this.clients = new RSocket[worldSize];
  }

  /** Opens every lane to {@code peer} over {@code socket}, whose handshake passed. */
  void open(int peer, RSocket socket) {
    clients[peer] = socket;
    socket
        .onClose()
        .subscribe(
            null, error -> membership.peerLost(peer, error), () -> membership.peerLost(peer, null));
    for (FrameKind.Lane kind : FrameKind.Lane.values()) {
      Lane out = new Lane();
      lanes[peer][kind.ordinal()] = out;
      // a fresh sink takes its first payload: nothing can fail here
      out.emit(ByteBufPayload.create(LaneOpenCodec.encode(allocator, self, kind)));
      socket
          .requestChannel(
              out.sink.asFlux().doOnDiscard(Payload.class, ReferenceCountUtil::safeRelease))
          .subscribe(
              payload -> payload.release(),
              error -> membership.peerLost(peer, error),
              () -> membership.peerLost(peer, null));
    }
  }

  /**
   * Queues {@code frame} (ownership moves in) on its lane to {@code peer}.
   *
   * @throws MeshException (the frame released) when the mesh has failed or closed, or the lane no
   *     longer takes frames: the caller learns that the frame will never arrive
   */
  void send(int peer, ByteBuf frame) {
    Lane lane = lanes[peer][FrameHeaderCodec.kind(frame).lane().ordinal()];
    if (lane == null || !membership.isLive()) {
      frame.release();
      throw membership.whyNotLive(peer);
    }
    if (!lane.emit(ByteBufPayload.create(frame))) {
      throw new MeshException(
          "rank " + self + ": the lane to " + membership.describe(peer) + " is closed");
    }
  }

  /**
   * Tells every peer that this rank's mesh failed and why, on the CONTROL lanes, although the mesh
   * no longer sends anything else: peers then name the cause instead of this rank when its
   * connections close. A lane that is gone is skipped.
   */
  void tellFailure(String reason) {
    for (int peer = 0; peer < lanes.length; peer++) {
      Lane lane = lanes[peer][FrameKind.Lane.CONTROL.ordinal()];
      if (lane != null && !membership.isDisposed()) {
        lane.emit(ByteBufPayload.create(FailureFrameCodec.encode(allocator, self, reason)));
      }
    }
  }

  /** Completes every lane: peers see a goodbye behind the frames already queued. */
  void completeAll() {
    for (Lane[] peerLanes : lanes) {
      for (Lane lane : peerLanes) {
        if (lane != null) {
          lane.complete();
        }
      }
    }
  }

  /**
   * Closes every connection abruptly: lanes are not completed (peers must see a lost connection,
   * not a goodbye); frames still queued are released as the connections cancel them.
   */
  void closeAll() {
    for (RSocket client : clients) {
      if (client != null) {
        client.dispose();
      }
    }
  }

  /** Our frames to one peer on one lane, emitted from any thread. */
  private static final class Lane {
    final Sinks.Many<Payload> sink = Sinks.unsafe().many().unicast().onBackpressureBuffer();

    /** False (the payload released) when the lane no longer takes payloads. */
    synchronized boolean emit(Payload payload) {
      if (sink.tryEmitNext(payload).isFailure()) {
        payload.release();
        return false;
      }
      return true;
    }

    synchronized void complete() {
      sink.tryEmitComplete();
    }
  }
}
