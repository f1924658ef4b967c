package io.moeflux.transport.tcp;

import io.moeflux.transport.DirectMemory;
import io.moeflux.transport.InboundFailures;
import io.moeflux.transport.protocol.CopiedBytes;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import org.jspecify.annotations.Nullable;

/**
 * Splits a TCP byte stream into RSocket frames (a 3-byte length, then the frame), each in one
 * buffer, without the copies of a cumulating decoder. RSocket's own {@code RSocketLengthCodec}
 * merges every read into a growing cumulation buffer and, while a frame sliced from it is held (as
 * the mesh holds frames until their phase completes), copies again whenever the next read comes in:
 * a large frame is copied two or three times on arrival.
 *
 * <p>Here a frame that lies whole in one read is passed on as a slice of that read. A frame that
 * does not gets a buffer of exactly its size as soon as its length (and the first {@value #HEAD}
 * bytes, which name it) are known; the bytes already read are copied into it, and every later
 * socket read goes straight into it ({@link InPlaceReadAllocator}) until it is complete, so the
 * bulk of a large frame is never copied in user space.
 *
 * <p>Whole buffers before the bytes have arrived are bounded for the JVM by {@link
 * FrameReservations}: beyond it (someone sending frame lengths and nothing more), a frame's buffer
 * starts at {@value #GROWING_START} bytes and grows with what arrives, so memory follows the bytes
 * received.
 *
 * <p>When that buffer cannot be allocated (the direct-memory limit), the frame is skipped, byte
 * exact, and {@link InboundFailures} hears which step it belonged to: the step fails on every rank
 * with the reason, the connection and the next steps go on.
 */
final class FrameDecoder extends ChannelInboundHandlerAdapter {
  static final int LENGTH_BYTES = 3;

  /** Bytes of a frame read before its buffer is allocated: the RSocket header and ours. */
  static final int HEAD = 64;

  /** A frame with fewer bytes still to come is finished by copying from ordinary reads. */
  static final int IN_PLACE_MIN = 16 * 1024;

  /** The first capacity of a frame's buffer when the whole frame could not be reserved. */
  static final int GROWING_START = 64 * 1024;

  private final int maxFrameLength;
  private final InboundFailures failures;
  private final Channel channel;
  private final FrameReservations reservations;

  /** Bytes of {@link FrameReservations} the current frame's buffer holds (0 when it grows). */
  private long reservedForFrame;

  /** The first bytes of the current frame while it has no buffer yet. */
  private final byte[] head = new byte[LENGTH_BYTES + HEAD];

  private int headFill;

  /** The current frame's length after its 3-byte prefix; -1 before the prefix is complete. */
  private int frameLength = -1;

  /** The buffer the current frame is assembled in; its writer index is how much has arrived. */
  private @Nullable ByteBuf frame;

  /** The slice of {@link #frame} last handed to the socket read, to recognise it on arrival. */
  private @Nullable ByteBuf inPlace;

  /** Bytes of a dropped frame still to skip. */
  private long skipping;

  /** The stream whose fragments are being dropped, or -1. */
  private int droppingStream = -1;

  /** A decoder for {@code channel}'s bytes. */
  FrameDecoder(int maxFrameLength, InboundFailures failures, Channel channel) {
    this(maxFrameLength, failures, channel, FrameReservations.SHARED);
  }

  /** A decoder whose whole-frame buffers come out of {@code reservations}. */
  FrameDecoder(
      int maxFrameLength,
      InboundFailures failures,
      Channel channel,
      FrameReservations reservations) {
    this.maxFrameLength = maxFrameLength;
    this.failures = failures;
    this.channel = channel;
    this.reservations = reservations;
  }

  /**
   * A buffer for the next socket read to land in: the rest of the frame being assembled, or null
   * when an ordinary read buffer is better (no frame, or only a little of it still to come).
   */
  @Nullable ByteBuf inPlaceRead() {
    ByteBuf current = frame;
    if (current == null) {
      return null;
    }
    int remaining = current.capacity() - current.writerIndex();
    if (remaining < IN_PLACE_MIN && current.maxWritableBytes() >= IN_PLACE_MIN) {
      // a growing buffer: double it (as much as has arrived), then read into it
      current.ensureWritable(
          Math.min(current.maxWritableBytes(), Math.max(current.writerIndex(), IN_PLACE_MIN)));
      remaining = current.capacity() - current.writerIndex();
    }
    if (remaining < IN_PLACE_MIN) {
      return null;
    }
    ByteBuf slice = current.retainedSlice(current.writerIndex(), remaining).clear();
    inPlace = slice;
    return slice;
  }

  /** The capacity of the buffer the current frame is assembled in, 0 between frames. */
  int assemblingCapacity() {
    ByteBuf current = frame;
    return current == null ? 0 : current.capacity();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf)) {
      ctx.fireChannelRead(msg);
      return;
    }
    ByteBuf in = (ByteBuf) msg;
    try {
      if (in == inPlace && frame != null) {
        inPlace = null;
        // the socket wrote these bytes where they belong: only the index moves
        ByteBuf current = frame;
        current.writerIndex(current.writerIndex() + in.readableBytes());
        in.skipBytes(in.readableBytes());
        if (isWhole(current)) {
          complete(ctx);
        }
      }
      while (in.isReadable()) {
        consume(ctx, in);
      }
    } finally {
      in.release();
    }
  }

  private void consume(ChannelHandlerContext ctx, ByteBuf in) {
    if (skipping > 0) {
      int n = (int) Math.min(skipping, in.readableBytes());
      in.skipBytes(n);
      skipping -= n;
      return;
    }
    ByteBuf current = frame;
    if (current != null) {
      int n = Math.min(current.maxWritableBytes(), in.readableBytes());
      current.writeBytes(in, n);
      CopiedBytes.add(n);
      if (isWhole(current)) {
        complete(ctx);
      }
      return;
    }
    if (headFill == 0 && in.readableBytes() >= LENGTH_BYTES) {
      int length = in.getUnsignedMedium(in.readerIndex());
      checkLength(length);
      if (in.readableBytes() >= LENGTH_BYTES + length) {
        // the whole frame is in this read: pass a slice of it on, no copy
        ctx.fireChannelRead(in.retainedSlice(in.readerIndex(), LENGTH_BYTES + length));
        in.skipBytes(LENGTH_BYTES + length);
        return;
      }
    }
    int wanted = frameLength < 0 ? LENGTH_BYTES : LENGTH_BYTES + Math.min(frameLength, HEAD);
    int n = Math.min(wanted - headFill, in.readableBytes());
    in.readBytes(head, headFill, n);
    headFill += n;
    if (frameLength < 0 && headFill == LENGTH_BYTES) {
      frameLength = ((head[0] & 0xff) << 16) | ((head[1] & 0xff) << 8) | (head[2] & 0xff);
      checkLength(frameLength);
    }
    if (frameLength >= 0 && headFill == LENGTH_BYTES + Math.min(frameLength, HEAD)) {
      allocate(ctx);
    }
  }

  private void checkLength(int length) {
    if (length > maxFrameLength) {
      throw new TooLongFrameException(
          "frame of "
              + length
              + " bytes from "
              + channel.remoteAddress()
              + ", over the limit of "
              + maxFrameLength);
    }
  }

  /** The head is complete: the frame gets its buffer, or is dropped when there is none. */
  private void allocate(ChannelHandlerContext ctx) {
    int total = LENGTH_BYTES + frameLength;
    boolean reserved = reservations.tryReserve(total);
    ByteBuf buffer;
    try {
      buffer = ctx.alloc().directBuffer(reserved ? total : Math.min(total, GROWING_START), total);
    } catch (OutOfMemoryError e) {
      if (reserved) {
        reservations.release(total);
      }
      drop(total, e);
      return;
    }
    reservedForFrame = reserved ? total : 0;
    buffer.writeBytes(head, 0, headFill);
    CopiedBytes.add(headFill);
    frame = buffer;
    headFill = 0;
    if (isWhole(buffer)) {
      complete(ctx);
    }
  }

  /** Whether every byte of the frame assembled in {@code buffer} has arrived. */
  private static boolean isWhole(ByteBuf buffer) {
    return buffer.writerIndex() == buffer.maxCapacity();
  }

  private void releaseReservation() {
    reservations.release(reservedForFrame);
    reservedForFrame = 0;
  }

  private void complete(ChannelHandlerContext ctx) {
    ByteBuf done = frame;
    frame = null;
    inPlace = null;
    frameLength = -1;
    releaseReservation();
    if (done == null) {
      return;
    }
    if (droppingStream >= 0 && streamOf(done) == droppingStream) {
      // a later fragment of a payload whose start was dropped: RSocket could never reassemble it
      done.release();
      if (!follows(done)) {
        droppingStream = -1;
      }
      return;
    }
    ctx.fireChannelRead(done);
  }

  /** Skips a frame whose buffer could not be allocated and says which step it belonged to. */
  private void drop(int total, OutOfMemoryError error) {
    skipping = total - headFill;
    String reason =
        "a frame of "
            + total
            + " bytes from "
            + channel.remoteAddress()
            + " could not be held: "
            + error
            + " (direct memory in use "
            + DirectMemory.used()
            + " of "
            + DirectMemory.limit()
            + " bytes)";
    ByteBuf rsocketFrame = Unpooled.wrappedBuffer(head, LENGTH_BYTES, headFill - LENGTH_BYTES);
    headFill = 0;
    frameLength = -1;
    if (rsocketFrame.readableBytes() < RSocketFrames.HEADER_BYTES) {
      failures.connectionBroken(reason);
      return;
    }
    if (RSocketFrames.follows(rsocketFrame)) {
      droppingStream = RSocketFrames.stream(rsocketFrame);
    }
    ByteBuf ours =
        rsocketFrame.slice(
            RSocketFrames.HEADER_BYTES, rsocketFrame.readableBytes() - RSocketFrames.HEADER_BYTES);
    FrameKind kind =
        RSocketFrames.carriesMeshFrame(rsocketFrame) ? FrameHeaderCodec.knownKind(ours) : null;
    if (kind == null || kind.lane() != FrameKind.Lane.DATA) {
      failures.connectionBroken(reason);
      return;
    }
    long step = FrameHeaderCodec.step(ours);
    failures.dataFrameDropped(
        step,
        "rank "
            + FrameHeaderCodec.source(ours)
            + "'s "
            + kind
            + " frame of step "
            + step
            + ": "
            + reason);
  }

  private static int streamOf(ByteBuf prefixed) {
    return RSocketFrames.stream(prefixed.slice().skipBytes(LENGTH_BYTES));
  }

  private static boolean follows(ByteBuf prefixed) {
    return RSocketFrames.follows(prefixed.slice().skipBytes(LENGTH_BYTES));
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    ByteBuf current = frame;
    frame = null;
    inPlace = null;
    releaseReservation();
    if (current != null) {
      current.release();
    }
  }
}
