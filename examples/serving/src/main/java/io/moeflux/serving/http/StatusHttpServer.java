package io.moeflux.serving.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRoutes;

/**
 * The HTTP face of a running group, on Reactor Netty: {@code /status} (JSON), {@code /metrics}
 * (Prometheus text exposition) and {@code /heat.svg} (the latest heat picture). {@link #routes}
 * mounts the same routes in an HTTP server you already have.
 *
 * <p>The metrics text comes from a function the caller supplies (a Prometheus registry's {@code
 * scrape}, for instance), so this library carries no metrics backend of its own.
 */
public final class StatusHttpServer {
  private static final ObjectMapper JSON = new ObjectMapper();

  private StatusHttpServer() {}

  /**
   * Binds an HTTP server with the routes of {@link #routes} when subscribed, and emits it once it
   * listens.
   *
   * @param status the {@code /status} document, read on every request
   * @param metrics the {@code /metrics} body in the Prometheus text format, read on every request
   * @param heatSvg the {@code /heat.svg} document, read on every request
   */
  public static Mono<DisposableServer> start(
      String host,
      int port,
      Supplier<Map<String, @Nullable Object>> status,
      Supplier<String> metrics,
      Supplier<String> heatSvg) {
    Objects.requireNonNull(host, "host");
    return HttpServer.create()
        .host(host)
        .port(port)
        .route(routes -> routes(routes, status, metrics, heatSvg))
        .bind()
        .cast(DisposableServer.class);
  }

  /** Adds moeflux's routes to {@code routes}; the suppliers are those of {@link #start}. */
  public static HttpServerRoutes routes(
      HttpServerRoutes routes,
      Supplier<Map<String, @Nullable Object>> status,
      Supplier<String> metrics,
      Supplier<String> heatSvg) {
    Objects.requireNonNull(routes, "routes");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(metrics, "metrics");
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
                    .sendString(Mono.fromCallable(metrics::get)))
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
