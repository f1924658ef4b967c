package io.moeflux.serving.rsocket;

import io.moeflux.pipeline.TokenBatch;
import io.moeflux.transport.protocol.ForwardWireCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The {@code moe.forward} responses in pipeline terms: {@link ForwardWireCodec}, which holds the
 * documented layout of both bodies, applied to {@link TokenBatch}es. Requests carry only arrays and
 * go through the codec directly.
 */
public final class ForwardWire {
  private ForwardWire() {}

  public static ByteBuf encodeResponse(ByteBufAllocator alloc, int rank, TokenBatch out, int topK) {
    return ForwardWireCodec.encodeResponse(
        alloc,
        new ForwardWireCodec.Response(
            rank,
            out.step(),
            out.tokens(),
            out.hidden(),
            topK,
            out.data(),
            out.topkIds(),
            out.topkWeights()));
  }

  /** A decoded response (for clients and tests). */
  public record Response(int rank, long step, TokenBatch batch) {}

  public static Response decodeResponse(ByteBuf data) {
    ForwardWireCodec.Response r = ForwardWireCodec.decodeResponse(data);
    return new Response(
        r.rank(),
        r.step(),
        new TokenBatch(
            r.step(), r.tokens(), r.hidden(), r.data(), false, r.topkIds(), r.topkWeights()));
  }
}
