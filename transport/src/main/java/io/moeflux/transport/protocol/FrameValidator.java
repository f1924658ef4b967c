package io.moeflux.transport.protocol;

import io.moeflux.transport.InboundLimits;
import io.netty.buffer.ByteBuf;

/**
 * The checks a frame from a peer passes before the mesh holds it: a whole header, a known kind, the
 * sender's own rank as source, a count that is not negative, a size within {@link
 * InboundLimits#maxFrameBytes()}, and a body exactly as long as the kind's layout and the count say
 * (for DATA kinds, when the limits carry a shape, with the count within capacity). Stateless; what
 * depends on the stream of frames (how far ahead a step is, how much is held) is the inbox's.
 */
public final class FrameValidator {
  private static final int PICK_BYTES = Integer.BYTES + Float.BYTES;

  private FrameValidator() {}

  /**
   * Checks {@code frame}, which came from {@code source}, without moving its indexes.
   *
   * @throws MalformedFrameException naming the field that is wrong
   */
  public static void validate(ByteBuf frame, int source, InboundLimits limits) {
    FrameHeaderCodec.requireHeader(frame);
    int length = frame.readableBytes();
    int kindValue = frame.getInt(frame.readerIndex());
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
    switch (FrameKind.of(kindValue)) {
      case DISPATCH:
        if (limits.checksShapes()) {
          withinCapacity(frame, count, limits.maxTokens());
          exactly(frame, body, (long) count * (limits.topK() * PICK_BYTES + rowBytes(limits)));
        }
        break;
      case COMBINE:
        if (limits.checksShapes()) {
          // in the padded all-gather, a rank combines every token it was sent back to its source
          withinCapacity(frame, count, limits.maxPaddedTokens());
          exactly(frame, body, (long) count * rowBytes(limits));
        }
        break;
      case GATHER:
        if (limits.checksShapes()) {
          gather(frame, count, body, limits);
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
        throw new MalformedFrameException("a frame of unchecked kind " + kindValue);
    }
  }

  private static void gather(ByteBuf frame, int count, long body, InboundLimits limits) {
    withinCapacity(frame, count, limits.maxPaddedTokens());
    long rows = body - (long) count * limits.topK() * PICK_BYTES;
    long row = rowBytes(limits);
    long padded = rows / row;
    if (rows < 0 || rows % row != 0 || padded < count || padded > limits.maxPaddedTokens()) {
      throw new MalformedFrameException(
          FrameHeaderCodec.describe(frame)
              + ": the body holds no whole number of padded rows between the count and "
              + limits.maxPaddedTokens());
    }
  }

  private static long rowBytes(InboundLimits limits) {
    return (long) limits.hidden() * Float.BYTES;
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
