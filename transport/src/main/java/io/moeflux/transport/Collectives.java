package io.moeflux.transport;

import io.netty.buffer.ByteBuf;
import java.util.Objects;
import java.util.function.IntFunction;
import reactor.core.publisher.Mono;

/**
 * Collectives built on {@link RankMesh#send} and {@link RankMesh#receive}: one frame to every peer,
 * one from every peer, no coordinator. Each completes on the thread that delivered the last frame.
 */
public final class Collectives {
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
   * included. Returns {@code into}: callers reuse it step after step.
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
              FrameCodec.allocate(
                  mesh.allocator(), kind, step, layer, mesh.rank(), n, n * Long.BYTES);
          for (long v : values) {
            frame.writeLongLE(v);
          }
          System.arraycopy(values, 0, into, mesh.rank() * n, n);
          return allGather(mesh, kind, step, layer, frame)
              .map(
                  frames -> {
                    try {
                      for (int r = 0; r < mesh.worldSize(); r++) {
                        if (r == mesh.rank()) {
                          continue;
                        }
                        ByteBuf theirs = frames.frame(r);
                        if (FrameCodec.count(theirs) != n
                            || FrameCodec.bodyLength(theirs) != n * Long.BYTES) {
                          throw new MeshException(
                              "rank "
                                  + mesh.rank()
                                  + ": rank "
                                  + r
                                  + " all-gathered "
                                  + FrameCodec.count(theirs)
                                  + " values for "
                                  + kind
                                  + " step "
                                  + step
                                  + ", this rank "
                                  + n);
                        }
                        int at = FrameCodec.bodyIndex(theirs);
                        for (int i = 0; i < n; i++) {
                          into[r * n + i] = theirs.getLongLE(at + i * Long.BYTES);
                        }
                      }
                      return into;
                    } finally {
                      frames.release();
                    }
                  });
        });
  }

  /** Completes when every rank has reached the barrier with the same {@code tag}. */
  public static Mono<Void> barrier(RankMesh mesh, long tag) {
    return Mono.defer(
            () -> {
              ByteBuf frame =
                  FrameCodec.allocate(mesh.allocator(), FrameKind.PLAN, tag, -1, mesh.rank(), 0, 0);
              return allGather(mesh, FrameKind.PLAN, tag, -1, frame);
            })
        .doOnNext(PeerFrames::release)
        .then();
  }
}
