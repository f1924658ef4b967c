package io.moeflux.cli;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.moeflux.eplb.heat.HeatSnapshot;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.placement.SwitchSchedule;
import io.moeflux.serving.BalancedGroup;
import io.moeflux.serving.RequestBatcher;
import io.moeflux.serving.http.StatusHttpServer;
import io.moeflux.serving.picture.HeatPicture;
import io.moeflux.serving.rsocket.MoeRoutes;
import io.rsocket.core.RSocketServer;
import io.rsocket.transport.netty.server.CloseableChannel;
import io.rsocket.transport.netty.server.TcpServerTransport;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import reactor.netty.DisposableServer;

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

  @Option(
      names = "--http-port",
      description = "Serve /status, /metrics and /heat.svg over HTTP on this port (default: off).")
  int httpPort = -1;

  @Option(
      names = "--interval",
      description = "Heat window and placement switch interval, steps (default: ${DEFAULT-VALUE}).")
  int interval = 100;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PipelineConfig config =
        group.pipeline().withSwitches(new SwitchSchedule(interval, Math.max(1, interval / 4)));
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    BalancedGroup balanced = BalancedGroup.start(group.ranks, group.transport, config, registry);
    RequestBatcher driver = new RequestBatcher(balanced.group(), registry);
    Supplier<Map<String, Object>> status = () -> status(driver, balanced);
    MoeRoutes routes =
        new MoeRoutes(
            driver, () -> balanced.heat(0).snapshots().map(ServeCommand::heatFields), status);
    CloseableChannel server =
        RSocketServer.create(routes).bind(TcpServerTransport.create(bind, port)).block();
    DisposableServer http =
        httpPort < 0
            ? null
            : StatusHttpServer.start(
                    bind,
                    httpPort,
                    status,
                    registry::scrape,
                    () -> {
                      HeatSnapshot heat = balanced.latestHeat();
                      return heat == null
                          ? "<svg xmlns=\"http://www.w3.org/2000/svg\"><text y=\"20\">no heat yet</text></svg>"
                          : HeatPicture.svg(
                              "moeflux: live expert heat", new String[] {"latest"}, heat);
                    })
                .block();
    out.printf(
        "serving %d ranks (hidden %d, capacity %d tokens/rank) on rsocket://%s:%d, routes %s%s%n",
        group.ranks,
        config.model().hidden(),
        config.maxTokensPerRank(),
        bind,
        server.address().getPort(),
        MoeRoutes.ROUTES,
        http == null ? "" : ", http://" + bind + ":" + http.port() + "/status");
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
      driver.dispose();
      balanced.dispose();
    }
    return 0;
  }

  static Map<String, Object> heatFields(HeatSnapshot heat) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("from_step", heat.fromStep());
    fields.put("to_step", heat.toStep());
    fields.put("total_tokens", heat.totalTokens());
    double[] balancedness = new double[heat.layers()];
    long[][][] counts = new long[heat.layers()][heat.ranks()][heat.localSlots()];
    for (int l = 0; l < heat.layers(); l++) {
      balancedness[l] = heat.balancedness(l);
      for (int r = 0; r < heat.ranks(); r++) {
        for (int s = 0; s < heat.localSlots(); s++) {
          counts[l][r][s] = heat.count(l, r, s);
        }
      }
    }
    fields.put("balancedness", balancedness);
    fields.put("counts", counts);
    return fields;
  }

  static Map<String, Object> status(RequestBatcher driver, BalancedGroup balanced) {
    Map<String, Object> status = new LinkedHashMap<>();
    MoeGroup moe = driver.group();
    HeatSnapshot heat = balanced.latestHeat();
    status.put("ranks", moe.size());
    status.put("step", driver.nextStep());
    status.put("placement_version", moe.rank(0).placement().version());
    status.put("sync", moe.rank(0).step().decision().skip() ? "skip" : "every step");
    status.put("comm_mode", moe.rank(0).step().lastMode().name());
    status.put("capacity", driver.capacity());
    status.put("hidden", driver.hidden());
    status.put("requests_served", driver.requestsServed());
    status.put("tokens_served", driver.tokensServed());
    status.put("balancedness", heat == null ? null : heat.meanBalancedness());
    status.put("rebalances", balanced.balancer(0).switches());
    return status;
  }
}
