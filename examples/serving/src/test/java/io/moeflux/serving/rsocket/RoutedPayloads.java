package io.moeflux.serving.rsocket;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.rsocket.Payload;
import io.rsocket.metadata.CompositeMetadataCodec;
import io.rsocket.metadata.TaggingMetadataCodec;
import io.rsocket.metadata.WellKnownMimeType;
import io.rsocket.util.ByteBufPayload;
import java.util.List;

/** What a plain rsocket-java client sends: composite metadata with one routing entry. */
final class RoutedPayloads {
  private RoutedPayloads() {}

  static Payload routed(String route, byte[] data) {
    return routed(route, ByteBufAllocator.DEFAULT.buffer(data.length).writeBytes(data));
  }

  static Payload routed(String route, ByteBuf data) {
    CompositeByteBuf metadata = ByteBufAllocator.DEFAULT.compositeBuffer();
    ByteBuf routing =
        TaggingMetadataCodec.createRoutingMetadata(ByteBufAllocator.DEFAULT, List.of(route))
            .getContent();
    CompositeMetadataCodec.encodeAndAddMetadata(
        metadata, ByteBufAllocator.DEFAULT, WellKnownMimeType.MESSAGE_RSOCKET_ROUTING, routing);
    return ByteBufPayload.create(data, metadata);
  }
}
