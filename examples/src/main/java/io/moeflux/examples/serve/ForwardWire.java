package io.moeflux.examples.serve;

import io.moeflux.pipeline.TokenBatch;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteOrder;

/**
 * The documented wire format of the {@code moe.forward} route, little-endian throughout, so that a
 * client needs no moeflux classes.
 *
 * <pre>
 * request  int32 version (1) | int32 rank (-1: any) | int32 tokens | int32 hidden
 *          | tokens × hidden float32
 * response int32 version (1) | int32 rank | int64 step | int32 tokens | int32 hidden | int32 topK
 *          | tokens × hidden float32 | tokens × topK int32 expert ids | tokens × topK float32 weights
 * </pre>
 */
public final class ForwardWire {
  public static final int VERSION = 1;
  static final int REQUEST_HEADER = 16;
  static final int RESPONSE_HEADER = 28;

  private ForwardWire() {}

  /** A decoded request: which rank, and the hidden states. */
  public record Request(int rank, int tokens, int hidden, float[] data) {}

  public static Request decodeRequest(ByteBuf data, int expectedHidden) {
    int readable = data.readableBytes();
    if (readable < REQUEST_HEADER) {
      throw new IllegalArgumentException(
          "moe.forward request of " + readable + " bytes is shorter than its 16-byte header");
    }
    int base = data.readerIndex();
    int version = data.getIntLE(base);
    int rank = data.getIntLE(base + 4);
    int tokens = data.getIntLE(base + 8);
    int hidden = data.getIntLE(base + 12);
    if (version != VERSION) {
      throw new IllegalArgumentException(
          "moe.forward request has wire version " + version + ", this server speaks " + VERSION);
    }
    if (hidden != expectedHidden) {
      throw new IllegalArgumentException(
          "moe.forward request has hidden size " + hidden + ", the model's is " + expectedHidden);
    }
    if (tokens < 0) {
      throw new IllegalArgumentException("moe.forward request has " + tokens + " tokens");
    }
    long expected = REQUEST_HEADER + (long) tokens * hidden * Float.BYTES;
    if (readable != expected) {
      throw new IllegalArgumentException(
          "moe.forward request of "
              + readable
              + " bytes, expected "
              + expected
              + " for "
              + tokens
              + " tokens of hidden size "
              + hidden);
    }
    float[] values = new float[tokens * hidden];
    data.nioBuffer(base + REQUEST_HEADER, values.length * Float.BYTES)
        .order(ByteOrder.LITTLE_ENDIAN)
        .asFloatBuffer()
        .get(values);
    return new Request(rank, tokens, hidden, values);
  }

  public static ByteBuf encodeRequest(
      ByteBufAllocator alloc, int rank, int tokens, int hidden, float[] data) {
    ByteBuf buf = alloc.buffer(REQUEST_HEADER + data.length * Float.BYTES);
    buf.writeIntLE(VERSION).writeIntLE(rank).writeIntLE(tokens).writeIntLE(hidden);
    for (float v : data) {
      buf.writeFloatLE(v);
    }
    return buf;
  }

  public static ByteBuf encodeResponse(ByteBufAllocator alloc, int rank, TokenBatch out, int topK) {
    int values = out.tokens() * out.hidden();
    int picks = out.tokens() * topK;
    ByteBuf buf = alloc.buffer(RESPONSE_HEADER + values * 4 + picks * 8);
    buf.writeIntLE(VERSION)
        .writeIntLE(rank)
        .writeLongLE(out.step())
        .writeIntLE(out.tokens())
        .writeIntLE(out.hidden())
        .writeIntLE(topK);
    for (float v : out.data()) {
      buf.writeFloatLE(v);
    }
    for (int i = 0; i < picks; i++) {
      buf.writeIntLE(out.topkIds()[i]);
    }
    for (int i = 0; i < picks; i++) {
      buf.writeFloatLE(out.topkWeights()[i]);
    }
    return buf;
  }

  /** A decoded response (for clients and tests). */
  public record Response(int rank, long step, TokenBatch batch) {}

  public static Response decodeResponse(ByteBuf data) {
    int base = data.readerIndex();
    if (data.readableBytes() < RESPONSE_HEADER || data.getIntLE(base) != VERSION) {
      throw new IllegalArgumentException("not a moe.forward response");
    }
    int rank = data.getIntLE(base + 4);
    long step = data.getLongLE(base + 8);
    int tokens = data.getIntLE(base + 16);
    int hidden = data.getIntLE(base + 20);
    int topK = data.getIntLE(base + 24);
    float[] values = new float[tokens * hidden];
    int[] ids = new int[tokens * topK];
    float[] weights = new float[tokens * topK];
    int at = base + RESPONSE_HEADER;
    for (int i = 0; i < values.length; i++, at += 4) {
      values[i] = data.getFloatLE(at);
    }
    for (int i = 0; i < ids.length; i++, at += 4) {
      ids[i] = data.getIntLE(at);
    }
    for (int i = 0; i < weights.length; i++, at += 4) {
      weights[i] = data.getFloatLE(at);
    }
    return new Response(
        rank, step, TokenBatch.routed(step, tokens, hidden, values, false, ids, weights));
  }
}
