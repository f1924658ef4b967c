package io.moeflux.cli;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.serving.BalancedGroup;
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
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import reactor.netty.DisposableServer;
import reactor.netty.tcp.TcpServer;

/** A rank group in this JVM plus an RSocket front that external clients drive it through. */
@Command(name = "serve", mixinStandardHelpOptions = true)
final class ServeCommand extends GroupCommand {
  @Mixin SecretOptions secret = new SecretOptions();
  @Mixin ServeAccessOptions access = new ServeAccessOptions();

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

  @Mixin CheckpointOption checkpoint = new CheckpointOption();

  @Override
  public Integer call() throws InterruptedException {
    try (CheckpointOption opened = checkpoint) {
      return serve();
    }
  }

  private int serve() throws InterruptedException {
    PrintWriter out = out();
    BearerTokens tokens = access.tokens();
    ServeAccessOptions.checkBind(bind, tokens);
    TlsConfig tls = access.tls.config();
    PipelineConfig config =
        GroupOptions.switchingEvery(checkpoint.pipeline(group.model, group.ranks), interval);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // the ranks all run here: without --secret-file they share a random secret made now
    MeshSecret meshSecret = secret.secretFile == null ? MeshSecret.random() : secret.secret();
    MeshTransport meshTransport = group.transport.forGroup(group.ranks);
    List<MeshConfig> meshes =
        MeshConfigs.group(meshTransport, group.ranks, MoeRank.fingerprint(config), meshSecret);
    BalancedGroup balanced =
        BalancedGroup.start(meshes, config, registry).block(Duration.ofMinutes(1));
    RequestBatcher batcher = RequestBatcher.start(balanced.group(), registry).block();
    if (checkpoint.given()) {
      printMemory(balanced.group());
    }
    Supplier<Map<String, @Nullable Object>> status = () -> StatusFields.group(batcher, balanced);
    MoeRoutes routes =
        new MoeRoutes(batcher, () -> StatusFields.heatUpdates(balanced.heat(0)), status, tokens);
    TcpServer tcp = TcpServer.create().host(bind).port(port);
    if (tls != null) {
      tcp = tcp.secure(spec -> spec.sslContext(tls.server()));
    }
    CloseableChannel server =
        RSocketServer.create(routes)
            .interceptors(interceptors -> interceptors.forConnection(new SetupFrameGuard()))
            .maxInboundPayloadSize(MoeRoutes.maxInboundPayloadSize(batcher))
            .bind(TcpServerTransport.create(tcp))
            .block();
    DisposableServer http =
        httpPort < 0
            ? null
            : StatusHttpServer.start(
                    bind,
                    httpPort,
                    status,
                    registry::scrape,
                    () ->
                        HeatPicture.latest(
                            balanced.latestHeat(), balanced.group().rank(0).status().placement()),
                    access.http(tokens, tls))
                .block();
    out.printf(
        "serving %d ranks (hidden %d, capacity %d tokens/rank, mesh %s) on rsocket%s://%s:%d,"
            + " routes %s%s%s%n",
        group.ranks,
        config.model().hidden(),
        config.maxTokensPerRank(),
        meshTransport,
        tls == null ? "" : "+tls",
        bind,
        server.address().getPort(),
        MoeRoutes.ROUTES,
        http == null
            ? ""
            : ", http" + (tls == null ? "" : "s") + "://" + bind + ":" + http.port() + "/status",
        tokens == null ? "" : ", clients need a bearer token");
    out.flush();
    try {
      if (seconds > 0) {
        Thread.sleep(seconds * 1000L);
      } else {
        server.onClose().block();
      }
    } finally {
      if (http != null) {
        http.disposeNow();
      }
      server.dispose();
      batcher.dispose();
      balanced.dispose();
    }
    return 0;
  }
}
