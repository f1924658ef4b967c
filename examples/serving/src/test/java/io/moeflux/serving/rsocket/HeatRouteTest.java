package io.moeflux.serving.rsocket;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.placement.SwitchSchedule;
import io.moeflux.serving.BalancedGroup;
import io.moeflux.serving.RequestBatcher;
import io.moeflux.serving.StatusFields;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.protocol.ForwardWireCodec;
import io.moeflux.transport.testkit.LeakRecorder;
import io.netty.buffer.ByteBufAllocator;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.core.RSocketServer;
import io.rsocket.transport.netty.server.CloseableChannel;
import io.rsocket.transport.netty.server.TcpServerTransport;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/** What {@code moe.heat} and a 0-token {@code moe.forward} send a client, as documented. */
class HeatRouteTest {
  private static final int INTERVAL = 4;
  private final ModelConfig model = ModelConfig.small();
  private BalancedGroup group;
  private RequestBatcher batcher;
  private CloseableChannel server;
  private RSocket client;

  @BeforeEach
  void start() {
    PipelineConfig config =
        PipelineConfig.builder(model, 8)
            .switches(SwitchSchedule.builder().interval(INTERVAL).delay(1).build())
            .build();
    group =
        BalancedGroup.start(2, TransportKind.LOCAL, config, new SimpleMeterRegistry())
            .block(Duration.ofSeconds(30));
    batcher = RequestBatcher.start(group.group()).block(Duration.ofSeconds(10));
    MoeRoutes routes =
        new MoeRoutes(
            batcher, () -> StatusFields.heatUpdates(group.heat(0)), () -> Map.of("ranks", 2));
    server = RSocketServer.create(routes).bind(TcpServerTransport.create("127.0.0.1", 0)).block();
    client = PlainClient.connect(server);
  }

  @AfterEach
  void stop() {
    client.dispose();
    server.dispose();
    batcher.dispose();
    group.dispose();
    LeakRecorder.assertNoLeaks();
  }

  /**
   * A quiet server answers a subscriber at once with this rank's partial counts; the aggregated
   * window follows when it ends, with its assignments counted under both names.
   */
  @Test
  void aSubscriberGetsThePartialOpenWindowAtOnceThenEachWholeWindow() {
    int tokens = 3;
    long perStep = (long) tokens * model.topK() * model.layers();
    StepVerifier.create(
            client
                .requestStream(RoutedPayloads.routed("moe.heat", new byte[0]))
                .map(PlainClient::json))
        .assertNext(
            partial -> {
              assertThat(partial.get("partial").asBoolean()).isTrue();
              assertThat(partial.get("rank").asInt()).isZero();
              assertThat(partial.get("from_step").asLong()).isZero();
              assertThat(partial.get("to_step").asLong()).isZero();
              assertThat(partial.get("token_expert_assignments").asLong()).isZero();
              assertThat(partial.get("counts")).hasSize(model.layers());
              assertThat(partial.get("counts").get(0)).hasSize(1);
            })
        .then(
            () ->
                Flux.range(0, INTERVAL)
                    .concatMap(i -> batcher.submit(1, tokens, new float[tokens * model.hidden()]))
                    .blockLast(Duration.ofSeconds(20)))
        .assertNext(
            window -> {
              assertThat(window.get("partial").asBoolean()).isFalse();
              assertThat(window.get("from_step").asLong()).isZero();
              assertThat(window.get("to_step").asLong()).isEqualTo(INTERVAL);
              assertThat(window.get("token_expert_assignments").asLong())
                  .isEqualTo(INTERVAL * perStep);
              assertThat(window.get("total_tokens").asLong()).isEqualTo(INTERVAL * perStep);
              assertThat(window.get("counts").get(0)).hasSize(2);
            })
        .thenCancel()
        .verify(Duration.ofSeconds(30));
  }

  @Test
  void aZeroTokenRequestIsAnsweredWithTopKZero() {
    Payload answer =
        client
            .requestChannel(
                Flux.just(
                    RoutedPayloads.routed(
                        "moe.forward",
                        ForwardWireCodec.encodeRequest(
                            ByteBufAllocator.DEFAULT, 0, 0, model.hidden(), new float[0]))))
            .blockLast(Duration.ofSeconds(20));
    try {
      ForwardWireCodec.Response response = ForwardWireCodec.decodeResponse(answer.sliceData());
      assertThat(response.tokens()).isZero();
      assertThat(response.topK()).isZero();
      assertThat(response.topkIds()).isEmpty();
    } finally {
      answer.release();
    }
  }
}
