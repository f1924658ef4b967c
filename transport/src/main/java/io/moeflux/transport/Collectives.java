package io.moeflux.transport;

import io.moeflux.transport.protocol.FrameKind;
import io.moeflux.transport.protocol.LongsFrameCodec;
import io.netty.buffer.ByteBuf;
import java.util.Objects;
import java.util.function.IntFunction;
import reactor.core.publisher.Mono;

/**
 * Collectives built on {@link RankMesh#send} and {@link RankMesh#receive}: one frame to every peer,
 * one from every peer, no coordinator. Each completes on the thread that delivered the last frame.
 */
public final class Collectives {
  private static final long[] NO_VALUES = new long[0];

  private Collectives() {}

  /**
   * All-to-all with a different frame (and size) per peer: {@code frameForPeer} is called for every
   * peer but this rank, in ascending order; the frames are sent and the peers' frames for the same
   * (kind, step, layer) received.
   */
  public static Mono<PeerFrames> exchange(
      RankMesh mesh, FrameKind kind, long step, int layer, IntFunction<ByteBuf> frameForPeer) {
    Objects.requireNonNull(mesh, "mesh");
    Objects.requireNonNull(frameForPeer, "frameForPeer");
    return Mono.defer(
        () -> {
          for (int peer = 0; peer < mesh.worldSize(); peer++) {
            if (peer != mesh.rank()) {
              mesh.send(peer, frameForPeer.apply(peer));
            }
          }
          return mesh.receive(kind, step, layer);
        });
  }

  /**
   * Sends the same frame to every peer (ownership moves in) and receives theirs. Each peer gets its
   * own copy: collectives that use it are small, and a buffer shared between connections would have
   * no single owner to release it.
   */
  public static Mono<PeerFrames> allGather(
      RankMesh mesh, FrameKind kind, long step, int layer, ByteBuf frame) {
    Objects.requireNonNull(frame, "frame");
    return Mono.defer(
        () -> {
          try {
            for (int peer = 0; peer < mesh.worldSize(); peer++) {
              if (peer != mesh.rank()) {
                mesh.send(peer, frame.copy());
              }
            }
          } finally {
            frame.release();
          }
          return mesh.receive(kind, step, layer);
        });
  }

  /**
   * All-gather of {@code values} (the same length on every rank) into {@code into}, which holds
   * {@code worldSize × values.length} longs, rank r's at {@code r × values.length}, this rank's
   * included. Returns {@code into}: callers reuse it step after step. {@code kind} is a
   * CONTROL-lane kind (SYNC, PLAN, HEAT); the frames are {@link LongsFrameCodec} frames.
   */
  public static Mono<long[]> allGatherLongs(
      RankMesh mesh, FrameKind kind, long step, int layer, long[] values, long[] into) {
    Objects.requireNonNull(values, "values");
    Objects.requireNonNull(into, "into");
    int n = values.length;
    if (into.length != n * mesh.worldSize()) {
      return Mono.error(
          new IllegalArgumentException(
              "into holds " + into.length + " longs, needs " + n * mesh.worldSize()));
    }
    return Mono.defer(
        () -> {
          ByteBuf frame =
              LongsFrameCodec.encode(mesh.allocator(), kind, step, layer, mesh.rank(), values);
          System.arraycopy(values, 0, into, mesh.rank() * n, n);
          return allGather(mesh, kind, step, layer, frame)
              .map(
                  frames -> {
                    try {
                      for (int r = 0; r < mesh.worldSize(); r++) {
                        ByteBuf theirs = frames.frame(r);
                        if (theirs != null) {
                          decodeFrom(mesh, r, theirs, n, into);
                        }
                      }
                      return into;
                    } finally {
                      frames.release();
                    }
                  });
        });
  }

  private static void decodeFrom(RankMesh mesh, int source, ByteBuf frame, int n, long[] into) {
    try {
      LongsFrameCodec.decode(frame, n, into, source * n);
    } catch (MeshException e) {
      throw new MeshException(
          "rank " + mesh.rank() + ": rank " + source + " all-gathered " + e.getMessage(), e);
    }
  }

  /** Completes when every rank has reached the barrier with the same {@code tag}. */
  public static Mono<Void> barrier(RankMesh mesh, long tag) {
    return Mono.defer(
            () -> {
              ByteBuf frame =
                  LongsFrameCodec.encode(
                      mesh.allocator(), FrameKind.PLAN, tag, -1, mesh.rank(), NO_VALUES);
              return allGather(mesh, FrameKind.PLAN, tag, -1, frame);
            })
        .doOnNext(PeerFrames::release)
        .then();
  }
}
