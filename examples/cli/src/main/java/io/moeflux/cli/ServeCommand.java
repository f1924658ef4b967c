package io.moeflux.cli;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.moeflux.eplb.heat.HeatSnapshot;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.sync.RankRole;
import io.moeflux.serving.BalancedGroup;
import io.moeflux.serving.BalancedRank;
import io.moeflux.serving.BatcherOptions;
import io.moeflux.serving.RequestBatcher;
import io.moeflux.serving.StatusFields;
import io.moeflux.serving.auth.BearerTokens;
import io.moeflux.serving.http.StatusHttpServer;
import io.moeflux.serving.picture.HeatPicture;
import io.moeflux.serving.rsocket.MoeRoutes;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.MeshSecret;
import io.moeflux.transport.MeshTransport;
import io.moeflux.transport.SetupFrameGuard;
import io.moeflux.transport.TlsConfig;
import io.rsocket.core.RSocketServer;
import io.rsocket.transport.netty.server.CloseableChannel;
import io.rsocket.transport.netty.server.TcpServerTransport;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import reactor.netty.DisposableServer;
import reactor.netty.tcp.TcpServer;

/**
 * RSocket routes (and, opt-in, HTTP status) that external clients drive MoE ranks through: a whole
 * group in this JVM ({@code --ranks N}), or one rank of a group spread over processes and hosts
 * ({@code --rank R --world W --peers ...}), which answers its own clients and steps on demand with
 * its peers.
 */
@Command(name = "serve", mixinStandardHelpOptions = true)
final class ServeCommand extends GroupCommand {
  @Mixin SecretOptions secret = new SecretOptions();
  @Mixin ServeAccessOptions access = new ServeAccessOptions();
  @Mixin RankMeshOptions mesh = new RankMeshOptions();

  @Option(names = "--port")
  int port = 7000;

  @Option(names = "--bind")
  String bind = "127.0.0.1";

  @Option(names = "--seconds")
  int seconds = 0;

  @Option(names = "--http-port")
  int httpPort = -1;

  @Option(names = "--interval")
  int interval = 100;

  @Option(names = "--role")
  @Nullable String role;

  @Option(names = "--check")
  boolean check;

  @Option(names = "--max-queued")
  int maxQueued = BatcherOptions.DEFAULT_MAX_QUEUED_REQUESTS;

  @Mixin CheckpointOption checkpoint = new CheckpointOption();

  @Override
  public Integer call() throws InterruptedException {
    try (CheckpointOption opened = checkpoint) {
      if (mesh.given()) {
        return serveRank();
      }
      if (check) {
        throw new IllegalArgumentException("--check needs --rank, --world and --peers");
      }
      return serveGroup();
    }
  }

  /** The pipeline with the switch interval and, when --role is given, that role. */
  private PipelineConfig pipeline(int ranks) {
    PipelineConfig config =
        GroupOptions.switchingEvery(checkpoint.pipeline(group.model, ranks), interval);
    if (role == null) {
      return config;
    }
    RankRole parsed =
        switch (role) {
          case "decode" -> RankRole.DECODE;
          case "prefill" -> RankRole.PREFILL;
          case "mixed" -> RankRole.MIXED;
          default ->
              throw new IllegalArgumentException(
                  "--role must be decode, prefill or mixed, got " + role);
        };
    return config.toBuilder().sync(config.sync().toBuilder().role(parsed).build()).build();
  }

  private BatcherOptions batcherOptions() {
    return BatcherOptions.builder().maxQueuedRequests(maxQueued).build();
  }

  private int serveGroup() throws InterruptedException {
    BearerTokens tokens = access.tokens();
    ServeAccessOptions.checkBind(bind, tokens);
    PipelineConfig config = pipeline(group.ranks);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // the ranks all run here: without --secret-file they share a random secret made now
    MeshSecret meshSecret = secret.secretFile == null ? MeshSecret.random() : secret.secret();
    MeshTransport meshTransport = group.transport.forGroup(group.ranks);
    List<MeshConfig> meshes =
        MeshConfigs.group(meshTransport, group.ranks, MoeRank.fingerprint(config), meshSecret);
    BalancedGroup balanced =
        BalancedGroup.start(meshes, config, registry).block(Duration.ofMinutes(1));
    RequestBatcher batcher =
        RequestBatcher.start(balanced.group(), registry, batcherOptions()).block();
    if (checkpoint.given()) {
      printMemory(balanced.group());
    }
    Front front =
        new Front(
            batcher,
            () -> StatusFields.group(batcher, balanced),
            () -> StatusFields.heatUpdates(balanced.heat(0)),
            balanced::latestHeat,
            () -> balanced.group().rank(0).status().placement(),
            registry,
            tokens);
    front.announce(
        String.format(
            "serving %d ranks (hidden %d, capacity %d tokens/rank, mesh %s)",
            group.ranks, config.model().hidden(), config.maxTokensPerRank(), meshTransport));
    try {
      front.await();
    } finally {
      front.dispose();
      batcher.dispose();
      balanced.dispose();
    }
    return 0;
  }

  /**
   * One rank of a group spread over processes: joins the mesh at its --peers entry, answers its own
   * clients, steps on demand with its peers; on SIGTERM it stops taking requests, answers what it
   * holds, then leaves the group with the others.
   */
  private int serveRank() throws InterruptedException {
    if (spec.commandLine().getParseResult().hasMatchedOption("--ranks")
        || spec.commandLine().getParseResult().hasMatchedOption("--transport")) {
      throw new IllegalArgumentException(
          "--ranks/--transport run every rank in this JVM, --rank/--world/--peers (or"
              + " MOEFLUX_RANK, MOEFLUX_WORLD_SIZE, MOEFLUX_PEERS) one rank of a group spread over"
              + " processes: give one or the other");
    }
    int meshPort = mesh.meshPort();
    if (port == meshPort) {
      throw new IllegalArgumentException(
          "--port "
              + port
              + " is this rank's mesh port (its --peers entry): clients need a port of their own");
    }
    BearerTokens tokens = access.tokens();
    ServeAccessOptions.checkBind(bind, tokens);
    TlsConfig tls = access.tls.config();
    group.model.defaultOverlap = mesh.defaultOverlap(group.model.maxTokens);
    PipelineConfig config = pipeline(mesh.world());
    MeshConfig meshConfig = mesh.mesh(secret.secret(), tls);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    BalancedRank balanced =
        BalancedRank.start(meshConfig, config, registry)
            .block(mesh.connectTimeout().plusSeconds(10));
    MoeRank rank = balanced.rank();
    RequestBatcher batcher = RequestBatcher.start(rank, registry, batcherOptions()).block();
    ServeCheck checker = check ? new ServeCheck(batcher, rank) : null;
    if (checkpoint.given()) {
      out().println("model: " + config.model().describe());
      out().println("memory " + rank.status().memory().describe());
    }
    Supplier<Map<String, @Nullable Object>> status =
        () -> {
          Map<String, @Nullable Object> fields = StatusFields.rank(batcher, balanced);
          if (checker != null) {
            checker.putInto(fields);
          }
          return fields;
        };
    Front front =
        new Front(
            batcher,
            status,
            () -> StatusFields.heatUpdates(balanced.heat()),
            () -> balanced.heat().latest(),
            () -> rank.status().placement(),
            registry,
            tokens);
    CountDownLatch left = new CountDownLatch(1);
    Thread drain =
        new Thread(
            () -> {
              drainAndLeave(batcher, rank, front);
              left.countDown();
            },
            "moeflux-drain");
    Runtime.getRuntime().addShutdownHook(drain);
    front.announce(
        String.format(
            "serving rank %d of %d (hidden %d, capacity %d tokens/rank, sync %s, mesh port %d%s)",
            rank.rank(),
            mesh.world(),
            config.model().hidden(),
            config.maxTokensPerRank(),
            rank.status().syncDecision().skip() ? "skipped" : "every step",
            meshPort,
            check ? ", checking every step" : ""));
    try {
      front.await();
    } finally {
      if (removeHook(drain)) {
        drainAndLeave(batcher, rank, front);
      } else {
        // SIGTERM: the hook drains; the JVM exits once it is done
        left.await();
      }
      if (checker != null) {
        checker.dispose();
      }
      balanced.dispose();
    }
    return 0;
  }

  private static boolean removeHook(Thread hook) {
    try {
      return Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      return false;
    }
  }

  /**
   * Stops taking requests, answers what is queued (still joining the steps peers open), leaves the
   * group once every rank has (or the peer timeout passes), then closes the client routes.
   */
  private void drainAndLeave(RequestBatcher batcher, MoeRank rank, Front front) {
    PrintWriter out = out();
    out.println("rank " + rank.rank() + ": draining");
    out.flush();
    Duration bound = mesh.peerTimeout().multipliedBy(2);
    try {
      batcher.drain().block(bound);
      rank.close().block(bound);
    } catch (RuntimeException e) {
      out.println("rank " + rank.rank() + ": left without every peer: " + e.getMessage());
    }
    batcher.dispose();
    front.dispose();
    out.println("rank " + rank.rank() + ": left the group");
    out.flush();
  }

  /** The client side: RSocket routes and, with --http-port, HTTP status, metrics and heat. */
  private final class Front {
    private final CloseableChannel server;
    private final @Nullable DisposableServer http;
    private final @Nullable BearerTokens tokens;
    private final @Nullable TlsConfig tls;

    Front(
        RequestBatcher batcher,
        Supplier<Map<String, @Nullable Object>> status,
        Supplier<reactor.core.publisher.Flux<Map<String, Object>>> heat,
        Supplier<@Nullable HeatSnapshot> latestHeat,
        Supplier<Placement> placement,
        PrometheusMeterRegistry registry,
        @Nullable BearerTokens tokens) {
      this.tokens = tokens;
      this.tls = access.tls.config();
      MoeRoutes routes = new MoeRoutes(batcher, heat, status, tokens);
      TcpServer tcp = TcpServer.create().host(bind).port(port);
      if (tls != null) {
        TlsConfig secured = tls;
        tcp = tcp.secure(spec -> spec.sslContext(secured.server()));
      }
      this.server =
          RSocketServer.create(routes)
              .interceptors(interceptors -> interceptors.forConnection(new SetupFrameGuard()))
              .maxInboundPayloadSize(MoeRoutes.maxInboundPayloadSize(batcher))
              .bind(TcpServerTransport.create(tcp))
              .block();
      this.http =
          httpPort < 0
              ? null
              : StatusHttpServer.start(
                      bind,
                      httpPort,
                      status,
                      registry::scrape,
                      () -> HeatPicture.latest(latestHeat.get(), placement.get()),
                      access.http(tokens, tls))
                  .block();
    }

    void announce(String what) {
      PrintWriter out = out();
      out.printf(
          "%s on rsocket%s://%s:%d, routes %s%s%s%n",
          what,
          tls == null ? "" : "+tls",
          bind,
          server.address().getPort(),
          MoeRoutes.ROUTES,
          http == null
              ? ""
              : ", http" + (tls == null ? "" : "s") + "://" + bind + ":" + http.port() + "/status",
          tokens == null ? "" : ", clients need a bearer token");
      out.flush();
    }

    /** Until --seconds pass, or until the routes close. */
    void await() throws InterruptedException {
      if (seconds > 0) {
        Thread.sleep(seconds * 1000L);
      } else {
        server.onClose().block();
      }
    }

    void dispose() {
      if (http != null) {
        http.disposeNow();
      }
      server.dispose();
    }
  }
}
