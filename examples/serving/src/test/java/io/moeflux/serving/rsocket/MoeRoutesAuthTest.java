package io.moeflux.serving.rsocket;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.serving.RequestBatcher;
import io.moeflux.serving.auth.BearerMetadata;
import io.moeflux.serving.auth.BearerTokens;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.protocol.ForwardWireCodec;
import io.moeflux.transport.testkit.LeakRecorder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.core.RSocketConnector;
import io.rsocket.core.RSocketServer;
import io.rsocket.metadata.CompositeMetadataCodec;
import io.rsocket.metadata.TaggingMetadataCodec;
import io.rsocket.metadata.WellKnownMimeType;
import io.rsocket.transport.netty.client.TcpClientTransport;
import io.rsocket.transport.netty.server.CloseableChannel;
import io.rsocket.transport.netty.server.TcpServerTransport;
import io.rsocket.util.ByteBufPayload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/** Client authentication on the routes: bearer tokens in SETUP or per request, nothing without. */
class MoeRoutesAuthTest {
  private static final String TOKEN = "a-client-token-of-some-length";
  private final ModelConfig model = ModelConfig.small();
  private final List<RSocket> clients = new ArrayList<>();
  private MoeGroup group;
  private RequestBatcher batcher;
  private CloseableChannel server;

  @BeforeEach
  void start() {
    group =
        MoeGroup.start(2, TransportKind.LOCAL, PipelineConfig.of(model, 8))
            .block(Duration.ofSeconds(30));
    batcher = RequestBatcher.start(group).block();
    MoeRoutes routes =
        new MoeRoutes(
            batcher,
            () -> Flux.just(Map.of("window", 0)),
            () -> Map.of("ranks", group.size()),
            BearerTokens.of(List.of(TOKEN)));
    server = RSocketServer.create(routes).bind(TcpServerTransport.create("127.0.0.1", 0)).block();
  }

  @AfterEach
  void stop() {
    clients.forEach(RSocket::dispose);
    server.dispose();
    batcher.dispose();
    group.dispose();
    LeakRecorder.assertNoLeaks();
  }

  private RSocket client(@Nullable String setupToken) {
    RSocketConnector connector =
        RSocketConnector.create()
            .metadataMimeType(WellKnownMimeType.MESSAGE_RSOCKET_COMPOSITE_METADATA.getString());
    if (setupToken != null) {
      CompositeByteBuf metadata =
          BearerMetadata.addTo(
              ByteBufAllocator.DEFAULT.compositeBuffer(), ByteBufAllocator.DEFAULT, setupToken);
      connector.setupPayload(ByteBufPayload.create(ByteBufAllocator.DEFAULT.buffer(0), metadata));
    }
    RSocket client = connector.connect(TcpClientTransport.create(server.address())).block();
    clients.add(client);
    return client;
  }

  /** A routed payload, with a bearer entry when {@code token} is given. */
  private static Payload request(String route, ByteBuf data, @Nullable String token) {
    CompositeByteBuf metadata = ByteBufAllocator.DEFAULT.compositeBuffer();
    CompositeMetadataCodec.encodeAndAddMetadata(
        metadata,
        ByteBufAllocator.DEFAULT,
        WellKnownMimeType.MESSAGE_RSOCKET_ROUTING,
        TaggingMetadataCodec.createRoutingMetadata(ByteBufAllocator.DEFAULT, List.of(route))
            .getContent());
    if (token != null) {
      BearerMetadata.addTo(metadata, ByteBufAllocator.DEFAULT, token);
    }
    return ByteBufPayload.create(data, metadata);
  }

  private static String status(RSocket client, @Nullable String token) {
    Payload answer =
        client
            .requestResponse(request("moe.status", ByteBufAllocator.DEFAULT.buffer(0), token))
            .block(Duration.ofSeconds(10));
    try {
      return answer.getDataUtf8();
    } finally {
      answer.release();
    }
  }

  @Test
  void aTokenInSetupAuthenticatesTheConnection() {
    assertThat(status(client(TOKEN), null)).contains("ranks");
  }

  @Test
  void aTokenInEachRequestAuthenticatesThatRequest() {
    RSocket client = client(null);
    assertThat(status(client, TOKEN)).contains("ranks");
    StepVerifier.create(
            client.requestResponse(request("moe.status", ByteBufAllocator.DEFAULT.buffer(0), null)))
        .expectErrorSatisfies(error -> assertThat(error).hasMessageContaining("not authenticated"))
        .verify(Duration.ofSeconds(10));
  }

  @Test
  void withoutATokenNoRouteAnswersAndTheServerStaysUp() {
    RSocket anonymous = client(null);
    for (String route : List.of("moe.status", "moe.placement")) {
      StepVerifier.create(
              anonymous.requestResponse(
                  request(route, ByteBufAllocator.DEFAULT.buffer(0), "a-token-nobody-accepts!!")))
          .expectErrorSatisfies(
              error -> assertThat(error).hasMessageContaining("not authenticated"))
          .verify(Duration.ofSeconds(10));
    }
    StepVerifier.create(
            anonymous.requestChannel(
                Flux.just(
                    request(
                        "moe.forward",
                        ForwardWireCodec.encodeRequest(
                            ByteBufAllocator.DEFAULT, -1, 1, model.hidden(), new float[64]),
                        null))))
        .expectErrorSatisfies(error -> assertThat(error).hasMessageContaining("not authenticated"))
        .verify(Duration.ofSeconds(10));
    StepVerifier.create(
            anonymous.requestStream(request("moe.heat", ByteBufAllocator.DEFAULT.buffer(0), null)))
        .expectError()
        .verify(Duration.ofSeconds(10));
    assertThat(status(client(TOKEN), null)).contains("ranks");
  }

  @Test
  void aWrongTokenInSetupIsRefusedWithoutSayingMore() {
    RSocket liar = client("not-the-token-but-long-enough");
    StepVerifier.create(
            liar.requestResponse(request("moe.status", ByteBufAllocator.DEFAULT.buffer(0), null)))
        .expectErrorSatisfies(error -> assertThat(error).hasMessage("authentication failed"))
        .verify(Duration.ofSeconds(10));
  }

  @Test
  void aNanInputIsRefusedInBandAndTheChannelGoesOn() {
    RSocket client = client(TOKEN);
    float[] poison = new float[model.hidden()];
    poison[3] = Float.NaN;
    float[] fine = new float[model.hidden()];
    List<ForwardWireCodec.LayerResponse> answers =
        client
            .requestChannel(
                Flux.just(
                    request(
                        "moe.forward",
                        ForwardWireCodec.encodeLayerRequest(
                            ByteBufAllocator.DEFAULT, -1, -1, 1, model.hidden(), poison),
                        null),
                    request(
                        "moe.forward",
                        ForwardWireCodec.encodeLayerRequest(
                            ByteBufAllocator.DEFAULT, -1, -1, 1, model.hidden(), fine),
                        null)))
            .map(
                payload -> {
                  try {
                    return ForwardWireCodec.decodeLayerResponse(payload.sliceData());
                  } finally {
                    payload.release();
                  }
                })
            .collectList()
            .block(Duration.ofSeconds(20));
    assertThat(answers).hasSize(2);
    assertThat(answers.get(0).ok()).isFalse();
    assertThat(answers.get(0).message()).contains("NaN value at element 3");
    assertThat(answers.get(1).ok()).isTrue();
  }
}
