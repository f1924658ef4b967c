package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The bodies of the {@code moe.forward} route a serving process offers its clients. Little-endian
 * throughout, so that a client needs no moeflux classes. It is not a mesh frame: its own version
 * travels first in every body, and a body that cannot be read is an {@link
 * IllegalArgumentException}, which the route turns into an error for that request.
 *
 * <ul>
 *   <li>version 1 ({@link #VERSION}: {@link #REQUEST_LAYOUT}, {@link #RESPONSE_LAYOUT}), for the
 *       synthetic model, which runs every layer per step;
 *   <li>version 2 ({@link #VERSION_2}: {@link #LAYER_REQUEST_LAYOUT}, {@link
 *       #LAYER_RESPONSE_LAYOUT}, {@link #REFUSAL_LAYOUT}): the request names the layer, and the
 *       response carries a status, so that one request can be refused in band while the channel
 *       goes on, with the rank, the layer, the step and the placement version it ran under.
 * </ul>
 */
public final class ForwardWireCodec {
  public static final int VERSION = 1;
  public static final int VERSION_2 = 2;
  public static final int REQUEST_HEADER_BYTES = 16;
  public static final int RESPONSE_HEADER_BYTES = 28;
  public static final int LAYER_REQUEST_HEADER_BYTES = 20;
  public static final int LAYER_RESPONSE_HEADER_BYTES = 32;

  /** Status of a version-2 response that carries outputs. */
  public static final int STATUS_OK = 0;

  /** Status of a version-2 response that carries why the request was refused. */
  public static final int STATUS_REFUSED = 1;

  /** The longest refusal message a response carries, in bytes; longer ones are cut. */
  public static final int MAX_MESSAGE_BYTES = 4096;

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

  /** The version-2 request's layout. The README's wire-format section shows it verbatim. */
  public static final String LAYER_REQUEST_LAYOUT =
      """
      moe.forward request version 2, little-endian
      0   int32  version  2 (ForwardWireCodec.VERSION_2)
      4   int32  rank     the rank to run on, -1: any
      8   int32  layer    the decoder layer to run, -1: any (the synthetic model's only choice)
      12  int32  tokens
      16  int32  hidden   the model's hidden size
      20  tokens × hidden  float32  data  hidden states, token-major
      """;

  /** The layout of a version-2 response that ran. The README's section shows it verbatim. */
  public static final String LAYER_RESPONSE_LAYOUT =
      """
      moe.forward response version 2, little-endian
      0   int32  version    2 (ForwardWireCodec.VERSION_2)
      4   int32  status     0 (ForwardWireCodec.STATUS_OK): it ran
      8   int32  rank       the rank that ran it
      12  int32  layer      the decoder layer it ran
      16  int64  step       the group step it ran in
      24  int64  placement  the version of the placement it ran under
      32  int32  tokens
      36  int32  hidden
      40  int32  topK
      44  tokens × hidden  float32  data    outputs, token-major
          tokens × topK    int32    expert  logical expert ids each token was routed to
          tokens × topK    float32  weight  the weights applied to them
      """;

  /** The layout of a version-2 response that refuses. The README's section shows it verbatim. */
  public static final String REFUSAL_LAYOUT =
      """
      moe.forward refusal version 2, little-endian
      0   int32  version    2 (ForwardWireCodec.VERSION_2)
      4   int32  status     1 (ForwardWireCodec.STATUS_REFUSED): the request did not run
      8   int32  rank       the rank asked for, -1: any or unknown
      12  int32  layer      the layer asked for, -1: unknown
      16  int64  step       -1: no step ran it
      24  int64  placement  -1
      32  int32  bytes
      36  bytes  utf8  message  why, at most 4096 bytes
      """;

  private ForwardWireCodec() {}

  /**
   * A decoded request: its wire version, which rank ({@code -1}: any), which decoder layer ({@code
   * -1}: any; always -1 in version 1), and the hidden states, token-major.
   */
  public record Request(int version, int rank, int layer, int tokens, int hidden, float[] data) {}

  /**
   * A version-2 response: the status, the rank, layer, step and placement version it ran under, and
   * either the outputs and routing ({@link #STATUS_OK}) or the refusal {@code message}.
   */
  public record LayerResponse(
      int status,
      int rank,
      int layer,
      long step,
      long placementVersion,
      int tokens,
      int hidden,
      int topK,
      float[] data,
      int[] topkIds,
      float[] topkWeights,
      String message) {

    /**
     * A response that ran; the arrays must match {@code tokens}, {@code hidden} and {@code topK}.
     */
    public static LayerResponse ran(
        int rank,
        int layer,
        long step,
        long placementVersion,
        int tokens,
        int hidden,
        int topK,
        float[] data,
        int[] topkIds,
        float[] topkWeights) {
      return new LayerResponse(
          STATUS_OK,
          rank,
          layer,
          step,
          placementVersion,
          tokens,
          hidden,
          topK,
          data,
          topkIds,
          topkWeights,
          "");
    }

    /** A refusal; rank and layer as asked (-1: unknown), step and placement version -1. */
    public static LayerResponse refused(int rank, int layer, String message) {
      return new LayerResponse(
          STATUS_REFUSED,
          rank,
          layer,
          -1,
          -1,
          0,
          0,
          0,
          new float[0],
          new int[0],
          new float[0],
          message);
    }

    public boolean ok() {
      return status == STATUS_OK;
    }
  }

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

  /** A version-2 request for decoder layer {@code layer} ({@code -1}: any). */
  public static ByteBuf encodeLayerRequest(
      ByteBufAllocator allocator, int rank, int layer, int tokens, int hidden, float[] data) {
    checkShape("request", tokens, hidden, data.length, (long) tokens * hidden, "hidden values");
    ByteBuf buf = allocator.buffer(LAYER_REQUEST_HEADER_BYTES + data.length * Float.BYTES);
    buf.writeIntLE(VERSION_2)
        .writeIntLE(rank)
        .writeIntLE(layer)
        .writeIntLE(tokens)
        .writeIntLE(hidden);
    writeFloats(buf, data);
    return buf;
  }

  /** The wire version a body starts with, or -1 when it is shorter than one. */
  public static int version(ByteBuf body) {
    return body.readableBytes() < 4 ? -1 : body.getIntLE(body.readerIndex());
  }

  /**
   * Decodes a version-1 or version-2 request for a model of hidden size {@code expectedHidden}.
   *
   * @throws IllegalArgumentException naming the field that is wrong
   */
  public static Request decodeRequest(ByteBuf data, int expectedHidden) {
    int readable = data.readableBytes();
    int version = version(data);
    int header = version == VERSION_2 ? LAYER_REQUEST_HEADER_BYTES : REQUEST_HEADER_BYTES;
    if (readable < header) {
      throw new IllegalArgumentException(
          "moe.forward request of "
              + readable
              + " bytes is shorter than its "
              + header
              + "-byte header");
    }
    if (version != VERSION && version != VERSION_2) {
      throw new IllegalArgumentException(
          "moe.forward request has wire version "
              + version
              + ", this server speaks "
              + VERSION
              + " and "
              + VERSION_2);
    }
    int base = data.readerIndex();
    int rank = data.getIntLE(base + 4);
    int at = base + 8;
    int layer = -1;
    if (version == VERSION_2) {
      layer = data.getIntLE(at);
      at += 4;
      if (layer < -1) {
        throw new IllegalArgumentException("moe.forward request names layer " + layer);
      }
    }
    int tokens = data.getIntLE(at);
    int hidden = data.getIntLE(at + 4);
    if (hidden != expectedHidden) {
      throw new IllegalArgumentException(
          "moe.forward request has hidden size " + hidden + ", the model's is " + expectedHidden);
    }
    if (tokens < 0) {
      throw new IllegalArgumentException("moe.forward request has " + tokens + " tokens");
    }
    long expected = header + (long) tokens * hidden * Float.BYTES;
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
    readFloats(data, base + header, values);
    return new Request(version, rank, layer, tokens, hidden, values);
  }

  /**
   * A response body; the record's arrays must match its {@code tokens}, {@code hidden} and {@code
   * topK}.
   */
  public static ByteBuf encodeResponse(ByteBufAllocator allocator, Response response) {
    int tokens = response.tokens();
    int topK = response.topK();
    ByteBuf buf =
        routedBuffer(
            allocator,
            RESPONSE_HEADER_BYTES,
            tokens,
            response.hidden(),
            topK,
            response.data(),
            response.topkIds(),
            response.topkWeights());
    buf.writeIntLE(VERSION)
        .writeIntLE(response.rank())
        .writeLongLE(response.step())
        .writeIntLE(tokens)
        .writeIntLE(response.hidden())
        .writeIntLE(topK);
    writeRouted(buf, response.data(), response.topkIds(), response.topkWeights());
    return buf;
  }

  /**
   * Checks a routed body's arrays against its sizes, then a buffer for {@code headerBytes} of
   * header followed by the hidden values, the top-k ids and the top-k weights.
   */
  private static ByteBuf routedBuffer(
      ByteBufAllocator allocator,
      int headerBytes,
      int tokens,
      int hidden,
      int topK,
      float[] data,
      int[] topkIds,
      float[] topkWeights) {
    checkRouted(tokens, hidden, topK, data, topkIds, topkWeights);
    return allocator.buffer(headerBytes + data.length * Float.BYTES + tokens * topK * 8);
  }

  /**
   * A version-2 response body: {@link #LAYER_RESPONSE_LAYOUT} when it ran ({@link
   * LayerResponse#ran}; the arrays must match its sizes), {@link #REFUSAL_LAYOUT} when refused (the
   * message cut to {@link #MAX_MESSAGE_BYTES}).
   */
  public static ByteBuf encodeLayerResponse(ByteBufAllocator allocator, LayerResponse response) {
    if (!response.ok()) {
      byte[] text = response.message().getBytes(StandardCharsets.UTF_8);
      int length = Math.min(text.length, MAX_MESSAGE_BYTES);
      ByteBuf buf = allocator.buffer(LAYER_RESPONSE_HEADER_BYTES + 4 + length);
      writeLayerHeader(buf, response);
      buf.writeIntLE(length).writeBytes(text, 0, length);
      return buf;
    }
    int tokens = response.tokens();
    int topK = response.topK();
    ByteBuf buf =
        routedBuffer(
            allocator,
            LAYER_RESPONSE_HEADER_BYTES + 12,
            tokens,
            response.hidden(),
            topK,
            response.data(),
            response.topkIds(),
            response.topkWeights());
    writeLayerHeader(buf, response);
    buf.writeIntLE(tokens).writeIntLE(response.hidden()).writeIntLE(topK);
    writeRouted(buf, response.data(), response.topkIds(), response.topkWeights());
    return buf;
  }

  private static void writeLayerHeader(ByteBuf buf, LayerResponse response) {
    buf.writeIntLE(VERSION_2)
        .writeIntLE(response.status())
        .writeIntLE(response.rank())
        .writeIntLE(response.layer())
        .writeLongLE(response.step())
        .writeLongLE(response.placementVersion());
  }

  /**
   * Decodes a version-2 response (for clients and tests).
   *
   * @throws IllegalArgumentException when it is not a version-2 response or its length does not
   *     match its header
   */
  public static LayerResponse decodeLayerResponse(ByteBuf data) {
    int readable = data.readableBytes();
    int base = data.readerIndex();
    if (readable < LAYER_RESPONSE_HEADER_BYTES + 4 || version(data) != VERSION_2) {
      throw new IllegalArgumentException(
          "not a version-2 moe.forward response: "
              + readable
              + " bytes"
              + (readable >= 4 ? ", version " + data.getIntLE(base) : ""));
    }
    int status = data.getIntLE(base + 4);
    int rank = data.getIntLE(base + 8);
    int layer = data.getIntLE(base + 12);
    long step = data.getLongLE(base + 16);
    long placementVersion = data.getLongLE(base + 24);
    int at = base + LAYER_RESPONSE_HEADER_BYTES;
    if (status == STATUS_REFUSED) {
      int length = data.getIntLE(at);
      if (length < 0
          || length > MAX_MESSAGE_BYTES
          || readable != LAYER_RESPONSE_HEADER_BYTES + 4 + length) {
        throw new IllegalArgumentException(
            "moe.forward refusal of " + readable + " bytes announces a message of " + length);
      }
      return new LayerResponse(
          status,
          rank,
          layer,
          step,
          placementVersion,
          0,
          0,
          0,
          new float[0],
          new int[0],
          new float[0],
          data.toString(at + 4, length, StandardCharsets.UTF_8));
    }
    if (status != STATUS_OK || readable < LAYER_RESPONSE_HEADER_BYTES + 12) {
      throw new IllegalArgumentException(
          "moe.forward response has status " + status + " in " + readable + " bytes");
    }
    int tokens = data.getIntLE(at);
    int hidden = data.getIntLE(at + 4);
    int topK = data.getIntLE(at + 8);
    if (tokens < 0 || hidden < 0 || topK < 0) {
      throw new IllegalArgumentException(
          "moe.forward response has " + tokens + " tokens, hidden " + hidden + ", topK " + topK);
    }
    long values = (long) tokens * hidden;
    long picks = (long) tokens * topK;
    long expected = LAYER_RESPONSE_HEADER_BYTES + 12 + values * Float.BYTES + picks * 8;
    if (readable != expected) {
      throw new IllegalArgumentException(
          "moe.forward response of " + readable + " bytes, expected " + expected);
    }
    float[] out = new float[(int) values];
    int[] ids = new int[(int) picks];
    float[] weights = new float[(int) picks];
    readRouted(data, at + 12, out, ids, weights);
    return LayerResponse.ran(
        rank, layer, step, placementVersion, tokens, hidden, topK, out, ids, weights);
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
    readRouted(data, base + RESPONSE_HEADER_BYTES, out, ids, weights);
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

  private static void checkRouted(
      int tokens, int hidden, int topK, float[] data, int[] topkIds, float[] topkWeights) {
    checkShape("response", tokens, hidden, data.length, (long) tokens * hidden, "hidden values");
    checkShape("response", tokens, topK, topkIds.length, (long) tokens * topK, "expert ids");
    checkShape("response", tokens, topK, topkWeights.length, (long) tokens * topK, "weights");
  }

  /** Outputs, expert ids and weights, one after the other, as both versions carry them. */
  private static void writeRouted(ByteBuf buf, float[] data, int[] topkIds, float[] topkWeights) {
    writeFloats(buf, data);
    for (int id : topkIds) {
      buf.writeIntLE(id);
    }
    writeFloats(buf, topkWeights);
  }

  private static void readRouted(
      ByteBuf buf, int index, float[] data, int[] topkIds, float[] topkWeights) {
    int at = index;
    readFloats(buf, at, data);
    at += data.length * Float.BYTES;
    for (int i = 0; i < topkIds.length; i++, at += 4) {
      topkIds[i] = buf.getIntLE(at);
    }
    readFloats(buf, at, topkWeights);
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
