package io.moeflux.serving.rsocket;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.serving.BatcherOptions;
import io.moeflux.serving.RequestBatcher;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.protocol.ForwardDeadlineCodec;
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
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/**
 * {@code moe.forward} requests with a deadline in their composite metadata: a request no step
 * answers in time is refused in band, and a malformed deadline is refused the same way, the channel
 * going on.
 */
class DeadlineRouteTest {
  private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
  private final ModelConfig model = ModelConfig.small();
  private MoeGroup group;
  private RequestBatcher batcher;
  private CloseableChannel server;
  private RSocket client;

  @BeforeEach
  void start() {
    group =
        MoeGroup.start(2, TransportKind.LOCAL, PipelineConfig.of(model, 8))
            .block(Duration.ofSeconds(30));
    // rank 1 has no batcher: it never joins, so rank 0's first step waits and its requests with it
    batcher =
        RequestBatcher.start(group.rank(0), new SimpleMeterRegistry(), BatcherOptions.defaults())
            .block();
    server =
        RSocketServer.create(new MoeRoutes(batcher, Flux::empty, Map::of))
            .bind(TcpServerTransport.create("127.0.0.1", 0))
            .block();
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
    LeakRecorder.assertNoLeaks();
  }

  /** A version-2 request with the route and a deadline entry of {@code deadline}'s bytes. */
  private static Payload request(ByteBuf deadline) {
    int hidden = ModelConfig.small().hidden();
    ByteBuf body =
        ForwardWireCodec.encodeLayerRequest(
            ALLOC, 0, TokenBatch.ANY_LAYER, 1, hidden, new float[hidden]);
    CompositeByteBuf metadata = ALLOC.compositeBuffer();
    CompositeMetadataCodec.encodeAndAddMetadata(
        metadata,
        ALLOC,
        WellKnownMimeType.MESSAGE_RSOCKET_ROUTING,
        TaggingMetadataCodec.createRoutingMetadata(ALLOC, List.of("moe.forward")).getContent());
    CompositeMetadataCodec.encodeAndAddMetadata(
        metadata, ALLOC, ForwardDeadlineCodec.MIME_TYPE, deadline);
    return ByteBufPayload.create(body, metadata);
  }

  private static ForwardWireCodec.LayerResponse decode(Payload payload) {
    try {
      return ForwardWireCodec.decodeLayerResponse(payload.sliceData());
    } finally {
      payload.release();
    }
  }

  @Test
  void aRequestNoStepAnswersInTimeAndAMalformedDeadlineAreRefusedInBand() {
    Flux<Payload> requests =
        Flux.just(
            request(ForwardDeadlineCodec.encode(ALLOC, Duration.ofMillis(200))),
            request(ALLOC.buffer(4).writeInt(200)));
    StepVerifier.create(client.requestChannel(requests).map(DeadlineRouteTest::decode))
        .assertNext(
            answer -> {
              assertThat(answer.ok()).isFalse();
              assertThat(answer.message())
                  .isEqualTo("no step answered the request within its deadline of PT0.2S");
            })
        .assertNext(
            answer ->
                assertThat(answer.message())
                    .isEqualTo(
                        "a deadline entry (message/x.moeflux.deadline.v0) is 8 bytes, an int64"
                            + " of milliseconds; got 4 bytes"))
        .thenCancel()
        .verify(Duration.ofSeconds(10));
  }
}
