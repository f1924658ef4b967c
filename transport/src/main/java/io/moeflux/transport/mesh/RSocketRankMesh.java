package io.moeflux.transport.mesh;

import io.moeflux.transport.InboundFailures;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.SetupFrameGuard;
import io.moeflux.transport.protocol.AbortFrameCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.moeflux.transport.protocol.Handshake;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.rsocket.Closeable;
import io.rsocket.core.RSocketServer;
import io.rsocket.frame.FrameLengthCodec;
import io.rsocket.frame.decoder.PayloadDecoder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The RSocket rank mesh. Data from rank A to rank B travels on A's client connection to B, one
 * long-lived request-channel per lane ({@link OutboundLanes}); B's server ({@link InboundAcceptor})
 * delivers each frame into its {@link Inbox}. Frames are passed as they are (zero-copy decoding on
 * both sides), so the mesh never copies frame bytes. {@link MeshConnector} makes the connections
 * and checks handshakes, {@link Membership} tracks who is still there.
 */
public final class RSocketRankMesh implements RankMesh {
  private static final Duration SWEEP = Duration.ofMillis(100);

  /** How long a failed start lingers, so that a peer it refused hears why. */
  private static final Duration LINGER = Duration.ofMillis(500);

  private final MeshConfig config;
  private final ByteBufAllocator allocator;
  private final Inbox inbox;
  private final Membership membership;
  private final OutboundLanes outbound;
  private final InboundAcceptor inbound;
  private final MeshConnector connector;
  private final List<Disposable> resources = new ArrayList<>();
  private volatile @Nullable Closeable server;

  private RSocketRankMesh(MeshConfig config) {
    this.config = config;
    this.allocator = config.allocator();
    Handshake self = Handshake.current(config.rank(), config.worldSize(), config.fingerprint());
    PhaseSweeper sweeper =
        new PhaseSweeper(this::sweep, this::holdsPhases, Schedulers.parallel(), SWEEP);
    resources.add(sweeper);
    this.inbox =
        new Inbox(
            config.rank(),
            config.worldSize(),
            config.phaseTimeout().toNanos(),
            config.limits(),
            this::protocolError,
            sweeper::wake);
    this.membership = new Membership(config, inbox);
    this.outbound = new OutboundLanes(config.rank(), config.worldSize(), allocator, membership);
    membership.onFailed(error -> outbound.tellFailure(error.getMessage()));
    membership.onClose().subscribe(null, error -> inbox.closeOpenings(), inbox::closeOpenings);
    this.inbound = new InboundAcceptor(config, self, allocator, inbox, membership);
    this.connector =
        new MeshConnector(
            config, self, allocator, membership, inbound.refused(), maxInboundPayload(config));
  }

  private void sweep() {
    inbox.sweep(System.nanoTime());
  }

  private boolean holdsPhases() {
    return inbox.holdsPhases();
  }

  /** Binds this rank's server, connects to every peer and completes when all handshakes passed. */
  public static Mono<RankMesh> start(MeshConfig config) {
    Objects.requireNonNull(config, "config");
    return Mono.defer(
        () -> {
          RSocketRankMesh mesh = new RSocketRankMesh(config);
          return mesh.open()
              .timeout(config.connectTimeout(), Mono.error(mesh::notUpInTime))
              .onErrorResume(
                  error ->
                      Mono.delay(LINGER)
                          .then(Mono.fromRunnable(mesh::dispose))
                          .then(Mono.error(error)))
              .doOnCancel(mesh::dispose)
              .thenReturn((RankMesh) mesh);
        });
  }

  /**
   * The largest RSocket payload this rank reassembles: one frame of the largest size allowed. A
   * larger one closes that connection before it is held. RSocket's own frames are up to 16 MiB
   * long, and it takes no smaller cap: a frame between the limit and 16 MiB is refused by {@link
   * io.moeflux.transport.protocol.FrameValidator} as soon as it has arrived.
   */
  static int maxInboundPayload(MeshConfig config) {
    return Math.max(config.limits().maxFrameBytes(), FrameLengthCodec.FRAME_LENGTH_MASK);
  }

  private MeshException notUpInTime() {
    String refused = inbound.lastRefusal();
    return new MeshException(
        "rank "
            + config.rank()
            + ": the mesh did not come up within "
            + config.connectTimeout()
            + " (peers not reachable or not started"
            + (refused == null ? "" : "; " + refused)
            + ")");
  }

  private Mono<Void> open() {
    if (config.worldSize() == 1) {
      return Mono.empty();
    }
    Mono<Void> bind =
        RSocketServer.create(inbound)
            .interceptors(registry -> registry.forConnection(new SetupFrameGuard()))
            .payloadDecoder(PayloadDecoder.ZERO_COPY)
            .fragment(MeshConnector.FRAGMENT_MTU)
            .maxInboundPayloadSize(maxInboundPayload(config))
            .bind(config.transport().serverFor(config.rank(), new DroppedFrames()))
            .doOnNext(bound -> server = bound)
            .then();
    List<Mono<Void>> connections = new ArrayList<>();
    for (int peer = 0; peer < config.worldSize(); peer++) {
      if (peer != config.rank()) {
        int to = peer;
        connections.add(connector.connect(to).doOnNext(socket -> outbound.open(to, socket)).then());
      }
    }
    // a handshake this rank's server refuses fails the start here too: refused on both sides
    return Mono.firstWithSignal(
        bind.then(Mono.when(connections)).then(inbound.ready()), inbound.refused());
  }

  private void protocolError(MeshException error) {
    membership.fail(error);
  }

  /**
   * Frames the transport read but could not hold (no direct memory for them): a dropped DATA frame
   * gives up its step on every rank, with the reason; a connection that cannot go on fails the
   * mesh, with the reason, rather than showing up later as a lost peer.
   */
  private final class DroppedFrames implements InboundFailures {
    @Override
    public void dataFrameDropped(long step, String reason) {
      abort(step, "rank " + config.rank() + " dropped " + reason);
    }

    @Override
    public void connectionBroken(String reason) {
      protocolError(new MeshException("rank " + config.rank() + ": " + reason));
    }
  }

  @Override
  public MeshConfig config() {
    return config;
  }

  @Override
  public ByteBufAllocator allocator() {
    return allocator;
  }

  @Override
  public void send(int peer, ByteBuf frame) {
    checkPeer(peer, frame);
    outbound.send(peer, frame);
  }

  @Override
  public Mono<PeerFrames> receive(FrameKind kind, long step, int layer, int micro) {
    return inbox.receive(new PhaseKey(kind, step, layer, micro));
  }

  @Override
  public Flux<Long> stepsOpened() {
    return inbox.stepsOpened();
  }

  @Override
  public void abort(long step, String reason) {
    Objects.requireNonNull(reason, "reason");
    inbox.abort(step, config.rank(), reason);
    if (!membership.isLive()) {
      // peers fail on the mesh failure already; the abort stays recorded here
      return;
    }
    for (int peer = 0; peer < config.worldSize(); peer++) {
      if (peer != config.rank()) {
        try {
          outbound.send(peer, AbortFrameCodec.encode(allocator, step, config.rank(), reason));
        } catch (MeshException e) {
          // that peer's lane closed meanwhile: the mesh fails on it, naming it
        }
      }
    }
  }

  @Override
  public Mono<Void> onClose() {
    return membership.onClose();
  }

  @Override
  public Mono<Void> leave() {
    return Mono.defer(
            () -> {
              if (membership.startLeaving()) {
                outbound.completeAll();
              }
              return membership.everyoneLeft().timeout(config.phaseTimeout(), Mono.empty());
            })
        .doFinally(signal -> dispose());
  }

  @Override
  public void dispose() {
    if (!membership.dispose()) {
      return;
    }
    outbound.closeAll();
    Closeable bound = server;
    if (bound != null) {
      bound.dispose();
    }
    resources.forEach(Disposable::dispose);
    membership.closed();
  }

  @Override
  public boolean isDisposed() {
    return membership.isDisposed();
  }

  private void checkPeer(int peer, ByteBuf frame) {
    if (peer == config.rank() || peer < 0 || peer >= config.worldSize()) {
      frame.release();
      throw new IllegalArgumentException(
          "rank " + config.rank() + " cannot send to rank " + peer + " of " + config.worldSize());
    }
  }
}
