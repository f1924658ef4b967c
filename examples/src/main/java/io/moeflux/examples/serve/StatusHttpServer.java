package io.moeflux.examples.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRoutes;

/**
 * The HTTP face of a running group, on Reactor Netty: {@code /status} (JSON), {@code /metrics}
 * (Prometheus text from Micrometer) and {@code /heat.svg} (the latest heat picture). {@link
 * #routes} mounts the same routes in an HTTP server you already have.
 */
public final class StatusHttpServer {
  private static final ObjectMapper JSON = new ObjectMapper();

  private StatusHttpServer() {}

  public static DisposableServer start(
      String host,
      int port,
      Supplier<Map<String, Object>> status,
      PrometheusMeterRegistry registry,
      Supplier<String> heatSvg) {
    return HttpServer.create()
        .host(host)
        .port(port)
        .route(routes -> routes(routes, status, registry, heatSvg))
        .bindNow();
  }

  /** Adds moeflux's routes to {@code routes}. */
  public static HttpServerRoutes routes(
      HttpServerRoutes routes,
      Supplier<Map<String, Object>> status,
      PrometheusMeterRegistry registry,
      Supplier<String> heatSvg) {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(heatSvg, "heatSvg");
    return routes
        .get(
            "/status",
            (request, response) ->
                response
                    .header("content-type", "application/json")
                    .sendString(Mono.fromCallable(() -> json(status.get()))))
        .get(
            "/metrics",
            (request, response) ->
                response
                    .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
                    .sendString(Mono.fromCallable(registry::scrape)))
        .get(
            "/heat.svg",
            (request, response) ->
                response
                    .header("content-type", "image/svg+xml")
                    .sendString(Mono.fromCallable(heatSvg::get)));
  }

  private static String json(Object value) throws JsonProcessingException {
    return JSON.writeValueAsString(value);
  }
}
