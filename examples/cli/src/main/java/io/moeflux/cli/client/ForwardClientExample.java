package io.moeflux.cli.client;

import io.moeflux.transport.protocol.ForwardWireCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.core.RSocketConnector;
import io.rsocket.metadata.CompositeMetadataCodec;
import io.rsocket.metadata.TaggingMetadataCodec;
import io.rsocket.metadata.WellKnownMimeType;
import io.rsocket.transport.netty.client.TcpClientTransport;
import io.rsocket.util.ByteBufPayload;
import java.util.List;
import java.util.Random;
import reactor.core.publisher.Flux;

/**
 * A plain rsocket-java client of {@code moeflux serve}: it knows only the routes and the documented
 * wire format, none of moeflux's pipeline classes.
 *
 * <pre>
 * java -cp examples/cli/target/moeflux.jar io.moeflux.cli.client.ForwardClientExample 127.0.0.1 7000 256
 * </pre>
 */
public final class ForwardClientExample {
  private ForwardClientExample() {}

  public static void main(String[] args) {
    String host = args.length > 0 ? args[0] : "127.0.0.1";
    int port = args.length > 1 ? Integer.parseInt(args[1]) : 7000;
    int hidden = args.length > 2 ? Integer.parseInt(args[2]) : 256;
    RSocket client =
        RSocketConnector.create()
            .metadataMimeType(WellKnownMimeType.MESSAGE_RSOCKET_COMPOSITE_METADATA.getString())
            .connect(TcpClientTransport.create(host, port))
            .block();
    try {
      String status =
          client
              .requestResponse(routed("moe.status", new byte[0]))
              .map(Payload::getDataUtf8)
              .block();
      System.out.println("status: " + status);
      Random random = new Random(1);
      Flux<Payload> batches =
          Flux.range(0, 8)
              .map(
                  i -> {
                    int tokens = 1 + random.nextInt(4);
                    float[] data = new float[tokens * hidden];
                    for (int j = 0; j < data.length; j++) {
                      data[j] = random.nextFloat() * 2 - 1;
                    }
                    ByteBuf request =
                        ForwardWireCodec.encodeRequest(
                            ByteBufAllocator.DEFAULT, -1, tokens, hidden, data);
                    return routed("moe.forward", request);
                  });
      client
          .requestChannel(batches)
          .doOnNext(
              payload -> {
                ByteBuf data = payload.sliceData();
                System.out.printf(
                    "output: rank %d, step %d, %d tokens%n",
                    ForwardWireCodec.responseRank(data),
                    ForwardWireCodec.responseStep(data),
                    ForwardWireCodec.responseTokens(data));
                payload.release();
              })
          .blockLast();
    } finally {
      client.dispose();
    }
  }

  /** A payload whose metadata is composite metadata with one routing entry. */
  public static Payload routed(String route, byte[] data) {
    return routed(route, ByteBufAllocator.DEFAULT.buffer(data.length).writeBytes(data));
  }

  public static Payload routed(String route, ByteBuf data) {
    CompositeByteBuf metadata = ByteBufAllocator.DEFAULT.compositeBuffer();
    ByteBuf routing =
        TaggingMetadataCodec.createRoutingMetadata(ByteBufAllocator.DEFAULT, List.of(route))
            .getContent();
    CompositeMetadataCodec.encodeAndAddMetadata(
        metadata, ByteBufAllocator.DEFAULT, WellKnownMimeType.MESSAGE_RSOCKET_ROUTING, routing);
    return ByteBufPayload.create(data, metadata);
  }
}
