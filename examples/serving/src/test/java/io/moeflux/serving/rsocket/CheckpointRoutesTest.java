package io.moeflux.serving.rsocket;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.family.CheckpointModel;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.serving.RequestBatcher;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.protocol.ForwardWireCodec;
import io.moeflux.transport.testkit.LeakRecorder;
import io.netty.buffer.ByteBufAllocator;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.core.RSocketConnector;
import io.rsocket.core.RSocketServer;
import io.rsocket.metadata.WellKnownMimeType;
import io.rsocket.transport.netty.client.TcpClientTransport;
import io.rsocket.transport.netty.server.CloseableChannel;
import io.rsocket.transport.netty.server.TcpServerTransport;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/**
 * {@code moe.forward} for a checkpoint model: version-2 requests name their layer, get the layer's
 * outputs and the placement version they ran under, and a request the model cannot run is refused
 * in band while the channel goes on; version 1 is refused with a clear error.
 */
class CheckpointRoutesTest {
  @TempDir static Path dir;
  private CheckpointModel model;
  private MoeGroup group;
  private RequestBatcher batcher;
  private CloseableChannel server;
  private RSocket client;

  @BeforeEach
  void start() throws IOException {
    Path path = dir.resolve("qwen2");
    // MoE layers 0 and 2; layer 1 is dense. 6 experts on 3 ranks: no replica, so a request's
    // outputs do not depend on where the batcher packs it.
    CheckpointGenerator.builder(ModelFamily.QWEN2_MOE)
        .hidden(16)
        .experts(6)
        .decoderLayers(3)
        .mlpOnlyLayers(1)
        .build()
        .write(path);
    model = CheckpointModel.open(path);
    group =
        MoeGroup.start(3, TransportKind.LOCAL, PipelineConfig.of(model, 8))
            .block(Duration.ofSeconds(30));
    batcher = RequestBatcher.start(group).block();
    MoeRoutes routes = new MoeRoutes(batcher, Flux::empty, () -> Map.of("ranks", group.size()));
    server = RSocketServer.create(routes).bind(TcpServerTransport.create("127.0.0.1", 0)).block();
    client =
        RSocketConnector.create()
            .metadataMimeType(WellKnownMimeType.MESSAGE_RSOCKET_COMPOSITE_METADATA.getString())
            .connect(TcpClientTransport.create(server.address()))
            .block();
  }

  @AfterEach
  void stop() {
    client.dispose();
    server.dispose();
    batcher.dispose();
    group.dispose();
    model.close();
    LeakRecorder.assertNoLeaks();
  }

  private static ForwardWireCodec.LayerResponse decode(Payload payload) {
    try {
      return ForwardWireCodec.decodeLayerResponse(payload.sliceData());
    } finally {
      payload.release();
    }
  }

  @Test
  void layerRequestsRunTheirLayerAndARefusalDoesNotEndTheChannel() {
    Random random = new Random(3);
    int hidden = model.hidden();
    int[] layers = {2, 0, 1, 2, 0, 7, 0};
    float[][] inputs = new float[layers.length][];
    int[] tokens = new int[layers.length];
    for (int i = 0; i < layers.length; i++) {
      tokens[i] = 1 + random.nextInt(3);
      inputs[i] = new float[tokens[i] * hidden];
      for (int j = 0; j < inputs[i].length; j++) {
        inputs[i][j] = random.nextFloat() * 2 - 1;
      }
    }
    Flux<Payload> requests =
        Flux.range(0, layers.length)
            .map(
                i ->
                    RoutedPayloads.routed(
                        "moe.forward",
                        ForwardWireCodec.encodeLayerRequest(
                            ByteBufAllocator.DEFAULT,
                            i % 3,
                            layers[i],
                            tokens[i],
                            hidden,
                            inputs[i])));
    ReferenceModel reference =
        new ReferenceModel(model, group.rank(0).config().initialPlacement(3));
    List<ForwardWireCodec.LayerResponse> responses =
        client
            .requestChannel(requests)
            .map(CheckpointRoutesTest::decode)
            .collectList()
            .block(Duration.ofSeconds(30));
    assertThat(responses).hasSize(layers.length);
    for (int i = 0; i < layers.length; i++) {
      ForwardWireCodec.LayerResponse response = responses.get(i);
      if (layers[i] == 1 || layers[i] == 7) {
        assertThat(response.ok()).isFalse();
        assertThat(response.message()).contains("layer " + layers[i] + " is not a MoE layer");
        continue;
      }
      assertThat(response.ok()).as(response.message()).isTrue();
      assertThat(response.rank()).isEqualTo(i % 3);
      assertThat(response.layer()).isEqualTo(layers[i]);
      assertThat(response.placementVersion()).isZero();
      // step s runs MoE layer s mod 2: layer 0 on even steps, layer 2 on odd ones
      assertThat(response.step() % 2).isEqualTo(layers[i] == 0 ? 0 : 1);
      TokenBatch expected =
          reference.forward(
              response.rank(),
              TokenBatch.of(response.step(), tokens[i], hidden, inputs[i]).atLayer(layers[i]));
      assertThat(response.data()).containsExactly(expected.data());
      assertThat(response.topkIds()).containsExactly(expected.topkIds());
      assertThat(response.topkWeights()).containsExactly(expected.topkWeights());
    }
  }

  @Test
  void version1IsRefusedWithWhatToSendInstead() {
    StepVerifier.create(
            client.requestChannel(
                Flux.just(
                    RoutedPayloads.routed(
                        "moe.forward",
                        ForwardWireCodec.encodeRequest(
                            ByteBufAllocator.DEFAULT, 0, 1, model.hidden(), new float[16])))))
        .expectErrorSatisfies(
            error ->
                assertThat(error.getMessage())
                    .contains("wire version 1 cannot name a layer")
                    .contains("qwen2_moe checkpoint")
                    .contains("send version 2"))
        .verify(Duration.ofSeconds(10));
  }
}
