package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.InboundLimits;
import io.moeflux.transport.testkit.NoLeaks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoLeaks.class)
class FrameValidatorTest {
  private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
  private final List<ByteBuf> frames = new ArrayList<>();
  // hidden 4, top-2, capacity 3, padded up to 6 rows
  private final InboundLimits shaped = InboundLimits.builder().shape(4, 2, 3, 6).build();
  private static final WireFormat F32 = WireFormat.F32;

  @AfterEach
  void release() {
    frames.forEach(ByteBuf::release);
  }

  private ByteBuf frame(FrameKind kind, int source, int count, int bodyBytes) {
    ByteBuf frame = FrameHeaderCodec.allocate(alloc, kind, 0, 0, source, count, bodyBytes);
    frame.writeZero(Math.max(0, bodyBytes));
    frames.add(frame);
    return frame;
  }

  @Test
  void theHeaderIsCheckedFirst() {
    ByteBuf shortFrame = alloc.buffer().writeZero(10);
    ByteBuf unknownKind = alloc.buffer().writeByte(99).writeZero(23);
    ByteBuf unknownWire = alloc.buffer().writeByte(0).writeByte(7).writeZero(22);
    frames.add(shortFrame);
    frames.add(unknownKind);
    frames.add(unknownWire);
    assertThatThrownBy(() -> FrameValidator.validate(shortFrame, 1, shaped, F32))
        .isInstanceOf(MalformedFrameException.class)
        .hasMessageContaining("10 bytes, shorter than the 24-byte header");
    assertThatThrownBy(() -> FrameValidator.validate(unknownKind, 1, shaped, F32))
        .hasMessageContaining("unknown kind 99");
    assertThatThrownBy(() -> FrameValidator.validate(unknownWire, 1, shaped, F32))
        .hasMessageContaining("unknown wire precision 7");
    assertThatThrownBy(
            () -> FrameValidator.validate(frame(FrameKind.SYNC, 2, 0, 0), 1, shaped, F32))
        .hasMessageContaining("claiming source 2");
    assertThatThrownBy(
            () -> FrameValidator.validate(frame(FrameKind.DISPATCH, 1, -1, 0), 1, shaped, F32))
        .hasMessageContaining("negative count");
  }

  @Test
  void dataBodiesMatchTheShapeAndTheCapacity() {
    // DISPATCH: count × (topK picks of 8 bytes + hidden floats)
    assertThatCode(
            () -> FrameValidator.validate(frame(FrameKind.DISPATCH, 1, 3, 3 * 32), 1, shaped, F32))
        .doesNotThrowAnyException();
    assertThatThrownBy(
            () -> FrameValidator.validate(frame(FrameKind.DISPATCH, 1, 4, 4 * 32), 1, shaped, F32))
        .hasMessageContaining("over the capacity of 3");
    assertThatThrownBy(
            () -> FrameValidator.validate(frame(FrameKind.DISPATCH, 1, 2, 3 * 32), 1, shaped, F32))
        .hasMessageContaining("implies a body of 64 bytes");
    assertThatCode(
            () -> FrameValidator.validate(frame(FrameKind.COMBINE, 1, 2, 32), 1, shaped, F32))
        .doesNotThrowAnyException();
    // GATHER: count × 16 picks + padded × 16 rows, count <= padded <= 6
    assertThatCode(
            () ->
                FrameValidator.validate(frame(FrameKind.GATHER, 1, 2, 32 + 5 * 16), 1, shaped, F32))
        .doesNotThrowAnyException();
    assertThatThrownBy(
            () ->
                FrameValidator.validate(frame(FrameKind.GATHER, 1, 2, 32 + 7 * 16), 1, shaped, F32))
        .hasMessageContaining("padded rows");
    assertThatThrownBy(
            () ->
                FrameValidator.validate(frame(FrameKind.GATHER, 1, 2, 32 + 1 * 16), 1, shaped, F32))
        .hasMessageContaining("padded rows");
  }

  @Test
  void hiddenValuesTravelInTheGroupsPrecisionForTheirPhase() {
    WireFormat fp8 = WireFormat.parse("fp8");
    // fp8 DISPATCH: count × (2 picks of 8 bytes + a 4-byte scale + 4 one-byte values)
    ByteBuf dispatch =
        FrameHeaderCodec.allocate(alloc, FrameKind.DISPATCH, WirePrecision.FP8, 1, 0, 0, 1, 2, 48);
    dispatch.writeZero(48);
    frames.add(dispatch);
    assertThatCode(() -> FrameValidator.validate(dispatch, 1, shaped, fp8))
        .doesNotThrowAnyException();
    assertThatThrownBy(() -> FrameValidator.validate(dispatch, 1, shaped, F32))
        .isInstanceOf(MalformedFrameException.class)
        .hasMessageContaining("hidden values in fp8, the group's are f32");
    // fp8 combines in bf16: an fp8 COMBINE frame is refused even without a shape
    ByteBuf combine =
        FrameHeaderCodec.allocate(alloc, FrameKind.COMBINE, WirePrecision.FP8, 0, 0, 0, 1, 1, 8);
    combine.writeZero(8);
    frames.add(combine);
    assertThatThrownBy(() -> FrameValidator.validate(combine, 1, InboundLimits.DEFAULTS, fp8))
        .hasMessageContaining("the group's are bf16");
  }

  @Test
  void controlBulkAndAbortBodiesAreExactlyWhatTheCountSays() {
    InboundLimits any = InboundLimits.DEFAULTS;
    assertThatCode(() -> FrameValidator.validate(frame(FrameKind.HEAT, 1, 3, 24), 1, any, F32))
        .doesNotThrowAnyException();
    assertThatThrownBy(() -> FrameValidator.validate(frame(FrameKind.PLAN, 1, 3, 20), 1, any, F32))
        .hasMessageContaining("implies a body of 24 bytes");
    assertThatThrownBy(
            () -> FrameValidator.validate(frame(FrameKind.MIGRATION, 1, 3, 8), 1, any, F32))
        .hasMessageContaining("implies a body of 12 bytes");
    assertThatThrownBy(
            () -> FrameValidator.validate(frame(FrameKind.ABORT, 1, 5000, 5000), 1, any, F32))
        .hasMessageContaining("reason over the limit");
    // without a shape, DATA bodies are bounded by size only
    assertThatCode(() -> FrameValidator.validate(frame(FrameKind.DISPATCH, 1, 7, 13), 1, any, F32))
        .doesNotThrowAnyException();
  }

  @Test
  void aFrameOverTheSizeLimitIsRefused() {
    InboundLimits small = InboundLimits.builder().maxFrameBytes(1024).build();
    assertThatThrownBy(
            () -> FrameValidator.validate(frame(FrameKind.MIGRATION, 1, 256, 1024), 1, small, F32))
        .hasMessageContaining("over the frame limit of 1024 bytes");
  }
}
