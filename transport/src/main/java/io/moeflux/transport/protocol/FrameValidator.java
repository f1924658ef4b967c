package io.moeflux.transport.protocol;

import io.moeflux.transport.InboundLimits;
import io.netty.buffer.ByteBuf;

/**
 * The checks a frame from a peer passes before the mesh holds it: a whole header, a known kind and
 * wire precision, the sender's own rank as source, a count that is not negative, a size within
 * {@link InboundLimits#maxFrameBytes()}, hidden values of a DATA frame in the group's precision for
 * its phase ({@link WireFormat}), and a body exactly as long as the kind's layout and the count say
 * (for DATA kinds, when the limits carry a shape, with the count within capacity). Stateless; what
 * depends on the stream of frames (how far ahead a step is, how much is held) is the inbox's.
 */
public final class FrameValidator {
  private FrameValidator() {}

  /**
   * Checks {@code frame}, which came from {@code source} to a rank of a group whose hidden values
   * travel in {@code wire}, without moving its indexes.
   *
   * @throws MalformedFrameException naming the field that is wrong
   */
  public static void validate(ByteBuf frame, int source, InboundLimits limits, WireFormat wire) {
    FrameHeaderCodec.requireHeader(frame);
    int length = frame.readableBytes();
    FrameKind kind = FrameHeaderCodec.kind(frame);
    if (FrameHeaderCodec.source(frame) != source) {
      throw new MalformedFrameException(
          "a frame claiming source " + FrameHeaderCodec.source(frame));
    }
    int count = FrameHeaderCodec.count(frame);
    if (count < 0) {
      throw new MalformedFrameException(
          "a frame with a negative count: " + FrameHeaderCodec.describe(frame));
    }
    if (length > limits.maxFrameBytes()) {
      throw new MalformedFrameException(
          FrameHeaderCodec.describe(frame)
              + " is over the frame limit of "
              + limits.maxFrameBytes()
              + " bytes");
    }
    long body = FrameHeaderCodec.bodyLength(frame);
    switch (kind) {
      case DISPATCH:
        inPrecision(frame, wire.dispatch());
        if (limits.checksShapes()) {
          withinCapacity(frame, count, limits.maxTokens());
          exactly(
              frame,
              body,
              DispatchFrameCodec.bodyBytes(count, limits.topK(), limits.hidden(), wire.dispatch()));
        }
        break;
      case COMBINE:
        inPrecision(frame, wire.combine());
        if (limits.checksShapes()) {
          // in the padded all-gather, a rank combines every token it was sent back to its source
          withinCapacity(frame, count, limits.maxPaddedTokens());
          exactly(frame, body, CombineFrameCodec.bodyBytes(count, limits.hidden(), wire.combine()));
        }
        break;
      case GATHER:
        inPrecision(frame, wire.dispatch());
        if (limits.checksShapes()) {
          gather(frame, count, body, limits, wire.dispatch());
        }
        break;
      case ABORT:
      case FAILURE:
        if (count > ReasonText.MAX_BYTES) {
          throw new MalformedFrameException(
              FrameHeaderCodec.describe(frame) + " has a reason over the limit");
        }
        exactly(frame, body, count);
        break;
      case SYNC:
      case HEAT:
      case PLAN:
        exactly(frame, body, (long) count * Long.BYTES);
        break;
      case MIGRATION:
        exactly(frame, body, (long) count * Float.BYTES);
        break;
      default:
        throw new MalformedFrameException("a frame of unchecked kind " + kind);
    }
  }

  private static void gather(
      ByteBuf frame, int count, long body, InboundLimits limits, WirePrecision wire) {
    withinCapacity(frame, count, limits.maxPaddedTokens());
    long rows = body - GatherFrameCodec.bodyBytes(count, 0, limits.topK(), limits.hidden(), wire);
    long row = wire.rowBytes(limits.hidden());
    long padded = rows / row;
    if (rows < 0 || rows % row != 0 || padded < count || padded > limits.maxPaddedTokens()) {
      throw new MalformedFrameException(
          FrameHeaderCodec.describe(frame)
              + ": the body holds no whole number of padded rows between the count and "
              + limits.maxPaddedTokens());
    }
  }

  private static void inPrecision(ByteBuf frame, WirePrecision expected) {
    if (FrameHeaderCodec.wire(frame) != expected) {
      throw new MalformedFrameException(
          FrameHeaderCodec.describe(frame)
              + ": hidden values in "
              + FrameHeaderCodec.wire(frame)
              + ", the group's are "
              + expected);
    }
  }

  private static void withinCapacity(ByteBuf frame, int count, int most) {
    if (count > most) {
      throw new MalformedFrameException(
          FrameHeaderCodec.describe(frame) + ": count is over the capacity of " + most);
    }
  }

  private static void exactly(ByteBuf frame, long body, long expected) {
    if (body != expected) {
      throw new MalformedFrameException(
          FrameHeaderCodec.describe(frame)
              + ": the count implies a body of "
              + expected
              + " bytes");
    }
  }
}
