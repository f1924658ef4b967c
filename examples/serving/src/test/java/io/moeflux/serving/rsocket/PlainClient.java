package io.moeflux.serving.rsocket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import io.rsocket.core.RSocketConnector;
import io.rsocket.metadata.WellKnownMimeType;
import io.rsocket.transport.netty.client.TcpClientTransport;
import io.rsocket.transport.netty.server.CloseableChannel;

/** A plain rsocket-java client of the routes, as a user without Spring would write it. */
final class PlainClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  private PlainClient() {}

  /** Connects to {@code server} announcing composite metadata (what Spring's requester sends). */
  static RSocket connect(CloseableChannel server) {
    return RSocketConnector.create()
        .metadataMimeType(WellKnownMimeType.MESSAGE_RSOCKET_COMPOSITE_METADATA.getString())
        .connect(TcpClientTransport.create(server.address()))
        .block();
  }

  /** The payload's data as JSON; releases the payload. */
  static JsonNode json(Payload payload) {
    try {
      return JSON.readTree(payload.getDataUtf8());
    } catch (Exception e) {
      throw new AssertionError(e);
    } finally {
      payload.release();
    }
  }
}
