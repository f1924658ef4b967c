package io.moeflux.examples.cli;

import io.moeflux.examples.serve.MoeRoutes;
import io.moeflux.examples.serve.StepDriver;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.rsocket.core.RSocketServer;
import io.rsocket.transport.netty.server.CloseableChannel;
import io.rsocket.transport.netty.server.TcpServerTransport;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import reactor.core.publisher.Flux;

/** A rank group in this JVM plus an RSocket front that external clients drive it through. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Start a rank group and answer RSocket routes on --port: moe.forward (request-channel),",
      "moe.heat (request-stream), moe.placement and moe.status (request-response). Runs until",
      "interrupted, or for --seconds."
    })
final class ServeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin GroupOptions group = new GroupOptions();

  @Option(names = "--port", description = "RSocket port for clients (default: ${DEFAULT-VALUE}).")
  int port = 7000;

  @Option(names = "--bind", description = "Address to bind (default: ${DEFAULT-VALUE}).")
  String bind = "127.0.0.1";

  @Option(names = "--seconds", description = "Stop after this many seconds (0: run until killed).")
  int seconds = 0;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PipelineConfig config = group.pipeline();
    MoeGroup moe =
        MoeGroup.start(group.ranks, group.transport, config).block(Duration.ofMinutes(2));
    StepDriver driver = new StepDriver(moe);
    MoeRoutes routes = new MoeRoutes(driver, Flux::empty, () -> status(driver));
    CloseableChannel server =
        RSocketServer.create(routes).bind(TcpServerTransport.create(bind, port)).block();
    out.printf(
        "serving %d ranks (hidden %d, capacity %d tokens/rank) on rsocket://%s:%d, routes %s%n",
        group.ranks,
        config.model().hidden(),
        config.maxTokensPerRank(),
        bind,
        server.address().getPort(),
        MoeRoutes.ROUTES);
    out.flush();
    try {
      if (seconds > 0) {
        Thread.sleep(seconds * 1000L);
      } else {
        server.onClose().block();
      }
    } finally {
      server.dispose();
      driver.dispose();
      moe.dispose();
    }
    return 0;
  }

  static Map<String, Object> status(StepDriver driver) {
    Map<String, Object> status = new LinkedHashMap<>();
    MoeGroup moe = driver.group();
    status.put("ranks", moe.size());
    status.put("step", driver.nextStep());
    status.put("placement_version", moe.rank(0).placement().version());
    status.put("sync", moe.rank(0).step().decision().skip() ? "skip" : "every step");
    status.put("comm_mode", moe.rank(0).step().lastMode().name());
    status.put("capacity", driver.capacity());
    status.put("hidden", driver.hidden());
    status.put("requests_served", driver.requestsServed());
    status.put("tokens_served", driver.tokensServed());
    return status;
  }
}
