package io.moeflux.serving.rsocket;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.serving.RequestBatcher;
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
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/** The routes through a real TCP client that knows only the wire format. */
class MoeRoutesTest {
  private final ModelConfig model = ModelConfig.small();
  private MoeGroup group;
  private RequestBatcher driver;
  private CloseableChannel server;
  private RSocket client;

  @BeforeEach
  void start() {
    group =
        MoeGroup.start(2, TransportKind.LOCAL, PipelineConfig.of(model, 8))
            .block(Duration.ofSeconds(30));
    driver = RequestBatcher.start(group).block();
    MoeRoutes routes =
        new MoeRoutes(
            driver, () -> Flux.just(Map.of("window", 0)), () -> Map.of("ranks", group.size()));
    server = RSocketServer.create(routes).bind(TcpServerTransport.create("127.0.0.1", 0)).block();
    client = PlainClient.connect(server);
  }

  @AfterEach
  void stop() {
    client.dispose();
    server.dispose();
    driver.dispose();
    group.dispose();
    LeakRecorder.assertNoLeaks();
  }

  @Test
  void statusAndPlacementAnswer() {
    StepVerifier.create(
            client
                .requestResponse(RoutedPayloads.routed("moe.status", new byte[0]))
                .map(PlainClient::json))
        .assertNext(status -> assertThat(status.get("ranks").asInt()).isEqualTo(2))
        .verifyComplete();
    StepVerifier.create(
            client
                .requestResponse(RoutedPayloads.routed("moe.placement", new byte[0]))
                .map(PlainClient::json))
        .assertNext(
            placement -> {
              assertThat(placement.get("version").asLong()).isZero();
              assertThat(placement.get("phy2log")).hasSize(model.layers());
              assertThat(placement.get("digest").asText()).matches("[0-9a-f]{16}");
              // each slot's share of its expert's tokens: an expert's shares add up to 1
              JsonNode share = placement.get("share");
              assertThat(share).hasSize(model.layers());
              for (int l = 0; l < model.layers(); l++) {
                double[] sum = new double[model.experts()];
                for (int s = 0; s < share.get(l).size(); s++) {
                  sum[placement.get("phy2log").get(l).get(s).asInt()] +=
                      share.get(l).get(s).asDouble();
                }
                assertThat(sum).containsOnly(1.0);
              }
            })
        .verifyComplete();
    StepVerifier.create(
            client
                .requestStream(RoutedPayloads.routed("moe.heat", new byte[0]))
                .map(PlainClient::json))
        .assertNext(heat -> assertThat(heat.has("window")).isTrue())
        .verifyComplete();
  }

  @Test
  void forwardReturnsEveryBatchInOrderEqualToTheReference() {
    Random random = new Random(7);
    int hidden = model.hidden();
    float[][] inputs = new float[6][];
    int[] tokens = new int[6];
    for (int i = 0; i < inputs.length; i++) {
      tokens[i] = 1 + random.nextInt(4);
      inputs[i] = new float[tokens[i] * hidden];
      for (int j = 0; j < inputs[i].length; j++) {
        inputs[i][j] = random.nextFloat() * 2 - 1;
      }
    }
    Flux<Payload> requests =
        Flux.range(0, inputs.length)
            .map(
                i ->
                    RoutedPayloads.routed(
                        "moe.forward",
                        ForwardWireCodec.encodeRequest(
                            ByteBufAllocator.DEFAULT, i % 2, tokens[i], hidden, inputs[i])));
    ReferenceModel reference =
        new ReferenceModel(model, group.bank(), group.rank(0).config().initialPlacement(2));
    int[] index = {0};
    client
        .requestChannel(requests)
        .map(
            payload -> {
              try {
                return ForwardWire.decodeResponse(payload.sliceData());
              } finally {
                payload.release();
              }
            })
        .doOnNext(
            response -> {
              int i = index[0]++;
              assertThat(response.rank()).isEqualTo(i % 2);
              TokenBatch expected =
                  reference.forward(
                      response.rank(), TokenBatch.of(0, tokens[i], hidden, inputs[i]));
              assertThat(response.batch().data()).containsExactly(expected.data());
            })
        .blockLast(Duration.ofSeconds(20));
    assertThat(index[0]).isEqualTo(inputs.length);
  }

  @Test
  void unknownRoutesAndMalformedPayloadsGetAClearErrorAndTheServerStaysUp() {
    StepVerifier.create(client.requestResponse(RoutedPayloads.routed("moe.nope", new byte[0])))
        .expectErrorSatisfies(
            error -> assertThat(error.getMessage()).contains("unknown route 'moe.nope'"))
        .verify(Duration.ofSeconds(10));
    // a body too short to say its version is refused in band, and the channel goes on
    StepVerifier.create(
            client
                .requestChannel(
                    Flux.just(RoutedPayloads.routed("moe.forward", new byte[] {1, 2, 3})))
                .map(
                    payload -> {
                      try {
                        return ForwardWireCodec.decodeLayerResponse(payload.sliceData());
                      } finally {
                        payload.release();
                      }
                    }))
        .assertNext(
            refusal -> {
              assertThat(refusal.ok()).isFalse();
              assertThat(refusal.message()).contains("3 bytes");
            })
        .verifyComplete();
    // a malformed version-1 body has no in-band refusal: its channel ends with the reason
    byte[] v1 = new byte[20];
    v1[0] = 1;
    StepVerifier.create(client.requestChannel(Flux.just(RoutedPayloads.routed("moe.forward", v1))))
        .expectErrorSatisfies(error -> assertThat(error.getMessage()).contains("moe.forward"))
        .verify(Duration.ofSeconds(10));
    StepVerifier.create(client.requestResponse(RoutedPayloads.routed("moe.forward", new byte[0])))
        .expectErrorSatisfies(error -> assertThat(error.getMessage()).contains("request-channel"))
        .verify(Duration.ofSeconds(10));
    StepVerifier.create(
            client
                .requestResponse(RoutedPayloads.routed("moe.status", new byte[0]))
                .map(PlainClient::json))
        .assertNext(status -> assertThat(status.get("ranks").asInt()).isEqualTo(2))
        .verifyComplete();
  }
}
