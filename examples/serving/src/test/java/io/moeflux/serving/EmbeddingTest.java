package io.moeflux.serving;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.placement.SwitchSchedule;
import io.moeflux.serving.http.StatusHttpServer;
import io.moeflux.serving.picture.HeatPicture;
import io.moeflux.serving.rsocket.MoeRoutes;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import io.rsocket.core.RSocketServer;
import io.rsocket.transport.netty.server.CloseableChannel;
import io.rsocket.transport.netty.server.TcpServerTransport;
import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.server.HttpServer;
import reactor.util.function.Tuple2;

/**
 * The README's "Embedding in a reactive server", with the serving library only: every start is a
 * Mono, composed without blocking; only the test waits for the result.
 */
class EmbeddingTest {
  @Test
  void theReadmeExampleServesStatusMetricsHeatAndRequests() {
    ModelConfig model = ModelConfig.small();
    MeterRegistry registry = new SimpleMeterRegistry();
    PipelineConfig config =
        PipelineConfig.builder(model, 8)
            .switches(SwitchSchedule.builder().interval(100).delay(25).build())
            .build();
    Supplier<String> metricsText = () -> "# your metrics\n";
    BalancedGroup[] group = new BalancedGroup[1];
    RequestBatcher[] requests = new RequestBatcher[1];
    Tuple2<DisposableServer, CloseableChannel> servers =
        BalancedGroup.start(2, TransportKind.LOCAL, config, registry)
            .doOnNext(moe -> group[0] = moe)
            .flatMap(
                moe ->
                    RequestBatcher.start(moe.group(), registry)
                        .doOnNext(batcher -> requests[0] = batcher)
                        .flatMap(
                            batcher -> {
                              Supplier<Map<String, @Nullable Object>> status =
                                  () -> StatusFields.group(batcher, moe);
                              Mono<? extends DisposableServer> http =
                                  HttpServer.create()
                                      .host("127.0.0.1")
                                      .port(0)
                                      .route(
                                          routes ->
                                              StatusHttpServer.routes(
                                                  routes.get(
                                                      "/hello",
                                                      (request, response) ->
                                                          response.sendString(Mono.just("hi"))),
                                                  status,
                                                  metricsText,
                                                  () -> HeatPicture.latest(moe.latestHeat())))
                                      .bind();
                              Mono<CloseableChannel> rsocket =
                                  RSocketServer.create(
                                          new MoeRoutes(
                                              batcher,
                                              () -> StatusFields.heatUpdates(moe.heat(0)),
                                              status))
                                      .bind(TcpServerTransport.create("127.0.0.1", 0));
                              return Mono.zip(http.cast(DisposableServer.class), rsocket);
                            }))
            .block(Duration.ofSeconds(60));
    try {
      HttpClient client = HttpClient.create().port(servers.getT1().port()).host("127.0.0.1");
      assertThat(get(client, "/hello")).isEqualTo("hi");
      assertThat(get(client, "/status")).contains("\"ranks\":2").contains("\"balancedness\":null");
      assertThat(get(client, "/metrics")).isEqualTo("# your metrics\n");
      assertThat(get(client, "/heat.svg")).contains("no heat yet");
      RequestBatcher.Served served =
          requests[0].submit(1, 2, new float[2 * model.hidden()]).block(Duration.ofSeconds(20));
      assertThat(served.rank()).isEqualTo(1);
      assertThat(served.batch().tokens()).isEqualTo(2);
      assertThat(get(client, "/status")).contains("\"requests_served\":1");
    } finally {
      servers.getT1().disposeNow();
      servers.getT2().dispose();
      requests[0].dispose();
      group[0].dispose();
    }
    LeakRecorder.assertNoLeaks();
  }

  private static String get(HttpClient client, String path) {
    return client.get().uri(path).responseContent().aggregate().asString().block();
  }
}
