package io.moeflux.transport;

import io.moeflux.transport.mesh.RSocketRankMesh;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * One rank's view of the mesh: a server for its peers plus a connection to every peer, each
 * carrying one long-lived request-channel per {@link FrameKind.Lane}, over the {@link
 * MeshTransport} of its {@link MeshConfig}.
 *
 * <p>The protocol needs no global agreement on sizes: for a given (kind, step, layer) every rank
 * sends exactly one frame to every peer, carrying its count (0 is fine), and a receive completes
 * when one frame from every peer has arrived. Frames that arrive before anyone asks for them are
 * held until asked for.
 *
 * <p>Failures are never hangs: a lost peer or a receive that waits longer than {@link
 * MeshConfig#phaseTimeout()} fails every pending and later receive with a {@link MeshException}. A
 * step one rank gives up ({@link #abort}) fails only that step's DATA-lane receives, on every rank.
 */
public interface RankMesh extends Disposable {

  /** Binds this rank's server, connects to every peer and completes when all handshakes passed. */
  static Mono<RankMesh> start(MeshConfig config) {
    return RSocketRankMesh.start(config);
  }

  MeshConfig config();

  default int rank() {
    return config().rank();
  }

  default int worldSize() {
    return config().worldSize();
  }

  /** The pooled allocator frames for {@link #send} should come from. */
  ByteBufAllocator allocator();

  /**
   * Sends one frame (its header written with {@link FrameHeaderCodec}) to {@code peer}. Ownership
   * of the frame moves to the mesh, which releases it once written.
   *
   * @throws MeshException (the frame released) when the mesh has failed or is closed: the frame
   *     would never arrive
   */
  void send(int peer, ByteBuf frame);

  /**
   * Completes with one frame from every peer for (kind, step, layer). The subscriber owns the
   * frames and releases them with {@link PeerFrames#release()}. For a world of one it completes at
   * once with no frames. A receive of a DATA-lane kind (DISPATCH, COMBINE, GATHER) for a step that
   * was aborted fails with a {@link StepAbortedException}.
   */
  default Mono<PeerFrames> receive(FrameKind kind, long step, int layer) {
    return receive(kind, step, layer, 0);
  }

  /**
   * Completes with one frame from every peer for micro-batch {@code micro} of (kind, step, layer):
   * a step split into micro-batches sends one frame to every peer per phase and micro-batch, and
   * each is received on its own. Otherwise as {@link #receive(FrameKind, long, int)}.
   */
  Mono<PeerFrames> receive(FrameKind kind, long step, int layer, int micro);

  /**
   * The steps peers opened, for a rank that runs a step only when some rank has work (stepping on
   * demand): the step id of the first frame that says its sender runs a step (any DATA-lane frame,
   * a SYNC frame of a step, a PLAN frame of a switch agreement), once per step id and in increasing
   * order, including steps this rank opened too. A subscriber gets the highest step opened so far
   * at once, then each later one; the flux completes when the mesh closes. A rank that receives the
   * first frame of a step it has not started joins it at once (with an empty batch if it has
   * nothing), so that the peer's receive does not wait for it.
   */
  Flux<Long> stepsOpened();

  /**
   * Gives up {@code step} on every rank: sends an ABORT frame with {@code reason} to every peer
   * (behind the DATA frames this rank already sent them) and records the abort here. On every rank,
   * each pending and later receive of a DATA-lane phase of that step fails with a {@link
   * StepAbortedException} naming this rank and the reason, and that step's DATA frames are released
   * as they arrive. The mesh stays up: the next step runs as usual. CONTROL and BULK phases of the
   * same step id are not affected.
   */
  void abort(long step, String reason);

  /**
   * Leaves the mesh gracefully: stops sending (every frame already sent is still delivered, since
   * completing a lane travels behind its frames), waits until every peer has left too (or the phase
   * timeout passes), then disposes. Peers that leave are not failures. Every rank of a group calls
   * it once it has run its last step.
   */
  Mono<Void> leave();

  /**
   * Completes when this mesh closes: empty after {@link #dispose()}, with the error when the mesh
   * failed.
   */
  Mono<Void> onClose();
}
