package io.moeflux.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelOption;
import io.netty.util.ReferenceCountUtil;
import io.rsocket.Closeable;
import io.rsocket.ConnectionSetupPayload;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.core.RSocketConnector;
import io.rsocket.core.RSocketServer;
import io.rsocket.exceptions.RejectedSetupException;
import io.rsocket.frame.decoder.PayloadDecoder;
import io.rsocket.transport.ClientTransport;
import io.rsocket.transport.ServerTransport;
import io.rsocket.transport.local.LocalClientTransport;
import io.rsocket.transport.local.LocalServerTransport;
import io.rsocket.transport.netty.client.TcpClientTransport;
import io.rsocket.transport.netty.server.TcpServerTransport;
import io.rsocket.util.ByteBufPayload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.Disposable;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.netty.tcp.TcpClient;
import reactor.netty.tcp.TcpServer;
import reactor.util.retry.Retry;

/**
 * The RSocket rank mesh. Data from rank A to rank B travels on A's client connection to B, one
 * long-lived request-channel per lane; B's server delivers each frame into its {@link Inbox}.
 * Frames are passed as they are (zero-copy decoding on both sides), so the mesh never copies frame
 * bytes.
 */
final class RSocketRankMesh implements RankMesh {
  private static final int FRAGMENT_MTU = 16 * 1024 * 1024 - 1024;
  private static final Duration SWEEP = Duration.ofMillis(100);

  private final MeshConfig config;
  private final Handshake self;
  private final ByteBufAllocator allocator = ByteBufAllocator.DEFAULT;
  private final Inbox inbox;
  private final OutboundLane[][] lanes;
  private final RSocket[] clients;
  private final AtomicInteger inboundChannels = new AtomicInteger();
  private final Sinks.Empty<Void> inboundReady = Sinks.empty();
  private final Sinks.Empty<Void> refusedAtStart = Sinks.empty();
  private final Sinks.Empty<Void> closed = Sinks.empty();
  private final AtomicBoolean disposed = new AtomicBoolean();
  private final AtomicBoolean leaving = new AtomicBoolean();
  private final int[] goodbyes;
  private final AtomicInteger peersGone = new AtomicInteger();
  private final Sinks.Empty<Void> everyoneLeft = Sinks.empty();
  private final List<Disposable> resources = new ArrayList<>();
  private volatile MeshException failure;
  private Closeable server;

  private RSocketRankMesh(MeshConfig config) {
    this.config = config;
    this.self = Handshake.of(config);
    this.inbox =
        new Inbox(config.rank(), config.worldSize(), config.phaseTimeout().toNanos(), this::fail);
    int lanesPerPeer = FrameKind.Lane.values().length;
    this.lanes = new OutboundLane[config.worldSize()][lanesPerPeer];
    this.clients = new RSocket[config.worldSize()];
    this.goodbyes = new int[config.worldSize()];
  }

  static Mono<RankMesh> start(MeshConfig config) {
    return Mono.defer(
        () -> {
          RSocketRankMesh mesh = new RSocketRankMesh(config);
          return mesh.open()
              .timeout(
                  config.connectTimeout(),
                  Mono.error(
                      () ->
                          new MeshException(
                              "rank "
                                  + config.rank()
                                  + ": the mesh did not come up within "
                                  + config.connectTimeout()
                                  + " (peers not reachable or not started)")))
              // linger briefly before closing, so that a peer this rank refused receives the
              // refusal (and reports what differs) instead of a closed connection
              .onErrorResume(
                  error ->
                      Mono.delay(Duration.ofMillis(500))
                          .then(Mono.fromRunnable(mesh::dispose))
                          .then(Mono.error(error)))
              .doOnCancel(mesh::dispose)
              .thenReturn((RankMesh) mesh);
        });
  }

  private Mono<Void> open() {
    if (config.worldSize() == 1) {
      return Mono.empty();
    }
    resources.add(
        Schedulers.parallel()
            .schedulePeriodically(
                () -> inbox.sweep(System.nanoTime()),
                SWEEP.toMillis(),
                SWEEP.toMillis(),
                java.util.concurrent.TimeUnit.MILLISECONDS));
    Mono<Void> bind =
        RSocketServer.create(this::accept)
            .payloadDecoder(PayloadDecoder.ZERO_COPY)
            .fragment(FRAGMENT_MTU)
            .bind(serverTransport())
            .doOnNext(bound -> server = bound)
            .then();
    List<Mono<Void>> connections = new ArrayList<>();
    for (int peer = 0; peer < config.worldSize(); peer++) {
      if (peer != config.rank()) {
        connections.add(connect(peer));
      }
    }
    // a handshake this rank's server refuses fails the start here too: refused on both sides
    return Mono.firstWithSignal(
        bind.then(Mono.when(connections)).then(inboundReady.asMono()), refusedAtStart.asMono());
  }

  private ServerTransport<? extends Closeable> serverTransport() {
    if (config.transport() == TransportKind.LOCAL) {
      return LocalServerTransport.create(localName(config.rank()));
    }
    String[] hostPort = hostPort(config.rank());
    return TcpServerTransport.create(
        TcpServer.create()
            .runOn(MeshLoops.shared())
            .host(hostPort[0])
            .port(Integer.parseInt(hostPort[1]))
            .childOption(ChannelOption.TCP_NODELAY, true));
  }

  private ClientTransport clientTransport(int peer) {
    if (config.transport() == TransportKind.LOCAL) {
      return LocalClientTransport.create(localName(peer));
    }
    String[] hostPort = hostPort(peer);
    return TcpClientTransport.create(
        TcpClient.create()
            .runOn(MeshLoops.shared())
            .host(hostPort[0])
            .port(Integer.parseInt(hostPort[1]))
            .option(ChannelOption.TCP_NODELAY, true));
  }

  private String localName(int rank) {
    return "moeflux-" + config.groupName() + "-" + rank;
  }

  private String[] hostPort(int rank) {
    String address = config.addresses().get(rank);
    int colon = address.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException(
          "rank " + rank + " address '" + address + "' is not host:port");
    }
    return new String[] {address.substring(0, colon), address.substring(colon + 1)};
  }

  private String describe(int rank) {
    return config.transport() == TransportKind.TCP
        ? "rank " + rank + " (" + config.addresses().get(rank) + ")"
        : "rank " + rank;
  }

  // ---- server side: peers connect to us and stream frames in

  private Mono<RSocket> accept(ConnectionSetupPayload setup, RSocket sendingSocket) {
    Handshake peer;
    try {
      peer = Handshake.decode(setup.data());
    } catch (MeshException e) {
      return Mono.error(
          new RejectedSetupException("rank " + config.rank() + ": " + e.getMessage()));
    }
    String mismatch = Handshake.mismatch(self, peer);
    if (mismatch != null) {
      String refusal = "rank " + config.rank() + " refused rank " + peer.rank() + ": " + mismatch;
      refusedAtStart.tryEmitError(new MeshException(refusal));
      return Mono.error(new RejectedSetupException(refusal));
    }
    int source = peer.rank();
    sendingSocket
        .onClose()
        .subscribe(null, error -> peerLost(source, error), () -> peerLost(source, null));
    return Mono.just(new InboundResponder(source));
  }

  private final class InboundResponder implements RSocket {
    private final int source;

    InboundResponder(int source) {
      this.source = source;
    }

    @Override
    public Mono<Payload> requestResponse(Payload hello) {
      hello.release();
      return Mono.just(ByteBufPayload.create(self.encode(allocator)));
    }

    @Override
    public Flux<Payload> requestChannel(Publisher<Payload> payloads) {
      payloads.subscribe(new InboundLane(source));
      return Flux.never();
    }
  }

  /** One peer's lane into this rank: the first payload opens it, every later one is a frame. */
  private final class InboundLane extends BaseSubscriber<Payload> {
    private final int source;
    private boolean opened;

    InboundLane(int source) {
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
        payload.release();
        int lanesPerPeer = FrameKind.Lane.values().length;
        if (inboundChannels.incrementAndGet() == (config.worldSize() - 1) * lanesPerPeer) {
          inboundReady.tryEmitEmpty();
        }
        return;
      }
      ByteBuf frame = payload.sliceData().retain();
      payload.release();
      if (frame.readableBytes() < FrameCodec.HEADER_BYTES || FrameCodec.source(frame) != source) {
        String what =
            FrameCodec.HEADER_BYTES > frame.readableBytes()
                ? frame.readableBytes() + " bytes"
                : "a frame claiming source " + FrameCodec.source(frame);
        frame.release();
        fail(
            new MeshException("rank " + config.rank() + ": " + describe(source) + " sent " + what));
        return;
      }
      inbox.deliver(source, frame);
    }

    @Override
    protected void hookOnError(Throwable error) {
      peerLost(source, error);
    }

    @Override
    protected void hookOnComplete() {
      goodbye(source);
    }
  }

  /** A peer completed one of its lanes: it has left, and every frame it sent has arrived. */
  private void goodbye(int source) {
    boolean gone;
    synchronized (goodbyes) {
      gone = ++goodbyes[source] == FrameKind.Lane.values().length;
    }
    if (gone) {
      inbox.departed(source, describe(source));
      if (peersGone.incrementAndGet() == config.worldSize() - 1) {
        everyoneLeft.tryEmitEmpty();
      }
    }
  }

  private boolean hasLeft(int peer) {
    synchronized (goodbyes) {
      return goodbyes[peer] == FrameKind.Lane.values().length;
    }
  }

  // ---- client side: we connect to every peer and stream our frames out

  private Mono<Void> connect(int peer) {
    return Mono.defer(
            () ->
                RSocketConnector.create()
                    .setupPayload(
                        Mono.fromCallable(() -> ByteBufPayload.create(self.encode(allocator))))
                    .payloadDecoder(PayloadDecoder.ZERO_COPY)
                    .fragment(FRAGMENT_MTU)
                    .keepAlive(config.keepAliveInterval(), config.keepAliveMaxLifetime())
                    .connect(clientTransport(peer)))
        .retryWhen(
            Retry.fixedDelay(Long.MAX_VALUE, Duration.ofMillis(100))
                .filter(error -> !disposed.get()))
        .flatMap(socket -> hello(peer, socket))
        .doOnNext(socket -> openLanes(peer, socket))
        .then();
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
                there = Handshake.decode(answer.data());
              } finally {
                answer.release();
              }
              String mismatch = Handshake.mismatch(self, there);
              if (mismatch == null && there.rank() != peer) {
                mismatch = describe(peer) + " answered as rank " + there.rank();
              }
              if (mismatch != null) {
                socket.dispose();
                throw new MeshException(
                    "rank " + config.rank() + " refused " + describe(peer) + ": " + mismatch);
              }
              return socket;
            })
        .onErrorResume(
            error -> !(error instanceof MeshException),
            error ->
                // the peer hung up mid-handshake: if this rank's server refused that peer, that
                // refusal is the reason worth reporting
                refusedAtStart
                    .asMono()
                    .timeout(
                        Duration.ofSeconds(1),
                        Mono.error(
                            new MeshException(
                                "rank "
                                    + config.rank()
                                    + ": handshake with "
                                    + describe(peer)
                                    + " failed: "
                                    + error,
                                error)))
                    .then(Mono.empty()))
        .doOnError(error -> socket.dispose());
  }

  private void openLanes(int peer, RSocket socket) {
    clients[peer] = socket;
    socket.onClose().subscribe(null, error -> peerLost(peer, error), () -> peerLost(peer, null));
    for (FrameKind.Lane lane : FrameKind.Lane.values()) {
      OutboundLane out = new OutboundLane();
      lanes[peer][lane.ordinal()] = out;
      out.emit(
          ByteBufPayload.create(
              allocator.buffer(8).writeInt(config.rank()).writeInt(lane.ordinal())));
      socket
          .requestChannel(
              out.sink.asFlux().doOnDiscard(Payload.class, ReferenceCountUtil::safeRelease))
          .subscribe(
              payload -> payload.release(),
              error -> peerLost(peer, error),
              () -> peerLost(peer, null));
    }
  }

  /** Our frames to one peer on one lane, emitted from any thread. */
  private static final class OutboundLane {
    final Sinks.Many<Payload> sink = Sinks.unsafe().many().unicast().onBackpressureBuffer();

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

  // ---- the mesh API

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
    if (peer == config.rank() || peer < 0 || peer >= config.worldSize()) {
      frame.release();
      throw new IllegalArgumentException(
          "rank " + config.rank() + " cannot send to rank " + peer + " of " + config.worldSize());
    }
    OutboundLane lane = lanes[peer][FrameCodec.kind(frame).lane().ordinal()];
    if (failure != null || disposed.get() || lane == null) {
      frame.release();
      return;
    }
    lane.emit(ByteBufPayload.create(frame));
  }

  @Override
  public Mono<PeerFrames> receive(FrameKind kind, long step, int layer) {
    return inbox.receive(new PhaseKey(kind, step, layer));
  }

  @Override
  public Mono<Void> onClose() {
    return closed.asMono();
  }

  private void peerLost(int peer, Throwable cause) {
    if (disposed.get() || hasLeft(peer)) {
      return;
    }
    if (leaving.get()) {
      // we are leaving too: a peer gone without its goodbye counts as gone
      synchronized (goodbyes) {
        if (goodbyes[peer] == FrameKind.Lane.values().length) {
          return;
        }
        goodbyes[peer] = FrameKind.Lane.values().length;
      }
      if (peersGone.incrementAndGet() == config.worldSize() - 1) {
        everyoneLeft.tryEmitEmpty();
      }
      return;
    }
    String why = cause == null ? "connection closed" : cause.toString();
    fail(
        new MeshException(
            "rank " + config.rank() + ": peer " + describe(peer) + " lost: " + why, cause));
  }

  private void fail(MeshException error) {
    synchronized (this) {
      if (failure != null || disposed.get()) {
        return;
      }
      failure = error;
    }
    inbox.fail(error);
    closed.tryEmitError(error);
    // Connections stay open until dispose(): closing them here would make every other rank
    // report this rank as lost, instead of the peer that really was.
  }

  @Override
  public Mono<Void> leave() {
    return Mono.defer(
            () -> {
              if (leaving.compareAndSet(false, true)) {
                for (OutboundLane[] peerLanes : lanes) {
                  for (OutboundLane lane : peerLanes) {
                    if (lane != null) {
                      lane.complete();
                    }
                  }
                }
              }
              if (config.worldSize() == 1 || failure != null || disposed.get()) {
                return Mono.empty();
              }
              return everyoneLeft.asMono().timeout(config.phaseTimeout(), Mono.empty());
            })
        .doFinally(signal -> dispose());
  }

  @Override
  public void dispose() {
    if (!disposed.compareAndSet(false, true)) {
      return;
    }
    inbox.fail(new MeshException("rank " + config.rank() + ": mesh closed"));
    closeConnections();
    closed.tryEmitEmpty();
  }

  /**
   * Closes abruptly: lanes are not completed (peers must see a lost connection, not a goodbye);
   * frames still queued are released as the connections cancel them.
   */
  private void closeConnections() {
    for (RSocket client : clients) {
      if (client != null) {
        client.dispose();
      }
    }
    if (server != null) {
      server.dispose();
    }
    resources.forEach(Disposable::dispose);
  }

  @Override
  public boolean isDisposed() {
    return disposed.get();
  }
}
