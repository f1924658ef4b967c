package io.moeflux.serving.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.serving.auth.BearerTokens;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.netty.DisposableServer;

/** The HTTP pages behind bearer tokens, /status open for probes, and a deadline for headers. */
class StatusHttpAccessTest {
  private static final String TOKEN = "a-metrics-scraper-token";
  private final HttpClient http = HttpClient.newHttpClient();
  private DisposableServer server;

  @BeforeEach
  void start() {
    HttpAccess access =
        new HttpAccess(BearerTokens.of(List.of(TOKEN)), true, null, Duration.ofMillis(300));
    server =
        StatusHttpServer.start(
                "127.0.0.1", 0, () -> Map.of("ranks", 2), () -> "m 1\n", () -> "<svg/>", access)
            .block(Duration.ofSeconds(10));
  }

  @AfterEach
  void stop() {
    server.disposeNow();
  }

  private HttpResponse<String> get(String path, String authorization) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void metricsAndThePictureNeedATokenWhileStatusStaysOpen() throws Exception {
    assertThat(get("/status", null).statusCode()).isEqualTo(200);
    HttpResponse<String> refused = get("/metrics", null);
    assertThat(refused.statusCode()).isEqualTo(401);
    assertThat(refused.headers().firstValue("www-authenticate")).hasValue("Bearer");
    assertThat(get("/metrics", "Bearer not-the-token-at-all").statusCode()).isEqualTo(401);
    assertThat(get("/heat.svg", null).statusCode()).isEqualTo(401);
    HttpResponse<String> metrics = get("/metrics", "Bearer " + TOKEN);
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.body()).isEqualTo("m 1\n");
  }

  @Test
  void statusAnswers503WhileTheServerTakesNoRequestsSoThatProbesTakeItOutOfService() {
    assertThat(StatusHttpServer.readiness(Map.of("state", "serving")).code()).isEqualTo(200);
    assertThat(StatusHttpServer.readiness(Map.of("ranks", 2)).code()).isEqualTo(200);
    assertThat(StatusHttpServer.readiness(Map.of("state", "failed")).code()).isEqualTo(503);
    assertThat(StatusHttpServer.readiness(Map.of("state", "draining")).code()).isEqualTo(503);
  }

  @Test
  void aClientThatTricklesItsHeadersIsClosedAtTheDeadline() throws Exception {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 2000);
      socket.setSoTimeout(5000);
      OutputStream out = socket.getOutputStream();
      out.write("GET /status HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      long started = System.nanoTime();
      InputStream in = socket.getInputStream();
      // the head never ends: the server closes the connection
      while (in.read() >= 0) {
        // nothing is answered before the close
      }
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(4));
    }
  }
}
