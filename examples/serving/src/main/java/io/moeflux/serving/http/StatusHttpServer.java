package io.moeflux.serving.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moeflux.serving.auth.BearerTokens;
import io.moeflux.transport.RateLimitedLog;
import io.moeflux.transport.TlsConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.NettyPipeline;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;
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
  private static final String BEARER = "Bearer ";
  private static final RateLimitedLog LOG =
      new RateLimitedLog(
          LoggerFactory.getLogger(StatusHttpServer.class), 20, Duration.ofSeconds(10));

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
    return start(host, port, status, metrics, heatSvg, HttpAccess.open());
  }

  /**
   * As {@link #start(String, int, Supplier, Supplier, Supplier)}, serving only who {@code access}
   * lets in, over TLS when it says so, and closing connections that trickle their headers.
   */
  public static Mono<DisposableServer> start(
      String host,
      int port,
      Supplier<Map<String, @Nullable Object>> status,
      Supplier<String> metrics,
      Supplier<String> heatSvg,
      HttpAccess access) {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(access, "access");
    HttpServer server =
        HttpServer.create()
            .host(host)
            .port(port)
            .doOnChannelInit(
                (observer, channel, remote) -> {
                  HeaderDeadline deadline = new HeaderDeadline(access.headerTimeout());
                  if (channel.pipeline().get(NettyPipeline.HttpCodec) != null) {
                    channel
                        .pipeline()
                        .addAfter(NettyPipeline.HttpCodec, "moeflux.headers", deadline);
                  } else {
                    channel.pipeline().addLast("moeflux.headers", deadline);
                  }
                })
            .route(routes -> routes(routes, status, metrics, heatSvg, access));
    TlsConfig tls = access.tls();
    if (tls != null) {
      server = server.secure(spec -> spec.sslContext(tls.server()));
    }
    return server.bind().cast(DisposableServer.class);
  }

  /**
   * Adds moeflux's routes to {@code routes}, open to anyone; the suppliers are {@link #start}'s.
   */
  public static HttpServerRoutes routes(
      HttpServerRoutes routes,
      Supplier<Map<String, @Nullable Object>> status,
      Supplier<String> metrics,
      Supplier<String> heatSvg) {
    return routes(routes, status, metrics, heatSvg, HttpAccess.open());
  }

  /**
   * Adds moeflux's routes to {@code routes}; with tokens in {@code access}, a request without an
   * {@code Authorization: Bearer} header carrying one of them gets 401 ({@code /status} stays open
   * when {@link HttpAccess#openStatus()}).
   */
  public static HttpServerRoutes routes(
      HttpServerRoutes routes,
      Supplier<Map<String, @Nullable Object>> status,
      Supplier<String> metrics,
      Supplier<String> heatSvg,
      HttpAccess access) {
    Objects.requireNonNull(routes, "routes");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(metrics, "metrics");
    Objects.requireNonNull(heatSvg, "heatSvg");
    Objects.requireNonNull(access, "access");
    return routes
        .get(
            "/status",
            guarded(
                access,
                access.openStatus(),
                (request, response) -> {
                  Map<String, @Nullable Object> document = status.get();
                  return response
                      .status(readiness(document))
                      .header("content-type", "application/json")
                      .sendString(Mono.fromCallable(() -> json(document)));
                }))
        .get(
            "/metrics",
            guarded(
                access,
                false,
                (request, response) ->
                    response
                        .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
                        .sendString(Mono.fromCallable(metrics::get))))
        .get(
            "/heat.svg",
            guarded(
                access,
                false,
                (request, response) ->
                    response
                        .header("content-type", "image/svg+xml")
                        .sendString(Mono.fromCallable(heatSvg::get))));
  }

  /**
   * 503 while the status says the server takes no requests ({@code state} failed or draining), so
   * that a readiness probe on {@code /status} takes it out of service; 200 otherwise. The body is
   * the same either way.
   */
  static HttpResponseStatus readiness(Map<String, @Nullable Object> status) {
    Object state = status.get("state");
    return "failed".equals(state) || "draining".equals(state)
        ? HttpResponseStatus.SERVICE_UNAVAILABLE
        : HttpResponseStatus.OK;
  }

  /** {@code handler}, behind the bearer check of {@code access} unless {@code open}. */
  private static BiFunction<HttpServerRequest, HttpServerResponse, Publisher<Void>> guarded(
      HttpAccess access,
      boolean open,
      BiFunction<HttpServerRequest, HttpServerResponse, Publisher<Void>> handler) {
    BearerTokens tokens = access.tokens();
    if (tokens == null || open) {
      return handler;
    }
    return (request, response) -> {
      String header = request.requestHeaders().get(HttpHeaderNames.AUTHORIZATION);
      if (header != null
          && header.regionMatches(true, 0, BEARER, 0, BEARER.length())
          && tokens.accepts(header.substring(BEARER.length()).strip())) {
        return handler.apply(request, response);
      }
      LOG.warn("refused an HTTP request for " + request.path() + ": no accepted bearer token");
      return response
          .status(HttpResponseStatus.UNAUTHORIZED)
          .header(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer")
          .send();
    };
  }

  private static String json(Object value) throws JsonProcessingException {
    return JSON.writeValueAsString(value);
  }
}
