package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteOrder;

/**
 * The bodies of the {@code moe.forward} route a serving process offers its clients ({@link
 * #REQUEST_LAYOUT}, {@link #RESPONSE_LAYOUT}). Little-endian throughout, so that a client needs no
 * moeflux classes. It is not a mesh frame: its own {@link #VERSION} travels in every body, and
 * errors are {@link IllegalArgumentException}s, which the route turns into an error for that
 * request.
 */
public final class ForwardWireCodec {
  public static final int VERSION = 1;
  public static final int REQUEST_HEADER_BYTES = 16;
  public static final int RESPONSE_HEADER_BYTES = 28;

  /** The request's layout. The README's wire-format section shows it verbatim. */
  public static final String REQUEST_LAYOUT =
      """
      moe.forward request, little-endian
      0   int32  version  1 (ForwardWireCodec.VERSION)
      4   int32  rank     the rank to run on, -1: any
      8   int32  tokens
      12  int32  hidden   the model's hidden size
      16  tokens × hidden  float32  data  hidden states, token-major
      """;

  /** The response's layout. The README's wire-format section shows it verbatim. */
  public static final String RESPONSE_LAYOUT =
      """
      moe.forward response, little-endian
      0   int32  version  1 (ForwardWireCodec.VERSION)
      4   int32  rank     the rank that ran it
      8   int64  step     the group step it ran in
      16  int32  tokens
      20  int32  hidden
      24  int32  topK
      28  tokens × hidden  float32  data    outputs, token-major
          tokens × topK    int32    expert  logical expert ids each token was routed to
          tokens × topK    float32  weight  their gate weights
      """;

  private ForwardWireCodec() {}

  /** A decoded request: which rank ({@code -1}: any), and the hidden states, token-major. */
  public record Request(int rank, int tokens, int hidden, float[] data) {}

  /** A decoded response: the rank and step that served it, outputs, and the routing. */
  public record Response(
      int rank,
      long step,
      int tokens,
      int hidden,
      int topK,
      float[] data,
      int[] topkIds,
      float[] topkWeights) {}

  public static ByteBuf encodeRequest(
      ByteBufAllocator allocator, int rank, int tokens, int hidden, float[] data) {
    checkShape("request", tokens, hidden, data.length, (long) tokens * hidden, "hidden values");
    ByteBuf buf = allocator.buffer(REQUEST_HEADER_BYTES + data.length * Float.BYTES);
    buf.writeIntLE(VERSION).writeIntLE(rank).writeIntLE(tokens).writeIntLE(hidden);
    writeFloats(buf, data);
    return buf;
  }

  /**
   * Decodes a request for a model of hidden size {@code expectedHidden}.
   *
   * @throws IllegalArgumentException naming the field that is wrong
   */
  public static Request decodeRequest(ByteBuf data, int expectedHidden) {
    int readable = data.readableBytes();
    if (readable < REQUEST_HEADER_BYTES) {
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
    long expected = REQUEST_HEADER_BYTES + (long) tokens * hidden * Float.BYTES;
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
    readFloats(data, base + REQUEST_HEADER_BYTES, values);
    return new Request(rank, tokens, hidden, values);
  }

  /**
   * A response body; the record's arrays must match its {@code tokens}, {@code hidden} and {@code
   * topK}.
   */
  public static ByteBuf encodeResponse(ByteBufAllocator allocator, Response response) {
    int tokens = response.tokens();
    int topK = response.topK();
    long picks = (long) tokens * topK;
    checkShape(
        "response",
        tokens,
        response.hidden(),
        response.data().length,
        (long) tokens * response.hidden(),
        "hidden values");
    checkShape("response", tokens, topK, response.topkIds().length, picks, "expert ids");
    checkShape("response", tokens, topK, response.topkWeights().length, picks, "weights");
    ByteBuf buf =
        allocator.buffer(
            RESPONSE_HEADER_BYTES + response.data().length * Float.BYTES + (int) picks * 8);
    buf.writeIntLE(VERSION)
        .writeIntLE(response.rank())
        .writeLongLE(response.step())
        .writeIntLE(tokens)
        .writeIntLE(response.hidden())
        .writeIntLE(topK);
    writeFloats(buf, response.data());
    for (int id : response.topkIds()) {
      buf.writeIntLE(id);
    }
    writeFloats(buf, response.topkWeights());
    return buf;
  }

  /**
   * Decodes a response (for clients and tests).
   *
   * @throws IllegalArgumentException when it is not a version-1 response or its length does not
   *     match its header
   */
  public static Response decodeResponse(ByteBuf data) {
    int readable = data.readableBytes();
    int base = data.readerIndex();
    if (readable < RESPONSE_HEADER_BYTES || data.getIntLE(base) != VERSION) {
      throw new IllegalArgumentException(
          "not a moe.forward response: "
              + readable
              + " bytes"
              + (readable >= 4 ? ", version " + data.getIntLE(base) : ""));
    }
    int rank = responseRank(data);
    long step = responseStep(data);
    int tokens = responseTokens(data);
    int hidden = data.getIntLE(base + 20);
    int topK = data.getIntLE(base + 24);
    if (tokens < 0 || hidden < 0 || topK < 0) {
      throw new IllegalArgumentException(
          "moe.forward response has " + tokens + " tokens, hidden " + hidden + ", topK " + topK);
    }
    long values = (long) tokens * hidden;
    long picks = (long) tokens * topK;
    long expected = RESPONSE_HEADER_BYTES + values * Float.BYTES + picks * 8;
    if (readable != expected) {
      throw new IllegalArgumentException(
          "moe.forward response of " + readable + " bytes, expected " + expected);
    }
    float[] out = new float[(int) values];
    int[] ids = new int[(int) picks];
    float[] weights = new float[(int) picks];
    int at = base + RESPONSE_HEADER_BYTES;
    readFloats(data, at, out);
    at += out.length * Float.BYTES;
    for (int i = 0; i < ids.length; i++, at += 4) {
      ids[i] = data.getIntLE(at);
    }
    readFloats(data, at, weights);
    return new Response(rank, step, tokens, hidden, topK, out, ids, weights);
  }

  /** The rank that served a response, read in place. */
  public static int responseRank(ByteBuf response) {
    return response.getIntLE(response.readerIndex() + 4);
  }

  /** The step that served a response, read in place. */
  public static long responseStep(ByteBuf response) {
    return response.getLongLE(response.readerIndex() + 8);
  }

  /** The tokens of a response, read in place. */
  public static int responseTokens(ByteBuf response) {
    return response.getIntLE(response.readerIndex() + 16);
  }

  private static void checkShape(
      String what, int tokens, int width, int length, long expected, String of) {
    if (tokens < 0 || width < 0 || length != expected) {
      throw new IllegalArgumentException(
          "moe.forward "
              + what
              + " of "
              + tokens
              + " tokens × "
              + width
              + " needs "
              + expected
              + " "
              + of
              + ", got "
              + length);
    }
  }

  private static void writeFloats(ByteBuf buf, float[] values) {
    for (float v : values) {
      buf.writeFloatLE(v);
    }
  }

  private static void readFloats(ByteBuf buf, int index, float[] into) {
    if (into.length > 0) {
      buf.nioBuffer(index, into.length * Float.BYTES)
          .order(ByteOrder.LITTLE_ENDIAN)
          .asFloatBuffer()
          .get(into);
    }
  }
}
